// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

/// What is used and free on one host, per NUMA node.
public struct HostUsage: Hashable, Sendable {
    /// Size of each node.
    public let capacity: [Resources]
    /// Used on each node by servers with a known layout.
    public private(set) var knownUsed: [Resources]
    /// Free per node, counting only servers of known layout (an optimistic view when layouts are unknown).
    /// Stored, not computed, so that scanning thousands of hosts allocates nothing.
    public private(set) var freeKnown: [Resources]
    /// Used in total by servers whose layout is unknown.
    public private(set) var unknownUsed: Resources = .zero
    /// The most that servers of unknown layout can take on any single node: the sum of their per-node shares.
    public private(set) var unknownShare: Resources = .zero
    /// Number of servers on the host whose layout is unknown.
    public private(set) var unknownCount = 0
    /// The flavors of the servers of unknown layout, with their counts (for exact verdicts).
    public private(set) var unknownFlavors: [Flavor: Int] = [:]
    /// Number of servers on the host.
    public private(set) var serverCount = 0

    /// An empty host.
    public init(capacity: [Resources]) {
        self.capacity = capacity
        self.knownUsed = Array(repeating: .zero, count: capacity.count)
        self.freeKnown = capacity
        self.freeTotal = capacity.total
    }

    /// Free per node under the worst arrangement of the servers of unknown layout.
    public var freeWorst: [Resources] {
        zip(capacity, knownUsed).map { ($0 - $1 - unknownShare).clampedAtZero }
    }

    /// Used on node `n` under the worst arrangement of the servers of unknown layout (each
    /// counted on it; `unknownShare` is zero when every layout is known). It may exceed the node.
    public func usedWorst(node n: Int) -> Resources { knownUsed[n] + unknownShare }

    /// Free per node as a layout policy sees it: the worst arrangement of the servers of unknown
    /// layout under `certain`, the known layouts alone under `possible`. Allocates only when the
    /// two differ (some server of unknown layout, policy `certain`).
    public func free(under policy: LayoutPolicy) -> [Resources] {
        policy == .certain && hasUnknownLayout ? freeWorst : freeKnown
    }

    /// Whether every node holds what is on it as `policy` sees it (`free(under:)` stops at zero
    /// under `certain`, so it cannot say: a check of it against zero passed on every host with a
    /// server of unknown layout, and first-fit decreasing kept servers home on full hosts).
    public func withinCapacity(under policy: LayoutPolicy) -> Bool {
        guard policy == .certain && hasUnknownLayout else { return freeKnown.allSatisfy { $0.vcpus >= 0 && $0.memoryMiB >= 0 } }
        return capacity.indices.allSatisfy { capacity[$0].covers(usedWorst(node: $0)) }
    }

    /// Free capacity in total (all servers counted).
    public private(set) var freeTotal: Resources

    /// Used capacity in total.
    public var usedTotal: Resources { knownUsed.total + unknownUsed }

    /// Free share of the host's vCPUs and memory, each normalised by its capacity (0 to 2).
    var roomLeft: Double {
        let cap = capacity.total
        return Double(freeTotal.vcpus) / Double(max(cap.vcpus, 1)) + Double(freeTotal.memoryMiB) / Double(max(cap.memoryMiB, 1))
    }

    /// True when some server on the host has no known layout.
    public var hasUnknownLayout: Bool { unknownCount > 0 }

    /// Records a server on this host (`nodes` nil: unknown layout).
    public mutating func add(_ flavor: Flavor, nodes: [Int]?) {
        serverCount += 1
        freeTotal -= flavor.resources
        guard let nodes else {
            unknownUsed += flavor.resources
            unknownShare += flavor.perNode
            unknownCount += 1
            unknownFlavors[flavor, default: 0] += 1
            return
        }
        for n in nodes where n >= 0 && n < knownUsed.count {
            knownUsed[n] += flavor.perNode
            freeKnown[n] -= flavor.perNode
        }
    }

    /// Removes a server recorded with `add`.
    public mutating func remove(_ flavor: Flavor, nodes: [Int]?) {
        serverCount -= 1
        freeTotal += flavor.resources
        guard let nodes else {
            unknownUsed -= flavor.resources
            unknownShare -= flavor.perNode
            unknownCount -= 1
            let left = (unknownFlavors[flavor] ?? 0) - 1
            unknownFlavors[flavor] = left > 0 ? left : nil
            return
        }
        for n in nodes where n >= 0 && n < knownUsed.count {
            knownUsed[n] -= flavor.perNode
            freeKnown[n] += flavor.perNode
        }
    }
}

/// Per-host usage of a whole inventory, indexed like `inventory.hosts`.
public struct PlacementState: Sendable {
    /// Usage of each host, by position in `inventory.hosts`.
    public private(set) var usage: [HostUsage]
    /// For each anti-affinity group (by position in `inventory.serverGroups`), members per host index.
    public private(set) var groupMembersOnHost: [[Int: Int]]

    /// Builds the usage of every host from the inventory's servers.
    public init(_ inventory: Inventory) {
        var usage = inventory.hosts.map { HostUsage(capacity: inventory.capacity(of: $0)) }
        for server in inventory.servers {
            guard let id = server.dedicatedHostID, let h = inventory.hostIndex[id],
                let flavor = inventory.flavors[server.flavor]
            else { continue }
            usage[h].add(flavor, nodes: server.numaNodes)
        }
        self.usage = usage
        var groups: [[Int: Int]] = Array(repeating: [:], count: inventory.serverGroups.count)
        for (g, group) in inventory.serverGroups.enumerated() {
            for member in group.members {
                guard let s = inventory.server(member), let id = s.dedicatedHostID, let h = inventory.hostIndex[id]
                else { continue }
                groups[g][h, default: 0] += 1
            }
        }
        self.groupMembersOnHost = groups
    }

    /// Records a server arriving on host `h`.
    public mutating func add(_ server: Server, flavor: Flavor, host h: Int, nodes: [Int]?, groups: [Int]) {
        usage[h].add(flavor, nodes: nodes)
        for g in groups { groupMembersOnHost[g][h, default: 0] += 1 }
    }

    /// Counts a server's anti-affinity groups on host `h` without its capacity (an arrival whose
    /// capacity is tracked elsewhere, e.g. as a concurrent arrival).
    public mutating func addGroups(of groups: [Int], host h: Int) {
        for g in groups { groupMembersOnHost[g][h, default: 0] += 1 }
    }

    /// Undoes `addGroups`.
    public mutating func removeGroups(of groups: [Int], host h: Int) {
        for g in groups {
            let left = (groupMembersOnHost[g][h] ?? 0) - 1
            groupMembersOnHost[g][h] = left > 0 ? left : nil
        }
    }

    /// Whether a mover may stay on (or go back to) its own host `h`, on its own `nodes`, in a
    /// packing being built: none of its anti-affinity groups there, and once the host has taken
    /// arrivals every node within capacity with it back (servers of unknown layout counted on
    /// every node under `certain`: `HostUsage.withinCapacity`). A host that has taken none holds
    /// a part of what it held, which fit.
    func holdsHome(_ flavor: Flavor, nodes: [Int]?, groups: [Int], host h: Int, tookArrivals: Bool, policy: LayoutPolicy) -> Bool {
        var after = usage[h]
        after.add(flavor, nodes: nodes)
        let clash = groups.contains { (groupMembersOnHost[$0][h] ?? 0) > 0 }
        return !clash && (!tookArrivals || after.withinCapacity(under: policy))
    }

    /// Records a server leaving host `h`.
    public mutating func remove(_ server: Server, flavor: Flavor, host h: Int, nodes: [Int]?, groups: [Int]) {
        usage[h].remove(flavor, nodes: nodes)
        for g in groups {
            let left = (groupMembersOnHost[g][h] ?? 0) - 1
            groupMembersOnHost[g][h] = left > 0 ? left : nil
        }
    }
}
