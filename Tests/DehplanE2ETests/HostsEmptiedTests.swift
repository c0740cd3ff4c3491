// SPDX-License-Identifier: GPL-3.0-or-later

@testable import dehplan
import Executor
import Planner
import Testing
import TestSupport
import Topology

/// `apply`'s "host(s) emptied": hosts with no server left at the end, not hosts whose own
/// servers all left while others arrived.
@Suite struct HostsEmptiedTests {
    @Test func aHostThatSendsAndReceivesIsNotEmptied() throws {
        var b = InventoryBuilder()
        b.flavor("f", vcpus: 2, memory: 4)
        b.hostType("t", nodes: 2, vcpus: 16, memory: 64, flavors: ["f"])
        for (server, host) in [("a", "h1"), ("b", "h2"), ("c", "h3")] {
            b.host(host, type: "t")
            b.server(server, flavor: "f", on: host, nodes: [0])
        }
        let inventory = try b.build()
        // a: h1 -> h2 and b: h2 -> h3 succeed: h1 is empty, h2 sent its server but holds a.
        // c: h3 -> h1 fails: h3 keeps its server.
        let moves = [
            Move(serverID: "a", from: "h1", to: "h2", numaNodes: nil), Move(serverID: "b", from: "h2", to: "h3", numaNodes: nil),
            Move(serverID: "c", from: "h3", to: "h1", numaNodes: nil),
        ]
        let results = [
            MoveResult(serverID: "a", target: "h2", status: .succeeded, code: nil, message: nil),
            MoveResult(serverID: "b", target: "h3", status: .succeeded, code: nil, message: nil),
            MoveResult(serverID: "c", target: "h1", status: .failed, code: "Ecs.0319", message: nil),
        ]
        let planned = Dictionary(uniqueKeysWithValues: moves.map { ($0.serverID, $0) })
        #expect(ApplyProgress.emptied(results: results, moves: planned, inventory: inventory) == ["h1"])
    }
}
