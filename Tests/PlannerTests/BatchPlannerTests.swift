// SPDX-License-Identifier: GPL-3.0-or-later

import Planner
import PropertyBased
import TestSupport
import Testing
import Topology

@Suite struct BatchPlannerTests {
    /// Two c6-like hosts of 2 nodes × 16 vCPUs / 65536 MiB and what the tests put on them.
    func small(_ build: (inout InventoryBuilder) -> Void) throws -> Inventory {
        var b = InventoryBuilder()
        b.flavor("s", vcpus: 4, memory: 16384)
        b.flavor("m", vcpus: 8, memory: 32768)
        b.flavor("split", vcpus: 16, memory: 65536, nodes: 2)
        b.hostType("t", nodes: 2, vcpus: 16, memory: 65536, flavors: ["s", "m", "split"])
        build(&b)
        return try b.build()
    }

    func plan(_ inventory: Inventory, _ options: PlanOptions) throws -> Plan {
        let plan = try BatchPlanner(inventory).plan(options)
        #expect(IndependentValidator.check(plan, inventory: inventory) == [])
        return plan
    }

    @Test func evacuationUsesTheFewestTargetHosts() throws {
        let inv = try small { b in
            for h in ["src", "a", "b", "c"] { b.host(h, type: "t") }
            b.server("x1", flavor: "m", on: "src", nodes: [0])
            b.server("x2", flavor: "m", on: "src", nodes: [1])
            b.server("x3", flavor: "s", on: "src", nodes: [0])
            // a and b are half full; c is empty: everything fits on c alone.
            b.server("a1", flavor: "m", on: "a", nodes: [0], status: "ACTIVE")
            b.server("b1", flavor: "m", on: "b", nodes: [1], status: "ACTIVE")
        }
        let p = try plan(inv, PlanOptions(mode: .evacuate(["src"])))
        #expect(p.status == .optimal)
        #expect(p.objectiveValue == 1)
        #expect(p.objectiveBound == 1)
        #expect(Set(p.moves.compactMap(\.to)).count == 1)
        #expect(p.moves.count == 3)
        #expect(p.unplaced.isEmpty)
    }

    @Test func evacuationRespectsNUMANodesNotJustTotals() throws {
        // Target "frag" has 8 vCPUs free on each node (16 in total): a 16-vCPU split fits
        // (8 per node), a 16-vCPU... is not offered; an "m" (8) fits on either node.
        let inv = try small { b in
            for h in ["src", "frag"] { b.host(h, type: "t") }
            b.server("big", flavor: "split", on: "src", nodes: [0, 1])
            b.server("m1", flavor: "m", on: "src", nodes: [0])
            b.server("f0", flavor: "m", on: "frag", nodes: [0], status: "ACTIVE")
            b.server("f1", flavor: "m", on: "frag", nodes: [1], status: "ACTIVE")
        }
        let p = try plan(inv, PlanOptions(mode: .evacuate(["src"])))
        // Only one of the two fits: 16 vCPUs free in total, 8 per node.
        #expect(p.status == .partial)
        #expect(p.moves.count == 1)
        #expect(p.unplaced.count == 1)
        #expect(p.unplaced[0].reasons.isEmpty == false)
    }

    @Test func unplacedServersAreExplained() throws {
        let inv = try small { b in
            for h in ["src", "full"] { b.host(h, type: "t") }
            b.server("x", flavor: "m", on: "src", nodes: [0])
            b.server("active", flavor: "s", on: "src", nodes: [1], status: "ACTIVE")
            b.server("f0", flavor: "split", on: "full", nodes: [0, 1], status: "ACTIVE")
            b.server("f1", flavor: "m", on: "full", nodes: [0], status: "ACTIVE")
            b.server("f2", flavor: "s", on: "full", nodes: [1], status: "ACTIVE")
            b.server("f3", flavor: "s", on: "full", nodes: [1], status: "ACTIVE")
        }
        let p = try plan(inv, PlanOptions(mode: .evacuate(["src"])))
        #expect(p.status == .infeasible)
        let byID = Dictionary(uniqueKeysWithValues: p.unplaced.map { ($0.serverID, $0.reasons.map(\.code)) })
        #expect(byID["active"] == [.serverNotStopped])
        #expect(byID["x"] == [.sameHost, .insufficientCapacity])
    }

    @Test func poolIsTheLastResortWhenAllowed() throws {
        let inv = try small { b in
            b.host("src", type: "t")
            b.host("other", type: "t")
            b.server("x", flavor: "split", on: "src", nodes: [0, 1])
            b.server("o", flavor: "m", on: "other", nodes: [0], status: "ACTIVE")
            b.server("o2", flavor: "m", on: "other", nodes: [0], status: "ACTIVE")
        }
        let without = try plan(inv, PlanOptions(mode: .evacuate(["src"])))
        #expect(without.status == .infeasible)
        let with = try plan(inv, PlanOptions(mode: .evacuate(["src"]), allowPool: true))
        #expect(with.status != .infeasible)
        #expect(with.moves.map(\.to) == [nil])
    }

    @Test func antiAffinityIsKept() throws {
        var b = InventoryBuilder()
        b.flavor("s", vcpus: 4, memory: 16384)
        b.hostType("t", nodes: 2, vcpus: 16, memory: 65536, flavors: ["s"])
        for h in ["src", "a", "b"] { b.host(h, type: "t") }
        b.server("g1", flavor: "s", on: "src", nodes: [0])
        b.server("g2", flavor: "s", on: "src", nodes: [1])
        b.groups = [ServerGroup(id: "g", members: ["g1", "g2"])]
        let inv = try b.build()
        let p = try plan(inv, PlanOptions(mode: .evacuate(["src"])))
        #expect(p.status == .optimal)
        #expect(Set(p.moves.compactMap(\.to)).count == 2)  // two hosts touched, not one
    }

    @Test func consolidationReleasesHosts() throws {
        let inv = try small { b in
            for h in ["h1", "h2", "h3"] { b.host(h, type: "t") }
            b.server("a", flavor: "m", on: "h1", nodes: [0])
            b.server("b", flavor: "m", on: "h2", nodes: [1])
            b.server("c", flavor: "s", on: "h3", nodes: [0])
            b.server("pinned", flavor: "s", on: "h3", nodes: [1], status: "ACTIVE")
        }
        let p = try plan(inv, PlanOptions(mode: .consolidate))
        #expect(p.status == .optimal)
        #expect(p.objectiveValue == 1)  // everything fits on h3, which keeps its ACTIVE server
        #expect(Set(p.moves.compactMap(\.to)) == ["h3"])
        let limited = try plan(inv, PlanOptions(mode: .consolidate, maxMoves: 1))
        #expect(limited.moves.count <= 1)
        #expect(limited.objectiveValue == 2)
    }

    @Test func rebalanceLowersThePeak() throws {
        let inv = try small { b in
            b.host("hot", type: "t")
            b.host("cold", type: "t")
            b.server("a", flavor: "m", on: "hot", nodes: [0])
            b.server("b", flavor: "m", on: "hot", nodes: [0])
        }
        let p = try plan(inv, PlanOptions(mode: .rebalance))
        #expect(p.status == .optimal)
        #expect(abs(p.objectiveValue - 0.5) < 1e-9)
        #expect(p.moves.count == 1)
    }

    @Test func chainsBecomeWaves() throws {
        // h3 has room for one split server; x and y must both move (--servers x,y): one goes to
        // h3 and the other into the room the first one frees, in a later wave.
        let inv = try small { b in
            for h in ["h1", "h2", "h3"] { b.host(h, type: "t") }
            b.server("x", flavor: "split", on: "h1", nodes: [0, 1])
            b.server("y", flavor: "split", on: "h2", nodes: [0, 1])
            b.server("k1", flavor: "split", on: "h1", nodes: [0, 1], status: "ACTIVE")
            b.server("k2", flavor: "split", on: "h2", nodes: [0, 1], status: "ACTIVE")
            b.server("k3", flavor: "split", on: "h3", nodes: [0, 1], status: "ACTIVE")
        }
        let p = try plan(inv, PlanOptions(mode: .servers(["x", "y"])))
        #expect(p.status == .optimal)
        #expect(p.moves.count == 2)
        #expect(p.waveCount == 2)
        let first = try #require(p.moves.first { $0.wave == 1 })
        let second = try #require(p.moves.first { $0.wave == 2 })
        #expect(first.to == "h3")
        #expect(second.to == first.from)
    }

    @Test func aSwapWithNoRoomAnywhereIsReportedNotHidden() throws {
        // x and y must trade places, but neither host has room while the other is still there.
        let inv = try small { b in
            for h in ["h1", "h2"] { b.host(h, type: "t") }
            b.server("x", flavor: "split", on: "h1", nodes: [0, 1])
            b.server("y", flavor: "split", on: "h2", nodes: [0, 1])
            b.server("k1", flavor: "split", on: "h1", nodes: [0, 1], status: "ACTIVE")
            b.server("k2", flavor: "split", on: "h2", nodes: [0, 1], status: "ACTIVE")
        }
        let p = try plan(inv, PlanOptions(mode: .servers(["x", "y"])))
        #expect(p.status == .infeasible)
        #expect(p.moves.isEmpty)
        #expect(Set(p.unplaced.map(\.serverID)) == ["x", "y"])
        #expect(p.notes.contains { $0.contains("cycle") })
        // Through the pool the cycle breaks: one leaves for the pool, the other takes its room.
        let pooled = try plan(inv, PlanOptions(mode: .servers(["x", "y"]), allowPool: true))
        #expect(pooled.status != .infeasible)
        #expect(pooled.moves.count == 2)
        #expect(pooled.moves.contains { $0.to == nil })
    }

    @Test func parallelCapsSplitWaves() throws {
        let inv = try small { b in
            for h in ["src", "a"] { b.host(h, type: "t") }
            for i in 0..<4 { b.server("x\(i)", flavor: "s", on: "src", nodes: [i % 2]) }
        }
        let p = try plan(inv, PlanOptions(mode: .evacuate(["src"]), maxParallel: 2))
        #expect(p.waveCount == 2)
        #expect(Dictionary(grouping: p.moves, by: \.wave).values.allSatisfy { $0.count <= 2 })
        let perHost = try plan(inv, PlanOptions(mode: .evacuate(["src"]), maxPerHostParallel: 1))
        #expect(perHost.waveCount == 4)
    }

    @Test func badIdsAreErrors() throws {
        let inv = try small { b in b.host("h", type: "t") }
        #expect(throws: PlanError.self) { try BatchPlanner(inv).plan(PlanOptions(mode: .evacuate(["hh"]))) }
        #expect(throws: PlanError.self) { try BatchPlanner(inv).plan(PlanOptions(mode: .servers(["nope"]))) }
        #expect(throws: PlanError.self) { try BatchPlanner(inv).plan(PlanOptions(mode: .consolidate, exclude: ["zz"])) }
    }
}
