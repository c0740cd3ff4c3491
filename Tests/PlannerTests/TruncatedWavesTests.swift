// SPDX-License-Identifier: GPL-3.0-or-later

import Generator
import GLPK
import Testing
import TestSupport
import Topology
@testable import Planner

/// The wave ordering past `truncateAt`: it stops at the first cycle to break, with the waves made
/// so far, and drops the moves not yet in a wave (their servers stay), where a deadline gives up. The packing in hand when
/// nothing else is (the cycle-free packing) is ordered so: ordered to the end, large foreign
/// fleet 796 (8,000 hosts) under `any` took 9.8 s at a 1 s limit.
@Suite struct TruncatedWavesTests {
    /// Generated one-zone fleets of 2- and 4-node hosts, 30 % of layouts unknown.
    static func consolidation(seed: UInt64, placement: CloudPlacement) -> (Inventory, BatchPlanner, PlanOptions, SubProblem) {
        let inventory = InventoryGenerator.generate(.init(
            seed: seed, hosts: 50, servers: 220, availabilityZones: ["az1"], unknownLayoutFraction: 0.3, shutoffFraction: 0.9,
            faultFraction: 0, antiAffinityGroups: 2, hostTypeNames: ["c6", "m6", "h4"], maxFill: 0.75))
        let options = PlanOptions(mode: .consolidate, timeLimit: 10, placement: placement)
        let planner = BatchPlanner(inventory)
        let sub = try! #require(planner.consolidationSubProblems(zones: ["az1"], options: options).first)
        return (inventory, planner, options, sub)
    }

    /// Wherever it stops, what it leaves is a plan: the decisions `orderedWaves` returns make
    /// exactly the waves' moves, the independent validator accepts the waves, and the moves left
    /// out are counted and noted. Past its moment before the first wave, it still makes every
    /// wave that needs no cycle broken, exactly as ordered to the end, and stops at the first
    /// cycle; never stopped, nothing is left out. On first-fit decreasing's packing (moves in
    /// cycles) and its cycle-free one, under `any` and `planned`. Fails if a stop leaves a wave
    /// that needs a move left out, decisions that still make a move left out, no count, waves
    /// that differ from those ordered to the end, or (under `any`) if no ordering of these
    /// fleets stops at a cycle with waves made before it.
    @Test(arguments: [CloudPlacement.any, .planned])
    func whereverItStopsWhatItLeavesIsAPlan(placement: CloudPlacement) throws {
        var (stoppedAtDeadlock, partial) = (0, 0)
        for seed in UInt64(7100)..<7104 {
            let (inventory, planner, options, sub) = Self.consolidation(seed: seed, placement: placement)
            let ffd = try #require(planner.firstFitDecreasing(sub, options: options), "seed \(seed)")
            for packing in [ffd.decisions, ffd.cycleFree?.decisions].compactMap({ $0 }) {
                let moves = planner.moves(of: packing, in: sub)
                try #require(!moves.isEmpty, "seed \(seed)")
                let never = try #require(planner.orderWaves(moves, options: options, deadline: nil, truncateAt: .infinity), "seed \(seed)")
                #expect(never.truncated == 0, "seed \(seed)")
                let before = try #require(planner.orderWaves(moves, options: options, deadline: nil, truncateAt: 0), "seed \(seed)")
                #expect(before.truncated == moves.count - before.moves.count, "seed \(seed)")
                #expect(before.dropped.count == before.truncated, "seed \(seed)")
                if before.truncated > 0 {
                    #expect(before.orderingNote?.contains("\(before.truncated) move(s) left out") == true, "seed \(seed)")
                    stoppedAtDeadlock += 1
                    if !before.moves.isEmpty { partial += 1 }
                } else {
                    // Nothing to stop at: the ordering to the end broke no cycle either.
                    #expect(never.rerouted == 0 && never.dropped.isEmpty && never.relocatedHosts == 0, "seed \(seed)")
                }
                // Its waves are the first waves of the ordering to the end, move for move.
                func byWave(_ w: [Move]) -> [Int: Set<String>] {
                    Dictionary(grouping: w, by: \.wave).mapValues { Set($0.map { "\($0.serverID)>\($0.to ?? "pool")" }) }
                }
                let (made, whole) = (byWave(before.moves), byWave(never.moves))
                for (wave, inWave) in made { #expect(whole[wave] == inWave, "seed \(seed), wave \(wave)") }
                #expect(made.keys.sorted() == Array(1..<(made.count + 1)), "seed \(seed)")
                for delay in [0.0, 0.0005, 0.002, 0.01] {
                    let stop = delay == 0 ? 0 : monotonicSeconds() + delay
                    let (decisions, waves, _) = try #require(planner.orderedWaves(packing, sub: sub, options: options, truncateAt: stop),
                                                             "seed \(seed)")
                    #expect(planner.moves(of: decisions, in: sub).map(\.serverID).sorted() == waves.map(\.serverID).sorted(), "seed \(seed)")
                    #expect(PlanValidator.violations(of: waves, on: inventory, options: options.checkerOptions).isEmpty,
                            "seed \(seed), stopped after \(delay) s")
                }
            }
        }
        if placement == .any {
            #expect(stoppedAtDeadlock > 0, "no ordering stopped at a cycle to break")
            #expect(partial > 0, "no ordering stopped at a cycle to break kept the waves before it")
        }
    }

    /// Moves off hosts that a stopped ordering leaves in use empty nothing, and go
    /// (`withoutIdleMoves`): with the last wave of a cycle-free packing's waves left out (in one
    /// wave, its last third), no move
    /// is left off a host a move left out comes from, every move taken away is counted, and the
    /// validator accepts what is left. Fails if such moves stay, or if the waves left break.
    @Test(arguments: [CloudPlacement.any, .planned])
    func movesOffHostsStillInUseGo(placement: CloudPlacement) throws {
        var taken = 0
        for seed in UInt64(7100)..<7104 {
            let (inventory, planner, options, sub) = Self.consolidation(seed: seed, placement: placement)
            let free = try #require(planner.firstFitDecreasing(sub, options: options)?.cycleFree, "seed \(seed)")
            let whole = try #require(planner.orderWaves(planner.moves(of: free.decisions, in: sub), options: options, deadline: nil),
                                     "seed \(seed)")
            // The last wave left out; in one wave (under `planned`), its last third.
            let last = try #require(whole.moves.map(\.wave).max(), "seed \(seed)")
            let cut = last > 1 ? whole.moves.firstIndex { $0.wave == last }! : whole.moves.count * 2 / 3
            var stopped = whole
            stopped.moves = Array(whole.moves[..<cut])
            stopped.dropped = whole.dropped + whole.moves[cut...].map(\.serverID)
            stopped.truncated = whole.moves.count - stopped.moves.count
            let out = planner.withoutIdleMoves(stopped, options: options)
            let stillUsed = Set(out.dropped.compactMap { inventory.serverIndex[$0].flatMap { inventory.servers[$0].dedicatedHostID } })
            #expect(!out.moves.contains { $0.from.map(stillUsed.contains) ?? false }, "seed \(seed)")
            #expect(out.moves.count + out.truncated == whole.moves.count, "seed \(seed)")
            #expect(PlanValidator.violations(of: out.moves, on: inventory, options: options.checkerOptions).isEmpty, "seed \(seed)")
            taken += stopped.moves.count - out.moves.count
        }
        #expect(taken > 0, "no move off a host still in use was taken away")
    }
}
