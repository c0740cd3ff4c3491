// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

/// Replays moves on a live placement state, checking each with the one fit function.
///
/// A target's capacity is taken when its move starts; a source's is freed only when its
/// wave completes. Used to order waves and, independently, to validate every plan.
struct PlanReplay {
    let inventory: Inventory
    let policy: LayoutPolicy
    private(set) var state: PlacementState
    /// Current host index of each server (nil: pool), and its nodes.
    private(set) var location: [Int: (host: Int?, nodes: [Int]?)] = [:]

    init(_ inventory: Inventory, policy: LayoutPolicy) {
        self.inventory = inventory
        self.policy = policy
        self.state = PlacementState(inventory)
    }

    func flavor(of server: Int) -> Flavor { inventory.flavors[inventory.servers[server].flavor]! }

    func currentHost(of server: Int) -> Int? {
        if let loc = location[server] { return loc.host }
        return inventory.servers[server].dedicatedHostID.flatMap { inventory.hostIndex[$0] }
    }

    func currentNodes(of server: Int) -> [Int]? {
        if let loc = location[server] { return loc.nodes }
        return inventory.servers[server].numaNodes
    }

    /// Why `server` cannot start moving to host `h` on `nodes` now (nil: it can).
    func blocker(server s: Int, to h: Int, nodes: [Int]) -> String? {
        let server = inventory.servers[s]
        let host = inventory.hosts[h]
        let flavor = self.flavor(of: s)
        if host.state != .available { return "target \(host.id) is \(host.state.rawValue)" }
        if host.availabilityZone != server.availabilityZone { return "target \(host.id) is in another availability zone" }
        if !(inventory.hostTypes[host.hostType]?.supports(flavor.name) ?? false) {
            return "host type of \(host.id) does not accept \(flavor.name)"
        }
        if currentHost(of: s) == h { return "server is already on \(host.id)" }
        for g in inventory.groupsOfServer[server.id] ?? [] where (state.groupMembersOnHost[g][h] ?? 0) > 0 {
            return "anti-affinity group \(inventory.serverGroups[g].id) already has a member on \(host.id)"
        }
        guard nodes.count == flavor.numaNodes, Set(nodes).count == nodes.count,
            nodes.allSatisfy({ $0 >= 0 && $0 < state.usage[h].capacity.count })
        else { return "invalid NUMA nodes \(nodes) for \(flavor.name) on \(host.id)" }
        // The one fit function, shown only the planned nodes: it must find them.
        let usage = state.usage[h]
        let free = usage.free(under: policy)
        let visible = free.indices.map { nodes.contains($0) ? free[$0] : Resources(vcpus: -1, memoryMiB: -1) }
        switch Fit.evaluate(flavor, free: visible, capacity: usage.capacity, freeTotal: usage.freeTotal) {
        case .success(let fit) where fit.nodes == nodes.sorted(): return nil
        default: return "\(flavor.name) does not fit on NUMA nodes \(nodes) of \(host.id) now"
        }
    }

    /// Takes capacity on the target (the move starts). Target nil is the pool.
    mutating func start(server s: Int, to h: Int?, nodes: [Int]?) {
        let server = inventory.servers[s]
        if let h {
            state.add(server, flavor: flavor(of: s), host: h, nodes: nodes, groups: inventory.groupsOfServer[server.id] ?? [])
        }
    }

    /// Frees the source (the move completed) and records the new location.
    mutating func complete(server s: Int, to h: Int?, nodes: [Int]?) {
        let server = inventory.servers[s]
        if let from = currentHost(of: s) {
            state.remove(server, flavor: flavor(of: s), host: from, nodes: currentNodes(of: s),
                         groups: inventory.groupsOfServer[server.id] ?? [])
        }
        location[s] = (h, nodes)
    }
}

/// Independent validation of a plan: replays its waves in order and reports every violation.
public enum PlanValidator {
    /// Problems with `moves` on `inventory` (empty: valid). Checks that only SHUTOFF, unlocked,
    /// idle servers move, each at most once, and that every move fits when its wave starts.
    public static func violations(of moves: [Move], on inventory: Inventory, policy: LayoutPolicy = .certain) -> [String] {
        var problems: [String] = []
        var replay = PlanReplay(inventory, policy: policy)
        var seen = Set<String>()
        let waves = Dictionary(grouping: moves, by: \.wave).sorted { $0.key < $1.key }
        for (wave, group) in waves {
            var started: [(Int, Int?, [Int]?)] = []
            for move in group {
                guard let s = inventory.serverIndex[move.serverID] else {
                    problems.append("wave \(wave): unknown server \(move.serverID)")
                    continue
                }
                let server = inventory.servers[s]
                if !seen.insert(move.serverID).inserted { problems.append("\(move.serverID) moves twice") }
                if !server.isStopped || server.locked || server.taskState != nil {
                    problems.append("\(move.serverID) is not a stopped, unlocked, idle server")
                }
                if move.from != server.dedicatedHostID { problems.append("\(move.serverID): from \(move.from ?? "pool") but it is on \(server.dedicatedHostID ?? "pool")") }
                if move.to == nil && server.dedicatedHostID == nil { problems.append("\(move.serverID): pool to pool") }
                var target: Int?
                if let to = move.to {
                    guard let h = inventory.hostIndex[to] else {
                        problems.append("\(move.serverID): unknown target \(to)")
                        continue
                    }
                    if let why = replay.blocker(server: s, to: h, nodes: move.numaNodes ?? []) {
                        problems.append("wave \(wave): \(move.serverID) -> \(to): \(why)")
                        continue
                    }
                    target = h
                }
                replay.start(server: s, to: target, nodes: move.numaNodes)
                started.append((s, target, move.numaNodes))
            }
            for (s, h, nodes) in started { replay.complete(server: s, to: h, nodes: nodes) }
        }
        return problems
    }
}
