// swift-tools-version:6.0
import Foundation
import PackageDescription

/// `METANAS_WITHOUT_MPI=1` builds without Open MPI (for machines that do not have it):
/// `metanas` then runs in one process only.
let withMPI = !(ProcessInfo.processInfo.environment["METANAS_WITHOUT_MPI"].map { $0 != "" && $0 != "0" } ?? false)

/// Kernels are only fast when the compiler may emit AVX2/FMA directly; without a target CPU,
/// `addingProduct` lowers to a libm call. Every machine this project targets has AVX2.
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell", "-enforce-exclusivity=unchecked"])
]

let package = Package(
    name: "MetaNAS",
    products: [
        .executable(name: "metanas", targets: ["metanas"])
    ],
    targets: [
        // C foundations: one thin system-library target per Debian package.
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CJSON", pkgConfig: "json-c", providers: [.apt(["libjson-c-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSPNG", pkgConfig: "spng", providers: [.apt(["libspng-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),

        // Tensor storage, kernels and the reverse-mode tape.
        .target(name: "Engine", dependencies: ["COpenBLAS"], swiftSettings: fastMath,
                linkerSettings: [.linkedLibrary("m")]),
        // Layers, losses, optimizers and the parameter file format.
        .target(name: "NN", dependencies: ["Engine"], swiftSettings: fastMath),
        // A Swift value view of JSON documents, parsed and printed by json-c.
        .target(name: "JSON", dependencies: ["CJSON"]),
        // Plain genotype values: JSON / DARTS-string / DOT / SVG, canonical hashing and diffs.
        .target(name: "Genotype", dependencies: ["JSON"]),
        // Omniglot archives -> images -> few-shot tasks.
        .target(name: "Datasets", dependencies: ["Engine", "CArchive", "CSPNG"], swiftSettings: fastMath),
        // Operations, mixed ops, cells, the search network and genotype derivation.
        .target(name: "SearchSpace", dependencies: ["Engine", "NN", "Genotype"], swiftSettings: fastMath),
        // Task learners, meta-learners, pruners, meta-training and meta-testing.
        .target(name: "MetaLearning", dependencies: ["SearchSpace", "Datasets", "NN", "JSON"],
                swiftSettings: fastMath),
        // The JSON catalog, the plugin registry and pipelines.
        // Whatever links Catalog (metanas, the test runner) exports its symbols, so that plugin
        // libraries loaded at run time bind to this one copy of Engine, NN, SearchSpace and
        // Catalog instead of linking their own (see Plugins/README.md).
        .target(name: "Catalog", dependencies: ["MetaLearning", "JSON"],
                linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic"])]),
        // Meta-training across the processes of an MPI job (Open MPI).
        .target(name: "MessagePassing", dependencies: ["MetaLearning"] + (withMPI ? ["CMPI"] : [])),
        .executableTarget(name: "metanas",
                          dependencies: ["Catalog", "MetaLearning", "MessagePassing", "Datasets", "Genotype", "JSON", "NN"]),

        .testTarget(name: "EngineTests", dependencies: ["Engine", "NN"], swiftSettings: fastMath),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "GenotypeTests", dependencies: ["Genotype"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"]),
        .testTarget(name: "SearchSpaceTests", dependencies: ["SearchSpace"]),
        .testTarget(name: "MetaLearningTests", dependencies: ["MetaLearning"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog"]),
        // Runs the built `metanas` under `mpirun` and compares with a single process.
        .testTarget(name: "MessagePassingTests", dependencies: ["NN"]),
    ]
)
