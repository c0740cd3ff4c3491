// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

extension BatchPlanner {
    /// Places servers the plan left behind onto hosts where the exact verdict says they are
    /// safe under the placement model, one by one, largest first.
    ///
    /// The models see a host with servers of unknown layout through its worst case per node,
    /// which on a host at 60 % use leaves no room at all; the exact verdict (every arrangement
    /// of the unknown servers, and of any subset of the other arrivals on the host) often finds
    /// plenty. Every arrival of the plan on a host is treated as concurrent with every other one
    /// and no source is freed, which is stricter than any wave order, so `orderWaves` admits
    /// whatever this admits. Hosts already receiving servers are tried first (fewest hosts
    /// touched), then the hosts with the most free room.
    func insertUnplaced(
        _ ids: [String], into moves: [Move], options: PlanOptions, evacuated: Set<Int>, excluded: Set<Int>,
        onlyTo targets: Set<Int>? = nil
    ) -> (moves: [Move], placed: Set<String>) {
        guard !ids.isEmpty else { return (moves, []) }
        var replay = PlanReplay(inventory, options: options.checkerOptions)
        var arrivals: [Int: Int] = [:]
        // The planned view, for the nodes each inserted move wishes for: the models' moves on
        // their planned nodes, then each wish in turn.
        var wishes = PlacementState(inventory)
        for move in moves {
            if let to = move.to, let h = inventory.hostIndex[to], let s = inventory.serverIndex[move.serverID] {
                let server = inventory.servers[s]
                wishes.add(server, flavor: inventory.flavors[server.flavor]!, host: h, nodes: move.numaNodes, groups: [])
            }
        }
        for move in moves {
            guard let s = inventory.serverIndex[move.serverID] else { continue }
            let h = move.to.flatMap { inventory.hostIndex[$0] }
            replay.start(server: s, to: h, nodes: move.numaNodes)
            if let h { arrivals[h, default: 0] += 1 }
        }
        var budget = options.maxMoves.map { $0 - moves.count } ?? Int.max
        func size(_ s: Int) -> Double {
            let f = inventory.flavors[inventory.servers[s].flavor]!
            return Double(f.resources.vcpus) + Double(f.resources.memoryMiB) / 4096
        }
        let order = ids.compactMap { inventory.serverIndex[$0] }.sorted { a, b in
            size(a) != size(b) ? size(a) > size(b) : inventory.servers[a].id < inventory.servers[b].id
        }
        var added: [Move] = []
        var placed = Set<String>()
        for s in order where budget > 0 {
            let server = inventory.servers[s]
            let candidates = inventory.hosts.indices.filter { h in
                !evacuated.contains(h) && !excluded.contains(h) && inventory.hosts[h].id != server.dedicatedHostID
                    && targets.map { $0.contains(h) } ?? true
                    && options.maxPerHost.map { arrivals[h, default: 0] < $0 } ?? true
            }.sorted { a, b in
                let ta = arrivals[a, default: 0] > 0, tb = arrivals[b, default: 0] > 0
                if ta != tb { return ta }
                let fa = replay.state.usage[a].freeTotal, fb = replay.state.usage[b].freeTotal
                if fa.vcpus != fb.vcpus { return fa.vcpus > fb.vcpus }
                return inventory.hosts[a].id < inventory.hosts[b].id
            }
            for h in candidates where replay.blocker(server: s, to: h, nodes: nil) == nil {
                // The nodes are a wish only (the cloud picks): where the fit function would put it
                // on the layouts known.
                let usage = replay.state.usage[h]
                let flavor = inventory.flavors[server.flavor]!
                let wish = Fit.fit(flavor, free: wishes.usage[h].freeKnown, capacity: usage.capacity)?.nodes
                if let wish { wishes.add(server, flavor: flavor, host: h, nodes: wish, groups: []) }
                replay.start(server: s, to: h, nodes: nil)
                arrivals[h, default: 0] += 1
                added.append(Move(serverID: server.id, from: server.dedicatedHostID, to: inventory.hosts[h].id, numaNodes: wish))
                placed.insert(server.id)
                budget -= 1
                break
            }
        }
        return (moves + added, placed)
    }

    /// Consolidation under `any` with servers of unknown layout: empties further hosts of the
    /// plan, least loaded first, by inserting all their servers onto other hosts that stay in
    /// use wherever the exact verdict finds them safe (`insertUnplaced`, every arrival on a host
    /// concurrent with every other). The models see such hosts through the worst case per node
    /// and keep far more of them in use. A host is emptied only when every one of its servers
    /// finds a place; stops at `deadline`.
    func emptyMoreHosts(_ moves: [Move], options: PlanOptions, excluded: Set<Int>, deadline: Double) -> (moves: [Move], emptied: Int) {
        var current = moves
        var emptied = Set<Int>()
        var emptiedCount = 0
        func after() -> [[Server]] {
            var on = Array(repeating: [Server](), count: inventory.hosts.count)
            var target: [String: String?] = [:]
            for m in current { target[m.serverID] = .some(m.to) }
            for s in inventory.servers {
                let host = target[s.id] ?? s.dedicatedHostID
                if let host, let h = inventory.hostIndex[host] { on[h].append(s) }
            }
            return on
        }
        var on = after()
        let candidates = inventory.hosts.indices.filter { !on[$0].isEmpty }.sorted { a, b in
            let ua = on[a].reduce(0) { $0 + (inventory.flavors[$1.flavor]?.resources.vcpus ?? 0) }
            let ub = on[b].reduce(0) { $0 + (inventory.flavors[$1.flavor]?.resources.vcpus ?? 0) }
            return ua != ub ? ua < ub : inventory.hosts[a].id < inventory.hosts[b].id
        }
        for h in candidates where monotonicNow() < deadline {
            let servers = on[h]
            // Only hosts whose servers all started there and may move (arrivals stay put).
            guard !servers.isEmpty, servers.allSatisfy({ $0.dedicatedHostID == inventory.hosts[h].id && Self.isMovable($0, assumeStopped: options.assumeStopped) })
            else { continue }
            let inUse = Set(inventory.hosts.indices.filter { !on[$0].isEmpty && $0 != h && !emptied.contains($0) })
            let tried = insertUnplaced(
                servers.map(\.id), into: current, options: options, evacuated: emptied.union([h]), excluded: excluded, onlyTo: inUse)
            guard tried.placed.count == servers.count else { continue }
            current = tried.moves
            emptied.insert(h)
            emptiedCount += 1
            on = after()
        }
        return (current, emptiedCount)
    }
}
