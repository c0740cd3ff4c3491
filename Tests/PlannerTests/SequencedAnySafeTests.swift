// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
@testable import Planner
import TestSupport
import Testing
import Topology

/// `anySafe(sequenced: true)`: a host's arrivals judged one wave after another keep a packing
/// that judging them all at once would break up.
@Suite struct SequencedAnySafeTests {
    /// Hosts a, b, c of 2 nodes × 16 vCPUs. b keeps an ACTIVE 8-vCPU server on node 0; a 16-vCPU
    /// server (on a) and an 8-vCPU one (on c) are to join it on b. The 16 needs node 1 whole:
    /// landing together, the cloud may put the 8 there first and the 16 has no node; the 16
    /// first (node 1 is its only place), then the 8 (node 0), always fits.
    func problem() throws -> (Inventory, BatchPlanner, SubProblem, [[Decision]]) {
        var b = InventoryBuilder()
        b.flavor("s8", vcpus: 8, memory: 16384)
        b.flavor("big", vcpus: 16, memory: 32768)
        b.hostType("t", nodes: 2, vcpus: 16, memory: 65536, flavors: ["s8", "big"])
        for h in ["a", "b", "c"] { b.host(h, type: "t") }
        b.server("keep", flavor: "s8", on: "b", nodes: [0], status: "ACTIVE")
        b.server("large", flavor: "big", on: "a", nodes: [0])
        b.server("small", flavor: "s8", on: "c", nodes: [0])
        let inv = try b.build()
        let planner = BatchPlanner(inv)
        let movers = inv.servers.indices.filter { inv.servers[$0].isStopped }
        let sub = planner.buildSubProblem(zones: ["az1"], movers: movers, mustMove: false, evacuated: [], excluded: [],
                                          options: PlanOptions(mode: .consolidate))
        let onB = try #require(sub.local[inv.hostIndex["b"]!])
        let decisions = sub.classes.map { cls in cls.servers.map { _ in Decision.host(onB, [1]) } }
        return (inv, planner, sub, decisions)
    }

    func hosts(_ decisions: [[Decision]], _ sub: SubProblem, _ inv: Inventory) -> Double {
        sub.levels(decisions, objective: .minHostsUsed, inventory: inv).primary
    }

    @Test func arrivalsInSequenceKeepThePackingThatConcurrentArrivalsBreak() throws {
        let (inv, planner, sub, decisions) = try problem()
        let options = PlanOptions(mode: .consolidate, placement: .any)
        let concurrent = try #require(planner.anySafe(decisions, sub: sub, options: options, deadline: .infinity))
        let sequenced = try #require(planner.anySafe(decisions, sub: sub, options: options, deadline: .infinity, sequenced: true))
        #expect(hosts(concurrent, sub, inv) == 2)  // one arrival refused on b, sent elsewhere
        #expect(hosts(sequenced, sub, inv) == 1)
        #expect(sequenced == decisions)

        // Ordered, the large server lands a wave before the small one, and the plan replays
        // cleanly whatever nodes the cloud picks.
        let ordered = try #require(planner.orderedWaves(sequenced, sub: sub, options: options))
        #expect(ordered.decisions == decisions)
        let wave = Dictionary(uniqueKeysWithValues: ordered.waves.map { ($0.serverID, $0.wave) })
        #expect(try #require(wave["large"]) < (try #require(wave["small"])))
        #expect(PlanValidator.violations(of: ordered.waves, on: inv, options: Checker.Options(placement: .any)).isEmpty)
    }
}
