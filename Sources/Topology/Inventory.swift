// SPDX-License-Identifier: GPL-3.0-or-later

/// A snapshot of Dedicated Hosts and servers: the inventory file of docs/DESIGN.md.
///
/// An `Inventory` that exists has been validated (see `Inventory.decode`):
/// every reference resolves, known layouts fit their nodes, ids are unique.
public struct Inventory: Sendable {
    /// Host types by name.
    public let hostTypes: [String: HostType]
    /// Host type names in file order.
    public let hostTypeOrder: [String]
    /// Flavors by name.
    public let flavors: [String: Flavor]
    /// Flavor names in file order.
    public let flavorOrder: [String]
    /// Hosts in file order.
    public let hosts: [Host]
    /// Servers in file order.
    public let servers: [Server]
    /// Server groups in file order.
    public let serverGroups: [ServerGroup]
    /// Where the inventory came from and what it does not know (e.g. "NUMA layouts unknown: the
    /// API does not report them"); kept in the file's `notes`, for people.
    public var notes: [String] = []

    /// Position of each host in `hosts`, by id.
    public let hostIndex: [String: Int]
    /// Position of each server in `servers`, by id.
    public let serverIndex: [String: Int]
    /// Indices into `serverGroups` of the anti-affinity groups each server belongs to.
    public let groupsOfServer: [String: [Int]]

    /// Builds an inventory from parts that are already known to be consistent.
    /// Use `Inventory.decode(_:)` or `Inventory.load(path:)` for untrusted input.
    public init(
        hostTypes: [HostType], flavors: [Flavor], hosts: [Host], servers: [Server], serverGroups: [ServerGroup] = []
    ) {
        self.hostTypes = Dictionary(hostTypes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.hostTypeOrder = hostTypes.map(\.name)
        self.flavors = Dictionary(flavors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.flavorOrder = flavors.map(\.name)
        self.hosts = hosts
        self.servers = servers
        self.serverGroups = serverGroups
        var hostIndex: [String: Int] = [:]
        hostIndex.reserveCapacity(hosts.count)
        for (i, h) in hosts.enumerated() where hostIndex[h.id] == nil { hostIndex[h.id] = i }
        self.hostIndex = hostIndex
        var serverIndex: [String: Int] = [:]
        serverIndex.reserveCapacity(servers.count)
        for (i, s) in servers.enumerated() where serverIndex[s.id] == nil { serverIndex[s.id] = i }
        self.serverIndex = serverIndex
        var groupsOfServer: [String: [Int]] = [:]
        for (g, group) in serverGroups.enumerated() {
            for member in Set(group.members) { groupsOfServer[member, default: []].append(g) }
        }
        self.groupsOfServer = groupsOfServer
    }

    /// The host with this id.
    public func host(_ id: String) -> Host? { hostIndex[id].map { hosts[$0] } }

    /// The server with this id.
    public func server(_ id: String) -> Server? { serverIndex[id].map { servers[$0] } }

    /// Per-node capacity of a host: its own override, else its type's.
    public func capacity(of host: Host) -> [Resources] {
        host.numaNodesOverride ?? hostTypes[host.hostType]?.numaNodes ?? []
    }

    /// A copy with some servers replaced (same ids), e.g. after applying moves.
    public func replacing(servers updated: [Server]) -> Inventory {
        var servers = self.servers
        for s in updated {
            if let i = serverIndex[s.id] { servers[i] = s }
        }
        var copy = Inventory(
            hostTypes: hostTypeOrder.compactMap { hostTypes[$0] }, flavors: flavorOrder.compactMap { flavors[$0] },
            hosts: hosts, servers: servers, serverGroups: serverGroups)
        copy.notes = notes
        return copy
    }
}
