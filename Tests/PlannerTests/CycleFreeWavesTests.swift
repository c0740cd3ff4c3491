// SPDX-License-Identifier: GPL-3.0-or-later

import Generator
import GLPK
@testable import Planner
import TestSupport
import Testing
import Topology

/// Under `any`, the cycle-free first-fit decreasing packing (servers of the hosts it empties
/// go onto the hosts it keeps, nothing else moves) is judged as it will run: each kept host's
/// arrivals in the order they are placed, with the host's latest wave when every arrival of
/// that wave stays safe whatever nodes the cloud picks, else in a wave of their own after it.
/// The packing then comes in waves that need no ordering; judged on its wished nodes, it
/// stacked arrivals that could wait for each other for ever (tiled 2,000: 825 such moves,
/// re-routed by the wave ordering in most of a 3 s plan).
@Suite struct CycleFreeWavesTests {
    /// Per host-type family of the movable servers (zone az1): the sub-problem and first-fit
    /// decreasing's cycle-free packing, where there is one (not the packings the local searches
    /// made of it, also cycle-free).
    static func cycleFreePackings(_ planner: BatchPlanner, options: PlanOptions)
        -> [(sub: SubProblem, free: BatchPlanner.Packing)]
    {
        planner.consolidationSubProblems(zones: ["az1"], options: options).compactMap { sub in
            planner.firstFitDecreasingPlans(sub, options: options).first { $0.source == "first-fit decreasing (no cycles)" }
                .map { (sub, $0) }
        }
    }

    /// A generated fleet of 2- and 4-node host types with every layout unknown, as an inventory
    /// read through the API is: by default 30-50 hosts, 140-230 servers, anti-affinity groups
    /// on odd seeds.
    static func liveFleet(_ seed: UInt64, hosts: Int? = nil, servers: Int? = nil, groups: Int? = nil) -> Inventory {
        InventoryGenerator.generate(.init(
            seed: 930 + seed, hosts: hosts ?? 30 + Int(seed % 3) * 10, servers: servers ?? 140 + Int(seed % 4) * 30,
            availabilityZones: ["az1"], unknownLayoutFraction: 1, shutoffFraction: 0.9, faultFraction: 0,
            antiAffinityGroups: groups ?? Int(seed % 2), hostTypeNames: ["c6", "m6", "h4"], maxFill: 0.5))
    }

    /// `body` on each sub-problem of the live fleets of `seeds` (`liveFleet`) and its cycle-free
    /// packing, consolidating under `any` at a 1 s limit.
    static func forEachLivePacking(
        _ seeds: Range<UInt64>,
        _ body: (UInt64, Inventory, BatchPlanner, PlanOptions, SubProblem,
                 BatchPlanner.Packing) throws -> Void
    ) rethrows {
        for seed in seeds {
            let inventory = liveFleet(seed)
            let options = PlanOptions(mode: .consolidate, timeLimit: 1, placement: .any)
            let planner = BatchPlanner(inventory)
            for (sub, free) in cycleFreePackings(planner, options: options) { try body(seed, inventory, planner, options, sub, free) }
        }
    }

    /// Generated fleets of 2- and 4-node host types with anti-affinity groups, some with a
    /// per-host cap: where every layout is known, the packing's waves replay cleanly by the
    /// rule pipeline under `any` and carry exactly the packing's moves; where 30 % are unknown,
    /// the packing has no waves of its own (the wave ordering makes them).
    @Test func theCycleFreePackingsWavesReplayUnderAny() throws {
        var checked = 0
        var severalWaves = 0
        var concurrent = 0
        for seed in 0..<24 as Range<UInt64> {
            let inventory = InventoryGenerator.generate(.init(
                seed: 900 + seed, hosts: 20 + Int(seed % 4) * 10, servers: 100 + Int(seed % 3) * 40, availabilityZones: ["az1"],
                unknownLayoutFraction: seed % 2 == 0 ? 0 : 0.3, shutoffFraction: 0.8, faultFraction: 0.05,
                antiAffinityGroups: Int(seed % 3), hostTypeNames: ["c6", "m6", "h4"], maxFill: 0.5))
            let options = PlanOptions(mode: .consolidate, maxPerHost: seed % 5 == 0 ? 3 : nil, timeLimit: 1, placement: .any)
            let planner = BatchPlanner(inventory)
            for (sub, free) in Self.cycleFreePackings(planner, options: options) {
                // Judged as it will run only where every layout is known (live inventories have
                // none; there the packing on wished nodes, ordered afterwards, did better).
                guard seed % 2 == 0 else {
                    #expect(free.waves == nil, "seed \(seed)")
                    continue
                }
                let waves = try #require(free.waves, "seed \(seed): the cycle-free packing has no waves under any")
                let packed = planner.moves(of: free.decisions, in: sub)
                #expect(Dictionary(uniqueKeysWithValues: waves.map { ($0.serverID, $0.to) })
                    == Dictionary(uniqueKeysWithValues: packed.map { ($0.serverID, $0.to) }), "seed \(seed)")
                let problems = PlanValidator.violations(of: waves, on: inventory, options: options.checkerOptions)
                #expect(problems.isEmpty, "seed \(seed): \(problems.prefix(3))")
                checked += 1
                if (waves.map(\.wave).max() ?? 0) > 1 { severalWaves += 1 }
                let perWaveAndHost = Dictionary(grouping: waves.filter { $0.to != nil }, by: { "\($0.wave) \($0.to!)" })
                if perWaveAndHost.values.contains(where: { $0.count > 1 }) { concurrent += 1 }
            }
        }
        #expect(checked >= 10)
        // The property has teeth: hosts take arrivals together, and in later waves.
        #expect(severalWaves > 0 && concurrent > 0, "\(severalWaves) packings in several waves, \(concurrent) with concurrent arrivals")
    }

    /// With caps on moves per wave, the waves are left to the wave ordering (which keeps them).
    @Test func capsOnWavesLeaveTheOrderingToTheOrdering() throws {
        let inventory = InventoryGenerator.generate(.init(
            seed: 905, hosts: 30, servers: 140, availabilityZones: ["az1"], unknownLayoutFraction: 0, shutoffFraction: 0.8,
            faultFraction: 0, antiAffinityGroups: 0, hostTypeNames: ["c6", "m6", "h4"], maxFill: 0.5))
        for (parallel, perHost) in [(2, nil), (nil, 1)] as [(Int?, Int?)] {
            let options = PlanOptions(mode: .consolidate, timeLimit: 1, maxParallel: parallel, maxPerHostParallel: perHost, placement: .any)
            let planner = BatchPlanner(inventory)
            let movers = inventory.servers.indices.filter {
                inventory.servers[$0].dedicatedHostID != nil && BatchPlanner.isMovable(inventory.servers[$0], assumeStopped: false)
            }
            let sub = planner.buildSubProblem(zones: ["az1"], movers: movers, mustMove: false, evacuated: [], excluded: [], options: options)
            let candidates = planner.firstFitDecreasingPlans(sub, options: options)
            let free = try #require(candidates.first { $0.cycleFree })
            #expect(free.waves == nil)
            let plan = try planner.plan(options)
            let perWave = Dictionary(grouping: plan.moves, by: \.wave)
            if let parallel { #expect(perWave.values.allSatisfy { $0.count <= parallel }) }
            if let perHost {
                for group in perWave.values {
                    let touches = Dictionary(grouping: group.flatMap { [$0.from, $0.to].compactMap { $0 } }, by: { $0 })
                    #expect(touches.values.allSatisfy { $0.count <= perHost })
                }
            }
        }
    }

    /// Where layouts are unknown under `any`, the packing is made in one pass: a mover that
    /// finds no place keeps its host in use from then on (its later movers stay, the host takes
    /// arrivals), instead of starting over with that host kept, once per such host (177 passes,
    /// 1.4-2.7 s of a 1 s share on the live mixed 1,000-host fleet). Such a host both sends and
    /// receives; its arrivals wait only for its own departures, which go to hosts that only
    /// receive, so the packing still orders without a cycle: no move re-routed or dropped.
    @Test func unknownLayoutsPackInOnePassWithoutCycles() throws {
        var sendingAndReceiving = 0
        var checked = 0
        Self.forEachLivePacking(0..<12) { seed, inventory, planner, options, sub, free in
            let moves = planner.moves(of: free.decisions, in: sub)
            let senders = Set(moves.compactMap(\.from)), receivers = Set(moves.compactMap(\.to))
            if !senders.isDisjoint(with: receivers) { sendingAndReceiving += 1 }
            let ordered = planner.orderWaves(moves, options: options)
            #expect(ordered.rerouted == 0 && ordered.dropped.isEmpty && ordered.relocatedHosts == 0, "seed \(seed)")
            #expect(ordered.moves.count == moves.count, "seed \(seed)")
            #expect(PlanValidator.violations(of: ordered.moves, on: inventory, options: options.checkerOptions) == [], "seed \(seed)")
            checked += 1
        }
        #expect(checked >= 8)
        #expect(sendingAndReceiving > 0, "no packing kept a host it had started to empty: the test shows nothing")
    }

    /// Where layouts are unknown the cycle-free packing has no waves of its own and is ordered
    /// to the end anyway, so the repacked packing after it still gets `lastResort`; under
    /// `any` it is made safe whatever nodes the cloud picks (`anySafe`) before it is ordered.
    /// Given no time but `lastResort`, the plan in hand on these live-like fleets is then the
    /// repacked one where it keeps fewer hosts, and its waves validate. Before, the cycle-free
    /// packing used up `lastResort` and the repacked one was never ordered: on the live mixed
    /// 1,000-host fleet at 3 s the plan ended at 489 hosts where the repacked one made safe
    /// keeps 386.
    @Test func theRepackedPackingIsMadeSafeAndOrderedAfterTheCycleFreeOne() throws {
        var better = 0
        var checked = 0
        try Self.forEachLivePacking(0..<8) { seed, inventory, planner, options, sub, free in
            let now = monotonicSeconds()
            let plan = planner.heuristicPlan(sub, options: options, deadline: now - 1, lastResort: now + 60)
            let levels = sub.levels(plan.decisions, objective: .minHostsUsed, inventory: inventory)
            #expect(levels <= free.levels, "seed \(seed)")
            if levels < free.levels {
                better += 1
                #expect(!plan.source.contains("no cycles"), "seed \(seed): \(plan.source)")
            }
            let waves = try #require(plan.waves, "seed \(seed): the plan in hand has no waves")
            #expect(PlanValidator.violations(of: waves, on: inventory, options: options.checkerOptions) == [], "seed \(seed)")
            checked += 1
        }
        #expect(checked >= 6)
        #expect(better >= checked / 2, "the repacked packing beat the cycle-free one on \(better) of \(checked)")
    }

    /// The insertion says when it stopped for time (what `anySafe` gives up on when told to
    /// give up early): past its deadline it places nothing and says so; with time it places
    /// servers and does not. (The pace check and `anySafe`'s use of the flag are timing
    /// matters: measured, not tested here.)
    @Test func theInsertionSaysWhenItStoppedForTime() throws {
        var checked = 0
        for seed in 0..<4 as Range<UInt64> {
            let inventory = Self.liveFleet(seed, hosts: 30, servers: 140, groups: 0)
            let options = PlanOptions(mode: .consolidate, timeLimit: 1, placement: .any)
            let planner = BatchPlanner(inventory)
            // The servers of the least loaded host in use, onto the others.
            let used = inventory.hosts.indices.filter { h in inventory.servers.contains { $0.dedicatedHostID == inventory.hosts[h].id } }
            let source = try #require(used.min { a, b in
                inventory.servers.filter { $0.dedicatedHostID == inventory.hosts[a].id }.count
                    < inventory.servers.filter { $0.dedicatedHostID == inventory.hosts[b].id }.count
            })
            let ids = inventory.servers.filter { $0.dedicatedHostID == inventory.hosts[source].id }.map(\.id)
            var late = planner.insertion(of: [], options: options)
            let stopped = planner.insert(ids, into: &late, options: options, evacuated: [source], excluded: [], onlyTo: nil,
                                         deadline: monotonicSeconds() - 1, giveUpEarly: true)
            #expect(stopped.stopped && stopped.placed.isEmpty && late.moves.isEmpty, "seed \(seed)")
            var timely = planner.insertion(of: [], options: options)
            let done = planner.insert(ids, into: &timely, options: options, evacuated: [source], excluded: [], onlyTo: nil,
                                      deadline: .infinity, giveUpEarly: true)
            #expect(!done.stopped && !done.placed.isEmpty, "seed \(seed)")
            checked += 1
        }
        #expect(checked == 4)
    }
}
