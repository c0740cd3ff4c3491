// SPDX-License-Identifier: GPL-3.0-or-later

@testable import Planner
import TestSupport
import Testing
import Topology

/// First-fit decreasing's packings are final states the rule pipeline admits: every arrival,
/// judged on its target with every other server of the final state there, is certain.
@Suite struct FirstFitUnknownLayoutTests {
    /// The arrivals of `moves` that the rule pipeline does not admit as certain in the final
    /// state (each judged with every other server of that state on its target).
    static func refusedArrivals(_ moves: [Move], planner: BatchPlanner, options: PlanOptions) -> [String] {
        let inventory = planner.inventory
        var final = planner.checker
        for m in moves {
            let server = inventory.servers[inventory.serverIndex[m.serverID]!]
            let flavor = inventory.flavors[server.flavor]!
            let groups = inventory.groupsOfServer[server.id] ?? []
            final.state.remove(server, flavor: flavor, host: inventory.hostIndex[m.from!]!, nodes: server.numaNodes, groups: groups)
            final.state.add(server, flavor: flavor, host: inventory.hostIndex[m.to!]!, nodes: m.numaNodes, groups: groups)
        }
        var refused: [String] = []
        for m in moves {
            let s = inventory.serverIndex[m.serverID]!
            let server = inventory.servers[s]
            let flavor = inventory.flavors[server.flavor]!
            let h = inventory.hostIndex[m.to!]!
            var judge = final
            judge.state.remove(server, flavor: flavor, host: h, nodes: m.numaNodes, groups: inventory.groupsOfServer[server.id] ?? [])
            var context = Checker.ServerContext(server, index: judge.index, inventory: inventory)
            context.currentHost = inventory.hostIndex[m.from!]!
            var sink = FirstCodeSink()
            let judged = judge.evaluateHost(context, hostIndex: h, options: options.checkerOptions,
                                            arrival: Checker.Arrival(nodes: m.numaNodes), sink: &sink)
            if sink.first != nil || judged.verdict != .certain { refused.append("\(m.serverID) -> \(m.to!) \(sink.first?.rawValue ?? "\(judged.verdict)")") }
        }
        return refused
    }

    /// Half the layouts unknown, fill 0.95: the repacked packing kept 48 hosts on seed 2 with
    /// arrivals the pipeline refuses in its final state, because its check for a server staying
    /// home read room that stops at zero.
    @Test func everyPackingIsAFinalStateThePipelineAdmits() throws {
        var packings = 0
        var withUnknownStaying = 0
        try PlanInHandAtBoundTests.forEachSub(0..<8, fill: 0.95, unknown: 0.5) { seed, inventory, planner, options, sub, candidates, _ in
            for candidate in candidates {
                let moves = planner.moves(of: candidate.decisions, in: sub)
                let refused = Self.refusedArrivals(moves, planner: planner, options: options)
                #expect(refused.isEmpty, "seed \(seed), \(candidate.source): \(refused.count) arrivals refused, \(refused.prefix(2))")
                let moved = Set(moves.map(\.serverID))
                let receiving = Set(moves.compactMap(\.to))
                if inventory.servers.contains(where: { $0.numaNodes == nil && !moved.contains($0.id) && receiving.contains($0.dedicatedHostID ?? "") }) {
                    withUnknownStaying += 1
                }
                packings += 1
            }
        }
        #expect(packings >= 16)
        #expect(withUnknownStaying >= 8, "only \(withUnknownStaying) packings put arrivals beside servers of unknown layout")
    }

    /// Under `planned` the cycle-free packing needs no ordering: no host both sends and
    /// receives. Where a host's mover finds no room on the hosts the repacked plan keeps, that
    /// host takes back its movers placed so far and is kept (one pass; it used to start over
    /// with the host kept, a pass per such host). On these fleets (half the layouts unknown)
    /// that happens, and what the packing keeps beyond the repacked plan's hosts is only such
    /// hosts, whose movers all stay.
    @Test func theCycleFreePackingTakesMoversBackInsteadOfStartingOver() throws {
        var tookBack = 0
        try PlanInHandAtBoundTests.forEachSub(0..<8, fill: 0.95, unknown: 0.5) { seed, inventory, planner, options, sub, candidates, _ in
            let free = try PlanInHandAtBoundTests.cycleFree(candidates, seed)
            let repacked = try #require(candidates.first { !$0.cycleFree && $0.source == "first-fit decreasing" })
            let moves = planner.moves(of: free.decisions, in: sub)
            let senders = Set(moves.compactMap(\.from)), receivers = Set(moves.compactMap(\.to))
            #expect(senders.isDisjoint(with: receivers), "seed \(seed): hosts both send and receive")
            #expect(Self.refusedArrivals(moves, planner: planner, options: options).isEmpty, "seed \(seed)")
            // The hosts the repacked plan keeps (as `packedWithoutCycles` starts from).
            var kept = Set(sub.hosts.indices.filter { sub.fixed[$0].serverCount > 0 })
            for m in planner.movers(of: sub) {
                switch repacked.decisions[m.c][m.i] {
                case .stay: kept.insert(m.origin.host)
                case .host(let h, _): kept.insert(h)
                case .pool: break
                }
            }
            for m in planner.movers(of: sub) where m.origin.host >= 0 && !kept.contains(m.origin.host) {
                // A host kept late keeps every mover home; the others send every mover away.
                let home = planner.movers(of: sub).filter { $0.origin.host == m.origin.host }
                let staying = home.filter { if case .stay = free.decisions[$0.c][$0.i] { return true } else { return false } }
                #expect(staying.isEmpty || staying.count == home.count, "seed \(seed): host \(m.origin.host) keeps some movers home, not all")
            }
            let late = Set(planner.movers(of: sub).filter { m in
                guard m.origin.host >= 0, !kept.contains(m.origin.host) else { return false }
                if case .stay = free.decisions[m.c][m.i] { return true } else { return false }
            }.map(\.origin.host))
            tookBack += late.count
        }
        #expect(tookBack >= 5, "only \(tookBack) hosts kept late")
    }

    /// `HostUsage.withinCapacity` says what `free(under:)`, which stops at zero, cannot: a known
    /// server of 8 vCPUs on node 0 and one of 10 of unknown layout, on nodes of 16.
    @Test func withinCapacityCountsUnknownLayoutsOnEveryNode() {
        var usage = HostUsage(capacity: Array(repeating: Resources(vcpus: 16, memoryMiB: 16384), count: 2))
        usage.add(Flavor(name: "k", resources: Resources(vcpus: 8, memoryMiB: 1024)), nodes: [0])
        usage.add(Flavor(name: "u", resources: Resources(vcpus: 10, memoryMiB: 1024)), nodes: nil)
        #expect(usage.free(under: .certain).allSatisfy { $0.vcpus >= 0 && $0.memoryMiB >= 0 })  // clamped
        #expect(!usage.withinCapacity(under: .certain))  // node 0: 8 + 10 of 16
        #expect(usage.withinCapacity(under: .possible))  // the known layouts alone
    }
}
