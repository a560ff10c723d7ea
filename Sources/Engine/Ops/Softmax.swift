/// Softmax of each row (last axis) of `x / temperature`.
func softmaxRows(_ x: Tensor, temperature: Float) -> Tensor {
    let cols = x.shape.last ?? 1, rows = x.count / max(cols, 1)
    var y = Tensor(shape: x.shape)
    for r in 0..<rows {
        var m = -Float.infinity
        for k in 0..<cols { m = max(m, x.data[r * cols + k] / temperature) }
        var s: Float = 0
        for k in 0..<cols {
            let e = _expf(x.data[r * cols + k] / temperature - m)
            y.data[r * cols + k] = e
            s += e
        }
        for k in 0..<cols { y.data[r * cols + k] /= s }
    }
    return y
}

extension Variable {
    /// Softmax over the last axis of `x / temperature`.
    ///
    /// ```
    /// y_i = exp(x_i / T) / sum_j exp(x_j / T)
    /// dx_i = y_i * (dy_i - sum_j dy_j y_j) / T
    /// ```
    public func softmax(temperature: Float = 1) -> Variable {
        precondition(temperature > 0, "softmax: temperature \(temperature) must be positive")
        precondition(!shape.isEmpty, "softmax: needs at least one axis, got a scalar")
        let y = softmaxRows(value, temperature: temperature)
        let cols = shape.last!, rows = y.count / max(cols, 1), xid = id
        return tape.record(y, inputs: [self]) { dy, grads in
            grads.accumulate(xid, {
                var dx = Tensor(shape: y.shape)
                for r in 0..<rows {
                    var s: Float = 0
                    for k in 0..<cols { s += dy.data[r * cols + k] * y.data[r * cols + k] }
                    for k in 0..<cols {
                        dx.data[r * cols + k] = y.data[r * cols + k] * (dy.data[r * cols + k] - s) / temperature
                    }
                }
                return dx
            }())
        }
    }

    /// Mean cross-entropy of `[N, K]` logits against integer labels (log-softmax fused in).
    ///
    /// ```
    /// loss = -1/N sum_n log softmax(logits_n)[label_n],   dlogits = (softmax - onehot) / N
    /// ```
    public func crossEntropy(labels: [Int]) -> Variable {
        precondition(shape.count == 2 && shape[0] == labels.count,
                     "crossEntropy: logits \(shape) do not match \(labels.count) labels")
        let (n, k) = (shape[0], shape[1])
        precondition(labels.allSatisfy { $0 >= 0 && $0 < k }, "crossEntropy: labels must lie in 0..<\(k)")
        let p = softmaxRows(value, temperature: 1)
        var loss: Double = 0
        for i in 0..<n { loss -= Double(_logf(max(p.data[i * k + labels[i]], Float.leastNormalMagnitude))) }
        let xid = id
        return tape.record(Tensor(scalar: Float(loss / Double(n))), inputs: [self]) { dy, grads in
            grads.accumulate(xid, {
                var g = p
                for i in 0..<n { g.data[i * k + labels[i]] -= 1 }
                let s = dy.data[0] / Float(n)
                for e in 0..<g.count { g.data[e] *= s }
                return g
            }())
        }
    }
}

/// The fraction of rows of `[N, K]` logits whose arg-max equals the label (ties: first index).
public func accuracy(logits: Tensor, labels: [Int]) -> Float {
    precondition(logits.shape.count == 2 && logits.shape[0] == labels.count,
                 "accuracy: logits \(logits.shape) do not match \(labels.count) labels")
    let k = logits.shape[1]
    var correct = 0
    for (i, label) in labels.enumerated() {
        var best = 0
        for j in 1..<k where logits.data[i * k + j] > logits.data[i * k + best] { best = j }
        if best == label { correct += 1 }
    }
    return labels.isEmpty ? 0 : Float(correct) / Float(labels.count)
}

extension Tensor {
    /// Softmax over the last axis of `self / temperature` (the same arithmetic as the
    /// differentiable ``Variable/softmax(temperature:)``, so decisions made on either agree).
    public func softmax(temperature: Float = 1) -> Tensor { softmaxRows(self, temperature: temperature) }
}
