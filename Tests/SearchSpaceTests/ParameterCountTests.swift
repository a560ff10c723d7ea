import Engine
import NN
import Testing
@testable import SearchSpace

@Suite("Reference sizes")
struct ParameterCountTests {
    @Test("20-way reference network: 462,272 weights and 146 architecture parameters")
    func reference20Way() throws {
        var g = SeededGenerator(seed: 1)
        let net = try SearchNetwork(.reference(ways: 20), registry: .builtIn, generator: &g)
        #expect(net.weights.scalarCount == 462_272)
        #expect(net.architecture.scalarCount == 146)
    }

    @Test("5-way reference network: 460,997 weights")
    func reference5Way() throws {
        var g = SeededGenerator(seed: 1)
        let net = try SearchNetwork(.reference(ways: 5), registry: .builtIn, generator: &g)
        #expect(net.weights.scalarCount == 460_997)
        #expect(net.architecture.scalarCount == 146)
    }

    @Test("Every operation active: the active count is the full count")
    func activeEqualsFull() throws {
        var g = SeededGenerator(seed: 1)
        let net = try SearchNetwork(.reference(ways: 20), registry: .builtIn, generator: &g)
        let plan = net.plan(architecture: net.architecture, settings: ArchitectureSettings())
        #expect(net.activeWeightCount(plan: plan) == 462_272)
    }
}
