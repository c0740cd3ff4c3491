// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Generator
import Planner
import PropertyBased
import TestSupport
import Testing
import Topology

@Suite struct BatchPlannerPropertyTests {
    /// Every plan, in every mode, passes the independent validator (waves in order never
    /// overcommit a node, AZ, flavor, anti-affinity, only stopped servers move) and reports a
    /// bound no larger than its objective.
    @Test func plansAreAlwaysValid() async {
        await propertyCheck(
            count: propertyCount(40),
            input: Gen.int(in: 0...1_000_000), Gen.int(in: 4...12), Gen.int(in: 0...3), Gen.int(in: 0...7), Gen.bool
        ) { seed, hostCount, modeIndex, knobs, allowPool in
            let inventory = InventoryGenerator.generate(.init(
                seed: UInt64(seed), hosts: hostCount, servers: hostCount * 5, availabilityZones: ["az1", "az2"],
                unknownLayoutFraction: 0.1, shutoffFraction: 0.85, faultFraction: 0.1, antiAffinityGroups: 2))
            var rng = SplitMix64(seed: UInt64(seed) ^ 0xABCDEF)
            let mode: PlanMode
            switch modeIndex {
            case 0:
                let hosts = inventory.hosts.filter { h in inventory.servers.contains { $0.dedicatedHostID == h.id } }
                guard !hosts.isEmpty else { return }
                mode = .evacuate([hosts[rng.below(hosts.count)].id])
            case 1:
                let ids = inventory.servers.map(\.id)
                mode = .servers((0..<min(5, ids.count)).map { _ in ids[rng.below(ids.count)] })
            case 2: mode = .consolidate
            default: mode = .rebalance
            }
            let options = PlanOptions(
                mode: mode, maxPerHost: knobs & 1 == 0 ? nil : 2, allowPool: allowPool,
                maxMoves: knobs & 2 == 0 ? nil : 6, timeLimit: 2, maxParallel: knobs & 4 == 0 ? nil : 3)
            let plan: Plan
            do {
                plan = try BatchPlanner(inventory).plan(options)
            } catch {
                Issue.record("planner failed: \(error)")
                return
            }
            #expect(IndependentValidator.check(plan, inventory: inventory) == [], "\(mode) seed \(seed)")
            #expect(PlanValidator.violations(of: plan.moves, on: inventory, options: plan.validationOptions) == [])
            if let cap = options.maxMoves { #expect(plan.moves.count <= cap) }
            if options.maxPerHost != nil {
                let arrivals = Dictionary(grouping: plan.moves.compactMap(\.to), by: { $0 }).mapValues(\.count)
                #expect(arrivals.values.allSatisfy { $0 <= 2 })
            }
            // Forced modes: every server concerned is moved or explained.
            var concerned: Set<String> = []
            switch mode {
            case .evacuate(let ids): concerned = Set(inventory.servers.filter { ids.contains($0.dedicatedHostID ?? "") }.map(\.id))
            case .servers(let ids): concerned = Set(ids)
            default: break
            }
            let accounted = Set(plan.moves.map(\.serverID)).union(plan.unplaced.map(\.serverID))
            #expect(concerned.isSubset(of: accounted))
            #expect(plan.unplaced.allSatisfy { !$0.reasons.isEmpty })
            #expect(plan.unplaced.isEmpty || plan.status == .infeasible || plan.status == .partial || !concerned.isEmpty == false)
        }
    }

    // MARK: Exhaustive search on tiny instances

    struct Tiny {
        let inventory: Inventory
        let movers: [Server]
    }

    /// - Parameter twoFamilies: odd hosts get a second type that runs only flavor "s", even
    ///   hosts only "m" and "w": two independent families, so the planner splits the problem.
    static func tiny(seed: UInt64, hosts: Int, movers: Int, twoFamilies: Bool = false) throws -> Tiny {
        var rng = SplitMix64(seed: seed)
        var b = InventoryBuilder()
        b.flavor("s", vcpus: 2, memory: 4096)
        b.flavor("m", vcpus: 4, memory: 8192)
        b.flavor("w", vcpus: 4, memory: 8192, nodes: 2)
        b.hostType("t", nodes: 2, vcpus: 8, memory: 16384, flavors: twoFamilies ? ["m", "w"] : ["s", "m", "w"])
        if twoFamilies { b.hostType("u", nodes: 2, vcpus: 8, memory: 16384, flavors: ["s"]) }
        func typeOf(_ h: Int) -> String { twoFamilies && h % 2 == 1 ? "u" : "t" }
        for h in 0..<hosts { b.host("h\(h)", type: typeOf(h)) }
        var free = Array(repeating: [8, 8], count: hosts)
        let flavors: [(String, Int, Int)] = [("s", 2, 1), ("m", 4, 1), ("w", 2, 2)]  // name, per-node vCPUs, nodes
        var placed = 0
        var attempt = 0
        while placed < movers + hosts && attempt < 200 {
            attempt += 1
            let (name, share, k) = flavors[rng.below(flavors.count)]
            let h = rng.below(hosts)
            guard !twoFamilies || (typeOf(h) == "u") == (name == "s") else { continue }
            let nodes = k == 2 ? [0, 1] : [rng.below(2)]
            guard nodes.allSatisfy({ free[h][$0] >= share }) else { continue }
            for n in nodes { free[h][n] -= share }
            let stopped = placed < movers
            b.server("v\(placed)", flavor: name, on: "h\(h)", nodes: nodes, status: stopped ? "SHUTOFF" : "ACTIVE")
            placed += 1
        }
        let inventory = try b.build()
        return Tiny(inventory: inventory, movers: inventory.servers.filter(\.isStopped))
    }

    /// The best final state by brute force: every mover stays (when allowed) or goes to any
    /// (host, node set) other than its own host. Returns the minimum of `score`, or nil.
    static func bruteForce(_ tiny: Tiny, mayStay: Bool, forbidden: Set<String>, score: ([String: String]) -> Int) -> Int? {
        let inv = tiny.inventory
        var base: [String: [Int]] = [:]  // host -> used vCPUs per node (fixed servers)
        var baseMemory: [String: [Int]] = [:]
        for h in inv.hosts {
            base[h.id] = [0, 0]
            baseMemory[h.id] = [0, 0]
        }
        let moverIDs = Set(tiny.movers.map(\.id))
        for s in inv.servers where !moverIDs.contains(s.id) {
            let f = inv.flavors[s.flavor]!
            for n in s.numaNodes! {
                base[s.dedicatedHostID!]![n] += f.perNode.vcpus
                baseMemory[s.dedicatedHostID!]![n] += f.perNode.memoryMiB
            }
        }
        var best: Int?
        var choice: [String: String] = [:]
        var used = base
        var usedMemory = baseMemory
        func go(_ i: Int) {
            if i == tiny.movers.count {
                let value = score(choice)
                if best == nil || value < best! { best = value }
                return
            }
            let s = tiny.movers[i]
            let f = inv.flavors[s.flavor]!
            var options: [(String, [Int])] = []
            if mayStay { options.append((s.dedicatedHostID!, s.numaNodes!)) }
            for h in inv.hosts where h.id != s.dedicatedHostID && !forbidden.contains(h.id)
                && inv.hostTypes[h.hostType]!.supports(s.flavor) {
                for nodes in f.numaNodes == 2 ? [[0, 1]] : [[0], [1]] { options.append((h.id, nodes)) }
            }
            for (h, nodes) in options {
                guard nodes.allSatisfy({ used[h]![$0] + f.perNode.vcpus <= 8 && usedMemory[h]![$0] + f.perNode.memoryMiB <= 16384 })
                else { continue }
                for n in nodes {
                    used[h]![n] += f.perNode.vcpus
                    usedMemory[h]![n] += f.perNode.memoryMiB
                }
                choice[s.id] = h
                go(i + 1)
                for n in nodes {
                    used[h]![n] -= f.perNode.vcpus
                    usedMemory[h]![n] -= f.perNode.memoryMiB
                }
            }
            choice[s.id] = nil
        }
        go(0)
        return best
    }

    /// Consolidation: an `optimal` claim equals the brute-force minimum of hosts in use, and no
    /// plan beats it.
    @Test func consolidationOptimumMatchesExhaustiveSearch() async {
        await propertyCheck(count: propertyCount(25), input: Gen.int(in: 0...1_000_000), Gen.int(in: 2...4), Gen.int(in: 1...4)) { seed, hosts, movers in
            guard let tiny = try? Self.tiny(seed: UInt64(seed), hosts: hosts, movers: movers) else { return }
            let inv = tiny.inventory
            let fixedHosts = Set(inv.servers.filter { !$0.isStopped }.compactMap(\.dedicatedHostID))
            let optimum = Self.bruteForce(tiny, mayStay: true, forbidden: []) { choice in
                fixedHosts.union(choice.values).count
            }
            guard let optimum else { return }
            let plan = try BatchPlanner(inv).plan(PlanOptions(mode: .consolidate, timeLimit: 5))
            #expect(IndependentValidator.check(plan, inventory: inv) == [])
            #expect(Int(plan.objectiveValue) >= optimum)
            if plan.status == .optimal { #expect(Int(plan.objectiveValue) == optimum, "seed \(seed)") }
            if let b = plan.objectiveBound { #expect(Int(b) <= optimum) }
        }
    }

    /// Two host-type families that share no flavor: the planner solves them as separate
    /// sub-problems, and the combined plan still meets the brute-force optimum of the whole
    /// where the cloud takes the planned nodes. The brute force knows final states only; where
    /// the cloud picks the nodes (`any`, the default) a server that arrived has an unknown
    /// layout for every later judgement, so the optimum can be out of reach (seed 583015: the
    /// only order that empties a host lands a server where a later two-node arrival needs the
    /// room in the worst case). There the plan is never below the optimum and claims it only
    /// when it has it.
    @Test func independentFamiliesAreSplitWithoutLoss() async {
        await propertyCheck(count: propertyCount(25), input: Gen.int(in: 0...1_000_000), Gen.int(in: 4...5), Gen.int(in: 2...4)) { seed, hosts, movers in
            guard let tiny = try? Self.tiny(seed: UInt64(seed), hosts: hosts, movers: movers, twoFamilies: true) else { return }
            let inv = tiny.inventory
            let fixedHosts = Set(inv.servers.filter { !$0.isStopped }.compactMap(\.dedicatedHostID))
            guard let optimum = Self.bruteForce(tiny, mayStay: true, forbidden: [], score: { fixedHosts.union($0.values).count })
            else { return }
            let families = Set(tiny.movers.map { $0.flavor == "s" })
            for placement in [CloudPlacement.planned, .any] {
                let plan = try BatchPlanner(inv).plan(PlanOptions(mode: .consolidate, timeLimit: 5, placement: placement))
                #expect(IndependentValidator.check(plan, inventory: inv) == [], "seed \(seed) \(placement)")
                #expect(plan.subproblems == families.count, "seed \(seed) \(placement)")
                if placement == .planned {
                    #expect(plan.status == .optimal, "seed \(seed)")
                    #expect(Int(plan.objectiveValue) == optimum, "seed \(seed)")
                } else {
                    #expect(Int(plan.objectiveValue) >= optimum, "seed \(seed)")
                    if plan.status == .optimal { #expect(Int(plan.objectiveValue) == optimum, "seed \(seed)") }
                }
            }
        }
    }

    /// Evacuation: an `optimal` claim equals the brute-force minimum of distinct target hosts.
    @Test func evacuationOptimumMatchesExhaustiveSearch() async {
        await propertyCheck(count: propertyCount(25), input: Gen.int(in: 0...1_000_000), Gen.int(in: 3...4), Gen.int(in: 1...4)) { seed, hosts, movers in
            guard let tiny = try? Self.tiny(seed: UInt64(seed), hosts: hosts, movers: movers) else { return }
            let inv = tiny.inventory
            guard let source = tiny.movers.first?.dedicatedHostID else { return }
            let evacuating = Tiny(inventory: inv, movers: tiny.movers.filter { $0.dedicatedHostID == source })
            let optimum = Self.bruteForce(evacuating, mayStay: false, forbidden: [source]) { Set($0.values).count }
            let plan = try BatchPlanner(inv).plan(PlanOptions(mode: .evacuate([source]), timeLimit: 5))
            #expect(IndependentValidator.check(plan, inventory: inv) == [])
            let blocked = inv.servers.contains { $0.dedicatedHostID == source && !$0.isStopped }
            guard let optimum else {
                #expect(plan.status == (plan.moves.isEmpty ? .infeasible : .partial))
                return
            }
            if blocked {
                #expect(plan.status == (plan.moves.isEmpty ? .infeasible : .partial))  // ACTIVE servers on the source cannot leave
                return
            }
            #expect(plan.unplaced.isEmpty || plan.notes.contains { $0.contains("cycle") })
            if plan.status == .optimal { #expect(Int(plan.objectiveValue) == optimum, "seed \(seed)") }
            if let b = plan.objectiveBound { #expect(Int(b) <= optimum) }
        }
    }
}
