// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Topology

/// Builds an inventory from the live API: the one place where wire types become Topology types.
public enum LiveInventory {
    /// Per-node capacities of host types when known exactly (else NUMA nodes = sockets, split evenly).
    public typealias HostTypeCapacities = [String: [Resources]]

    /// Reads DeHs, flavors and servers. Server layouts are unknown (the API does not tell).
    public static func fetch(_ client: CloudClient, hostTypes exact: HostTypeCapacities = [:]) async throws(CloudError) -> Inventory {
        let dehs = try await client.dedicatedHosts()
        let servers = try await client.servers()
        let groups = try await client.serverGroups()
        var flavors: [String: Flavor] = [:]
        var flavorOrder: [String] = []
        for zone in Set(dehs.map(\.availability_zone)).sorted() {
            for f in try await client.flavors(availabilityZone: zone) where flavors[f.name] == nil {
                let k = max(1, Int(f.os_extra_specs?["hw:numa_nodes"] ?? "") ?? 1)
                flavors[f.name] = Flavor(name: f.name, resources: Resources(vcpus: f.vcpus.value, memoryMiB: f.ram.value), numaNodes: k)
                flavorOrder.append(f.name)
            }
        }
        // Flavors of servers that the flavor list did not name (e.g. sold out in an AZ).
        for s in servers where flavors[s.flavor.name ?? s.flavor.id] == nil {
            let name = s.flavor.name ?? s.flavor.id
            flavors[name] = Flavor(
                name: name, resources: Resources(vcpus: s.flavor.vcpus?.value ?? 1, memoryMiB: s.flavor.ram?.value ?? 1))
            flavorOrder.append(name)
        }
        var types: [String: HostType] = [:]
        var typeOrder: [String] = []
        var hosts: [Topology.Host] = []
        for deh in dehs {
            let p = deh.host_properties
            if types[p.host_type] == nil {
                let sockets = max(1, p.sockets ?? 2)
                let nodes = exact[p.host_type] ?? Array(
                    repeating: Resources(vcpus: (p.vcpus ?? 0) / sockets, memoryMiB: (p.memory ?? 0) / sockets), count: sockets)
                types[p.host_type] = HostType(name: p.host_type, numaNodes: nodes, flavors: [])
                typeOrder.append(p.host_type)
            }
            let accepted = (p.available_instance_capacities ?? []).map(\.flavor).filter { flavors[$0] != nil }
            let old = types[p.host_type]!
            types[p.host_type] = HostType(
                name: old.name, numaNodes: old.numaNodes, flavors: old.flavors + accepted.filter { !old.supports($0) })
            hosts.append(Topology.Host(
                id: deh.dedicated_host_id, name: deh.name, hostType: p.host_type, availabilityZone: deh.availability_zone,
                state: HostState(rawValue: deh.state) ?? .fault))
        }
        let dehIDs = Set(hosts.map(\.id))
        let inventoryServers: [Server] = servers.map { s in
            let host = s.dedicatedHostID.flatMap { dehIDs.contains($0) ? $0 : nil }
            return Server(
                id: s.id, name: s.name, flavor: s.flavor.name ?? s.flavor.id, status: s.status,
                availabilityZone: s.availabilityZone ?? "", dedicatedHostID: host, numaNodes: nil,
                locked: s.locked ?? false, taskState: s.taskState)
        }
        // Hard anti-affinity is what the migrate call enforces; members that are not servers
        // of the project are dropped, groups left with fewer than two members too.
        let known = Set(inventoryServers.map(\.id))
        let antiAffinity: [ServerGroup] = groups.compactMap { g in
            guard (g.policies ?? []).contains(ServerGroup.Policy.antiAffinity.rawValue) else { return nil }
            let members = (g.members ?? []).filter(known.contains)
            return members.count > 1 ? ServerGroup(id: g.id, name: g.name, members: members) : nil
        }
        var inventory = Inventory(
            hostTypes: typeOrder.compactMap { types[$0] }, flavors: flavorOrder.compactMap { flavors[$0] }, hosts: hosts,
            servers: inventoryServers, serverGroups: antiAffinity)
        inventory.notes.append(
            "NUMA layouts unknown (numa_nodes: null) for all \(inventoryServers.count) servers: the API does not report the nodes a server runs on, so plans count only room that is certain whatever nodes the cloud picked")
        let guessed = typeOrder.filter { exact[$0] == nil }
        if !guessed.isEmpty {
            inventory.notes.append(
                "NUMA nodes of host type(s) \(guessed.joined(separator: ", ")) taken from the API's sockets, capacity split evenly; give exact per-node capacities with --host-types")
        }
        let skipped = groups.filter { !(($0.policies ?? []).contains(ServerGroup.Policy.antiAffinity.rawValue)) }.count
        if skipped > 0 {
            inventory.notes.append("\(skipped) server group(s) with a policy other than anti-affinity left out: the migrate call does not enforce them")
        }
        return inventory
    }
}
