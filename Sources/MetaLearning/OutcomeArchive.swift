import Engine
import Genotype
import NN
import SearchSpace

/// Task outcomes as bytes, so that processes that split a meta-batch can exchange them.
///
/// The layout is a ``TensorArchive`` (checksummed; floats keep their exact bits):
/// ```
/// model.weights.<i>, model.buffers.<i>, model.architecture.<i>    the adapted model
/// optimizer.weights.<state>, optimizer.architecture.<state>      both inner Adam states
/// log.losses, log.accuracies, log.temperatures                    1-D, one entry per inner step
/// query                                                          [loss, accuracy]
/// query.weightGradients.<i>, query.architectureGradients.<i>      when computed (first-order MAML)
/// texts: pruned.genotype (JSON), pruned.activeWeights, pruned.scoring ("supernet" or "fixed"),
///        pruned.fixed (JSON, fixed scoring), gradients ("weights", "architecture", both or none)
/// tensor pruned.settings [temperature, operationThreshold, inputThreshold] (supernet scoring)
/// ```
extension TaskOutcome {
    /// The outcome as an archive (see the type's layout).
    public func archive() -> TensorArchive {
        var a = TensorArchive()
        for (i, t) in state.model.weights.tensors.enumerated() { a.append("model.weights.\(i)", t) }
        for (i, t) in state.model.buffers.tensors.enumerated() { a.append("model.buffers.\(i)", t) }
        for (i, t) in state.model.architecture.tensors.enumerated() { a.append("model.architecture.\(i)", t) }
        for (name, t) in state.weightOptimizer.stateTensors() { a.append("optimizer.weights.\(name)", t) }
        for (name, t) in state.architectureOptimizer.stateTensors() { a.append("optimizer.architecture.\(name)", t) }
        a.append("log.losses", Tensor(shape: [log.losses.count], data: log.losses))
        a.append("log.accuracies", Tensor(shape: [log.accuracies.count], data: log.accuracies))
        a.append("log.temperatures", Tensor(shape: [log.temperatures.count], data: log.temperatures))
        a.append("query", Tensor(shape: [2], data: [queryLoss, queryAccuracy]))
        var gradients: [String] = []
        if let g = queryWeightGradients {
            gradients.append("weights")
            for (i, t) in g.enumerated() { a.append("query.weightGradients.\(i)", t) }
        }
        if let g = queryArchitectureGradients {
            gradients.append("architecture")
            for (i, t) in g.enumerated() { a.append("query.architectureGradients.\(i)", t) }
        }
        a.append("gradients", text: gradients.joined(separator: ","))
        a.append("pruned.genotype", text: pruned.genotype.json.serialized(pretty: false))
        a.append("pruned.activeWeights", text: "\(pruned.activeWeights)")
        switch pruned.scoring {
        case .supernet(let s):
            a.append("pruned.scoring", text: "supernet")
            a.append("pruned.settings", Tensor(shape: [3], data: [s.temperature, s.operationThreshold, s.inputThreshold]))
        case .fixed(let g):
            a.append("pruned.scoring", text: "fixed")
            a.append("pruned.fixed", text: g.json.serialized(pretty: false))
        }
        return a
    }

    /// Rebuilds an outcome from ``archive()``.
    ///
    /// - Parameter start: the state the task started from; it supplies parameter names, shapes
    ///   and optimizer settings, which are not sent.
    /// - Throws: ``OutcomeArchiveError`` when an entry is missing, shaped unlike `start`, or
    ///   does not parse.
    public init(restoring a: TensorArchive, start: TaskState) throws(OutcomeArchiveError) {
        var tensors: [String: Tensor] = [:]
        for (name, value) in a.tensors { tensors[name] = value }
        func fail(_ m: String) -> OutcomeArchiveError { OutcomeArchiveError(reason: m) }
        func tensor(_ name: String) throws(OutcomeArchiveError) -> Tensor {
            guard let t = tensors[name] else { throw fail("missing '\(name)'") }
            return t
        }
        func list(_ prefix: String, like template: [Tensor]) throws(OutcomeArchiveError) -> [Tensor] {
            var out: [Tensor] = []
            for (i, t) in template.enumerated() {
                let v = try tensor("\(prefix).\(i)")
                guard v.shape == t.shape else { throw fail("'\(prefix).\(i)' has shape \(v.shape), expected \(t.shape)") }
                out.append(v)
            }
            return out
        }
        func text(_ name: String) throws(OutcomeArchiveError) -> String {
            guard let t = a.text(name) else { throw fail("missing '\(name)'") }
            return t
        }
        func genotype(_ name: String) throws(OutcomeArchiveError) -> Genotype {
            do { return try Genotype(jsonText: try text(name), source: name) } catch { throw fail("\(error)") }
        }

        var state = start
        state.model.weights.tensors = try list("model.weights", like: start.model.weights.tensors)
        state.model.buffers.tensors = try list("model.buffers", like: start.model.buffers.tensors)
        state.model.architecture.tensors = try list("model.architecture", like: start.model.architecture.tensors)
        do {
            try state.weightOptimizer.restore(from: a.tensors(withPrefix: "optimizer.weights."))
            try state.architectureOptimizer.restore(from: a.tensors(withPrefix: "optimizer.architecture."))
        } catch {
            throw fail(error.description)
        }
        let query = try tensor("query")
        guard query.count == 2 else { throw fail("'query' has \(query.count) values, expected 2") }
        let gradients = try text("gradients").split(separator: ",")
        let scoring: Scoring
        switch try text("pruned.scoring") {
        case "supernet":
            let s = try tensor("pruned.settings")
            guard s.count == 3 else { throw fail("'pruned.settings' has \(s.count) values, expected 3") }
            scoring = .supernet(ArchitectureSettings(temperature: s.data[0], operationThreshold: s.data[1], inputThreshold: s.data[2]))
        case "fixed":
            scoring = .fixed(try genotype("pruned.fixed"))
        case let other:
            throw fail("unknown scoring '\(other)'")
        }
        guard let active = Int(try text("pruned.activeWeights")) else { throw fail("malformed 'pruned.activeWeights'") }
        self.init(
            state: state,
            log: AdaptationLog(losses: Array(try tensor("log.losses").data), accuracies: Array(try tensor("log.accuracies").data),
                               temperatures: Array(try tensor("log.temperatures").data)),
            queryLoss: query.data[0], queryAccuracy: query.data[1],
            queryWeightGradients: gradients.contains("weights")
                ? try list("query.weightGradients", like: start.model.weights.tensors) : nil,
            queryArchitectureGradients: gradients.contains("architecture")
                ? try list("query.architectureGradients", like: start.model.architecture.tensors) : nil,
            pruned: PrunedArchitecture(genotype: try genotype("pruned.genotype"), activeWeights: active, scoring: scoring))
    }
}

/// A task outcome received from another process that cannot be rebuilt.
public struct OutcomeArchiveError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "task outcome: \(reason)" }
}
