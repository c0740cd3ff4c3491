// SPDX-License-Identifier: GPL-3.0-or-later

import Generator
import Testing
import Topology
@testable import Planner

/// The validator replays moves that share no host apart, on the cores there are
/// (`PlanValidator.independentParts`): a move is judged by its target's and its source's state
/// alone, so a plan passes in parts exactly when it passes in one piece.
@Suite struct ValidatorPartsTests {
    /// A consolidation of a generated fleet in two zones, under `any` and `planned`.
    static func plan(seed: UInt64, placement: CloudPlacement) throws -> (Inventory, Plan) {
        let inventory = InventoryGenerator.generate(.init(
            seed: seed, hosts: 60, servers: 300, availabilityZones: ["az1", "az2"], unknownLayoutFraction: 0.3,
            shutoffFraction: 0.9, faultFraction: 0, antiAffinityGroups: 2, hostTypeNames: ["c6", "m6", "h4"], maxFill: 0.75))
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .consolidate, timeLimit: 2, placement: placement))
        return (inventory, plan)
    }

    /// The hosts a move touches: where its server is, and its target.
    static func hosts(_ move: Move, _ inventory: Inventory) -> Set<String> {
        let server = inventory.servers[inventory.serverIndex[move.serverID]!]
        return Set([server.dedicatedHostID, move.to].compactMap { $0 })
    }

    /// Two zones make two parts: together they hold every move once, each in the plan's order,
    /// and no host is touched by both. Fails if a move is lost, repeated or reordered, or two
    /// parts share a host.
    @Test(arguments: [CloudPlacement.any, .planned])
    func partsShareNoHostAndKeepEveryMoveInOrder(placement: CloudPlacement) throws {
        for seed in UInt64(7300)..<7303 {
            let (inventory, plan) = try Self.plan(seed: seed, placement: placement)
            try #require(!plan.moves.isEmpty, "seed \(seed)")
            #expect(PlanValidator.independentParts(of: plan.moves, on: inventory, from: 1, cores: 1) == nil)
            #expect(PlanValidator.independentParts(of: plan.moves, on: inventory, from: plan.moves.count + 1, cores: 2) == nil)
            let parts = try #require(PlanValidator.independentParts(of: plan.moves, on: inventory, from: 1, cores: 2), "seed \(seed)")
            #expect(parts.count == 2, "seed \(seed)")
            #expect(parts.map(\.count).reduce(0, +) == plan.moves.count, "seed \(seed)")
            let position = Dictionary(uniqueKeysWithValues: plan.moves.enumerated().map { ($1.serverID, $0) })
            for part in parts {
                let at = part.map { position[$0.serverID]! }
                #expect(at == at.sorted() && Set(at).count == at.count, "seed \(seed)")
            }
            let touched = parts.map { part in part.reduce(into: Set<String>()) { $0.formUnion(Self.hosts($1, inventory)) } }
            #expect(touched[0].isDisjoint(with: touched[1]), "seed \(seed)")
        }
    }

    /// A server moving twice, or a move with an unknown target, is left to the replay in one
    /// piece (which reports it): no parts.
    @Test func aServerMovingTwiceOrAnUnknownTargetMakesNoParts() throws {
        let (inventory, plan) = try Self.plan(seed: 7300, placement: .any)
        try #require(plan.moves.count > 1)
        var twice = plan.moves
        twice.append(plan.moves[0])
        #expect(PlanValidator.independentParts(of: twice, on: inventory, from: 1, cores: 2) == nil)
        var unknown = plan.moves
        let first = unknown[0]
        unknown[0] = Move(serverID: first.serverID, from: first.from, to: "no-such-host", numaNodes: nil, wave: first.wave)
        #expect(PlanValidator.independentParts(of: unknown, on: inventory, from: 1, cores: 2) == nil)
    }

    /// In parts or in one piece, the same verdict: the plan passes both ways; broken in one zone
    /// (a move onto a host without room for it, or of a running server), both report the same
    /// problems. Fails if the parts pass a plan the whole refuses, or refuse one it passes.
    @Test(arguments: [CloudPlacement.any, .planned])
    func partsAndTheWholeAgree(placement: CloudPlacement) throws {
        var broken = 0
        for seed in UInt64(7300)..<7303 {
            let (inventory, plan) = try Self.plan(seed: seed, placement: placement)
            let options = plan.validationOptions
            let checker = BatchPlanner(inventory).checker
            func both(_ moves: [Move]) -> (parts: [String], whole: [String]) {
                (PlanValidator.violations(of: moves, on: inventory, options: options, checker: checker, splitFrom: 1),
                 PlanValidator.violations(of: moves, on: inventory, options: options, checker: checker, splitFrom: .max))
            }
            let valid = both(plan.moves)
            #expect(valid.parts.isEmpty && valid.whole.isEmpty, "seed \(seed)")
            // The last move of the plan, sent to the fullest host of its zone that it does not come from.
            var moves = plan.moves
            let last = moves.count - 1
            let zone = inventory.servers[inventory.serverIndex[moves[last].serverID]!].availabilityZone
            let usage = BatchPlanner(inventory).checker.state.usage
            let fullest = inventory.hosts.indices
                .filter { inventory.hosts[$0].availabilityZone == zone && !Self.hosts(moves[last], inventory).contains(inventory.hosts[$0].id) }
                .min { usage[$0].freeTotal.vcpus < usage[$1].freeTotal.vcpus }
            if let fullest {
                let m = moves[last]
                moves[last] = Move(serverID: m.serverID, from: m.from, to: inventory.hosts[fullest].id, numaNodes: nil, wave: m.wave)
                let crowded = both(moves)
                #expect(crowded.parts == crowded.whole, "seed \(seed)")
                if !crowded.whole.isEmpty { broken += 1 }
            }
            // A running server moved.
            if let running = inventory.servers.first(where: { !$0.isStopped && $0.dedicatedHostID != nil && $0.availabilityZone == zone }) {
                var withRunning = plan.moves
                withRunning.append(Move(serverID: running.id, from: running.dedicatedHostID, to: nil, numaNodes: nil, wave: 1))
                let refused = both(withRunning)
                #expect(!refused.whole.isEmpty && refused.parts == refused.whole, "seed \(seed)")
                broken += 1
            }
        }
        #expect(broken > 0, "no broken plan was tried")
    }
}
