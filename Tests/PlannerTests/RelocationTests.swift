// SPDX-License-Identifier: GPL-3.0-or-later

@testable import Planner
import TestSupport
import Testing
import Topology

/// A dependency cycle among hosts that end full is broken by moving one host's whole final
/// content to an empty host of its type (`Relocation`), which keeps as many hosts in use;
/// re-routing one move would open a host.
@Suite struct RelocationTests {
    /// One-node hosts of 10 vCPUs / 10 GiB: A holds a1 and a2, B holds b1 and b2 (5 vCPUs / 5 GiB
    /// each); the plan swaps a1 and b1, so each waits for the other to leave a full host. E (type
    /// `emptyType`) is empty. `active` servers cannot move.
    static func inventory(emptyType: String = "t", active: Set<String> = []) throws -> Inventory {
        var b = InventoryBuilder()
        b.flavor("f", vcpus: 5, memory: 5120)
        b.hostType("t", nodes: 1, vcpus: 10, memory: 10240, flavors: ["f"])
        b.hostType("u", nodes: 1, vcpus: 12, memory: 12288, flavors: ["f"])
        b.host("A", type: "t")
        b.host("B", type: "t")
        b.host("E", type: emptyType)
        for (id, host) in [("a1", "A"), ("a2", "A"), ("b1", "B"), ("b2", "B")] {
            b.server(id, flavor: "f", on: host, nodes: [0], status: active.contains(id) ? "ACTIVE" : "SHUTOFF")
        }
        return try b.build()
    }

    static let swap = [Move(serverID: "a1", from: "A", to: "B", numaNodes: [0]),
                       Move(serverID: "b1", from: "B", to: "A", numaNodes: [0])]

    static func hostsInUse(after moves: [Move], on inventory: Inventory) -> Set<String> {
        var at = Dictionary(uniqueKeysWithValues: inventory.servers.map { ($0.id, $0.dedicatedHostID) })
        for m in moves { at[m.serverID] = m.to }
        return Set(at.values.compactMap { $0 })
    }

    @Test(arguments: [CloudPlacement.planned, .any, .firstFit])
    func aHostMovesWholeInsteadOfOpeningOne(placement: CloudPlacement) throws {
        let inv = try Self.inventory()
        let planner = BatchPlanner(inv)
        let options = PlanOptions(mode: .consolidate, placement: placement)
        let ordered = planner.orderWaves(Self.swap, options: options)
        #expect(ordered.relocatedHosts == 1 && ordered.relocationMoves == 1)
        #expect(ordered.rerouted == 0 && ordered.dropped.isEmpty)
        // A (lowest index among the hosts with fewest stays) goes to E: a2 and b1 land there,
        // then a1 takes b1's room on B.
        let to = Dictionary(uniqueKeysWithValues: ordered.moves.map { ($0.serverID, $0.to) })
        #expect(to == ["a1": "B", "a2": "E", "b1": "E"])
        let wave = Dictionary(uniqueKeysWithValues: ordered.moves.map { ($0.serverID, $0.wave) })
        #expect(try #require(wave["b1"]) < #require(wave["a1"]))
        #expect(Self.hostsInUse(after: ordered.moves, on: inv) == ["B", "E"])
        #expect(PlanValidator.violations(of: ordered.moves, on: inv, options: options.checkerOptions) == [])
        #expect(ordered.orderingNote?.contains("1 more move") == true)
    }

    /// Without an empty host of the same type, with servers that cannot move, or when the
    /// operator named the servers to move, the cycle is broken as before: a move is re-routed.
    @Test(arguments: [
        ("other type", "u", Set<String>(), false),
        ("stays cannot move", "t", Set(["a2", "b2"]), false),
        ("named servers", "t", Set<String>(), true),
    ])
    func otherwiseAMoveIsReRouted(label: String, emptyType: String, active: Set<String>, named: Bool) throws {
        let inv = try Self.inventory(emptyType: emptyType, active: active)
        let planner = BatchPlanner(inv)
        let options = PlanOptions(mode: named ? .servers(["a1", "b1"]) : .consolidate, placement: .planned)
        let ordered = planner.orderWaves(Self.swap, options: options)
        #expect(ordered.relocatedHosts == 0, "\(label)")
        #expect(ordered.rerouted == 1 && ordered.dropped.isEmpty, "\(label)")
        #expect(Self.hostsInUse(after: ordered.moves, on: inv).count == 3, "\(label)")
        #expect(PlanValidator.violations(of: ordered.moves, on: inv, options: options.checkerOptions) == [], "\(label)")
    }

    /// Inside a sub-problem the relocated servers become decisions: a2 moves to E with its host's
    /// content, and the decisions make the waves' moves.
    @Test func theSubProblemsDecisionsFollow() throws {
        let inv = try Self.inventory()
        let planner = BatchPlanner(inv)
        let options = PlanOptions(mode: .consolidate, placement: .planned)
        let sub = planner.buildSubProblem(zones: ["az1"], movers: Array(inv.servers.indices), mustMove: false, evacuated: [],
                                          excluded: [], options: options)
        let target = ["a1": "B", "b1": "A"]
        let decisions: [[Decision]] = sub.classes.map { cls in
            cls.servers.map { s in
                guard let id = target[inv.servers[s].id] else { return .stay }
                return .host(sub.hosts.firstIndex(of: inv.hostIndex[id]!)!, [0])
            }
        }
        let done = try #require(planner.orderedWaves(decisions, sub: sub, options: options))
        #expect(done.note != nil)
        let decided = Dictionary(uniqueKeysWithValues: planner.moves(of: done.decisions, in: sub).map { ($0.serverID, $0.to) })
        #expect(decided == Dictionary(uniqueKeysWithValues: done.waves.map { ($0.serverID, $0.to) }))
        #expect(decided == ["a1": "B", "a2": "E", "b1": "E"])
        #expect(sub.levels(done.decisions, objective: .minHostsUsed, inventory: inv).primary == 2)
    }
}

/// Whole plans on perfect packings of unique sizes (optimum n by construction) whose pattern
/// plans have dependency cycles among hosts that end full: re-routing a move opened hosts (26
/// for 24; 8 cascading re-routings made 14 of 12), relocating one host keeps the optimum.
@Suite struct RelocationPlanTests {
    @Test(arguments: [(24, UInt64(4)), (12, 6)])
    func perfectPackingsKeepTheirOptimum(n: Int, seed: UInt64) throws {
        let inventory = try NeverAboveFFDTests.uniqueSizes(n, seed: seed)
        let options = PlanOptions(mode: .consolidate, timeLimit: 30, placement: .planned)
        let plan = try BatchPlanner(inventory).plan(options)
        #expect(plan.objectiveValue == Double(n), "\(plan.notes)")
        #expect(plan.status == .optimal)
        #expect(plan.notes.contains { $0.contains("moved whole to an empty host") }, "\(plan.notes)")
        #expect(!plan.notes.contains { $0.contains("re-routed") })
        #expect(IndependentValidator.check(plan, inventory: inventory) == [])
    }
}
