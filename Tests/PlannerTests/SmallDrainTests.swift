// SPDX-License-Identifier: GPL-3.0-or-later

import Generator
@testable import Planner
import TestSupport
import Testing
import Topology

/// Small drains run the per-host models before the pattern model, and keep their plan only when
/// it is proven: the value is never above the pattern-first order's, and the plan replays.
@Suite struct SmallDrainTests {
    @Test(arguments: [(UInt64(40), CloudPlacement.planned), (41, .planned), (42, .any), (43, .any)])
    func perHostModelsFirstProveSmallDrains(seed: UInt64, placement: CloudPlacement) throws {
        let inventory = InventoryGenerator.generate(.init(
            seed: seed, hosts: 30, servers: 120, availabilityZones: ["az1"], unknownLayoutFraction: 0, shutoffFraction: 1,
            faultFraction: 0, antiAffinityGroups: 0, hostTypeNames: ["c6", "m6"], maxFill: 0.6))
        let sources = inventory.hosts.suffix(5).map(\.id)
        let options = PlanOptions(mode: .evacuate(sources), timeLimit: 10, placement: placement)
        let first = try BatchPlanner(inventory).plan(options)
        var patternFirst = BatchPlanner(inventory)
        patternFirst.smallPerHostModel = 0
        let other = try patternFirst.plan(options)
        #expect(first.notes.contains { $0.contains("per-host models first") }, "\(first.notes)")
        #expect(!other.notes.contains { $0.contains("per-host models first") })
        #expect(first.objectiveBound == first.objectiveValue, "\(first.objectiveValue) bound \(String(describing: first.objectiveBound))")
        #expect(first.unplaced.count <= other.unplaced.count)
        #expect(first.objectiveValue <= other.objectiveValue, "per-host first \(first.objectiveValue), pattern first \(other.objectiveValue)")
        #expect(IndependentValidator.check(first, inventory: inventory).isEmpty)
        // Every server of the drained hosts moves or is listed with its reasons.
        let handled = Set(first.moves.map(\.serverID)).union(first.unplaced.map(\.serverID))
        #expect(inventory.servers.filter { sources.contains($0.dedicatedHostID ?? "") }.allSatisfy { handled.contains($0.id) })
    }

    /// Under `any`, a receiving host with servers of unknown layout keeps the pattern model first:
    /// the per-host bound counts their worst case per node, which the cloud may beat.
    @Test func unknownLayoutsOnReceiversKeepThePatternModelFirst() throws {
        let inventory = InventoryGenerator.generate(.init(
            seed: 44, hosts: 30, servers: 120, availabilityZones: ["az1"], unknownLayoutFraction: 0.2, shutoffFraction: 1,
            faultFraction: 0, antiAffinityGroups: 0, hostTypeNames: ["c6", "m6"], maxFill: 0.6))
        let sources = inventory.hosts.suffix(5).map(\.id)
        #expect(inventory.servers.contains { $0.numaNodes == nil && !sources.contains($0.dedicatedHostID ?? "") })
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .evacuate(sources), timeLimit: 5, placement: .any))
        #expect(!plan.notes.contains { $0.contains("per-host models first") }, "\(plan.notes)")
        #expect(IndependentValidator.check(plan, inventory: inventory).isEmpty)
        let planned = try BatchPlanner(inventory).plan(PlanOptions(mode: .evacuate(sources), timeLimit: 5, placement: .planned))
        #expect(planned.notes.contains { $0.contains("per-host models first") }, "\(planned.notes)")
    }
}
