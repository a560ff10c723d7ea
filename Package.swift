// swift-tools-version:6.0
import Foundation
import PackageDescription

/// Build switches read from the environment (README, "Static binary"), each on when set to
/// anything but "" or "0":
/// - `METANAS_STATIC_C_LIBRARIES`: link the C libraries that Debian ships as static archives
///   (libarchive, json-c, OpenBLAS and their dependencies) into the binary; with
///   `--static-swift-stdlib` the binary then runs on machines without the toolchain.
/// - `METANAS_WITHOUT_MPI`: leave Open MPI out (for machines that do not have it); `metanas`
///   then runs in one process only.
func buildSwitch(_ name: String) -> Bool {
    ProcessInfo.processInfo.environment[name].map { $0 != "" && $0 != "0" } ?? false
}
let staticCLibraries = buildSwitch("METANAS_STATIC_C_LIBRARIES")
let withMPI = !buildSwitch("METANAS_WITHOUT_MPI")

/// A system-library target for a Debian package. With static C libraries, a library that has
/// a static archive uses its target's `static/module.modulemap` instead, which links the
/// archive and those of its dependencies by file name (`-l:libNAME.a`) and needs no
/// pkg-config flags (pkg-config's `-lNAME` would pick the shared library).
func cLibrary(_ name: String, pkgConfig: String, apt: String, hasStaticArchive: Bool = false) -> Target {
    if staticCLibraries && hasStaticArchive {
        return .systemLibrary(name: name, path: "Sources/\(name)/static", providers: [.apt([apt])])
    }
    return .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt([apt])])
}

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
        cLibrary("CArchive", pkgConfig: "libarchive", apt: "libarchive-dev", hasStaticArchive: true),
        cLibrary("CJSON", pkgConfig: "json-c", apt: "libjson-c-dev", hasStaticArchive: true),
        cLibrary("COpenBLAS", pkgConfig: "openblas", apt: "libopenblas-dev", hasStaticArchive: true),
        cLibrary("CSPNG", pkgConfig: "spng", apt: "libspng-dev"),
        cLibrary("CMPI", pkgConfig: "ompi-c", apt: "libopenmpi-dev"),

        // Depthwise 3x3 filters and 3x3 max pooling written with AVX-512 intrinsics (used where
        // the processor has it).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // Tensor storage, kernels and the reverse-mode tape.
        .target(name: "Engine", dependencies: ["COpenBLAS", "CKernels"], swiftSettings: fastMath,
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
                          dependencies: ["Catalog", "MetaLearning", "MessagePassing", "Datasets", "Genotype", "JSON", "NN"],
                          // OpenBLAS's static archive lies in its pthread build's folder.
                          linkerSettings: staticCLibraries
                              ? [.unsafeFlags(["-L/usr/lib/x86_64-linux-gnu/openblas-pthread"])] : []),

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
