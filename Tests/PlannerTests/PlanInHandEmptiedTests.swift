// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import GLPK
@testable import Planner
import TestSupport
import Testing
import Topology

/// Consolidating under `any`, the last phase empties more hosts by the exact verdict, from the
/// models' plan and from the plan in hand before them. The models count servers of unknown
/// layout on every node they might use; their plan, even where it meets their own bound, can
/// leave fewer hosts to empty than the plan in hand. When the pattern model's plan met its
/// bound, the plan in hand was not handed on: foreign fleet 15 (300 hosts) at 3 s kept 137
/// hosts where the phase from the plan in hand reached 133.
@Suite struct PlanInHandEmptiedTests {
    /// A fleet of `Benchmarks/foreign_fleets.py` (`make(201, 30)`): 30 two-node hosts of one
    /// type, 70 servers, every layout unknown, 5 running. The pattern model's plan replaces the
    /// plan in hand there, on a return path that did not hand it on before.
    static func fleet() throws -> Inventory {
        let path = Fixtures.packageRoot.appendingPathComponent("Tests/PlannerTests/fleets/models-replace-plan-in-hand.json").path
        return try Inventory.load(path: path)
    }

    /// Hosts in use after `decisions`, then as many more hosts emptied as the phase finds.
    static func emptied(_ planner: BatchPlanner, _ sub: SubProblem, _ decisions: [[Decision]], options: PlanOptions) -> Double {
        let moves = planner.concreteMoves([(sub, decisions)]).moves
        let more = planner.emptyMoreHosts(moves, options: options, excluded: [], deadline: monotonicSeconds() + 30)
        let ordered = planner.orderWaves(more.moves, options: options)
        return planner.objectiveValue(ordered.dropped.isEmpty ? ordered.moves : moves, objective: .minHostsUsed)
    }

    /// The models replace the plan in hand and hand it on, and the plan keeps no more hosts
    /// than the phase finds from either. Without the hand-on from every return path (before
    /// 91b6c42 only the last one set it), `alternative` is nil here.
    @Test func theModelsHandOnThePlanInHandTheyReplace() throws {
        let inventory = try Self.fleet()
        let options = PlanOptions(mode: .consolidate, timeLimit: 10, placement: .any)
        let planner = BatchPlanner(inventory)
        let zones = Set(inventory.hosts.map(\.availabilityZone))
        let subs = planner.consolidationSubProblems(zones: zones, options: options)
        try #require(subs.count == 1)
        let outcome = planner.solve(subs[0], options: options, timeLimit: 10)
        try #require(outcome.notes.contains { $0.contains("plan from the pattern model") }, "\(outcome.notes)")
        let inHand = try #require(outcome.alternative)
        #expect(inHand != outcome.decisions)
        #expect(subs[0].levels(inHand, objective: .minHostsUsed, inventory: inventory).unplaced == 0)
        let fromModels = Self.emptied(planner, subs[0], outcome.decisions, options: options)
        let fromInHand = Self.emptied(planner, subs[0], inHand, options: options)
        let plan = try planner.plan(options)
        #expect(plan.unplaced.isEmpty)
        #expect(plan.objectiveValue <= min(fromModels, fromInHand), "\(plan.notes)")
        #expect(PlanValidator.violations(of: plan.moves, on: inventory, options: options.checkerOptions).isEmpty)
    }
}
