// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
@testable import Planner
import Testing
import Topology

/// `solve(end:)`: the moment a sub-problem's outcome is due, whatever its share of the limit.
@Suite struct SubProblemEndTests {
    /// A sub-problem due at once still gets a plan that places every server, in waves the
    /// independent validator accepts; the packings that need time are not made for it. Where
    /// the same sub-problem, given its share, keeps the packing judged in sequence, due at once
    /// it does not: fails if `end` is ignored (the quarter second every share gets to order a
    /// packing made it before), or if a sub-problem due at once is left without a plan.
    @Test func aSubProblemDueAtOnceStillGetsAValidPlan() throws {
        var judgedWhenGiven = 0
        for (seed, inventory, options) in SequencedFirstFitTests.fleets() {
            let planner = BatchPlanner(inventory)
            let sub = try #require(planner.consolidationSubProblems(zones: ["az1"], options: options).first)
            let due = planner.solve(sub, options: options, timeLimit: 2, end: 0)
            let levels = sub.levels(due.decisions, objective: options.effectiveObjective, inventory: inventory)
            #expect(levels.unplaced == 0 && levels.pool == 0, "seed \(seed)")
            let moves = planner.moves(of: due.decisions, in: sub)
            let waves = due.waves ?? planner.orderWaves(moves, options: options).moves
            #expect(Set(waves.map(\.serverID)) == Set(moves.map(\.serverID)), "seed \(seed)")
            #expect(PlanValidator.violations(of: waves, on: inventory, options: options.checkerOptions).isEmpty, "seed \(seed)")
            let given = planner.solve(sub, options: options, timeLimit: 2)
            if given.notes.contains(where: { $0.contains(BatchPlanner.sequencedSource) }) {
                judgedWhenGiven += 1
                #expect(!due.notes.contains { $0.contains(BatchPlanner.sequencedSource) }, "seed \(seed): \(due.notes)")
            }
        }
        #expect(judgedWhenGiven > 0)
    }
}
