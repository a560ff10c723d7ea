import Testing
@testable import Engine

/// How a finite-difference gradient check samples elements and judges agreement.
///
/// An analytic gradient `a` and a central difference `n` agree when
/// ```
/// |a - n| <= absoluteTolerance + relativeTolerance * max(|a|, |n|)
/// ```
/// The defaults are tight enough that a gradient off by 1% fails wherever `|n|` exceeds about
/// 0.2, yet loose enough for float32 central differences of smooth ops.
struct GradientCheck {
    /// Central-difference step added to and subtracted from one element at a time.
    var epsilon: Float = 1e-2
    var absoluteTolerance: Double = 1e-3
    var relativeTolerance: Double = 5e-3
    /// Elements checked per input (all of them when the input is smaller).
    var samplesPerInput = 20
    /// Seeds the projection tensor and the choice of elements.
    var seed: UInt64 = 0x6752_4144
    /// Whether each input must show at least one clearly non-zero sampled gradient, so that a
    /// check cannot pass only because both sides are zero.
    var expectsSignal = true
}

/// Compares the tape's gradients of `op` with central finite differences.
///
/// The scalar being differentiated is `sum(op(inputs) * r)` for a fixed random tensor `r`, so
/// every output element matters with its own weight. The analytic gradient comes from one tape;
/// each numeric derivative from two fresh tapes (a tape is differentiated at most once), with
/// the projection summed in double precision and the step measured after rounding.
///
/// - Parameters:
///   - inputs: the tensors handed to `op` as parameters, in order.
///   - check: step, tolerances and sampling.
///   - op: builds the output from parameters on the given tape; it must be deterministic
///     (re-seed any generator inside it).
/// - Returns: the analytic gradients, one per input, for further assertions.
@discardableResult
func expectGradientsMatch(_ inputs: [Tensor], check: GradientCheck = GradientCheck(),
                          sourceLocation: SourceLocation = #_sourceLocation,
                          _ op: (Tape, [Variable]) -> Variable) -> [Tensor] {
    var rng = SeededGenerator(seed: check.seed)

    let tape = Tape()
    let parameters = inputs.map { tape.parameter($0) }
    let output = op(tape, parameters)
    let projection = Tensor.randomNormal(shape: output.shape, using: &rng)
    let gradients = tape.gradients(of: (output * tape.constant(projection)).sum())
    let analytic = parameters.map { gradients[$0] }

    func projectedOutput(_ values: [Tensor]) -> Double {
        let t = Tape()
        let y = op(t, values.map { t.parameter($0) }).value
        var s: Double = 0
        for k in 0..<y.count { s += Double(y.data[k]) * Double(projection.data[k]) }
        return s
    }

    for (i, x) in inputs.enumerated() {
        guard analytic[i].shape == x.shape else {
            Issue.record("input \(i): gradient shape \(analytic[i].shape) differs from input shape \(x.shape)",
                         sourceLocation: sourceLocation)
            continue
        }
        let picks = (0..<x.count).shuffled(using: &rng).prefix(check.samplesPerInput)
        var mismatches: [String] = []
        var largest: Double = 0
        for k in picks {
            var plus = inputs, minus = inputs
            plus[i].data[k] += check.epsilon
            minus[i].data[k] -= check.epsilon
            let step = Double(plus[i].data[k]) - Double(minus[i].data[k])
            let numeric = (projectedOutput(plus) - projectedOutput(minus)) / step
            let a = Double(analytic[i].data[k])
            let tolerance = check.absoluteTolerance + check.relativeTolerance * max(abs(a), abs(numeric))
            if !(abs(a - numeric) <= tolerance) {
                mismatches.append("[\(k)] analytic \(a) numeric \(numeric)")
            }
            largest = max(largest, abs(numeric))
        }
        let differing = mismatches.count
        #expect(differing == 0,
                "input \(i) \(x.shape): \(differing) of \(picks.count) sampled gradients differ, e.g. \(mismatches.prefix(3).joined(separator: "; "))",
                sourceLocation: sourceLocation)
        if check.expectsSignal {
            #expect(largest > 10 * check.absoluteTolerance,
                    "input \(i) \(x.shape): every sampled numeric gradient is below \(10 * check.absoluteTolerance); the check says nothing",
                    sourceLocation: sourceLocation)
        }
    }
    return analytic
}
