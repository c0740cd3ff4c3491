// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Generator
import Synchronization
@testable import Planner
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

    /// GLPK itself behind the protocol (the model as the planner hands it out).
    struct GLPKBehindTheProtocol: ExternalModelSolver {
        let seen = Counter()
        func solve(subproblem: Int, model: ExternalModel, timeLimit: Double) throws -> ExternalAnswer {
            seen.add(subproblem)
            #expect(timeLimit > 0)
            #expect(model.mps.contains("ROWS") && model.columnCount > 0)
            let solution = try model.model.solve(SolveOptions(timeLimit: timeLimit))
            return ExternalAnswer(status: ExternalAnswer.Status(rawValue: solution.status.rawValue)!, values: solution.values,
                                  bound: solution.bound, seconds: solution.seconds)
        }
    }

    /// Answers fixed in advance, whatever the model.
    struct Canned: ExternalModelSolver {
        let answer: @Sendable (ExternalModel) -> ExternalAnswer
        func solve(subproblem: Int, model: ExternalModel, timeLimit: Double) throws -> ExternalAnswer { answer(model) }
    }

    @Test func glpkAsAnExternalSolverGivesTheSameOptimum() throws {
        let inventory = Self.inventory()
        let options = PlanOptions(mode: .evacuate([inventory.hosts[0].id, inventory.hosts[7].id]), timeLimit: 20)
        let own = try BatchPlanner(inventory).plan(options)
        let solver = GLPKBehindTheProtocol()
        let external = try BatchPlanner(inventory).plan(options, externalSolver: solver)
        #expect(solver.seen.values == Array(0..<own.subproblems))
        #expect(own.status == .optimal)
        #expect(external.status == .optimal)
        #expect(external.objectiveValue == own.objectiveValue)
        #expect(IndependentValidator.check(external, inventory: inventory) == [])
    }

    @Test func answersThatDoNotFitTheModelAreErrors() throws {
        let inventory = Self.inventory()
        let options = PlanOptions(mode: .consolidate, timeLimit: 20)
        // All zeros breaks the rows that place every server somewhere.
        let zeros = Canned { ExternalAnswer(status: .feasible, values: Array(repeating: 0, count: $0.columnCount)) }
        #expect(throws: PlanError.self) { try BatchPlanner(inventory).plan(options, externalSolver: zeros) }
        let none = Canned { _ in ExternalAnswer(status: .noSolution, values: []) }
        #expect(throws: PlanError.self) { try BatchPlanner(inventory).plan(options, externalSolver: none) }
        let short = Canned { ExternalAnswer(status: .feasible, values: Array(repeating: 1, count: $0.columnCount - 1)) }
        #expect(throws: PlanError.self) { try BatchPlanner(inventory).plan(options, externalSolver: short) }
    }
}

/// Records sub-problem numbers from a @Sendable closure.
final class Counter: Sendable {
    private let seen = Mutex<[Int]>([])
    func add(_ n: Int) { seen.withLock { $0.append(n) } }
    var values: [Int] { seen.withLock { $0 } }
}
