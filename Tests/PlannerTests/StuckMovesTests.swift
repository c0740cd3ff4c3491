// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
@testable import Planner
import TestSupport
import Testing
import Topology

/// Under `any`, moves refused on a host that nothing is to leave any more can never start there.
/// The wave ordering re-routes them together, in one wave, each to a host that stays in use and
/// receives nothing else in that wave; one at a time, each took a deadlock and a wave of its own
/// (tiled 2,000: 825 waves of one move).
@Suite struct StuckMovesTests {
    /// One-node hosts, flavor f of 5 vCPUs / 5 GiB. A (10/10) is full with a1 and a2. S1 and S2
    /// (15/15) hold two servers each and have room for a third. B1 to B4 (10/10) hold one server
    /// each and have room for one more.
    static func inventory() throws -> Inventory {
        var b = InventoryBuilder()
        b.flavor("f", vcpus: 5, memory: 5120)
        b.hostType("t", nodes: 1, vcpus: 10, memory: 10240, flavors: ["f"])
        b.hostType("w", nodes: 1, vcpus: 15, memory: 15360, flavors: ["f"])
        b.host("A", type: "t")
        b.host("S1", type: "w")
        b.host("S2", type: "w")
        for k in 1...4 { b.host("B\(k)", type: "t") }
        for (id, host) in [("a1", "A"), ("a2", "A"), ("x1", "S1"), ("x2", "S1"), ("y1", "S2"), ("y2", "S2"),
                           ("b1", "B1"), ("b2", "B2"), ("b3", "B3"), ("b4", "B4")] {
            b.server(id, flavor: "f", on: host, nodes: [0])
        }
        return try b.build()
    }

    /// The plan sends the servers of S1 and S2 to the full host A.
    static let intoFullHost = ["x1": "S1", "x2": "S1", "y1": "S2", "y2": "S2"].sorted { $0.key < $1.key }.map {
        Move(serverID: $0.key, from: $0.value, to: "A", numaNodes: [0])
    }

    @Test func theyAreReRoutedTogetherOntoHostsThatStayInUse() throws {
        let inv = try Self.inventory()
        let options = PlanOptions(mode: .consolidate, placement: .any)
        let ordered = BatchPlanner(inv).orderWaves(Self.intoFullHost, options: options)
        #expect(ordered.rerouted == 4 && ordered.dropped.isEmpty)
        #expect(ordered.moves.allSatisfy { $0.wave == 1 }, "\(ordered.moves)")
        // Each to one of the hosts with room that keep their own server; never to S1 or S2, whose
        // servers all leave (while they leave, they still count on their host until the wave
        // ends: counting them as staying sent servers onto hosts being emptied).
        #expect(Set(ordered.moves.compactMap(\.to)) == ["B1", "B2", "B3", "B4"])
        #expect(RelocationTests.hostsInUse(after: ordered.moves, on: inv) == ["A", "B1", "B2", "B3", "B4"])
        #expect(PlanValidator.violations(of: ordered.moves, on: inv, options: options.checkerOptions) == [])
    }

    /// Elsewhere the cloud takes the planned nodes and a refused move of a valid final state
    /// waits for room; a single stuck move is left to the cycle breaker as before.
    @Test(arguments: [CloudPlacement.planned, .firstFit])
    func otherPlacementsBreakThemOneAtATime(placement: CloudPlacement) throws {
        let inv = try Self.inventory()
        let options = PlanOptions(mode: .consolidate, placement: placement)
        let ordered = BatchPlanner(inv).orderWaves(Self.intoFullHost, options: options)
        #expect(ordered.dropped.isEmpty)
        #expect(Set(ordered.moves.map(\.wave)).count > 1)
        #expect(PlanValidator.violations(of: ordered.moves, on: inv, options: options.checkerOptions) == [])
    }
}

/// The final ordering under `any` keeps the sub-problem's waves less the moves kept home when
/// they still replay cleanly, and orders anew when a server kept home holds room a later
/// arrival needs.
@Suite struct FinalWavesReuseTests {
    /// One-node hosts of 10 vCPUs / 10 GiB, flavor f of 5 / 5. A holds a1 and a2, B holds b1 and
    /// b2, C holds c1, D is empty.
    static func inventory() throws -> Inventory {
        var b = InventoryBuilder()
        b.flavor("f", vcpus: 5, memory: 5120)
        b.hostType("t", nodes: 1, vcpus: 10, memory: 10240, flavors: ["f"])
        for h in ["A", "B", "C", "D"] { b.host(h, type: "t") }
        for (id, host) in [("a1", "A"), ("a2", "A"), ("b1", "B"), ("b2", "B"), ("c1", "C")] {
            b.server(id, flavor: "f", on: host, nodes: [0])
        }
        return try b.build()
    }

    static func move(_ id: String, _ from: String, _ to: String, wave: Int) -> Move {
        var m = Move(serverID: id, from: from, to: to, numaNodes: [0])
        m.wave = wave
        return m
    }

    @Test func waveNumbersCloseUpWhenTheRestStillReplays() throws {
        let inv = try Self.inventory()
        let planner = BatchPlanner(inv)
        let options = PlanOptions(mode: .consolidate, placement: .any)
        // c1 -> D, then a1 -> C, then a2 -> D; a1 kept home leaves a2's arrival unaffected.
        let waves = [Self.move("c1", "C", "D", wave: 1), Self.move("a1", "A", "C", wave: 2), Self.move("a2", "A", "D", wave: 3)]
        let kept = [waves[0], waves[2]]
        let final = planner.finalWaves((kept, []), waves: [waves], untrimmed: [], keptHome: 0, options: options)
        #expect(final.ordered.moves.map(\.serverID) == ["c1", "a2"])
        #expect(final.ordered.moves.map(\.wave) == [1, 2])
        #expect(final.ordered.rerouted == 0)
    }

    /// Under a time limit the reuse replay judges by the search over arrangements alone, and a
    /// replay that passes stands for the plan's validation. Where the search cannot tell (here:
    /// a budget of no step, on a host whose two servers of unknown layout leave room for `b`
    /// only under the exact verdict) the waves are ordered anew rather than waiting for the
    /// verdict's integer programs, which took 1.6 s a question on an 8-node host. Without a
    /// deadline the integer programs answer and the waves are reused as validated.
    @Test func underATimeLimitTheReuseReplayAsksNoIntegerPrograms() throws {
        func final(deadline: Double?, flavor: String) throws -> Waves {
            let inv = try EmptyMoreHostsTests.roomOnlyByTheExactVerdict(flavor: flavor)
            var options = PlanOptions(mode: .consolidate, placement: .any)
            options.verdictSearchBudget = 0
            var m = Move(serverID: "b", from: "B", to: "A", numaNodes: nil)
            m.wave = 1
            let out = BatchPlanner(inv).finalWaves(([m], []), waves: [[m]], untrimmed: [], keptHome: 0, options: options, deadline: deadline)
            #expect(out.ordered.moves.map(\.to) == ["A"])
            #expect(PlanValidator.violations(of: out.ordered.moves, on: inv, options: PlanOptions(mode: .consolidate).checkerOptions) == [])
            return out.ordered
        }
        #expect(try !final(deadline: monotonicSeconds() + 60, flavor: "reuse-timed").validated)
        #expect(try final(deadline: nil, flavor: "reuse-untimed").validated)
    }

    @Test func aServerKeptHomeThatHoldsNeededRoomGetsANewOrdering() throws {
        let inv = try Self.inventory()
        let planner = BatchPlanner(inv)
        let options = PlanOptions(mode: .consolidate, placement: .any)
        // b1 leaves B for C in wave 1 and a1 takes its room on B in wave 2. With b1 kept home, B
        // is full when a1 arrives: the old waves fail their replay and are not reused.
        let waves = [Self.move("b1", "B", "C", wave: 1), Self.move("a1", "A", "B", wave: 2)]
        let kept = [waves[1]]
        #expect(!PlanValidator.violations(of: [Self.move("a1", "A", "B", wave: 1)], on: inv, options: options.checkerOptions).isEmpty)
        let final = planner.finalWaves((kept, []), waves: [waves], untrimmed: [], keptHome: 0, options: options)
        #expect(PlanValidator.violations(of: final.ordered.moves, on: inv, options: options.checkerOptions) == [])
        #expect(final.ordered.moves.first?.to != "B")
    }
}
