// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Testing
import Topology
@testable import Planner

/// How long the pattern model runs before the per-host models (`patternModelDeadline`).
@Suite struct PatternDeadlineTests {
    /// A consolidation of `n` servers of unique sizes under `planned`, every server a mover.
    func consolidation(_ n: Int) throws -> (Inventory, BatchPlanner, PlanOptions, SubProblem) {
        let inventory = try NeverAboveFFDTests.uniqueSizes(n, seed: 5)
        let planner = BatchPlanner(inventory)
        let options = PlanOptions(mode: .consolidate, timeLimit: 10, placement: .planned)
        let sub = planner.buildSubProblem(zones: ["az1"], movers: Array(inventory.servers.indices), mustMove: false, evacuated: [],
                                          excluded: [], options: options)
        return (inventory, planner, options, sub)
    }

    /// The per-host model is not built where its build and LP would outlast what is left of the
    /// limit (foreign fleet 19 under `planned` at 1 s entered with 0.09 s left, built 20,410
    /// host and flavor pairs in 0.16 s and ended at 1.11 s), nor with less than a tenth left.
    @Test func thePerHostModelIsNotBuiltWhereItsBuildWouldOutlastTheLimit() throws {
        #expect(!BatchPlanner.perHostModelFits(left: 0.092, of: 0.897, pairs: 20_410))
        #expect(BatchPlanner.perHostModelFits(left: 0.5, of: 1, pairs: 20_410))
        #expect(!BatchPlanner.perHostModelFits(left: 0.05, of: 1, pairs: 10))
        #expect(BatchPlanner.perHostModelFits(left: 0.2, of: 1, pairs: 10))

        let (_, planner, options, sub) = try consolidation(60)
        let pairs = planner.perHostColumnsEstimate(sub)
        let stay = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
        // A limit of a third of the build time: more than a tenth of it is left, but not the build.
        let limit = BatchPlanner.perHostBuildSeconds * Double(pairs) / 3
        let skipped = planner.solveAggregated(sub, options: options, timeLimit: limit, started: monotonicSeconds(), heuristic: stay,
                                              source: "test")
        #expect(skipped.variables == 0)
        #expect(skipped.notes == ["no time left for the per-host models; the test plan is used"])
        let built = planner.solveAggregated(sub, options: options, timeLimit: 5, started: monotonicSeconds(), heuristic: stay,
                                            source: "test")
        #expect(built.variables > 0)
    }

    /// A consolidation whose per-host model will be beyond branch-and-cut (only its LP bound and
    /// the local search follow) leaves the pattern model 90 % of the limit; with branch-and-cut to follow, 60 %; a drain
    /// never more than the usual share.
    @Test func perHostModelsBeyondBranchAndCutLeaveThePatternModelMoreTime() throws {
        var (inventory, planner, options, sub) = try consolidation(8)
        // The estimate counts what the model has at least here: every server moves, every host is
        // empty of servers that stay, and each class fits any host on its one node.
        let estimate = planner.perHostColumnsEstimate(sub)
        let levels = sub.levels(sub.classes.map { Array(repeating: Decision.stay, count: $0.count) },
                                objective: .minHostsUsed, inventory: inventory)
        let (built, _) = planner.aggregatedModel(sub, options: options, heuristic: levels)
        #expect(estimate == sub.classes.count * sub.hosts.count)
        #expect(estimate <= built.model.variableCount)

        planner.branchAndCutLimit = estimate - 1  // beyond branch-and-cut
        var started = monotonicSeconds()
        #expect(abs(planner.patternModelDeadline(sub, options: options, started: started, timeLimit: 10) - (started + 9)) < 1e-9)

        planner.branchAndCutLimit = built.model.variableCount  // branch-and-cut would follow
        started = monotonicSeconds()
        #expect(abs(planner.patternModelDeadline(sub, options: options, started: started, timeLimit: 10) - (started + 6)) < 1e-9)

        planner.branchAndCutLimit = estimate - 1
        let drain = PlanOptions(mode: .evacuate([inventory.hosts[0].id]), timeLimit: 10, placement: .planned)
        started = monotonicSeconds()
        #expect(abs(planner.patternModelDeadline(sub, options: drain, started: started, timeLimit: 10) - (started + 6)) < 1e-9)
    }
}
