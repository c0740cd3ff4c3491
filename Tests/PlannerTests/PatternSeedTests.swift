// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import GLPK
@testable import Planner
import TestSupport
import Testing
import Topology

/// The pattern model is seeded with the plan in hand's patterns, but only those within their
/// shape's room. A plan in hand judged by the exact verdict (`sequencedFirstFit` under `any`)
/// may wish a server onto a node of a host with servers of unknown layout beyond the room the
/// model counts there (their worst case on every node). Seeded, such a pattern was a column
/// cheaper than any buildable one: the LP, the dives and the integer master chose it, and no
/// choice could be realized (foreign fleet 3: 51 hosts where the model finds 50).
@Suite struct PatternSeedTests {
    static let any = PlanOptions(mode: .consolidate, timeLimit: 5, placement: .any)

    /// Two-node hosts of 16 vCPUs / 16 GiB per node. H1 holds u (12 / 12 GiB, running, layout
    /// unknown): counted on both nodes it leaves 4 on each, in truth a whole node is free. b1,
    /// b2 (16 / 16 GiB) and s1, s2 (8 / 8 GiB) are stopped: b1 and s2 on H2, b2 on H3, s1 on H4.
    static func inventory() throws -> Inventory {
        var b = InventoryBuilder()
        b.flavor("u", vcpus: 12, memory: 12288)
        b.flavor("b", vcpus: 16, memory: 16384)
        b.flavor("s", vcpus: 8, memory: 8192)
        b.hostType("d", nodes: 2, vcpus: 16, memory: 16384, flavors: ["u", "b", "s"])
        for h in ["H1", "H2", "H3", "H4"] { b.host(h, type: "d") }
        b.server("u", flavor: "u", on: "H1", nodes: nil, status: "ACTIVE")
        b.server("b1", flavor: "b", on: "H2", nodes: [0])
        b.server("b2", flavor: "b", on: "H3", nodes: [0])
        b.server("s1", flavor: "s", on: "H4", nodes: [0])
        b.server("s2", flavor: "s", on: "H2", nodes: [1])
        return try b.build()
    }

    /// Start: b1 onto H1's node 1 (safe by the exact verdict, beyond the model's room there),
    /// everything else staying. Its pattern on H1 is no seed; the others are.
    @Test func aWishBeyondTheRoomIsNoSeed() throws {
        let inv = try Self.inventory()
        let planner = BatchPlanner(inv)
        let subs = planner.consolidationSubProblems(zones: ["az1"], options: Self.any)
        try #require(subs.count == 1)
        let sub = subs[0]
        let shapes = try #require(ShapePatterns(sub, options: Self.any, planner: planner))
        let h1 = try #require(sub.local[inv.hostIndex["H1"]!])
        var start = sub.classes.map { [Decision](repeating: .stay, count: $0.count) }
        let c = try #require(sub.classes.firstIndex { $0.flavor.name == "b" })
        let i = try #require(sub.classes[c].servers.firstIndex { inv.servers[$0].id == "b1" })
        start[c][i] = .host(h1, [1])
        let seeded = shapes.patterns(of: start)
        let onH1 = seeded.filter { shapes.shapes[$0.shape].hosts.contains(h1) }
        try #require(onH1.count == 1)
        #expect(!shapes.fitsItsShape(onH1[0]))
        let others = seeded.filter { !shapes.shapes[$0.shape].hosts.contains(h1) }
        #expect(others.count == 3 && others.allSatisfy(shapes.fitsItsShape))
    }

    /// A fleet of `Benchmarks/foreign_fleets.py` (`make(149, 30)`: 30 two-node hosts, 113
    /// servers, every layout unknown, anti-affinity groups), the start judged by the exact
    /// verdict: the packing judged in sequence (`sequencedFirstFit`) on the hosts first-fit
    /// decreasing keeps, 17 hosts, some of its patterns beyond the model's rooms. Seeded with
    /// them, the model spent its whole time (10 s) on choices it could not realize and gave the
    /// start back; without them it finds 16 at once.
    @Test func theModelBeatsAPlanInHandJudgedByTheExactVerdict() throws {
        let path = Fixtures.packageRoot.appendingPathComponent("Tests/PlannerTests/fleets/seeded-beyond-room.json").path
        let inventory = try Inventory.load(path: path)
        let options = PlanOptions(mode: .consolidate, timeLimit: 30, placement: .any)
        let planner = BatchPlanner(inventory)
        let subs = planner.consolidationSubProblems(zones: Set(inventory.hosts.map(\.availabilityZone)), options: options)
        try #require(subs.count == 1)
        let sub = subs[0]
        let packing = try #require(planner.firstFitDecreasing(sub, options: options)?.decisions)
        let order = planner.firstFitOrder(sub, largest: BatchPlanner.largestCapacity(sub), homeFirst: true).order
        let start = try #require(planner.sequencedFirstFit(packing, sub: sub, options: options, order: order,
                                                           typeAccepts: planner.typeAccepts(sub, index: planner.checker.index),
                                                           deadline: monotonicSeconds() + 60)).decisions
        let shapes = try #require(ShapePatterns(sub, options: options, planner: planner))
        #expect(shapes.patterns(of: start).contains { !shapes.fitsItsShape($0) })
        let before = try #require(shapes.value(of: start))
        let found = try #require(shapes.solve(start: start, deadline: monotonicSeconds() + 10))
        #expect(found.note.contains("plan from the pattern model"), "\(found.note)")
        #expect(found.value < before)
    }

    /// Patterns the pricing builds lie within their shape's room, and one server more on a full
    /// node does not.
    @Test func pricedPatternsFitAndOverfullOnesDoNot() throws {
        let inv = try Self.inventory()
        let planner = BatchPlanner(inv)
        let sub = planner.consolidationSubProblems(zones: ["az1"], options: Self.any)[0]
        let shapes = try #require(ShapePatterns(sub, options: Self.any, planner: planner))
        var checked = 0
        for (s, shape) in shapes.shapes.enumerated() {
            guard let p = shape.pricing else { continue }
            let price = shapes.flavors.map { Double($0.resources.vcpus) }
            let table = shapes.pricings[p].table(price, limit: shapes.demand)
            let best = shapes.pricings[p].best(shape: s, room: shape.room, combos: shape.combos, table: table, price: price).pattern
            #expect(shapes.fitsItsShape(best), "shape \(s)")
            // One more server of the largest class that fits a node's room, on the node it
            // fills most: beyond the room.
            var over = best
            let n = 0
            let cls = try #require(shapes.flavors.indices.max { shapes.flavors[$0].resources.vcpus < shapes.flavors[$1].resources.vcpus })
            let spare = shape.room[n].vcpus - best.perNode[n].indices.reduce(0) { $0 + best.perNode[n][$1] * shapes.flavors[$1].perNode.vcpus }
            for _ in 0...(max(0, spare) / shapes.flavors[cls].perNode.vcpus) { over.addOneNode(cls, node: n) }
            #expect(!shapes.fitsItsShape(over), "shape \(s)")
            checked += 1
        }
        #expect(checked > 0)
    }
}
