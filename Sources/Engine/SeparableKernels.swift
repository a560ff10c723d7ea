/// A depthwise convolution followed by a pointwise one, image by image: the depthwise result
/// of one image (and, backward, its gradient) lives in a small buffer that stays in cache
/// between the stencil and the matrix product, instead of making a round trip through memory
/// as a batch-sized tensor.
///
/// Every per-image step is the one the separate kernels run (``ConvKernels/DepthwisePlan``
/// planes, one matrix product per image), and filter gradients are summed over the same
/// fixed chunks of images, so results do not depend on the thread count.
extension ConvKernels {
    /// `pointwise(depthwise(x))` for depthwise geometry `gd` and pointwise geometry `gp`.
    static func separableForward(x: Tensor, depthwise wd: Tensor, pointwise wp: Tensor, _ gd: ConvGeometry,
                                 _ gp: ConvGeometry, threads: KernelThreads) -> Tensor {
        let plan = DepthwisePlan(gd)
        let (C, O, taps) = (gd.inChannels, gp.outChannels, plan.offsets.count)
        let (planeIn, plane) = (gd.height * gd.width, gd.outHeight * gd.outWidth)
        return Tensor(uninitializedShape: [gd.batch, O, gd.outHeight, gd.outWidth]) { ob in
            x.data.withUnsafeBufferPointer { xb in
                wd.data.withUnsafeBufferPointer { db in
                    wp.data.withUnsafeBufferPointer { pb in
                        plan.offsets.withUnsafeBufferPointer { offs in
                            let op = UncheckedBox(ob.baseAddress!)
                            parallelFor(gd.batch, threads: threads) { n in
                                withAlignedScratch(C * plane) { u in
                                    plan.withScratch { padded, wide in
                                        for c in 0..<C {
                                            plan.filter(xb.baseAddress! + (n * C + c) * planeIn, weights: db.baseAddress! + c * taps,
                                                        offsets: offs.baseAddress!, bias: 0, padded: padded, wide: wide,
                                                        into: u + c * plane)
                                        }
                                    }
                                    sgemm(m: O, n: plane, k: C, a: pb.baseAddress!, lda: C, b: u, ldb: plane, beta: 0,
                                          c: op.value + n * O * plane, ldc: plane)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The gradients of ``separableForward(x:depthwise:pointwise:_:_:threads:)`` that are asked
    /// for: the input's (written to `dx` when given, which holds `x`'s shape; added to what it
    /// holds with `accumulatingDX`), the depthwise filters' and the pointwise filters'. The
    /// depthwise result is recomputed per image when the pointwise filters need it. `x` may be
    /// nil when only the input gradient is asked for.
    static func separableBackward(dy: Tensor, x: Tensor?, depthwise wd: Tensor, pointwise wp: Tensor,
                                  _ gd: ConvGeometry, _ gp: ConvGeometry,
                                  dx: UnsafeMutablePointer<Float>?, accumulatingDX: Bool = false,
                                  needDepthwise: Bool, needPointwise: Bool,
                                  threads: KernelThreads) -> (depthwise: Tensor?, pointwise: Tensor?) {
        let needInput = dx != nil
        let plan = DepthwisePlan(gd)
        let (C, O, taps) = (gd.inChannels, gp.outChannels, plan.offsets.count)
        let (planeIn, plane) = (gd.height * gd.width, gd.outHeight * gd.outWidth)
        let chunks = reductionChunks(gd.batch)
        let needDepthwiseGradient = needInput || needDepthwise
        var depthwisePartials = [Float](repeating: 0, count: needDepthwise ? chunks.count * C * taps : 0)
        var pointwisePartials = [Float](repeating: 0, count: needPointwise ? chunks.count * O * C : 0)

        precondition(x != nil || !(needDepthwise || needPointwise), "separableBackward: filter gradients need the input")
        let noData = AlignedFloats()
        func sweep(_ dx: Ptr?) {
            (x?.data ?? noData).withUnsafeBufferPointer { xb in
            dy.data.withUnsafeBufferPointer { gb in
            wd.data.withUnsafeBufferPointer { db in
            wp.data.withUnsafeBufferPointer { pb in
            plan.offsets.withUnsafeBufferPointer { offs in
            depthwisePartials.withUnsafeMutableBufferPointer { dpb in
            pointwisePartials.withUnsafeMutableBufferPointer { ppb in
                let dxq = UncheckedBox(dx)
                let dq = UncheckedBox(needDepthwise ? dpb.baseAddress : nil)
                let pq = UncheckedBox(needPointwise ? ppb.baseAddress : nil)
                parallelFor(chunks.count, threads: threads) { ci in
                    // One image's input planes as the plan reads them (padded copies unless the
                    // register-row kernels read them in place), depthwise result and its gradient.
                    let copies = x == nil ? 0 : roundedToLine(C * plan.paddedCount)
                    withAlignedScratch(copies + 2 * C * plane) { xp in
                        let u = xp + copies, du = u + C * plane
                        var inputs: [UnsafePointer<Float>] = []
                        inputs.reserveCapacity(C)
                        plan.withBackwardScratch { scratch in
                            for n in chunks[ci] {
                                let dyn = gb.baseAddress! + n * O * plane
                                inputs.removeAll(keepingCapacity: true)
                                if x != nil {
                                    let xn = xb.baseAddress! + n * C * planeIn
                                    for c in 0..<C { inputs.append(plan.prepared(xn + c * planeIn, in: xp + c * plan.paddedCount)) }
                                }
                                if let acc = pq.value {
                                    for c in 0..<C {
                                        plan.filter(prepared: inputs[c], weights: db.baseAddress! + c * taps,
                                                    offsets: offs.baseAddress!, bias: 0, wide: scratch.wide, into: u + c * plane)
                                    }
                                    sgemm(transB: true, m: O, n: C, k: plane, a: dyn, lda: plane, b: u, ldb: plane, beta: 1,
                                          c: acc + ci * O * C, ldc: C)
                                }
                                guard needDepthwiseGradient else { continue }
                                sgemm(transA: true, m: C, n: plane, k: O, a: pb.baseAddress!, lda: C, b: dyn, ldb: plane,
                                      beta: 0, c: du, ldc: plane)
                                for c in 0..<C {
                                    plan.backward(dy: du + c * plane, preparedInput: dq.value == nil ? nil : inputs[c],
                                                  weights: dxq.value == nil ? nil : db.baseAddress! + c * taps,
                                                  offsets: offs.baseAddress!, scratch: scratch,
                                                  dx: dxq.value.map { $0 + (n * C + c) * planeIn },
                                                  accumulatingDX: accumulatingDX, filterGradient: dq.value.map { $0 + (ci * C + c) * taps })
                                }
                            }
                        }
                    }
                }
            }
            }
            }
            }
            }
            }
            }
        }

        sweep(dx)
        let dwd = needDepthwise
            ? Tensor(shape: [C, 1, gd.kernelH, gd.kernelW],
                     data: sumChunks(depthwisePartials, chunkCount: chunks.count, length: C * taps, threads: threads))
            : nil
        let dwp = needPointwise
            ? Tensor(shape: [O, C, 1, 1], data: sumChunks(pointwisePartials, chunkCount: chunks.count, length: O * C, threads: threads))
            : nil
        return (dwd, dwp)
    }
}
