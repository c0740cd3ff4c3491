// SPDX-License-Identifier: GPL-3.0-or-later

import Planner
import Topology

/// Writes seeded, realistic inventories: 2- and 4-node host types, partly filled hosts,
/// a flavor mix with split flavors, unknown layouts, anti-affinity groups, several AZs.
public enum InventoryGenerator {
    /// What to generate.
    public struct Config: Sendable {
        /// Seed; the same config gives the same inventory.
        public var seed: UInt64
        /// Number of Dedicated Hosts.
        public var hosts: Int
        /// Number of servers to place (fewer when the hosts fill up).
        public var servers: Int
        /// Availability zones, hosts spread round-robin.
        public var availabilityZones: [String]
        /// Share of servers whose NUMA layout is left unknown.
        public var unknownLayoutFraction: Double
        /// Share of servers that are SHUTOFF (the rest ACTIVE).
        public var shutoffFraction: Double
        /// Share of servers in the public pool instead of on a DeH.
        public var poolFraction: Double
        /// Share of hosts in state `fault`.
        public var faultFraction: Double
        /// Number of anti-affinity groups (2 to 4 members each, on distinct hosts).
        public var antiAffinityGroups: Int
        /// Host types to use, by name from `InventoryGenerator.hostTypes` (all when empty).
        public var hostTypeNames: [String]
        /// Highest share of a host's vCPUs that generated servers may use; each host draws its own
        /// fill level between 0.3 and this, so hosts are partly filled.
        public var maxFill: Double

        /// Creates a config with realistic defaults.
        public init(
            seed: UInt64 = 1, hosts: Int = 20, servers: Int = 150, availabilityZones: [String] = ["eu-de-01", "eu-de-02"],
            unknownLayoutFraction: Double = 0.03, shutoffFraction: Double = 0.7, poolFraction: Double = 0.02,
            faultFraction: Double = 0.03, antiAffinityGroups: Int = 2, hostTypeNames: [String] = [],
            maxFill: Double = 0.9
        ) {
            self.maxFill = maxFill
            self.seed = seed
            self.hosts = hosts
            self.servers = servers
            self.availabilityZones = availabilityZones
            self.unknownLayoutFraction = unknownLayoutFraction
            self.shutoffFraction = shutoffFraction
            self.poolFraction = poolFraction
            self.faultFraction = faultFraction
            self.antiAffinityGroups = antiAffinityGroups
            self.hostTypeNames = hostTypeNames
        }
    }

    /// The flavor catalogue (vCPUs, MiB, NUMA nodes spanned).
    public static let flavors: [Flavor] = [
        Flavor(name: "c6.large.2", resources: Resources(vcpus: 2, memoryMiB: 4096)),
        Flavor(name: "c6.xlarge.4", resources: Resources(vcpus: 4, memoryMiB: 16384)),
        Flavor(name: "c6.2xlarge.4", resources: Resources(vcpus: 8, memoryMiB: 32768)),
        Flavor(name: "c6.4xlarge.4", resources: Resources(vcpus: 16, memoryMiB: 65536)),
        Flavor(name: "c6.8xlarge.4", resources: Resources(vcpus: 32, memoryMiB: 131072), numaNodes: 2),
        Flavor(name: "m6.xlarge.8", resources: Resources(vcpus: 4, memoryMiB: 32768)),
        Flavor(name: "m6.2xlarge.8", resources: Resources(vcpus: 8, memoryMiB: 65536)),
        Flavor(name: "m6.4xlarge.8", resources: Resources(vcpus: 16, memoryMiB: 131072)),
        Flavor(name: "m6.8xlarge.8", resources: Resources(vcpus: 32, memoryMiB: 262144), numaNodes: 2),
        Flavor(name: "h4.6xlarge.4", resources: Resources(vcpus: 24, memoryMiB: 98304), numaNodes: 2),
        Flavor(name: "h4.12xlarge.4", resources: Resources(vcpus: 48, memoryMiB: 196608), numaNodes: 4),
    ]

    /// The host-type catalogue: two 2-node types and one 4-node type.
    public static let hostTypes: [HostType] = [
        HostType(
            name: "c6", numaNodes: Array(repeating: Resources(vcpus: 32, memoryMiB: 131072), count: 2),
            flavors: ["c6.large.2", "c6.xlarge.4", "c6.2xlarge.4", "c6.4xlarge.4", "c6.8xlarge.4"]),
        HostType(
            name: "m6", numaNodes: Array(repeating: Resources(vcpus: 24, memoryMiB: 262144), count: 2),
            flavors: ["m6.xlarge.8", "m6.2xlarge.8", "m6.4xlarge.8", "m6.8xlarge.8", "c6.xlarge.4"]),
        HostType(
            name: "h4", numaNodes: Array(repeating: Resources(vcpus: 24, memoryMiB: 98304), count: 4),
            flavors: ["c6.large.2", "c6.xlarge.4", "c6.2xlarge.4", "h4.6xlarge.4", "h4.12xlarge.4"]),
    ]

    /// Generates an inventory. Layouts are placed on random nodes that fit, so hosts fragment as in life.
    public static func generate(_ config: Config) -> Inventory {
        var rng = SplitMix64(seed: config.seed)
        let types = config.hostTypeNames.isEmpty
            ? hostTypes : hostTypes.filter { config.hostTypeNames.contains($0.name) }
        let usedFlavorNames = Set(types.flatMap(\.flavors))
        let flavors = self.flavors.filter { usedFlavorNames.contains($0.name) }
        let flavorByName = Dictionary(uniqueKeysWithValues: flavors.map { ($0.name, $0) })
        let zones = config.availabilityZones.isEmpty ? ["az-1"] : config.availabilityZones
        let width = max(3, String(config.hosts).count)

        var hosts: [Host] = []
        for i in 0..<config.hosts {
            let type = types[i % types.count]
            let number = String(i + 1)
            let id = "deh-" + String(repeating: "0", count: max(0, width - number.count)) + number
            hosts.append(Host(
                id: id, name: "DEH\(number)", hostType: type.name, availabilityZone: zones[(i / types.count) % zones.count],
                state: rng.chance(config.faultFraction) ? .fault : .available))
        }
        let typeOfHost = hosts.map { h in types.first { $0.name == h.hostType }! }
        var usage = typeOfHost.map { HostUsage(capacity: $0.numaNodes) }
        let fillLimit = typeOfHost.map { type -> Int in
            let level = 0.3 + Double(rng.next() >> 11) / Double(1 << 53) * max(0, config.maxFill - 0.3)
            return Int(Double(type.numaNodes.total.vcpus) * level)
        }

        var servers: [Server] = []
        var onHost: [Int: [Int]] = [:]  // host index -> server indices
        let serverWidth = max(4, String(config.servers).count)
        var attempts = 0
        while servers.count < config.servers && attempts < config.servers * 20 {
            attempts += 1
            let number = String(servers.count + 1)
            let id = "srv-" + String(repeating: "0", count: max(0, serverWidth - number.count)) + number
            let status = rng.chance(config.shutoffFraction) ? "SHUTOFF" : "ACTIVE"
            if hosts.isEmpty || rng.chance(config.poolFraction) {
                let flavor = flavors[rng.below(flavors.count)]
                servers.append(Server(
                    id: id, name: "vm-\(number)", flavor: flavor.name, status: status,
                    availabilityZone: zones[rng.below(zones.count)], dedicatedHostID: nil))
                continue
            }
            let h = rng.below(hosts.count)
            let type = typeOfHost[h]
            // Small flavors are more common than large ones.
            let choices = type.flavors
            let pick = min(rng.below(choices.count), rng.below(choices.count))
            let flavor = flavorByName[choices[pick]]!
            if usage[h].usedTotal.vcpus + flavor.resources.vcpus > fillLimit[h] { continue }
            let free = usage[h].freeKnown
            var eligible = free.indices.filter { free[$0].covers(flavor.perNode) }
            guard eligible.count >= flavor.numaNodes else { continue }
            var nodes: [Int] = []
            for _ in 0..<flavor.numaNodes {
                let k = rng.below(eligible.count)
                nodes.append(eligible.remove(at: k))
            }
            nodes.sort()
            usage[h].add(flavor, nodes: nodes)
            let unknown = rng.chance(config.unknownLayoutFraction)
            onHost[h, default: []].append(servers.count)
            servers.append(Server(
                id: id, name: "vm-\(number)", flavor: flavor.name, status: status,
                availabilityZone: hosts[h].availabilityZone, dedicatedHostID: hosts[h].id,
                numaNodes: unknown ? nil : nodes, locked: rng.chance(0.01)))
        }

        // Anti-affinity groups: members on distinct hosts of one AZ.
        var groups: [ServerGroup] = []
        var grouped = Set<Int>()
        let hostsWithServers = onHost.keys.sorted()
        for g in 0..<config.antiAffinityGroups {
            guard !hostsWithServers.isEmpty else { break }
            let zone = hosts[hostsWithServers[rng.below(hostsWithServers.count)]].availabilityZone
            let candidates = hostsWithServers.filter { hosts[$0].availabilityZone == zone }
            let size = min(2 + rng.below(3), candidates.count)
            var members: [String] = []
            var pool = candidates
            for _ in 0..<size {
                let h = pool.remove(at: rng.below(pool.count))
                if let s = onHost[h]!.first(where: { !grouped.contains($0) }) {
                    grouped.insert(s)
                    members.append(servers[s].id)
                }
            }
            if members.count >= 2 {
                groups.append(ServerGroup(id: "grp-\(g + 1)", name: "anti-affinity-\(g + 1)", members: members))
            }
        }
        return Inventory(hostTypes: types, flavors: flavors, hosts: hosts, servers: servers, serverGroups: groups)
    }
}
