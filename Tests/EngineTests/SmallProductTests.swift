import CKernels
import Testing
@testable import Engine

/// The unpacked matrix products of `Sources/CKernels/gemm_avx2.c` against sums in double
/// precision, over shapes that reach every tile size, column tail and masked remainder, with
/// leading dimensions larger than the matrices (so that a kernel reading a row's neighbours
/// or writing past a row's end shows up).
@Suite("Small matrix products", .enabled(if: mn_sgemm_available() != 0, "the processor lacks AVX2 with FMA"))
struct SmallProductTests {
    enum Form: String, CaseIterable, CustomTestStringConvertible {
        case nn, tn, nt
        var transA: Bool { self == .tn }
        var transB: Bool { self == .nt }
        var testDescription: String { rawValue.uppercased() }
    }

    /// Row counts reach the tiles of six rows and each remainder; column counts the panels of
    /// 16, the single vector, the masked tails, and the dot-product tiles' pairs and singles;
    /// sums of one, under a vector, a vector and a tail, and the network's plane sizes.
    static let rows = [1, 2, 3, 5, 6, 7, 13, 28]
    static let columns = [1, 5, 8, 9, 16, 23, 33, 49]
    static let sums = [1, 7, 8, 20, 49]

    /// Runs one product with leading dimensions three past each matrix's stored width (through
    /// `mn_sgemm`, or through the engine's `sgemm` with `throughWrapper`), and checks it, and
    /// that nothing outside C's rows changed, against double precision sums.
    static func check(_ form: Form, m: Int, n: Int, k: Int, accumulate: Bool, throughWrapper: Bool = false) {
        // Stored shapes: A is m x k (k x m when transposed), B is k x n (n x k when transposed).
        let (aRows, aCols) = form.transA ? (k, m) : (m, k)
        let (bRows, bCols) = form.transB ? (n, k) : (k, n)
        let (lda, ldb, ldc) = (aCols + 3, bCols + 3, n + 3)
        let a = normalSamples(aRows * lda, seed: UInt64(m * 1000 + k))
        let b = normalSamples(bRows * ldb, seed: UInt64(n * 1000 + k + 7))
        let before = normalSamples(m * ldc, seed: 99)
        var c = before
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                c.withUnsafeMutableBufferPointer { cb in
                    if throughWrapper {
                        sgemm(transA: form.transA, transB: form.transB, m: m, n: n, k: k, a: ab.baseAddress!, lda: lda,
                              b: bb.baseAddress!, ldb: ldb, beta: accumulate ? 1 : 0, c: cb.baseAddress!, ldc: ldc)
                    } else {
                        let handled = mn_sgemm(form.transA ? 1 : 0, form.transB ? 1 : 0, Int32(m), Int32(n), Int32(k),
                                               ab.baseAddress!, lda, bb.baseAddress!, ldb, accumulate ? 1 : 0,
                                               cb.baseAddress!, ldc)
                        #expect(handled == 1)
                    }
                }
            }
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<ldc {
                let got = Double(c[i * ldc + j])
                guard j < n else {
                    #expect(c[i * ldc + j] == before[i * ldc + j], "wrote past row \(i)'s end at column \(j)")
                    continue
                }
                var sum = accumulate ? Double(before[i * ldc + j]) : 0, magnitude = abs(sum)
                for p in 0..<k {
                    let x = Double(form.transA ? a[p * lda + i] : a[i * lda + p])
                    let y = Double(form.transB ? b[j * ldb + p] : b[p * ldb + j])
                    sum += x * y
                    magnitude += abs(x * y)
                }
                worst = max(worst, abs(got - sum) / (magnitude + 1e-30))
            }
        }
        #expect(worst < 1e-6, "\(form) \(m)x\(n)x\(k): relative error \(worst)")
    }

    @Test("each form over every tile and tail", arguments: Form.allCases, [false, true])
    func matchesDoublePrecisionSums(form: Form, accumulate: Bool) {
        for m in Self.rows { for n in Self.columns { for k in Self.sums {
            Self.check(form, m: m, n: n, k: k, accumulate: accumulate)
        } } }
    }

    @Test("the network's shapes: 28 filters against planes of 784, 392, 196 and 49", arguments: Form.allCases)
    func networkShapes(form: Form) {
        for plane in [784, 392, 196, 49] {
            if form == .nt {
                Self.check(form, m: 28, n: 28, k: plane, accumulate: true)
            } else {
                Self.check(form, m: 28, n: plane, k: 28, accumulate: false)
                Self.check(form, m: 28, n: plane, k: 84, accumulate: true)
            }
        }
    }

    @Test("a sum of no terms clears C, or leaves it when accumulating; both operands transposed is declined")
    func edgeCases() {
        let a = [Float](repeating: 1, count: 16), b = [Float](repeating: 1, count: 16)
        var c = [Float](repeating: 5, count: 16)
        func run(_ ta: Int32, _ tb: Int32, k: Int32, accumulate: Int32) -> Int32 {
            a.withUnsafeBufferPointer { ab in
                b.withUnsafeBufferPointer { bb in
                    c.withUnsafeMutableBufferPointer { cb in
                        mn_sgemm(ta, tb, 4, 4, k, ab.baseAddress!, 4, bb.baseAddress!, 4, accumulate, cb.baseAddress!, 4)
                    }
                }
            }
        }
        #expect(run(0, 0, k: 0, accumulate: 1) == 1)
        #expect(c == [Float](repeating: 5, count: 16))
        #expect(run(0, 0, k: 0, accumulate: 0) == 1)
        #expect(c == [Float](repeating: 0, count: 16))
        c = [Float](repeating: 5, count: 16)
        #expect(run(1, 1, k: 4, accumulate: 0) == 0)
        #expect(c == [Float](repeating: 5, count: 16))
    }

    @Test("the engine's product wrapper computes the product in each form, on whichever library it picks here",
          arguments: Form.allCases)
    func wrapperComputesTheProduct(form: Form) {
        Self.check(form, m: 28, n: 49, k: 28, accumulate: false, throughWrapper: true)
        Self.check(form, m: 7, n: 33, k: 20, accumulate: true, throughWrapper: true)
    }

    @Test("the benchmark's kernel line names the products', line filters' and depthwise filters' kernels this process runs")
    func kernelLineMatchesTheSelection() {
        let line = kernelSelection()
        #expect(line.contains("unpacked AVX2") == smallProducts)
        #expect(line.contains("Winograd") == WinogradLine.enabled)
        #expect(line.contains("register rows") == ConvKernels.registerRowsInUse)
        #expect(line.contains("phase planes") == (ConvKernels.phaseSplit && !ConvKernels.registerRowsInUse))
    }
}
