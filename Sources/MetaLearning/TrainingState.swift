import Engine
import JSON
import NN

/// Everything meta-training needs to continue exactly where it stopped.
public struct TrainingState: Sendable {
    /// Meta weights, running statistics and architecture.
    public var meta: ModelState
    /// Inner optimizers carried from meta-batch to meta-batch.
    public var weightOptimizer: Adam
    public var architectureOptimizer: Adam
    /// The stream that draws tasks and per-task streams.
    public var generator: SeededGenerator
    /// Completed meta-iterations.
    public var iteration: Int

    public init(meta: ModelState, weightOptimizer: Adam, architectureOptimizer: Adam, generator: SeededGenerator,
                iteration: Int) {
        (self.meta, self.weightOptimizer, self.architectureOptimizer) = (meta, weightOptimizer, architectureOptimizer)
        (self.generator, self.iteration) = (generator, iteration)
    }

    /// Checkpoint layout, in a ``TensorArchive``: tensors `meta.weights.<i>`,
    /// `meta.buffers.<i>`, `meta.architecture.<i>`, `inner.weights.<state>`,
    /// `inner.architecture.<state>`; texts `iteration`, `generator` (four hex words) and
    /// `config` (the run's JSON config, for checking that a resume uses the same settings).
    public func archive(config: RunConfig) -> TensorArchive {
        var a = TensorArchive()
        for (i, t) in meta.weights.tensors.enumerated() { a.append("meta.weights.\(i)", t) }
        for (i, t) in meta.buffers.tensors.enumerated() { a.append("meta.buffers.\(i)", t) }
        for (i, t) in meta.architecture.tensors.enumerated() { a.append("meta.architecture.\(i)", t) }
        for (name, t) in weightOptimizer.stateTensors() { a.append("inner.weights.\(name)", t) }
        for (name, t) in architectureOptimizer.stateTensors() { a.append("inner.architecture.\(name)", t) }
        a.append("iteration", text: "\(iteration)")
        let s = generator.state
        a.append("generator", text: [s.0, s.1, s.2, s.3].map { String($0, radix: 16) }.joined(separator: " "))
        a.append("config", text: config.json.serialized(pretty: true))
        return a
    }

    /// Restores a state saved by ``archive(config:)`` into the shapes of `initial`.
    ///
    /// - Throws: ``CheckpointError`` when an entry is missing or shaped differently.
    public init(restoring a: TensorArchive, into initial: TrainingState, source: String) throws(CheckpointError) {
        func fail(_ m: String) -> CheckpointError { CheckpointError(path: source, message: m) }
        self = initial
        func restore(_ prefix: String, _ tensors: inout [Tensor]) throws(CheckpointError) {
            for i in tensors.indices {
                guard let t = a.tensor("\(prefix).\(i)") else { throw fail("missing '\(prefix).\(i)'") }
                guard t.shape == tensors[i].shape else {
                    throw fail("'\(prefix).\(i)' has shape \(t.shape), the network needs \(tensors[i].shape)")
                }
                tensors[i] = t
            }
        }
        try restore("meta.weights", &meta.weights.tensors)
        try restore("meta.buffers", &meta.buffers.tensors)
        try restore("meta.architecture", &meta.architecture.tensors)
        do {
            try weightOptimizer.restore(from: a.tensors(withPrefix: "inner.weights."))
            try architectureOptimizer.restore(from: a.tensors(withPrefix: "inner.architecture."))
        } catch {
            throw fail(error.description)
        }
        guard let it = a.text("iteration").flatMap({ Int($0) }) else { throw fail("missing 'iteration'") }
        iteration = it
        let words = (a.text("generator") ?? "").split(separator: " ").compactMap { UInt64($0, radix: 16) }
        guard words.count == 4 else { throw fail("missing or malformed 'generator'") }
        generator = SeededGenerator(state: (words[0], words[1], words[2], words[3]))
    }
}

extension TrainingState {
    /// A 64-bit hash of every bit of the state: meta weights, statistics, architecture, both
    /// inner optimizers, the generator and the iteration.
    ///
    /// Processes that train together compare it after every meta-iteration; it is not a
    /// cryptographic digest, only a cheap way to notice that two copies differ.
    public var checksum: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ word: UInt64) { h = (h ^ word) &* 0x100_0000_01b3 }
        func mix(_ tensors: [Tensor]) {
            for t in tensors {
                mix(UInt64(t.count))
                t.data.withUnsafeBufferPointer { for v in $0 { mix(UInt64(v.bitPattern)) } }
            }
        }
        mix(meta.weights.tensors)
        mix(meta.buffers.tensors)
        mix(meta.architecture.tensors)
        mix(weightOptimizer.stateTensors().map(\.1))
        mix(architectureOptimizer.stateTensors().map(\.1))
        let g = generator.state
        for w in [g.0, g.1, g.2, g.3, UInt64(iteration)] { mix(w) }
        return h
    }
}

/// A checkpoint that cannot be used.
public struct CheckpointError: Error, CustomStringConvertible {
    public let path: String, message: String
    public var description: String { "\(path): \(message)" }
}
