// SPDX-License-Identifier: GPL-3.0-or-later

import Generator
import GLPK
@testable import Planner
import TestSupport
import Testing
import Topology

/// The local search that empties hosts of a consolidation's packing (`emptiedByLocalSearch`):
/// the least filled host's servers go to other hosts in use, by a move or by ejecting a smaller
/// server to a third host, each placement judged by the rule pipeline.
@Suite struct LocalSearchTests {
    /// Three one-node hosts of 10 vCPUs: A holds 6 + 2, B holds 8, E holds 3. No host has room
    /// for E's server; with A's 2-vCPU server sent to B, A has. `group`: E's server and A's
    /// 6-vCPU one in one anti-affinity group. `bFull`: B holds another 2 vCPUs, so A's small
    /// server has nowhere to go.
    static func threeHosts(group: Bool = false, bFull: Bool = false) throws -> Inventory {
        var b = InventoryBuilder()
        for v in [2, 3, 6, 8] { b.flavor("f\(v)", vcpus: v, memory: v * 1024) }
        b.hostType("t", nodes: 1, vcpus: 10, memory: 40_960, flavors: ["f2", "f3", "f6", "f8"])
        for h in ["A", "B", "E"] { b.host(h, type: "t") }
        b.server("a6", flavor: "f6", on: "A", nodes: [0])
        b.server("a2", flavor: "f2", on: "A", nodes: [0])
        b.server("b8", flavor: "f8", on: "B", nodes: [0])
        if bFull { b.server("b2", flavor: "f2", on: "B", nodes: [0]) }
        b.server("e3", flavor: "f3", on: "E", nodes: [0])
        if group { b.groups.append(ServerGroup(id: "g", members: ["a6", "e3"])) }
        return try b.build()
    }

    /// The search run on the inventory as it stands (every server home), with its moves.
    static func searched(_ inventory: Inventory) throws -> (emptied: Int, moves: [Move], planner: BatchPlanner, options: PlanOptions) {
        let options = PlanOptions(mode: .consolidate, timeLimit: 10, placement: .planned)
        let planner = BatchPlanner(inventory)
        let sub = try #require(planner.consolidationSubProblems(zones: ["az1"], options: options).first)
        let home = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
        let out = try #require(planner.emptiedByLocalSearch(home, sub: sub, options: options, deadline: monotonicSeconds() + 60))
        return (out.emptied, planner.moves(of: out.decisions, in: sub), planner, options)
    }

    @Test func anEjectionEmptiesAHostThatNoMoveCan() throws {
        let inventory = try Self.threeHosts()
        let (emptied, moves, planner, options) = try Self.searched(inventory)
        #expect(emptied == 1)
        #expect(Dictionary(uniqueKeysWithValues: moves.map { ($0.serverID, $0.to) }) == ["e3": "A", "a2": "B"])
        // A's small server leaves before E's arrives: no cycle, nothing re-routed.
        let waves = planner.orderWaves(moves, options: options)
        #expect(waves.rerouted == 0 && waves.dropped.isEmpty && waves.relocatedHosts == 0)
        #expect(waves.moves.first { $0.serverID == "a2" }!.wave < waves.moves.first { $0.serverID == "e3" }!.wave)
        #expect(PlanValidator.violations(of: waves.moves, on: inventory, options: options.checkerOptions).isEmpty)
    }

    /// The rule pipeline judges every placement (anti-affinity here), and an attempt that does
    /// not empty its host is taken back whole.
    @Test(arguments: [(true, false), (false, true)])
    func nothingIsKeptOfAnAttemptThatFails(group: Bool, bFull: Bool) throws {
        let (emptied, moves, _, _) = try Self.searched(try Self.threeHosts(group: group, bFull: bFull))
        #expect(emptied == 0)
        #expect(moves.isEmpty)
    }

    /// A move from a host that receives to a host that sends could close a cycle: refused where
    /// the search keeps the packing without new cycles. A's server is on B; B's would go to A.
    @Test(arguments: [true, false])
    func aMoveThatCouldCloseACycleIsRefused(acyclic: Bool) throws {
        var b = InventoryBuilder()
        b.flavor("f2", vcpus: 2, memory: 2048)
        b.flavor("f3", vcpus: 3, memory: 3072)
        b.hostType("t", nodes: 1, vcpus: 10, memory: 40_960, flavors: ["f2", "f3"])
        for h in ["A", "B"] { b.host(h, type: "t") }
        b.server("a2", flavor: "f2", on: "A", nodes: [0])
        b.server("b3", flavor: "f3", on: "B", nodes: [0])
        let inventory = try b.build()
        let options = PlanOptions(mode: .consolidate, timeLimit: 10, placement: .planned)
        let planner = BatchPlanner(inventory)
        let sub = try #require(planner.consolidationSubProblems(zones: ["az1"], options: options).first)
        let all = planner.movers(of: sub)
        let a2 = try #require(all.firstIndex { inventory.servers[$0.s].id == "a2" })
        let b3 = try #require(all.firstIndex { inventory.servers[$0.s].id == "b3" })
        let (hostA, hostB) = (all[a2].origin.host, all[b3].origin.host)
        var search = HostEmptying(planner: planner, sub: sub, options: options, movers: all, acyclic: acyclic)
        // Before A sends anything, B's server may go to A (A has 10 vCPUs free).
        #expect(search.admits(b3, on: hostA) != nil)
        search.put(a2, on: hostB, nodes: [0])
        #expect((search.admits(b3, on: hostA) == nil) == acyclic)
    }

    /// Draining (fewest hosts touched): the host touched with the fewest arrivals gives them to
    /// another host touched; a server the plan leaves unplaced stays so, and nothing goes home.
    /// S is drained: x2 went to C (2 vCPUs free), y3 to B (empty); z9 was left unplaced (the
    /// search leaves such servers as they are, though B could take it).
    @Test func drainingItUntouchesTheHostWithTheFewestArrivals() throws {
        var b = InventoryBuilder()
        for v in [2, 3, 6, 8, 9] { b.flavor("f\(v)", vcpus: v, memory: v * 1024) }
        b.hostType("t", nodes: 1, vcpus: 10, memory: 40_960, flavors: ["f2", "f3", "f6", "f8", "f9"])
        b.hostType("big", nodes: 1, vcpus: 20, memory: 81_920, flavors: ["f2", "f3", "f6", "f8", "f9"])
        for h in ["A", "B", "C"] { b.host(h, type: "t") }
        b.host("S", type: "big")
        b.server("a6", flavor: "f6", on: "A", nodes: [0], status: "ACTIVE")
        b.server("c8", flavor: "f8", on: "C", nodes: [0], status: "ACTIVE")
        b.server("x2", flavor: "f2", on: "S", nodes: [0])
        b.server("y3", flavor: "f3", on: "S", nodes: [0])
        b.server("z9", flavor: "f9", on: "S", nodes: [0])
        let inventory = try b.build()
        let options = PlanOptions(mode: .evacuate(["S"]), timeLimit: 10, placement: .planned)
        let planner = BatchPlanner(inventory)
        let leaving = inventory.servers.indices.filter { inventory.servers[$0].dedicatedHostID == "S" }
        let sub = planner.buildSubProblem(zones: ["az1"], movers: leaving, mustMove: true, evacuated: [inventory.hostIndex["S"]!],
                                          excluded: [], options: options)
        func local(_ id: String) -> Int { sub.local[inventory.hostIndex[id]!]! }
        var inHand = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
        for (c, cls) in sub.classes.enumerated() {
            for (i, s) in cls.servers.enumerated() {
                switch inventory.servers[s].id {
                case "x2": inHand[c][i] = .host(local("C"), [0])
                case "y3": inHand[c][i] = .host(local("B"), [0])
                default: break
                }
            }
        }
        let out = try #require(planner.emptiedByLocalSearch(inHand, sub: sub, options: options, deadline: monotonicSeconds() + 60))
        #expect(out.emptied == 1)
        let moves = planner.moves(of: out.decisions, in: sub)
        #expect(Dictionary(uniqueKeysWithValues: moves.map { ($0.serverID, $0.to) }) == ["x2": "B", "y3": "B"])
        #expect(sub.levels(out.decisions, objective: .minHostsTouched, inventory: inventory).primary == 1)
        #expect(sub.levels(out.decisions, objective: .minHostsTouched, inventory: inventory).unplaced == 1)  // z9
        // Not where the cloud picks the nodes.
        var anyOptions = options
        anyOptions.placement = .any
        #expect(planner.emptiedByLocalSearch(inHand, sub: sub, options: anyOptions, deadline: monotonicSeconds() + 60) == nil)
    }

    /// Fleets of 2- and 4-node hosts with split flavors, servers of unknown layout,
    /// anti-affinity groups and (odd seeds) a cap on arrivals per host.
    static func fleet(_ seed: UInt64) -> (Inventory, PlanOptions) {
        let inventory = InventoryGenerator.generate(.init(
            seed: 9700 + seed, hosts: 40 + Int(seed % 3) * 20, servers: 160 + Int(seed % 4) * 50, availabilityZones: ["az1"],
            unknownLayoutFraction: seed % 2 == 0 ? 0 : 0.3, shutoffFraction: 0.95, faultFraction: 0, antiAffinityGroups: 3,
            hostTypeNames: ["c6", "m6", "h4"], maxFill: 0.6))
        return (inventory, PlanOptions(mode: .consolidate, maxPerHost: seed % 2 == 1 ? 6 : nil, timeLimit: 10, placement: .planned))
    }

    /// Whether the moves' graph of hosts (an edge from each source to its target) has a cycle.
    static func hasCycle(_ moves: [Move]) -> Bool {
        var next: [String: Set<String>] = [:]
        for m in moves { if let f = m.from, let t = m.to, f != t { next[f, default: []].insert(t) } }
        var state: [String: Int] = [:]  // 1: on the path, 2: done
        func visit(_ h: String) -> Bool {
            if state[h] == 1 { return true }
            if state[h] == 2 { return false }
            state[h] = 1
            for t in next[h] ?? [] where visit(t) { return true }
            state[h] = 2
            return false
        }
        return next.keys.sorted().contains { visit($0) }
    }

    /// The search on `packing`, checked to leave one host fewer in use for each it empties;
    /// how many it emptied, its moves, and those moves in waves (`orderWaves`).
    static func checkedSearch(_ packing: [[Decision]], acyclic: Bool, sub: SubProblem, planner: BatchPlanner, options: PlanOptions,
                              seed: UInt64) throws -> (emptied: Int, moves: [Move], waves: Waves) {
        let out = try #require(planner.emptiedByLocalSearch(packing, sub: sub, options: options, acyclic: acyclic,
                                                            deadline: monotonicSeconds() + 60))
        let before = sub.levels(packing, objective: .minHostsUsed, inventory: planner.inventory)
        let after = sub.levels(out.decisions, objective: .minHostsUsed, inventory: planner.inventory)
        #expect(after.unplaced == before.unplaced && after.primary == before.primary - Double(out.emptied), "seed \(seed)")
        let moves = planner.moves(of: out.decisions, in: sub)
        return (out.emptied, moves, planner.orderWaves(moves, options: options))
    }

    /// On first-fit decreasing's packings: every host it empties is one fewer in use, the moves
    /// replay by the rule pipeline once ordered, and from the cycle-free packing the moves have
    /// no cycle and are ordered with nothing re-routed, dropped or relocated.
    @Test func onGeneratedFleetsItEmptiesHostsValidlyAndAddsNoCycle() throws {
        var emptiedInAll = 0, fromCycleFree = 0
        for seed in UInt64(0)..<8 {
            let (inventory, options) = Self.fleet(seed)
            let planner = BatchPlanner(inventory)
            for sub in planner.consolidationSubProblems(zones: ["az1"], options: options) {
                guard let packed = planner.firstFitDecreasing(sub, options: options) else { continue }
                let free = try #require(packed.cycleFree?.decisions)
                for (packing, acyclic) in [(packed.decisions, false), (free, true)] {
                    let (emptied, moves, waves) = try Self.checkedSearch(packing, acyclic: acyclic, sub: sub, planner: planner,
                                                                         options: options, seed: seed)
                    emptiedInAll += emptied
                    #expect(PlanValidator.violations(of: waves.moves, on: inventory, options: options.checkerOptions).isEmpty,
                            "seed \(seed), acyclic \(acyclic)")
                    if let cap = options.maxPerHost {
                        #expect(Dictionary(grouping: moves.compactMap { $0.to }, by: { $0 }).values.allSatisfy { $0.count <= cap })
                    }
                    guard acyclic else { continue }
                    fromCycleFree += emptied
                    #expect(!Self.hasCycle(moves), "seed \(seed)")
                    #expect(waves.rerouted == 0 && waves.dropped.isEmpty && waves.relocatedHosts == 0,
                            "seed \(seed): \(waves.rerouted) re-routed, \(waves.dropped.count) dropped, \(waves.relocatedHosts) relocated")
                }
            }
        }
        #expect(emptiedInAll >= 8 && fromCycleFree >= 4, "\(emptiedInAll) hosts emptied, \(fromCycleFree) from the cycle-free packings")
    }

    /// Swaps that free no host are taken back, and so is a pool that empties none. One-node
    /// hosts of 10 vCPUs: D holds 1 (it goes to B), E holds 4, A holds 3 + 5, F holds 8, B holds
    /// 9. E's 4 can swap with A's 3, but then no host empties, and no three hosts hold the 30
    /// vCPUs (no 2 for F's 8): the plan is D's move alone.
    @Test func swapsThatFreeNoHostAreTakenBack() throws {
        var b = InventoryBuilder()
        for v in [1, 3, 4, 5, 8, 9] { b.flavor("f\(v)", vcpus: v, memory: v * 1024) }
        b.hostType("t", nodes: 1, vcpus: 10, memory: 40_960, flavors: [1, 3, 4, 5, 8, 9].map { "f\($0)" })
        for (host, sizes) in [("D", [1]), ("E", [4]), ("A", [3, 5]), ("F", [8]), ("B", [9])] {
            b.host(host, type: "t")
            for v in sizes { b.server("\(host.lowercased())\(v)", flavor: "f\(v)", on: host, nodes: [0]) }
        }
        let inventory = try b.build()
        let options = PlanOptions(mode: .consolidate, timeLimit: 10, placement: .planned)
        let planner = BatchPlanner(inventory)
        let sub = try #require(planner.consolidationSubProblems(zones: ["az1"], options: options).first)
        let home = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
        let out = try #require(planner.emptiedByLocalSearch(home, sub: sub, options: options, acyclic: false,
                                                            deadline: monotonicSeconds() + 60))
        #expect(out.emptied == 1 && out.swaps == 0)
        let moves = planner.moves(of: out.decisions, in: sub)
        #expect(Dictionary(uniqueKeysWithValues: moves.map { ($0.serverID, $0.to) }) == ["d1": "B"])
    }

    /// On 2-D perfect packings (servers of unique sizes), swaps kept by the search empty hosts
    /// that moves and ejections alone did not: over 12 fleets some are kept, every emptied host
    /// is one fewer in use, and the moves replay by the rule pipeline once ordered.
    @Test func swapsEmptyHostsOfPerfectPackings() throws {
        var swaps = 0
        for seed in UInt64(0)..<12 {
            let inventory = try NeverAboveFFDTests.uniqueSizes(20 + Int(seed), seed: seed)
            let options = PlanOptions(mode: .consolidate, timeLimit: 10, placement: .planned)
            let planner = BatchPlanner(inventory)
            for sub in planner.consolidationSubProblems(zones: ["az1"], options: options) {
                let packing = try #require(planner.firstFitDecreasing(sub, options: options)?.decisions)
                let out = try #require(planner.emptiedByLocalSearch(packing, sub: sub, options: options, acyclic: false,
                                                                    deadline: monotonicSeconds() + 60))
                let before = sub.levels(packing, objective: .minHostsUsed, inventory: inventory)
                let after = sub.levels(out.decisions, objective: .minHostsUsed, inventory: inventory)
                #expect(after.unplaced == 0 && after.primary == before.primary - Double(out.emptied), "seed \(seed)")
                swaps += out.swaps
                let waves = planner.orderWaves(planner.moves(of: out.decisions, in: sub), options: options)
                #expect(waves.dropped.isEmpty, "seed \(seed)")
                #expect(PlanValidator.violations(of: waves.moves, on: inventory, options: options.checkerOptions).isEmpty, "seed \(seed)")
            }
        }
        #expect(swaps > 0, "no swap kept on 12 perfect packings")
    }

    /// Where moves, ejections and swaps empty no more hosts, a pool of servers does
    /// (`emptyThroughPool`): on 2-D perfect packings (servers of unique sizes) the search with
    /// it keeps no more hosts than without it on any of 8 fleets, and fewer in all; every host
    /// emptied is one fewer in use, and the moves replay by the rule pipeline once ordered.
    @Test func aPoolEmptiesHostsThatSwapsDoNot() throws {
        var without = 0.0, with = 0.0, fromPool = 0
        for seed in UInt64(0)..<8 {
            let inventory = try NeverAboveFFDTests.uniqueSizes(20 + Int(seed), seed: seed + 100)
            let options = PlanOptions(mode: .consolidate, timeLimit: 10, placement: .planned)
            let planner = BatchPlanner(inventory)
            for sub in planner.consolidationSubProblems(zones: ["az1"], options: options) {
                let packing = try #require(planner.firstFitDecreasing(sub, options: options)?.decisions)
                let plain = try #require(planner.emptiedByLocalSearch(packing, sub: sub, options: options, acyclic: false,
                                                                      deadline: monotonicSeconds() + 60, poolSteps: 0))
                let pooled = try #require(planner.emptiedByLocalSearch(packing, sub: sub, options: options, acyclic: false,
                                                                       deadline: monotonicSeconds() + 60))
                let before = sub.levels(packing, objective: .minHostsUsed, inventory: inventory)
                let a = sub.levels(plain.decisions, objective: .minHostsUsed, inventory: inventory)
                let b = sub.levels(pooled.decisions, objective: .minHostsUsed, inventory: inventory)
                #expect(b.unplaced == 0 && b.primary == before.primary - Double(pooled.emptied), "seed \(seed)")
                #expect(b.primary <= a.primary, "seed \(seed)")
                without += a.primary
                with += b.primary
                fromPool += pooled.emptied - plain.emptied
                let waves = planner.orderWaves(planner.moves(of: pooled.decisions, in: sub), options: options)
                #expect(waves.dropped.isEmpty, "seed \(seed)")
                #expect(PlanValidator.violations(of: waves.moves, on: inventory, options: options.checkerOptions).isEmpty, "seed \(seed)")
            }
        }
        #expect(with < without, "with the pool \(with) hosts, without \(without)")
        #expect(fromPool > 0)
    }

    /// Consolidating, under `planned`, and under `any` on the cycle-free packing only (whose
    /// moves the wave ordering then judges whatever nodes the cloud picks, with no cycle to
    /// break); not where the cloud picks the nodes by a rule of its own, which the packing's
    /// wished nodes need not follow.
    @Test(arguments: [CloudPlacement.any, .firstFit, .bestFit, .spread])
    func onlyUnderPlannedOrOnCycleFreePackingsUnderAny(placement: CloudPlacement) throws {
        let inventory = try Self.threeHosts()
        let options = PlanOptions(mode: .consolidate, timeLimit: 10, placement: placement)
        let planner = BatchPlanner(inventory)
        let sub = try #require(planner.consolidationSubProblems(zones: ["az1"], options: options).first)
        let home = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
        #expect(planner.emptiedByLocalSearch(home, sub: sub, options: options, acyclic: false, deadline: monotonicSeconds() + 60) == nil)
        let acyclic = planner.emptiedByLocalSearch(home, sub: sub, options: options, acyclic: true, deadline: monotonicSeconds() + 60)
        #expect((acyclic != nil) == (placement == .any))
    }

    /// Under `any`, the search on first-fit decreasing's cycle-free packing: every host it
    /// empties is one fewer in use, the moves have no cycle, and ordered by the wave ordering
    /// (which judges each arrival whatever nodes the cloud picks) they drop nothing and replay by
    /// the rule pipeline. Over the fleets (layouts known and unknown) it empties hosts.
    @Test func underAnyOnCycleFreePackingsItEmptiesHostsValidly() throws {
        var emptied = 0
        for seed in UInt64(0)..<8 {
            var (inventory, options) = Self.fleet(seed)
            options.placement = .any
            let planner = BatchPlanner(inventory)
            for sub in planner.consolidationSubProblems(zones: ["az1"], options: options) {
                let free = try #require(planner.firstFitDecreasing(sub, options: options)?.cycleFree?.decisions)
                let (count, moves, waves) = try Self.checkedSearch(free, acyclic: true, sub: sub, planner: planner, options: options,
                                                                   seed: seed)
                emptied += count
                #expect(!Self.hasCycle(moves), "seed \(seed)")
                #expect(waves.dropped.isEmpty, "seed \(seed)")
                #expect(PlanValidator.violations(of: waves.moves, on: inventory, options: options.checkerOptions).isEmpty, "seed \(seed)")
            }
        }
        #expect(emptied >= 4, "\(emptied) hosts emptied")
    }

    /// Under `any` where every layout is known, hosts of the cycle-free packing (made with its
    /// arrivals in sequence) are emptied with every arrival judged in sequence too
    /// (`cycleFreeEmptiedInTurn`): each host emptied is one fewer in use, the moves have no
    /// cycle, and the waves it gives replay by the rule pipeline as they stand. Over the fleets
    /// it empties hosts; nil under `planned`.
    @Test func underAnyHostsAreEmptiedInTurnWithArrivalsInSequence() throws {
        var emptied = 0
        for seed in UInt64(0)..<8 where seed % 2 == 0 {  // every layout known
            for fill in [0.6, 0.8] {
                var (inventory, options) = Self.fleet(seed)
                if fill != 0.6 {
                    inventory = InventoryGenerator.generate(.init(
                        seed: 9800 + seed, hosts: 60, servers: 260, availabilityZones: ["az1"], unknownLayoutFraction: 0,
                        shutoffFraction: 0.95, faultFraction: 0, antiAffinityGroups: 3, hostTypeNames: ["c6", "m6", "h4"], maxFill: fill))
                }
                options.placement = .any
                let planner = BatchPlanner(inventory)
                for sub in planner.consolidationSubProblems(zones: ["az1"], options: options) {
                    let free = try #require(planner.firstFitDecreasing(sub, options: options)?.cycleFree)
                    try #require(free.waves != nil, "seed \(seed): the cycle-free packing comes in waves where layouts are known")
                    var planned = options
                    planned.placement = .planned
                    #expect(planner.cycleFreeEmptiedInTurn(free, sub: sub, options: planned, deadline: monotonicSeconds() + 60) == nil)
                    guard let out = planner.cycleFreeEmptiedInTurn(free, sub: sub, options: options, deadline: monotonicSeconds() + 60)
                    else { continue }
                    let before = sub.levels(free.decisions, objective: .minHostsUsed, inventory: inventory)
                    let after = sub.levels(out.decisions, objective: .minHostsUsed, inventory: inventory)
                    #expect(after.unplaced == 0 && after.primary == before.primary - Double(out.emptied), "seed \(seed)")
                    emptied += out.emptied
                    let moves = planner.moves(of: out.decisions, in: sub)
                    #expect(!Self.hasCycle(moves), "seed \(seed)")
                    #expect(Set(out.waves.map(\.serverID)) == Set(moves.map(\.serverID)), "seed \(seed)")
                    if let cap = options.maxPerHost {
                        #expect(Dictionary(grouping: moves.compactMap { $0.to }, by: { $0 }).values.allSatisfy { $0.count <= cap })
                    }
                    #expect(PlanValidator.violations(of: out.waves, on: inventory, options: options.checkerOptions).isEmpty,
                            "seed \(seed), fill \(fill)")
                }
            }
        }
        #expect(emptied > 0, "no host emptied")
    }
}
