import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// The BLAS kernel family this processor should use, decided from the CPU's feature flags.
///
/// OpenBLAS 0.3.21 picks its kernels from the processor's model number and falls back to its
/// slowest SSE3 kernels ("Prescott", ~10 GFLOP/s) on processors newer than it knows, such as
/// Sapphire/Emerald Rapids. Its kernels can be chosen with `OPENBLAS_CORETYPE`, which must be
/// in the environment before the library loads; the CLI re-executes itself with it set.
///
/// - Returns: `SkylakeX` with AVX-512 (F, BW, VL), `Haswell` with AVX2 and FMA, else `nil`
///   (OpenBLAS' own detection is kept).
public func recommendedBLASCoreType(cpuinfo: String? = nil) -> String? {
    let text: String
    if let cpuinfo {
        text = cpuinfo
    } else if let bytes = try? readFile("/proc/cpuinfo") {
        text = String(decoding: bytes, as: UTF8.self)
    } else {
        return nil
    }
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
    let flags = Set(line.split(separator: " ").map(String.init))
    if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl"]) { return "SkylakeX" }
    if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
    return nil
}

/// The kernels this process runs where the engine has a choice, in words: the benchmark prints
/// it, so that figures say which kernels produced them (they depend on the processor and on
/// `METANAS_SMALL_GEMM`, `METANAS_WINOGRAD`, `METANAS_PHASE_SPLIT` and `OPENBLAS_CORETYPE`).
public func kernelSelection() -> String {
    let blas = getenv("OPENBLAS_CORETYPE").map { "OpenBLAS, \(String(cString: $0)) kernels" } ?? "OpenBLAS"
    let products = smallProducts ? "the unpacked AVX2 kernels (\(blas) past their sizes)" : blas
    let wide = mn_depthwise_available() != 0
    let lines = WinogradLine.enabled ? "Winograd F(4, 5), \(wide ? "AVX-512" : "AVX2") transforms" : "direct taps"
    let depthwise = ConvKernels.registerRowsInUse ? "AVX-512 register rows" : "padded-plane stencils"
    let strided = ConvKernels.phaseSplit ? "phase planes" : "sampled stride-1 rows"
    return "kernels: matrix products on \(products); 1x5 and 5x1 filters by \(lines); "
        + "depthwise 3x3 and max pooling on \(depthwise)"
        + (ConvKernels.registerRowsInUse ? "" : ", stride-2 depthwise 3x3 on \(strided)")
}

/// Whether the environment variable `name` is set to `0`: the engine's switches for turning a
/// kernel choice off (to compare it with what it replaces).
func switchedOff(_ name: String) -> Bool {
    getenv(name).map { String(cString: $0) } == "0"
}
