// SPDX-License-Identifier: GPL-3.0-or-later

import Planner
import TestSupport
import Testing
import Topology

/// A consolidation whose first-fit decreasing plan needs no more hosts than the volume bound is
/// optimal: the planner stops there (no model is built, nothing more is tried).
@Suite struct PlanAtVolumeBoundTests {
    /// Four hosts of 2 nodes x 16 vCPUs, an 8-vCPU server on each: 32 vCPUs, one host's worth.
    func fourHalfEmptyHosts() throws -> Inventory {
        var b = InventoryBuilder()
        b.flavor("m", vcpus: 8, memory: 32768)
        b.hostType("t", nodes: 2, vcpus: 16, memory: 65536, flavors: ["m"])
        for (k, h) in ["a", "b", "c", "d"].enumerated() {
            b.host(h, type: "t")
            b.server("s\(k)", flavor: "m", on: h, nodes: [k % 2])
        }
        return try b.build()
    }

    @Test(arguments: [CloudPlacement.planned, .any])
    func aPlanAtTheVolumeBoundEndsThePlanning(placement: CloudPlacement) throws {
        let inventory = try fourHalfEmptyHosts()
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .consolidate, timeLimit: 10, placement: placement))
        #expect(IndependentValidator.check(plan, inventory: inventory) == [])
        #expect(plan.status == .optimal)
        #expect(plan.objectiveValue == 1)
        #expect(plan.objectiveBound == 1)
        #expect(plan.moves.count == 3)
        #expect(plan.notes.contains { $0.contains("meets the volume bound") })
        #expect(plan.variables == 0)  // no model was built
    }
}
