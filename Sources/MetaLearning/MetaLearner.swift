import Engine
import NN

/// Combines the outcomes of a meta-batch of tasks into new meta-parameters. Implement it to
/// try another meta-learner; the training loop, checkpoints and CLI stay as they are.
public protocol MetaLearner: Sendable {
    /// The catalog name, e.g. `reptile`.
    var name: String { get }
    /// Whether tasks must also return query-set gradients at their adapted parameters.
    var needsQueryGradients: Bool { get }
    /// Updates `meta` from the outcomes (in task order, so the result is deterministic).
    ///
    /// - Parameter updateArchitecture: false during warm-up, when only weights are meta-learned.
    func update(_ meta: inout ModelState, outcomes: [TaskOutcome], updateArchitecture: Bool)
}

/// `base += step * mean_t(sets[t] - base)`, tensor by tensor; differences are summed in task
/// order, so the update does not depend on which thread finished first.
func moveTowardsMean(_ base: inout [Tensor], _ sets: [[Tensor]], step: Float) {
    guard !sets.isEmpty else { return }
    let factor = step / Float(sets.count)
    for i in base.indices {
        var sum = Tensor(shape: base[i].shape)
        for s in sets {
            sum.add(s[i])
            sum.add(base[i], scaledBy: -1)
        }
        base[i].add(sum, scaledBy: factor)
    }
}

/// `base -= step * mean_t(gradients[t])`, summed in task order.
func descendMeanGradient(_ base: inout [Tensor], _ gradients: [[Tensor]], step: Float) {
    guard !gradients.isEmpty else { return }
    for i in base.indices {
        var sum = Tensor(shape: base[i].shape)
        for g in gradients { sum.add(g[i]) }
        base[i].add(sum, scaledBy: -step / Float(gradients.count))
    }
}

/// Reptile: move the meta-parameters towards the adapted ones.
///
/// ```
/// w     += weightStep       * mean_t(w_t - w)
/// alpha += architectureStep * mean_t(alpha_t - alpha)     (likewise beta)
/// ```
/// Batch-norm running statistics follow the weights' rule.
public struct Reptile: MetaLearner {
    public let name = "reptile"
    public var weightStep: Float
    public var architectureStep: Float
    public var needsQueryGradients: Bool { false }

    public init(weightStep: Float = 1.0, architectureStep: Float = 0.6) {
        (self.weightStep, self.architectureStep) = (weightStep, architectureStep)
    }

    public func update(_ meta: inout ModelState, outcomes: [TaskOutcome], updateArchitecture: Bool) {
        moveTowardsMean(&meta.weights.tensors, outcomes.map(\.state.model.weights.tensors), step: weightStep)
        moveTowardsMean(&meta.buffers.tensors, outcomes.map(\.state.model.buffers.tensors), step: weightStep)
        if updateArchitecture {
            moveTowardsMean(&meta.architecture.tensors, outcomes.map(\.state.model.architecture.tensors), step: architectureStep)
        }
    }
}

/// First-order MAML: step the meta-parameters along the mean query-set gradient taken at each
/// task's adapted parameters.
///
/// ```
/// w     -= weightStep       * mean_t grad_w L_query(w_t, alpha_t)
/// alpha -= architectureStep * mean_t grad_alpha L_query(w_t, alpha_t)
/// ```
public struct FirstOrderMAML: MetaLearner {
    public let name = "fomaml"
    public var weightStep: Float
    public var architectureStep: Float
    public var needsQueryGradients: Bool { true }

    public init(weightStep: Float = 0.001, architectureStep: Float = 0.001) {
        (self.weightStep, self.architectureStep) = (weightStep, architectureStep)
    }

    public func update(_ meta: inout ModelState, outcomes: [TaskOutcome], updateArchitecture: Bool) {
        descendMeanGradient(&meta.weights.tensors, outcomes.compactMap(\.queryWeightGradients), step: weightStep)
        // Batch-norm statistics are not learned by gradient: they follow the adapted tasks.
        moveTowardsMean(&meta.buffers.tensors, outcomes.map(\.state.model.buffers.tensors), step: 1)
        if updateArchitecture {
            descendMeanGradient(&meta.architecture.tensors, outcomes.compactMap(\.queryArchitectureGradients),
                                step: architectureStep)
        }
    }
}
