// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Generator
import Synchronization
import Planner
import TestSupport
import Testing
import Topology

/// `plan(_:externalSolver:)`: the peers comparison goes through the planner's own extraction,
/// waves and validation; a bad external answer is an error, never a plan.
@Suite struct ExternalSolverTests {
    static func inventory() -> Inventory {
        InventoryGenerator.generate(.init(
            seed: 21, hosts: 12, servers: 50, availabilityZones: ["az1", "az2"], unknownLayoutFraction: 0,
            shutoffFraction: 1, faultFraction: 0, antiAffinityGroups: 1, hostTypeNames: ["c6", "m6"], maxFill: 0.6))
    }

    @Test func glpkAsAnExternalSolverGivesTheSameOptimum() throws {
        let inventory = Self.inventory()
        let options = PlanOptions(mode: .evacuate([inventory.hosts[0].id, inventory.hosts[7].id]), timeLimit: 20)
        let own = try BatchPlanner(inventory).plan(options)
        let seen = Counter()
        let external = try BatchPlanner(inventory).plan(options) { number, model, limit in
            seen.add(number)
            #expect(limit > 0)
            let solution = try model.solve(SolveOptions(timeLimit: limit))
            return try Solution(external: solution.values, status: solution.status, bound: solution.bound, seconds: solution.seconds, for: model)
        }
        #expect(seen.values == Array(0..<own.subproblems))
        #expect(own.status == .optimal)
        #expect(external.status == .optimal)
        #expect(external.objectiveValue == own.objectiveValue)
        #expect(IndependentValidator.check(external, inventory: inventory) == [])
    }

    @Test func answersThatDoNotFitTheModelAreErrors() throws {
        let inventory = Self.inventory()
        let options = PlanOptions(mode: .consolidate, timeLimit: 20)
        #expect(throws: PlanError.self) {
            try BatchPlanner(inventory).plan(options) { _, model, _ in
                // All zeros breaks the rows that place every server somewhere.
                try Solution(external: Array(repeating: 0, count: model.variableCount), status: .feasible, bound: nil, seconds: 0, for: model)
            }
        }
        #expect(throws: PlanError.self) {
            try BatchPlanner(inventory).plan(options) { _, model, _ in
                try Solution(external: [], status: .noSolution, bound: nil, seconds: 0, for: model)
            }
        }
    }
}

/// Records sub-problem numbers from a @Sendable closure.
final class Counter: Sendable {
    private let seen = Mutex<[Int]>([])
    func add(_ n: Int) { seen.withLock { $0.append(n) } }
    var values: [Int] { seen.withLock { $0 } }
}
