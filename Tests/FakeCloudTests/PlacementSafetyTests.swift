// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Executor
import FakeCloud
import Foundation
import Planner
import TestSupport
import Testing
import Topology

/// Plans made under `--cloud-placement any` survive a cloud that places arrivals as badly as it
/// can: the fake cloud's `adversarial` placement, applied in-process with a virtual clock.
@Suite(.tags(.slow), .skippedWhenFast) struct PlacementSafetyTests {
    /// A random fleet of 2- and 4-node hosts (one 2-node type with a node three times the other)
    /// with one- and two-node flavors (2 and 4 GiB per vCPU). Servers are placed node by node
    /// with the fit function (the truth, which the fake cloud keeps); the planner's copy forgets
    /// the layout of a random share of them, as a live inventory does.
    static func fleet(seed: UInt64) -> (truth: Inventory, seen: Inventory) {
        var rng = SplitMix64(seed: seed)
        let nodeVCPUs = [16, 24, 32][rng.below(3)]
        let types = [
            HostType(name: "two", numaNodes: Array(repeating: Resources(vcpus: nodeVCPUs, memoryMiB: nodeVCPUs * 4096), count: 2),
                     flavors: []),
            HostType(name: "four", numaNodes: Array(repeating: Resources(vcpus: nodeVCPUs / 2, memoryMiB: nodeVCPUs * 2048), count: 4),
                     flavors: []),
            // Nodes of unequal size: nothing in the API says a host's nodes are alike.
            HostType(name: "uneven", numaNodes: [Resources(vcpus: nodeVCPUs / 2, memoryMiB: nodeVCPUs * 2048),
                                                 Resources(vcpus: nodeVCPUs * 3 / 2, memoryMiB: nodeVCPUs * 6144)],
                     flavors: []),
        ]
        var flavors: [Flavor] = []
        for v in [2, 4, 8] {
            for gib in [2, 4] { flavors.append(Flavor(name: "f\(v)x\(gib)", resources: Resources(vcpus: v, memoryMiB: v * gib * 1024))) }
        }
        flavors.append(Flavor(name: "split8", resources: Resources(vcpus: 8, memoryMiB: 32768), numaNodes: 2))
        let names = flavors.map(\.name)
        let hostTypes = types.map { HostType(name: $0.name, numaNodes: $0.numaNodes, flavors: names) }
        let hostCount = 3 + rng.below(4)
        var hosts: [Topology.Host] = []
        for i in 0..<hostCount {
            hosts.append(Topology.Host(id: "h\(i)", hostType: types[rng.below(types.count)].name, availabilityZone: "az1"))
        }
        let skeleton = Inventory(hostTypes: hostTypes, flavors: flavors, hosts: hosts, servers: [], serverGroups: [])
        var state = PlacementState(skeleton)
        var truth: [Server] = []
        let fill = 0.4 + Double(rng.below(45)) / 100
        for h in hosts.indices {
            let capacity = state.usage[h].capacity.total
            var attempts = 0
            while attempts < 40 {
                attempts += 1
                let flavor = flavors[rng.below(flavors.count)]
                let used = state.usage[h].usedTotal
                if Double(used.vcpus + flavor.resources.vcpus) > fill * Double(capacity.vcpus) { continue }
                guard let fit = Fit.fit(flavor, free: state.usage[h].freeKnown, capacity: state.usage[h].capacity) else { continue }
                let server = Server(
                    id: "s\(truth.count)", flavor: flavor.name, status: rng.chance(0.85) ? "SHUTOFF" : "ACTIVE",
                    availabilityZone: "az1", dedicatedHostID: hosts[h].id, numaNodes: fit.nodes)
                state.add(server, flavor: flavor, host: h, nodes: fit.nodes, groups: [])
                truth.append(server)
            }
        }
        let unknownShare = [0.0, 0.5, 1.0][rng.below(3)]
        let seen = truth.map { s in rng.chance(unknownShare) ? s.placed(on: s.dedicatedHostID, numaNodes: nil) : s }
        func with(_ servers: [Server]) -> Inventory {
            Inventory(hostTypes: hostTypes, flavors: flavors, hosts: hosts, servers: servers, serverGroups: [])
        }
        return (with(truth), with(seen))
    }

    /// At least 500 generated cases: evacuate a random host or consolidate, plan under `any`,
    /// apply against the adversarial fake cloud with up to 8 moves in flight. No job may fail.
    @Test func plansUnderAnyNeverFailAgainstAnAdversarialCloud() async throws {
        var cases = 0, moves = 0, succeeded = 0, ontoUneven = 0
        var seed: UInt64 = 0
        while cases < 500 {
            seed += 1
            let (truth, seen) = Self.fleet(seed: seed)
            var rng = SplitMix64(seed: seed ^ 0xABCD)
            let occupied = seen.hosts.filter { h in seen.servers.contains { $0.dedicatedHostID == h.id } }
            guard !occupied.isEmpty else { continue }
            let mode: PlanMode = rng.chance(0.6) ? .evacuate([occupied[rng.below(occupied.count)].id]) : .consolidate
            let plan = try await offPool { try BatchPlanner(seen).plan(PlanOptions(mode: mode, timeLimit: 2, placement: .any)) }
            cases += 1
            guard !plan.moves.isEmpty else { continue }
            #expect(PlanValidator.violations(of: plan.moves, on: seen, options: Checker.Options(placement: .any)).isEmpty)
            #expect(IndependentValidator.check(plan, inventory: seen) == [], "seed \(seed)")
            let clock = TestClock()
            let (cloud, client) = try adversarialCloud(truth, clock: clock)
            let journal = Fixtures.temporaryFile("", name: "safety-\(seed).jsonl")
            let applier = Applier(
                client: client, inventory: seen, journal: try Journal(path: journal),
                options: ApplyOptions(maxParallel: 1 + rng.below(8), keepGoing: true, jobTimeout: 600, pollInterval: 1),
                sleep: { clock.advance($0) }, clock: { clock.now() }, placement: .any, topology: plan.topology)
            let results = try await applier.apply(plan.moves)
            let failedJobs = await cloud.failedJobCounts()
            #expect(failedJobs.isEmpty, "seed \(seed): failed jobs \(failedJobs); plan \(plan.moves)")
            // The live re-check sees what the planner saw: it refuses nothing the plan holds.
            let refused = results.filter { $0.status != .succeeded }
            #expect(refused.isEmpty, "seed \(seed): \(refused)")
            moves += plan.moves.count
            ontoUneven += plan.moves.filter { m in m.to.flatMap { seen.hostIndex[$0] }.map { seen.hosts[$0].hostType == "uneven" } ?? false }.count
            succeeded += results.filter { $0.status == .succeeded }.count
        }
        #expect(moves > 1000, "the generated cases must move servers (\(moves) moves)")
        #expect(ontoUneven > 200, "the generated cases must move servers onto hosts of unequal nodes (\(ontoUneven) moves)")
        print("placement safety: \(cases) cases, \(moves) moves (\(ontoUneven) onto hosts of unequal nodes), \(succeeded) succeeded, 0 failed jobs")
    }
}
