/// Inner-loop hyperparameters of one task adaptation.
public struct InnerLoop: Sendable, Hashable {
    /// Total adaptation steps.
    public var steps: Int
    /// The first `architectureSteps` steps also update the architecture (0 in warm-up).
    public var architectureSteps: Int
    /// Images per batch, drawn from the support set with replacement.
    public var batchSize: Int
    /// Temperature at the first and at the last architecture step (linear in between, then
    /// held at `endTemperature`).
    public var startTemperature: Float
    public var endTemperature: Float
    /// Drop-path keep probability (1 - p).
    public var dropPathKeep: Float

    public init(steps: Int, architectureSteps: Int, batchSize: Int, startTemperature: Float, endTemperature: Float,
                dropPathKeep: Float) {
        (self.steps, self.architectureSteps, self.batchSize) = (steps, architectureSteps, batchSize)
        (self.startTemperature, self.endTemperature, self.dropPathKeep) = (startTemperature, endTemperature, dropPathKeep)
    }

    /// The temperature of step `s` (0-based).
    ///
    /// ```
    /// T(s) = T_start + (T_end - T_start) * min(s, A - 1) / (A - 1),   A = architecture steps
    /// ```
    /// With no architecture steps (warm-up) the temperature stays at `startTemperature`.
    public func temperature(step s: Int) -> Float {
        let span = architectureSteps > 0 ? architectureSteps : 0
        guard span > 1 else { return span == 1 ? endTemperature : startTemperature }
        let f = Float(min(s, span - 1)) / Float(span - 1)
        return startTemperature + (endTemperature - startTemperature) * f
    }

    /// The temperature after the last step (used to score the query set).
    public var finalTemperature: Float { architectureSteps > 0 ? endTemperature : startTemperature }
}
