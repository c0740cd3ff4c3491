// SPDX-License-Identifier: GPL-3.0-or-later

import Generator
import Planner
import PropertyBased
import Testing
import Topology

/// Properties of the fit function and of check/targets over random inventories.
@Suite struct FitPropertyTests {
    /// Soundness, completeness and node choice of `Fit.evaluate` on random hosts of 1 to 4 nodes.
    @Test func fitIsSoundCompleteAndBest() async {
        await propertyCheck(
            count: 400,
            input: Gen.int(in: 1...4), Gen.int(in: 0...1_000_000), Gen.int(in: 1...4), Gen.int(in: 1...24),
            Gen.int(in: 1...32)
        ) { nodeCount, seed, k, shareV, shareGiB in
            var rng = SplitMix64(seed: UInt64(seed))
            let cap = Resources(vcpus: 32, memoryMiB: 131072)
            let capacity = Array(repeating: cap, count: nodeCount)
            let free = capacity.map { _ in Resources(vcpus: rng.below(33), memoryMiB: rng.below(129) * 1024) }
            let flavor = Flavor(
                name: "f", resources: Resources(vcpus: shareV * k, memoryMiB: shareGiB * 1024 * k), numaNodes: k)
            let share = flavor.perNode
            let eligible = free.indices.filter { free[$0].covers(share) }
            switch Fit.evaluate(flavor, free: free, capacity: capacity) {
            case .success(let fit):
                #expect(fit.nodes.count == k)
                #expect(Set(fit.nodes).count == k)
                #expect(fit.nodes == fit.nodes.sorted())
                for (n, left) in zip(fit.nodes, fit.leftover) {
                    #expect(free[n].covers(share))
                    #expect(left == free[n] - share)
                    #expect(left.vcpus >= 0 && left.memoryMiB >= 0)
                }
                if k == 1 {
                    // Best fit: no other eligible node leaves less (normalised) waste.
                    func waste(_ n: Int) -> Double {
                        Double(free[n].vcpus - share.vcpus) / 32 + Double(free[n].memoryMiB - share.memoryMiB) / 131072
                    }
                    #expect(abs(waste(fit.nodes[0]) - eligible.map(waste).min()!) < 1e-9)
                } else {
                    // Split flavors: the chosen nodes are the k with room for the most shares.
                    func shares(_ n: Int) -> Int { min(free[n].vcpus / share.vcpus, free[n].memoryMiB / share.memoryMiB) }
                    #expect(fit.nodes.map(shares).sorted(by: >) == Array(eligible.map(shares).sorted(by: >).prefix(k)))
                }
            case .failure(.insufficientTotal(let total, let demand)):
                #expect(!total.covers(demand))
            case .failure(.tooFewNodes(let needed, let has)):
                #expect(needed > has)
                #expect(free.total.covers(flavor.resources))
            case .failure(.insufficientNUMA(let nodes, let needed, _)):
                #expect(nodes == eligible)
                #expect(eligible.count < needed)
                #expect(free.total.covers(flavor.resources))
            }
        }
    }

    static func randomInventory(seed: Int, hosts: Int, servers: Int, unknown: Double) -> Inventory {
        InventoryGenerator.generate(.init(
            seed: UInt64(seed), hosts: hosts, servers: servers, availabilityZones: ["az1", "az2"],
            unknownLayoutFraction: unknown, shutoffFraction: 0.8, faultFraction: 0.1, antiAffinityGroups: 3))
    }

    /// Every target `targets` reports passes `check` with the same nodes, and every host `check`
    /// accepts is among the targets.
    @Test func targetsAgreeWithCheck() async {
        await propertyCheck(
            count: 60,
            input: Gen.int(in: 0...1_000_000), Gen.int(in: 3...14), Gen.int(in: 0...200), Gen.bool, Gen.bool
        ) { seed, hostCount, pick, possible, assumeStopped in
            let inventory = Self.randomInventory(seed: seed, hosts: hostCount, servers: hostCount * 5, unknown: 0.2)
            guard !inventory.servers.isEmpty else { return }
            let server = inventory.servers[pick % inventory.servers.count]
            let options = Checker.Options(layoutPolicy: possible ? .possible : .certain, assumeStopped: assumeStopped)
            let checker = Checker(inventory)
            let list = checker.targets(serverID: server.id, options: options)
            var listed = Set<String>()
            for candidate in list.targets {
                let check = checker.check(serverID: server.id, target: candidate.target, options: options)
                #expect(check.feasible, "\(server.id) -> \(candidate.target): \(check.reasons)")
                #expect(check.numaNodes == candidate.fit?.nodes)
                if let id = candidate.target.hostID { listed.insert(id) }
            }
            for host in inventory.hosts {
                let check = checker.check(serverID: server.id, target: .host(host.id), options: options)
                #expect(check.feasible == listed.contains(host.id), "\(server.id) -> \(host.id)")
            }
            #expect(list.fittingHosts + list.rejected.values.reduce(0, +) == inventory.hosts.count || !list.serverReasons.isEmpty)
        }
    }

    /// Placing a server where the fit function says never overcommits a node: the moved
    /// inventory passes the loader's independent overcommit validation.
    @Test func placingOnChosenNodesNeverOvercommits() async {
        await propertyCheck(
            count: 60, input: Gen.int(in: 0...1_000_000), Gen.int(in: 3...14), Gen.int(in: 0...200)
        ) { seed, hostCount, pick in
            let inventory = Self.randomInventory(seed: seed, hosts: hostCount, servers: hostCount * 6, unknown: 0)
            guard !inventory.servers.isEmpty else { return }
            let server = inventory.servers[pick % inventory.servers.count]
            let checker = Checker(inventory)
            let list = checker.targets(serverID: server.id, options: .init(assumeStopped: true))
            for candidate in list.targets {
                guard let id = candidate.target.hostID, let fit = candidate.fit else { continue }
                let moved = inventory.replacing(servers: [server.placed(on: id, numaNodes: fit.nodes)])
                #expect(throws: Never.self, "\(server.id) -> \(id) nodes \(fit.nodes)") {
                    _ = try Inventory.decode(moved.json())
                }
                // One more server of the same flavor on the same nodes must overcommit when leftover is short.
                let flavor = inventory.flavors[server.flavor]!
                if fit.leftover.contains(where: { !$0.covers(flavor.perNode) }) {
                    let twin = Server(
                        id: "twin", flavor: server.flavor, status: "SHUTOFF", availabilityZone: server.availabilityZone,
                        dedicatedHostID: id, numaNodes: fit.nodes)
                    let crowded = Inventory(
                        hostTypes: Array(moved.hostTypes.values), flavors: Array(moved.flavors.values),
                        hosts: moved.hosts, servers: moved.servers + [twin], serverGroups: moved.serverGroups)
                    #expect(throws: InventoryError.self) { _ = try Inventory.decode(crowded.json()) }
                }
            }
        }
    }

    /// `INSUFFICIENT_NUMA_CAPACITY` is only reported when the total would have fitted;
    /// `INSUFFICIENT_CAPACITY` only when it would not.
    @Test func numaReasonOnlyWhenTheTotalFits() async {
        await propertyCheck(
            count: 40, input: Gen.int(in: 0...1_000_000), Gen.int(in: 3...12)
        ) { seed, hostCount in
            let inventory = Self.randomInventory(seed: seed, hosts: hostCount, servers: hostCount * 7, unknown: 0.15)
            let checker = Checker(inventory)
            let state = PlacementState(inventory)
            for server in inventory.servers.prefix(25) {
                let demand = inventory.flavors[server.flavor]!.resources
                for (h, host) in inventory.hosts.enumerated() {
                    let codes = checker.check(serverID: server.id, target: .host(host.id)).reasons.map(\.code)
                    let total = state.usage[h].freeTotal
                    if codes.contains(.insufficientNUMACapacity) { #expect(total.covers(demand)) }
                    if codes.contains(.insufficientCapacity) { #expect(!total.covers(demand)) }
                }
            }
        }
    }
}
