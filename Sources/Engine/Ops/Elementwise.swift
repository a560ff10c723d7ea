/// Applies `f` to every element into a fresh tensor of the same shape.
@inline(__always)
func map(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
    Tensor(uninitializedShape: x.shape) { yb in
        x.data.withUnsafeBufferPointer { xb in
            for k in 0..<xb.count { yb[k] = f(xb[k]) }
        }
    }
}

/// Combines two equally shaped tensors element by element.
@inline(__always)
func zipMap(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    Tensor(uninitializedShape: a.shape) { yb in
        a.data.withUnsafeBufferPointer { ab in
            b.data.withUnsafeBufferPointer { bb in
                for k in 0..<ab.count { yb[k] = f(ab[k], bb[k]) }
            }
        }
    }
}

/// The sum of all elements of `a * b`.
func dot(_ a: Tensor, _ b: Tensor) -> Float {
    a.data.withUnsafeBufferPointer { ab in
        b.data.withUnsafeBufferPointer { bb in Vector.dot(ab.baseAddress!, bb.baseAddress!, ab.count) }
    }
}

extension Variable {
    /// `max(x, 0)` element-wise.
    ///
    /// Written out rather than through ``map(_:_:)``: a closure handed through the thread team
    /// is not inlined into the loop, and an element-wise call per value cost 4% of a
    /// training pass on 2 threads.
    public func relu() -> Variable {
        let threads = tape.threads
        let y = Tensor(uninitializedShape: value.shape) { yb in
            value.data.withUnsafeBufferPointer { xb in
                let (x, out) = (UncheckedBox(xb.baseAddress!), UncheckedBox(yb.baseAddress!))
                parallelRanges(xb.count, itemSize: 1, threads: threads) { r in
                    for k in r { out.value[k] = max(x.value[k], 0) }
                }
            }
        }
        let xid = id
        return tape.record(y, inputs: [self]) { dy, grads in
            grads.accumulate(xid, shape: dy.shape) { gp, accumulating in
                dy.data.withUnsafeBufferPointer { db in
                    y.data.withUnsafeBufferPointer { ob in
                        let (d, o, g) = (UncheckedBox(db.baseAddress!), UncheckedBox(ob.baseAddress!), UncheckedBox(gp))
                        parallelRanges(db.count, itemSize: 1, threads: threads) { r in
                            if accumulating {
                                for k in r { g.value[k] += o.value[k] > 0 ? d.value[k] : 0 }
                            } else {
                                for k in r { g.value[k] = o.value[k] > 0 ? d.value[k] : 0 }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Element-wise sum of two equally shaped variables.
    public static func + (a: Variable, b: Variable) -> Variable {
        precondition(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
        let (aid, bid) = (a.id, b.id)
        return a.tape.record(zipMap(a.value, b.value, +), inputs: [a, b]) { dy, grads in
            grads.accumulate(aid, dy)
            grads.accumulate(bid, dy)
        }
    }

    /// Element-wise difference of two equally shaped variables.
    public static func - (a: Variable, b: Variable) -> Variable {
        precondition(a.shape == b.shape, "subtract: shapes \(a.shape) and \(b.shape) differ")
        let (aid, bid) = (a.id, b.id)
        return a.tape.record(zipMap(a.value, b.value, -), inputs: [a, b]) { dy, grads in
            grads.accumulate(aid, dy)
            grads.accumulate(bid, map(dy) { -$0 })
        }
    }

    /// Element-wise product of two equally shaped variables.
    public static func * (a: Variable, b: Variable) -> Variable {
        precondition(a.shape == b.shape, "multiply: shapes \(a.shape) and \(b.shape) differ")
        let (av, bv) = (a.value, b.value)
        let (aid, bid) = (a.id, b.id)
        return a.tape.record(zipMap(av, bv, *), inputs: [a, b]) { dy, grads in
            grads.accumulate(aid, zipMap(dy, bv, *))
            grads.accumulate(bid, zipMap(dy, av, *))
        }
    }

    /// Multiplies every element by a constant.
    public func scaled(by factor: Float) -> Variable {
        let xid = id
        return tape.record(map(value) { $0 * factor }, inputs: [self]) { dy, grads in
            grads.accumulate(xid, map(dy) { $0 * factor })
        }
    }

    /// Multiplies every element by a differentiable scalar (a variable with one element).
    public func scaled(by s: Variable) -> Variable {
        precondition(s.value.count == 1, "scale: factor must have one element, got shape \(s.shape) for input \(shape)")
        let (x, k) = (value, s.value.data[0])
        let (xid, sid, sshape) = (id, s.id, s.shape)
        return tape.record(map(x) { $0 * k }, inputs: [self, s]) { dy, grads in
            grads.accumulate(xid, map(dy) { $0 * k })
            grads.accumulate(sid, Tensor(shape: sshape, data: [dot(dy, x)]))
        }
    }

    /// The sum of all elements, as a one-element variable of shape `[]`.
    public func sum() -> Variable {
        let shape = self.shape, xid = id
        let total = value.data.withUnsafeBufferPointer { Vector.sum($0.baseAddress!, $0.count) }
        return tape.record(Tensor(scalar: total), inputs: [self]) { dy, grads in
            grads.accumulate(xid, Tensor(shape: shape, repeating: dy.data[0]))
        }
    }

    /// The mean of all elements, shape `[]`.
    public func mean() -> Variable { sum().scaled(by: 1 / Float(max(value.count, 1))) }

    /// The same elements viewed with another shape.
    public func reshaped(_ newShape: [Int]) -> Variable {
        precondition(newShape.reduce(1, *) == value.count, "reshape: cannot view shape \(shape) as \(newShape)")
        let old = shape, xid = id
        return tape.record(value.reshaped(newShape), inputs: [self]) { dy, grads in
            grads.accumulate(xid, dy.reshaped(old))
        }
    }
}

/// `sum_k weights[k] * inputs[k]` for equally shaped inputs and a weight vector, optionally
/// with a per-sample factor for each input (a drop-path mask, see ``dropPathScales(batch:keep:using:)``).
///
/// ```
/// y[n] = sum_k weights[indices[k]] * sampleScales[k][n] * inputs[k][n]
/// ```
/// Gradients: `d inputs[k][n] = weights[k] * scale[k][n] * dy[n]`,
/// `d weights[k] = sum_n scale[k][n] * <dy[n], inputs[k][n]>`. This is the mixing step of a
/// MixedOp (with drop-path fused in) and of pairwise node inputs. The inputs are kept for the
/// backward pass only when the weights need a gradient.
///
/// - Parameters:
///   - inputs: one or more variables of one shape `[N, ...]`.
///   - weights: a variable holding at least `indices.max + 1` elements.
///   - indices: which element of `weights` scales each input.
///   - sampleScales: per input, `nil` (all ones) or `N` factors.
public func weightedSum(_ inputs: [Variable], weights: Variable, indices: [Int],
                        sampleScales: [[Float]?]? = nil) -> Variable {
    precondition(!inputs.isEmpty, "weightedSum: no inputs")
    precondition(inputs.count == indices.count, "weightedSum: \(inputs.count) inputs for \(indices.count) weight indices")
    let shape = inputs[0].shape
    for v in inputs {
        precondition(v.shape == shape, "weightedSum: input shapes \(shape) and \(v.shape) differ")
    }
    precondition(indices.allSatisfy { $0 >= 0 && $0 < weights.value.count },
                 "weightedSum: indices \(indices) out of range for weights of shape \(weights.shape)")
    let batch = shape.first ?? 1
    let scales = sampleScales ?? Array(repeating: nil, count: inputs.count)
    precondition(scales.count == inputs.count && scales.allSatisfy { $0 == nil || $0!.count == batch },
                 "weightedSum: sample scales \(scales.map { $0?.count ?? 0 }) for \(inputs.count) inputs of shape \(shape)")
    let per = shape.isEmpty ? 1 : shape.reduce(1, *) / max(batch, 1)
    let w = weights.value.data
    /// The factor of input `k` on sample `n`.
    func factor(_ k: Int, _ n: Int) -> Float { w[indices[k]] * (scales[k]?[n] ?? 1) }
    let values = inputs.map(\.value)
    let y = Tensor(uninitializedShape: shape) { yb in
        withBaseAddresses(values) { sources in
            let out = UncheckedBox(yb.baseAddress!)
            parallelRanges(batch, itemSize: per * sources.count, threads: weights.tape.threads) { samples in
                var terms: [(UnsafePointer<Float>, Float)] = []
                for n in samples {
                    terms.removeAll(keepingCapacity: true)
                    for k in sources.indices where scales[k]?[n] != 0 { terms.append((sources[k] + n * per, factor(k, n))) }
                    Vector.combine(terms, into: out.value + n * per, per)
                }
            }
        }
    }
    let ids = inputs.map(\.id), wid = weights.id, wshape = weights.shape, threads = weights.tape.threads
    let saved = weights.needsGradient ? values : []
    // Each input's gradient is `dy` with per-sample factors: handed on without being written out.
    return weights.tape.record(y, inputs: inputs + [weights], sampleScaledBackward: { dy, incoming, grads in
        for k in ids.indices {
            grads.accumulate(ids[k], dy, sampleScales: (0..<batch).map { n in factor(k, n) * (incoming?[n] ?? 1) })
        }
        grads.accumulate(wid, {
            // The per-sample dot products in parallel; then summed in one fixed order.
            func counts(_ k: Int, _ n: Int) -> Bool { scales[k]?[n] != 0 && incoming?[n] != 0 }
            var dots = [Float](repeating: 0, count: saved.count * batch)
            dy.data.withUnsafeBufferPointer { db in
                withBaseAddresses(saved) { sources in
                    dots.withUnsafeMutableBufferPointer { out in
                        let (d, o) = (UncheckedBox(db.baseAddress!), UncheckedBox(out.baseAddress!))
                        parallelRanges(saved.count * batch, itemSize: per, threads: threads) { items in
                            for q in items {
                                let (k, n) = q.quotientAndRemainder(dividingBy: batch)
                                if counts(k, n) { o.value[q] = Vector.dot(d.value + n * per, sources[k] + n * per, per) }
                            }
                        }
                    }
                }
            }
            var dw = Tensor(shape: wshape)
            for k in saved.indices {
                for n in 0..<batch where counts(k, n) {
                    dw.data[indices[k]] += (scales[k]?[n] ?? 1) * (incoming?[n] ?? 1) * dots[k * batch + n]
                }
            }
            return dw
        }())
    })
}

/// Calls `body` with the base address of every tensor's storage (kept alive for the call).
func withBaseAddresses<R>(_ tensors: [Tensor], _ body: ([UnsafePointer<Float>]) -> R) -> R {
    var pointers: [UnsafePointer<Float>] = []
    func visit(_ k: Int) -> R {
        if k == tensors.count { return body(pointers) }
        return tensors[k].data.withUnsafeBufferPointer { b in
            // An empty tensor has no storage; its address is never read.
            pointers.append(b.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Float>.alignment)!)
            return visit(k + 1)
        }
    }
    return visit(0)
}

/// The per-sample factors of drop-path: `1 / keep` for a kept sample, 0 for a dropped one,
/// drawn in sample order (the mask ``Variable/dropPath(keep:using:)`` applies).
public func dropPathScales(batch: Int, keep: Float, using generator: inout SeededGenerator) -> [Float] {
    precondition(keep > 0 && keep <= 1, "dropPath: keep probability \(keep) must be in (0, 1]")
    return (0..<batch).map { _ in generator.nextUnitFloat() < keep ? 1 / keep : 0 }
}

/// Element-wise sum of one or more equally shaped variables.
public func sum(_ inputs: [Variable]) -> Variable {
    precondition(!inputs.isEmpty, "sum: no inputs")
    if inputs.count == 1 { return inputs[0] }
    let shape = inputs[0].shape
    var y = inputs[0].value
    for v in inputs.dropFirst() {
        precondition(v.shape == shape, "sum: input shapes \(shape) and \(v.shape) differ")
        y.data.withUnsafeMutableBufferPointer { yb in
            v.value.data.withUnsafeBufferPointer { vb in for e in 0..<yb.count { yb[e] += vb[e] } }
        }
    }
    let ids = inputs.map(\.id)
    return inputs[0].tape.record(y, inputs: inputs) { dy, grads in
        for xid in ids { grads.accumulate(xid, dy) }
    }
}
