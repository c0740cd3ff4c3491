// SPDX-License-Identifier: GPL-3.0-or-later

@testable import Planner
import TestSupport
import Testing
import Topology

/// Under `any`, a server leaving a host in the same wave as arrivals land there may be gone
/// before they land; the cloud may then put one into the room it left where, with vCPUs and
/// memory both counted, another finds none. The plan is judged with the departure counted and
/// without it.
@Suite struct SameWaveDepartureTests {
    /// Host t (2 nodes of 10 vCPUs / 10 GiB): d (1 vCPU, 4 GiB) on node 1, leaving; u1 (7, 1)
    /// and u2 (7, 7) of unknown layout, staying (with d there they can only lie u2 on node 0, u1
    /// on node 1). a1 (2, 4) and a2 (3, 2) arrive from s.
    func inventory() throws -> Inventory {
        var b = InventoryBuilder()
        b.flavor("d", vcpus: 1, memory: 4096)
        b.flavor("u1", vcpus: 7, memory: 1024)
        b.flavor("u2", vcpus: 7, memory: 7168)
        b.flavor("a1", vcpus: 2, memory: 4096)
        b.flavor("a2", vcpus: 3, memory: 2048)
        b.hostType("h", nodes: 2, vcpus: 10, memory: 10240, flavors: ["d", "u1", "u2", "a1", "a2"])
        for h in ["t", "s", "y"] { b.host(h, type: "h") }
        b.server("d", flavor: "d", on: "t", nodes: [1])
        b.server("u1", flavor: "u1", on: "t", nodes: nil, status: "ACTIVE")
        b.server("u2", flavor: "u2", on: "t", nodes: nil, status: "ACTIVE")
        b.server("a1", flavor: "a1", on: "s", nodes: [0])
        b.server("a2", flavor: "a2", on: "s", nodes: [1])
        return try b.build()
    }

    @Test func arrivalsBesideADepartureOfTheirWaveMustHoldWithoutIt() throws {
        let inv = try inventory()
        let any = Checker.Options(placement: .any)
        let moves = [
            Move(serverID: "d", from: "t", to: "y", numaNodes: [0], wave: 1),
            Move(serverID: "a1", from: "s", to: "t", numaNodes: [1], wave: 1),
            Move(serverID: "a2", from: "s", to: "t", numaNodes: [0], wave: 1),
        ]
        // With d on t the arrivals are certain (a1 only fits on node 1, a2 only on node 0); once
        // d is gone a2 may take node 1, and a1 then fits nowhere.
        let problems = PlanValidator.violations(of: moves, on: inv, options: any)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("leave t") == true)
        // The arrivals alone, d staying, are safe.
        #expect(PlanValidator.violations(of: Array(moves.dropFirst()), on: inv, options: any) == [])
        // Listed after the arrivals, the departure is the move refused.
        let later = PlanValidator.violations(of: Array(moves.dropFirst()) + [moves[0]], on: inv, options: any)
        #expect(later.count == 1)
        #expect(later.first?.contains("d -> y") == true && later.first?.contains("leave t") == true)
        // In waves of their own (d first) nothing is refused: with d gone, a1 and a2 arrive
        // one per wave.
        let apart = [moves[0], Move(serverID: "a1", from: "s", to: "t", numaNodes: [1], wave: 2),
                     Move(serverID: "a2", from: "s", to: "t", numaNodes: [0], wave: 3)]
        #expect(PlanValidator.violations(of: apart, on: inv, options: any) == [])
    }

    /// The wave ordering holds the departure back while the arrivals land, and starts it in the
    /// next wave to its own target: a refusal for its source's arrivals is judged again once
    /// they have landed (the cache of refusals carries the source's state).
    @Test func aDepartureHeldBackByItsSourcesArrivalsGoesInTheNextWave() throws {
        let inv = try inventory()
        let options = PlanOptions(mode: .consolidate, placement: .any)
        let moves = [
            Move(serverID: "a1", from: "s", to: "t", numaNodes: [1]),
            Move(serverID: "a2", from: "s", to: "t", numaNodes: [0]),
            Move(serverID: "d", from: "t", to: "y", numaNodes: [0]),
        ]
        let ordered = BatchPlanner(inv).orderWaves(moves, options: options)
        #expect(ordered.rerouted == 0 && ordered.dropped.isEmpty && ordered.relocatedHosts == 0)
        let wave = Dictionary(uniqueKeysWithValues: ordered.moves.map { ($0.serverID, $0.wave) })
        #expect(wave == ["a1": 1, "a2": 1, "d": 2])
        #expect(ordered.moves.first { $0.serverID == "d" }?.to == "y")
        #expect(PlanValidator.violations(of: ordered.moves, on: inv, options: options.checkerOptions) == [])
    }

    /// A server leaving for the public pool frees its room as any other departure does: it is
    /// judged for the arrivals of its wave on its source, by the validator, by the report's
    /// verdicts and by the wave ordering.
    @Test func aDepartureToThePoolIsJudgedForItsSourcesArrivals() throws {
        let inv = try inventory()
        let any = Checker.Options(placement: .any)
        let arrivals = [
            Move(serverID: "a1", from: "s", to: "t", numaNodes: [1], wave: 1),
            Move(serverID: "a2", from: "s", to: "t", numaNodes: [0], wave: 1),
        ]
        let toPool = Move(serverID: "d", from: "t", to: nil, numaNodes: nil, wave: 1)
        // Listed after the arrivals: the departure is refused.
        let after = PlanValidator.violations(of: arrivals + [toPool], on: inv, options: any)
        #expect(after.count == 1)
        #expect(after.first?.contains("d -> pool") == true && after.first?.contains("leave t") == true)
        #expect(PlanValidator.verdicts(of: arrivals + [toPool], on: inv, options: any) == [.certain, .certain, .impossible])
        // Listed first: the arrivals are judged without it (what the ordering already did).
        #expect(PlanValidator.violations(of: [toPool] + arrivals, on: inv, options: any).count == 1)
        // The ordering holds it back to the next wave.
        var options = PlanOptions(mode: .consolidate, placement: .any)
        options.allowPool = true
        let ordered = BatchPlanner(inv).orderWaves(arrivals.map { var m = $0; m.wave = 0; return m } + [toPool], options: options)
        #expect(ordered.rerouted == 0 && ordered.dropped.isEmpty && ordered.relocatedHosts == 0)
        let wave = Dictionary(uniqueKeysWithValues: ordered.moves.map { ($0.serverID, $0.wave) })
        #expect(wave == ["a1": 1, "a2": 1, "d": 2])
        #expect(ordered.moves.first { $0.serverID == "d" }?.to == nil)
        #expect(PlanValidator.violations(of: ordered.moves, on: inv, options: options.checkerOptions) == [])
    }

    /// Beyond six departures from a host in one wave beside arrivals there, not every order is
    /// judged: the move is refused as one that must wait, and says so.
    @Test func moreDeparturesThanJudgedMakeTheMoveWaitAndSaySo() throws {
        var b = InventoryBuilder()
        b.flavor("s", vcpus: 1, memory: 1024)
        b.hostType("h", nodes: 2, vcpus: 16, memory: 16384, flavors: ["s"])
        for h in ["t", "y", "z"] { b.host(h, type: "h") }
        for k in 1...7 { b.server("d\(k)", flavor: "s", on: "t", nodes: [0]) }
        b.server("a", flavor: "s", on: "z", nodes: [0])
        let inv = try b.build()
        let any = Checker.Options(placement: .any)
        let departures = (1...7).map { Move(serverID: "d\($0)", from: "t", to: "y", numaNodes: [0], wave: 1) }
        let arrival = Move(serverID: "a", from: "z", to: "t", numaNodes: [0], wave: 1)
        let last = PlanValidator.violations(of: departures + [arrival], on: inv, options: any)
        #expect(last.count == 1)
        #expect(last.first?.contains("a -> t") == true && last.first?.contains("7 servers of this wave leave t") == true)
        #expect(last.first?.contains("waits for a later wave") == true)
        let first = PlanValidator.violations(of: [arrival] + departures, on: inv, options: any)
        #expect(first.count == 1)
        #expect(first.first?.contains("d7 -> y") == true && first.first?.contains("7 servers of this wave leave t") == true)
        // Six are judged, every order of them: room enough, nothing refused.
        #expect(PlanValidator.violations(of: Array(departures.prefix(6)) + [arrival], on: inv, options: any) == [])
    }

    /// On hosts of one NUMA node the cloud has no node to pick: a departure only frees room
    /// where the arrivals land, so any number of them beside arrivals certain with them in
    /// place is admitted, in either order, servers of unknown layout included. (Foreign fleet
    /// 8191, seed 8181, one-node hosts: its plan under `any`, made on `planned`'s path, had a
    /// wave with 7 departures from a host beside an arrival there, refused by its own
    /// validation.) The room still counts: an arrival that fits only once they are gone waits.
    @Test func onOneNodeHostsDeparturesOfTheWaveNeverBlockArrivalsThatFitBesideThem() throws {
        var b = InventoryBuilder()
        b.flavor("s", vcpus: 2, memory: 2048)
        b.hostType("one", nodes: 1, vcpus: 16, memory: 16384, flavors: ["s"])
        for h in ["t", "y", "z"] { b.host(h, type: "one") }
        for k in 1...7 { b.server("d\(k)", flavor: "s", on: "t", nodes: k % 2 == 0 ? [0] : nil) }
        b.server("a", flavor: "s", on: "z", nodes: nil)
        b.server("b", flavor: "s", on: "z", nodes: nil)
        let inv = try b.build()
        let any = Checker.Options(placement: .any)
        let departures = (1...7).map { Move(serverID: "d\($0)", from: "t", to: "y", numaNodes: [0], wave: 1) }
        let arrival = Move(serverID: "a", from: "z", to: "t", numaNodes: [0], wave: 1)
        #expect(PlanValidator.violations(of: departures + [arrival], on: inv, options: any) == [])
        #expect(PlanValidator.violations(of: [arrival] + departures, on: inv, options: any) == [])
        // 7 servers of 2 vCPUs stay on t until the wave ends: 14 of 16 vCPUs, room for one more.
        let second = Move(serverID: "b", from: "z", to: "t", numaNodes: [0], wave: 1)
        let crowded = PlanValidator.violations(of: departures + [arrival, second], on: inv, options: any)
        #expect(crowded.count == 1)
        #expect(crowded.first?.contains("b -> t") == true)
    }
}
