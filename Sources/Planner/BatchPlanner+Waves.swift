// SPDX-License-Identifier: GPL-3.0-or-later

// Wave ordering: moves numbered so that running the waves in order never needs room that is not
// free yet; dependency cycles broken by re-routing.

import GLPK
import Topology

extension BatchPlanner {
    /// Numbers waves so that executing them in order never needs capacity that is not free yet.
    /// Cycles are broken through a host with room now (or the pool when allowed); what cannot
    /// be broken is dropped and reported.
    public func orderWaves(_ moves: [Move], options: PlanOptions) -> (moves: [Move], dropped: [String], rerouted: Int) {
        orderWaves(moves, options: options, deadline: nil)!
    }

    /// `orderWaves`, given up (nil) once `deadline` (`monotonicSeconds()`) has passed: breaking many
    /// cycles costs seconds at 10,000 hosts, too much for judging a candidate plan.
    func orderWaves(_ moves: [Move], options: PlanOptions, deadline: Double?) -> (moves: [Move], dropped: [String], rerouted: Int)? {
        var replay = PlanReplay(inventory, options: options.checkerOptions)
        var pending = moves.sorted { ($0.to ?? "", $0.serverID) < ($1.to ?? "", $1.serverID) }
        let size = { (m: Move) -> Double in Self.size(inventory.flavors[inventory.servers[inventory.serverIndex[m.serverID]!].flavor]!) }
        if options.placement == .any {
            // Larger arrivals first: once they are in, smaller ones fit whatever nodes the cloud
            // picks far more often than the other way round.
            // At equal size, servers spanning more nodes first: their node set is forced.
            let spans = { (m: Move) -> Int in
                inventory.flavors[inventory.servers[inventory.serverIndex[m.serverID]!].flavor]!.numaNodes
            }
            pending.sort { a, b in
                let sa = size(a), sb = size(b)
                if sa != sb { return sa > sb }
                let na = spans(a), nb = spans(b)
                return na != nb ? na > nb : ((a.to ?? "", a.serverID) < (b.to ?? "", b.serverID))
            }
        }
        var done: [Move] = []
        var dropped: [String] = []
        var rerouted = 0
        var wave = 1
        // A move refused on a host stays refused until that host changes: the rule pipeline
        // judges a move by its server and its target's state alone (`PlanReplay.judge`). Each
        // host's version counts the changes to it; a move refused at a version is not judged
        // again at the same one. Without this, every broken cycle re-judged every pending move:
        // 213 passes over 4,527 moves took 2.7 s of a 10 s limit (tiled 500 under `any`).
        var version = [Int](repeating: 0, count: inventory.hosts.count)
        var refusedAt: [String: (host: Int, version: Int)] = [:]
        while !pending.isEmpty {
            if let deadline, monotonicSeconds() > deadline { return nil }
            var started: [Move] = []
            var perHost: [String: Int] = [:]
            var rest: [Move] = []
            // Later pending moves per target host, by flavor (one of each is enough to judge
            // what an earlier arrival does to them).
            var laterByHost: [Int: [Int]] = [:]
            for (i, move) in pending.enumerated() {
                guard let to = move.to, let h = inventory.hostIndex[to] else { continue }
                laterByHost[h, default: []].append(i)
            }
            var taken = [Bool](repeating: false, count: pending.count)
            let flavorOf = { (m: Move) -> Flavor in
                inventory.flavors[inventory.servers[inventory.serverIndex[m.serverID]!].flavor]!
            }
            // Starts `pending[i]` in this wave if the caps and the rule pipeline let it; false
            // when it must wait.
            func tryStart(_ i: Int) -> Bool {
                let move = pending[i]
                if let cap = options.maxParallel, started.count >= cap { return false }
                if let cap = options.maxPerHostParallel {
                    let hosts = [move.from, move.to].compactMap { $0 }
                    if hosts.contains(where: { perHost[$0, default: 0] >= cap }) { return false }
                }
                let s = inventory.serverIndex[move.serverID]!
                var target: Int?
                var nodes = move.numaNodes
                if let to = move.to {
                    let h = inventory.hostIndex[to]!
                    if let refused = refusedAt[move.serverID], refused == (h, version[h]) { return false }
                    nodes = replay.nodes(server: s, to: h, planned: move.numaNodes)
                    if replay.blocker(server: s, to: h, nodes: nodes) != nil {
                        refusedAt[move.serverID] = (h, version[h])
                        return false
                    }
                    target = h
                    version[h] += 1
                }
                replay.start(server: s, to: target, nodes: nodes)
                // Under a deterministic policy the move carries the predicted nodes.
                var m = options.placement.rule == nil
                    ? move : Move(serverID: move.serverID, from: move.from, to: move.to, numaNodes: nodes)
                m.wave = wave
                started.append(m)
                for id in [move.from, move.to].compactMap({ $0 }) { perHost[id, default: 0] += 1 }
                return true
            }
            // Order matters between two arrivals on one host when the first, placed where the
            // cloud likes, leaves no room for the second, while the other order works (a
            // one-node server landing on the node a two-node server needs). Returns a later
            // pending move to the same host that should go first. Not under `planned`, where
            // every arrival takes its planned nodes.
            func goesFirst(before i: Int) -> Int? {
                guard options.placement != .planned else { return nil }
                let move = pending[i]
                guard let to = move.to, let h = inventory.hostIndex[to], let later = laterByHost[h], later.last! > i
                else { return nil }
                if let cap = options.maxParallel, started.count >= cap { return nil }
                if let refused = refusedAt[move.serverID], refused == (h, version[h]) { return nil }
                let s = inventory.serverIndex[move.serverID]!
                var seen: Set<Flavor> = [flavorOf(move)]
                var nodes: [Int]?
                var canStart = false
                for j in later where j > i && !taken[j] {
                    let other = pending[j]
                    guard seen.insert(flavorOf(other)).inserted else { continue }
                    if seen.count > 8 { break }
                    let o = inventory.serverIndex[other.serverID]!
                    let otherNodes = replay.nodes(server: o, to: h, planned: other.numaNodes)
                    guard replay.blocker(server: o, to: h, nodes: otherNodes) == nil else { continue }
                    if !canStart {
                        // This move must be able to start now, or there is nothing to order.
                        nodes = replay.nodes(server: s, to: h, planned: move.numaNodes)
                        guard replay.blocker(server: s, to: h, nodes: nodes) == nil else { return nil }
                        canStart = true
                    }
                    replay.land(server: s, on: h, nodes: nodes)
                    let blocks = replay.blocker(server: o, to: h, nodes: replay.nodes(server: o, to: h, planned: other.numaNodes)) != nil
                    replay.unland(server: s, on: h, nodes: nodes)
                    guard blocks else { continue }
                    replay.land(server: o, on: h, nodes: otherNodes)
                    let fitsAfter = replay.blocker(server: s, to: h, nodes: replay.nodes(server: s, to: h, planned: move.numaNodes)) == nil
                    replay.unland(server: o, on: h, nodes: otherNodes)
                    if fitsAfter { return j }
                }
                return nil
            }
            for i in pending.indices where !taken[i] {
                taken[i] = true
                if let j = goesFirst(before: i), tryStart(j) { taken[j] = true }
                if !tryStart(i) { rest.append(pending[i]) }
            }
            if started.isEmpty {
                // Deadlock: every pending move waits for space another pending move frees. One
                // move goes elsewhere: the smallest of the waiting moves (up to 8 tried) that a
                // host ending in use takes (it receives servers of the plan or keeps some of its
                // own), else the first one wherever it fits best. Re-routing the first (largest
                // under `any`) anywhere opened hosts: a pattern plan of 14 hosts ended at 17.
                var arrivals: [String: Int] = [:]
                var leaving: [String: Int] = [:]
                for m in done + rest {
                    if let to = m.to { arrivals[to, default: 0] += 1 }
                }
                for m in rest { if let from = m.from { leaving[from, default: 0] += 1 } }
                let endsInUse = { (h: Int) -> Bool in
                    let id = inventory.hosts[h].id
                    return arrivals[id, default: 0] > 0 || replay.state.usage[h].serverCount > leaving[id, default: 0]
                }
                var choice: (index: Int, to: String?, nodes: [Int]?)?
                for i in rest.indices.sorted(by: { (size(rest[$0]), $0) < (size(rest[$1]), $1) }).prefix(8) {
                    let s = inventory.serverIndex[rest[i].serverID]!
                    if let alternative = breakCycle(
                        server: s, avoiding: rest[i].to, replay: replay, options: options, arrivals: arrivals, onlyTo: endsInUse) {
                        choice = (i, alternative.to, alternative.nodes)
                        break
                    }
                }
                if choice == nil, let alternative = breakCycle(
                    server: inventory.serverIndex[rest[0].serverID]!, avoiding: rest[0].to, replay: replay, options: options, arrivals: arrivals) {
                    choice = (0, alternative.to, alternative.nodes)
                }
                if let choice {
                    let move = rest.remove(at: choice.index)
                    rest.insert(Move(serverID: move.serverID, from: move.from, to: choice.to, numaNodes: choice.nodes), at: 0)
                    rerouted += 1
                } else {
                    dropped.append(rest.removeFirst().serverID)
                }
                pending = rest
                continue
            }
            for m in started {
                let s = inventory.serverIndex[m.serverID]!
                let h = m.to.flatMap { inventory.hostIndex[$0] }
                for changed in [replay.currentHost(of: s), h].compactMap({ $0 }) { version[changed] += 1 }
                replay.complete(server: s, to: h, nodes: options.placement == .any ? nil : m.numaNodes)
            }
            done += started
            pending = rest
            wave += 1
        }
        return (done, dropped, rerouted)
    }

    func breakCycle(
        server s: Int, avoiding: String?, replay: PlanReplay, options: PlanOptions, arrivals: [String: Int],
        onlyTo: ((Int) -> Bool)? = nil
    ) -> (to: String?, nodes: [Int]?)? {
        let server = inventory.servers[s]
        let flavor = inventory.flavors[server.flavor]!
        // Hosts that receive other servers of the plan first (they stay in use anyway; a host
        // opened here is one more in use), then the best fit.
        var best: (String, [Int], Double, Bool)?
        for (h, host) in inventory.hosts.enumerated() where host.id != avoiding && !options.exclude.contains(host.id) {
            if case .evacuate(let ids) = options.mode, ids.contains(host.id) { continue }
            if let cap = options.maxPerHost, arrivals[host.id, default: 0] >= cap { continue }
            if let onlyTo, !onlyTo(h) { continue }
            let usage = replay.state.usage[h]
            let free = usage.free(under: options.layoutPolicy)
            guard let fit = Fit.fit(flavor, free: free, capacity: usage.capacity) else { continue }
            let nodes = replay.nodes(server: s, to: h, planned: fit.nodes)
            guard replay.blocker(server: s, to: h, nodes: nodes) == nil else { continue }
            let receiving = arrivals[host.id, default: 0] > 0
            if best == nil || (receiving ? 1 : 0, fit.score) > (best!.3 ? 1 : 0, best!.2) { best = (host.id, fit.nodes, fit.score, receiving) }
        }
        if let best { return (best.0, best.1) }
        if onlyTo == nil && options.allowPool && server.dedicatedHostID != nil { return (nil, nil) }
        return nil
    }
}
