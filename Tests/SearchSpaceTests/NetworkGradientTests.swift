import Engine
import NN
import Testing
@testable import SearchSpace

/// Finite-difference checks of the whole search network: weights, alphas and betas, with one
/// operation pruned by the threshold, at temperatures 1 and 0.3, in both node-input forms.
///
/// The scalar differentiated is `L = sum(logits * R)` for a fixed random `R` (batch 4 of 4x4
/// images, 3 ways). Batch norm uses batch statistics and drop-path is off, so `L` is a
/// deterministic function of the parameters. An element passes when its tape gradient `a` and
/// a central difference `n` (double sums, step measured after rounding) agree:
/// ```
/// |a - n| <= 1e-3 + 1e-2 * max(|a|, |n|)
/// ```
/// Steps: this network has thousands of ReLU units behind batch norms, and a kink inside the
/// step bends the difference (left and right one-sided slopes then disagree while both tend
/// to `a` as the step shrinks). At a step of 1e-2 about one element in five disagrees by more
/// than the tolerance; at 1e-3 about one in fifty. So each element tries the steps 1e-3, 3e-4
/// and 1e-4 and passes when one agrees. Scaling every analytic gradient by 1.03 makes more
/// than half of the sampled elements fail, so the tolerance still catches wrong gradients.
@Suite("Search network gradients")
struct NetworkGradientTests {
    static let epsilons: [Float] = [1e-3, 3e-4, 1e-4]
    static let absoluteTolerance: Double = 1e-3
    static let relativeTolerance: Double = 1e-2

    /// The operation whose weight is forced under the threshold, on edge 1 of the normal cell.
    static let prunedEdge = 1
    static let prunedOperation = "conv_3x3"

    enum Source { case weights, architecture }

    /// Elements to check: `count` random elements (all when the tensor is smaller) of a tensor.
    struct Probe {
        var set: Source
        var name: String
        var count: Int
    }

    static let probes: [Probe] = [
        Probe(set: .weights, name: "stem.conv.weight", count: 3),
        Probe(set: .weights, name: "stem.bn.weight", count: 2),
        Probe(set: .weights, name: "stem.bn.bias", count: 2),
        Probe(set: .weights, name: "cells.0.preprocess0.conv.weight", count: 2),
        Probe(set: .weights, name: "cells.0.edge0.sep_conv_3x3.0.depthwise.weight", count: 2),
        Probe(set: .weights, name: "cells.0.edge4.dil_conv_3x3.pointwise.weight", count: 2),
        Probe(set: .weights, name: "cells.1.edge0.skip_connect.reduce.conv1.weight", count: 2),
        Probe(set: .weights, name: "cells.1.edge2.conv_1x5_5x1.conv5x1.weight", count: 2),
        Probe(set: .weights, name: "classifier.weight", count: 3),
        Probe(set: .weights, name: "classifier.bias", count: 3),
        // The pruned operation: no effect on the loss, so both sides must be exactly zero.
        Probe(set: .weights, name: "cells.0.edge1.conv_3x3.depthwise.weight", count: 2),
        Probe(set: .weights, name: "cells.0.edge1.conv_3x3.pointwise.weight", count: 2),
        Probe(set: .architecture, name: "alpha.normal", count: 10),
        Probe(set: .architecture, name: "alpha.reduce", count: 6),
        Probe(set: .architecture, name: "beta.normal.node0", count: 1),
        Probe(set: .architecture, name: "beta.normal.node1", count: 3),
        Probe(set: .architecture, name: "beta.reduce.node1", count: 3),
    ]

    /// Alphas in `+-0.2` (so every other operation stays well above the threshold at T = 0.3),
    /// the pruned operation's alpha at -4, betas in `+-0.3`.
    static func architecture(_ net: SearchNetwork, seed: UInt64) -> ParameterSet {
        var g = SeededGenerator(seed: seed)
        var a = net.architecture
        for i in a.tensors.indices {
            let spread: Float = a.names[i].hasPrefix("alpha") ? 0.2 : 0.3
            a.tensors[i] = .randomUniform(shape: a.tensors[i].shape, low: -spread, high: spread, using: &g)
        }
        let k = operationIndex(net.config, prunedOperation)
        a.tensors[net.layout.alpha[CellKind.normal.rawValue].index][prunedEdge, k] = -4
        return a
    }

    /// The outcome of checking one network, for assertions and for seed sweeps.
    struct Outcome {
        var mismatches: [String] = []
        var checked = 0
        var withSignal = 0
        /// The largest `|analytic - numeric| / tolerance` over the agreeing elements.
        var worstRatio = 0.0
    }

    @Test("Gradients match central differences, one operation under the threshold",
          arguments: [(NodeInputForm.pairs, Float(1.0)), (.pairs, 0.3), (.single, 0.3)])
    func finiteDifferences(form: NodeInputForm, temperature: Float) throws {
        let outcome = try Self.check(form: form, temperature: temperature, seed: 2)
        #expect(outcome.mismatches.isEmpty,
                "\(outcome.mismatches.count) of \(outcome.checked) gradients differ: \(outcome.mismatches.joined(separator: "; "))")
        // Most sampled elements must carry a clear signal, or the check would prove nothing.
        #expect(outcome.withSignal >= outcome.checked / 2,
                "only \(outcome.withSignal) of \(outcome.checked) sampled gradients are clearly non-zero")
    }

    /// Checks the sampled elements of one seeded network (`seed` offsets every generator).
    static func check(form: NodeInputForm, temperature: Float, seed: UInt64, inputSize: Int = 4,
                      batch: Int = 4) throws -> Outcome {
        let config = Tiny.config(inputSize: inputSize, nodeInputs: form)
        let net = try Tiny.network(config, seed: 7 &+ seed)
        let forward = Forward(network: net, images: Tiny.images(config, batch: batch, seed: 11 &+ seed))
        let weights = net.weights
        let arch = Self.architecture(net, seed: 5 &+ seed)
        let settings = ArchitectureSettings(temperature: temperature, operationThreshold: 0.01, inputThreshold: 0.01)
        let pruned = operationIndex(config, Self.prunedOperation)

        // The plan prunes exactly the one operation and keeps every input candidate.
        let plan = net.plan(architecture: arch, settings: settings)
        let all = Array(config.operations.indices)
        for kind in CellKind.allCases {
            for e in 0..<config.edgesPerCell {
                let expected = kind == .normal && e == Self.prunedEdge ? all.filter { $0 != pruned } : all
                #expect(plan.activeOps[kind.rawValue][e] == expected, "\(kind) edge \(e)")
            }
            for node in 0..<config.nodes {
                #expect(plan.activeCandidates[kind.rawValue][node] == Array(config.inputCandidates(node: node).indices))
            }
        }

        var g = SeededGenerator(seed: 99 &+ seed)
        let projection = Tensor.randomNormal(shape: [batch, config.ways], using: &g)

        // Analytic gradients.
        let tape = Tape()
        let (logits, w, a) = forward.logits(weights: weights, architecture: arch, settings: settings, on: tape, trainable: true)
        let grads = tape.gradients(of: (logits * tape.constant(projection)).sum())

        // The pruned operation's parameters receive no gradient at all.
        let prunedPrefix = "cells.0.edge\(Self.prunedEdge).\(Self.prunedOperation)."
        let prunedTensors = weights.names.indices.filter { weights.names[$0].hasPrefix(prunedPrefix) }
        #expect(prunedTensors.count == 2)
        for i in prunedTensors {
            #expect(!grads.contains(w[i]), "\(weights.names[i]) received a gradient although its operation is pruned")
        }

        func projected(_ weights: ParameterSet, _ arch: ParameterSet) -> Double {
            let t = Tape()
            let y = forward.logits(weights: weights, architecture: arch, settings: settings, on: t, trainable: false).logits.value
            var s = 0.0
            for k in 0..<y.count { s += Double(y.data[k]) * Double(projection.data[k]) }
            return s
        }
        /// The central difference of element `k` of tensor `i` of `source` with step `epsilon`.
        func numeric(_ source: Source, _ i: Int, _ k: Int, epsilon: Float) -> Double {
            var (wp, ap) = (weights, arch), (wm, am) = (weights, arch)
            let step: Double
            switch source {
            case .weights:
                wp.tensors[i].data[k] += epsilon
                wm.tensors[i].data[k] -= epsilon
                step = Double(wp.tensors[i].data[k]) - Double(wm.tensors[i].data[k])
            case .architecture:
                ap.tensors[i].data[k] += epsilon
                am.tensors[i].data[k] -= epsilon
                step = Double(ap.tensors[i].data[k]) - Double(am.tensors[i].data[k])
            }
            return (projected(wp, ap) - projected(wm, am)) / step
        }

        var outcome = Outcome()
        for probe in Self.probes {
            let set = probe.set == .weights ? weights : arch
            let i = parameterIndex(set, probe.name)
            let analytic = probe.set == .weights ? grads[w[i]] : grads[a[i]]
            let picks = (0..<set.tensors[i].count).shuffled(using: &g).prefix(probe.count)
            for k in picks {
                let exact = Double(analytic.data[k])
                outcome.checked += 1
                if prunedTensors.contains(i) {
                    let n = numeric(probe.set, i, k, epsilon: Self.epsilons[0])
                    #expect(n == 0 && exact == 0, "\(probe.name)[\(k)]: pruned, yet analytic \(exact) numeric \(n)")
                    continue
                }
                // A kink inside the step bends one difference; any agreeing step passes.
                var seen: [Double] = []
                var agreed = false
                for epsilon in Self.epsilons where !agreed {
                    let n = numeric(probe.set, i, k, epsilon: epsilon)
                    seen.append(n)
                    let ratio = abs(exact - n) / (Self.absoluteTolerance + Self.relativeTolerance * max(abs(exact), abs(n)))
                    if ratio <= 1 {
                        agreed = true
                        outcome.worstRatio = max(outcome.worstRatio, ratio)
                    }
                }
                if abs(seen[0]) > 10 * Self.absoluteTolerance { outcome.withSignal += 1 }
                if !agreed { outcome.mismatches.append("\(probe.name)[\(k)]: analytic \(exact), numeric \(seen)") }
            }
        }
        return outcome
    }
}
