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
    ///
    /// Works on indices: every move's server, hosts, flavor and size are looked up once, and the
    /// counts the cycle breaker needs (arrivals per host, departures still pending) are kept up
    /// to date instead of being recounted over every move at every deadlock (tiled 2,000 under
    /// `any`: 825 deadlocks over 18,388 moves).
    func orderWaves(_ moves: [Move], options: PlanOptions, deadline: Double?) -> (moves: [Move], dropped: [String], rerouted: Int)? {
        var replay = PlanReplay(inventory, options: options.checkerOptions)
        struct Item {
            var move: Move
            let server: Int
            var to: Int?
            let from: Int?
            let flavor: Flavor
            let size: Double
        }
        var items: [Item] = moves.map { m in
            let s = inventory.serverIndex[m.serverID]!
            let flavor = inventory.flavors[inventory.servers[s].flavor]!
            return Item(move: m, server: s, to: m.to.map { inventory.hostIndex[$0]! }, from: m.from.flatMap { inventory.hostIndex[$0] },
                        flavor: flavor, size: Self.size(flavor))
        }
        // By target and server; under `any`, larger arrivals first: once they are in, smaller
        // ones fit whatever nodes the cloud picks far more often than the other way round. At
        // equal size, servers spanning more nodes first: their node set is forced.
        let bySize = options.placement == .any
        var pending = items.indices.sorted { a, b in
            let x = items[a], y = items[b]
            if bySize && x.size != y.size { return x.size > y.size }
            if bySize && x.flavor.numaNodes != y.flavor.numaNodes { return x.flavor.numaNodes > y.flavor.numaNodes }
            return (x.move.to ?? "", x.move.serverID) < (y.move.to ?? "", y.move.serverID)
        }
        let hostCount = inventory.hosts.count
        // Arrivals per host over the moves kept (started or pending), departures per host over
        // the moves still pending.
        var arrivals = [Int](repeating: 0, count: hostCount)
        var leaving = [Int](repeating: 0, count: hostCount)
        for item in items {
            if let to = item.to { arrivals[to] += 1 }
            if let from = item.from { leaving[from] += 1 }
        }
        let receivable = mayReceive(options)
        var done: [Move] = []
        var dropped: [String] = []
        var rerouted = 0
        var wave = 1
        // A move refused on a host stays refused until that host changes: the rule pipeline
        // judges a move by its server and its target's state alone (`PlanReplay.judge`). Each
        // host's version counts the changes to it; a move refused at a version is not judged
        // again at the same one. Without this, every broken cycle re-judged every pending move:
        // 213 passes over 4,527 moves took 2.7 s of a 10 s limit (tiled 500 under `any`).
        var version = [Int](repeating: 0, count: hostCount)
        var refusedAt = [(host: Int, version: Int)](repeating: (-1, 0), count: items.count)
        while !pending.isEmpty {
            if let deadline, monotonicSeconds() > deadline { return nil }
            var started: [Int] = []
            var perHost: [Int: Int] = [:]
            var rest: [Int] = []
            // Positions of the pending moves per target host, to judge what an earlier arrival
            // does to later ones; built on first use (never under `planned`, and not in the
            // passes of a deadlock where every move is refused from the cache).
            var positionsByHost: [Int: [Int]]?
            func positions(on h: Int) -> [Int]? {
                if positionsByHost == nil {
                    var byHost: [Int: [Int]] = [:]
                    for (position, i) in pending.enumerated() {
                        if let to = items[i].to { byHost[to, default: []].append(position) }
                    }
                    positionsByHost = byHost
                }
                return positionsByHost![h]
            }
            var taken = [Bool](repeating: false, count: pending.count)
            // Starts the move at `position` in this wave if the caps and the rule pipeline let
            // it; false when it must wait.
            func tryStart(_ position: Int) -> Bool {
                let i = pending[position]
                let item = items[i]
                if let cap = options.maxParallel, started.count >= cap { return false }
                if let cap = options.maxPerHostParallel {
                    if [item.from, item.to].contains(where: { $0.map { perHost[$0, default: 0] >= cap } ?? false }) { return false }
                }
                var nodes = item.move.numaNodes
                if let h = item.to {
                    if refusedAt[i] == (h, version[h]) { return false }
                    nodes = replay.nodes(server: item.server, to: h, planned: item.move.numaNodes)
                    if replay.blocker(server: item.server, to: h, nodes: nodes) != nil {
                        refusedAt[i] = (h, version[h])
                        return false
                    }
                    version[h] += 1
                }
                replay.start(server: item.server, to: item.to, nodes: nodes)
                // Under a deterministic policy the move carries the predicted nodes.
                if options.placement.rule != nil {
                    items[i].move = Move(serverID: item.move.serverID, from: item.move.from, to: item.move.to, numaNodes: nodes)
                }
                items[i].move.wave = wave
                started.append(i)
                if let from = item.from {
                    perHost[from, default: 0] += 1
                    leaving[from] -= 1
                }
                if let to = item.to { perHost[to, default: 0] += 1 }
                return true
            }
            // Order matters between two arrivals on one host when the first, placed where the
            // cloud likes, leaves no room for the second, while the other order works (a
            // one-node server landing on the node a two-node server needs). Returns the position
            // of a later pending move to the same host that should go first. Not under
            // `planned`, where every arrival takes its planned nodes.
            func goesFirst(before position: Int) -> Int? {
                guard options.placement != .planned else { return nil }
                let i = pending[position]
                let item = items[i]
                guard let h = item.to else { return nil }
                if let cap = options.maxParallel, started.count >= cap { return nil }
                if refusedAt[i] == (h, version[h]) { return nil }
                guard let later = positions(on: h), later.last! > position else { return nil }
                var seen: Set<Flavor> = [item.flavor]
                var nodes: [Int]?
                var canStart = false
                for q in later where q > position && !taken[q] {
                    let other = items[pending[q]]
                    guard seen.insert(other.flavor).inserted else { continue }
                    if seen.count > 8 { break }
                    let o = other.server
                    let otherNodes = replay.nodes(server: o, to: h, planned: other.move.numaNodes)
                    guard replay.blocker(server: o, to: h, nodes: otherNodes) == nil else { continue }
                    if !canStart {
                        // This move must be able to start now, or there is nothing to order.
                        nodes = replay.nodes(server: item.server, to: h, planned: item.move.numaNodes)
                        guard replay.blocker(server: item.server, to: h, nodes: nodes) == nil else { return nil }
                        canStart = true
                    }
                    replay.land(server: item.server, on: h, nodes: nodes)
                    let blocks = replay.blocker(server: o, to: h, nodes: replay.nodes(server: o, to: h, planned: other.move.numaNodes)) != nil
                    replay.unland(server: item.server, on: h, nodes: nodes)
                    guard blocks else { continue }
                    replay.land(server: o, on: h, nodes: otherNodes)
                    let fitsAfter = replay.blocker(
                        server: item.server, to: h, nodes: replay.nodes(server: item.server, to: h, planned: item.move.numaNodes)) == nil
                    replay.unland(server: o, on: h, nodes: otherNodes)
                    if fitsAfter { return q }
                }
                return nil
            }
            for position in pending.indices where !taken[position] {
                taken[position] = true
                if let q = goesFirst(before: position), tryStart(q) { taken[q] = true }
                if !tryStart(position) { rest.append(pending[position]) }
            }
            if started.isEmpty {
                // Deadlock: every pending move waits for space another pending move frees. One
                // move goes elsewhere: the smallest of the waiting moves (up to 8 tried) that a
                // host ending in use takes (it receives servers of the plan or keeps some of its
                // own), else the first one wherever it fits best. Re-routing the first (largest
                // under `any`) anywhere opened hosts: a pattern plan of 14 hosts ended at 17.
                let endsInUse = { (h: Int) -> Bool in arrivals[h] > 0 || replay.state.usage[h].serverCount > leaving[h] }
                var choice: (position: Int, to: Int?, nodes: [Int]?)?
                let smallest = rest.indices.sorted { (items[rest[$0]].size, $0) < (items[rest[$1]].size, $1) }.prefix(8)
                for position in smallest {
                    let item = items[rest[position]]
                    if let alternative = breakCycle(
                        server: item.server, avoiding: item.to, replay: replay, options: options, receivable: receivable,
                        arrivals: arrivals, onlyTo: endsInUse)
                    {
                        choice = (position, alternative.to, alternative.nodes)
                        break
                    }
                }
                if choice == nil, let alternative = breakCycle(
                    server: items[rest[0]].server, avoiding: items[rest[0]].to, replay: replay, options: options,
                    receivable: receivable, arrivals: arrivals)
                {
                    choice = (0, alternative.to, alternative.nodes)
                }
                if let choice {
                    let i = rest.remove(at: choice.position)
                    let m = items[i].move
                    if let to = items[i].to { arrivals[to] -= 1 }
                    if let to = choice.to { arrivals[to] += 1 }
                    items[i].move = Move(serverID: m.serverID, from: m.from, to: choice.to.map { inventory.hosts[$0].id }, numaNodes: choice.nodes)
                    items[i].to = choice.to
                    rest.insert(i, at: 0)
                    rerouted += 1
                } else {
                    let i = rest.removeFirst()
                    if let to = items[i].to { arrivals[to] -= 1 }
                    if let from = items[i].from { leaving[from] -= 1 }
                    dropped.append(items[i].move.serverID)
                }
                pending = rest
                continue
            }
            for i in started {
                let item = items[i]
                for changed in [replay.currentHost(of: item.server), item.to].compactMap({ $0 }) { version[changed] += 1 }
                replay.complete(server: item.server, to: item.to, nodes: options.placement == .any ? nil : item.move.numaNodes)
            }
            done += started.map { items[$0].move }
            pending = rest
            wave += 1
        }
        return (done, dropped, rerouted)
    }

    /// Hosts that may receive servers under `options`: not excluded, not being evacuated.
    func mayReceive(_ options: PlanOptions) -> [Bool] {
        var receivable = [Bool](repeating: true, count: inventory.hosts.count)
        for id in options.exclude { if let h = inventory.hostIndex[id] { receivable[h] = false } }
        if case .evacuate(let ids) = options.mode {
            for id in ids { if let h = inventory.hostIndex[id] { receivable[h] = false } }
        }
        return receivable
    }

    /// Where a server caught in a dependency cycle may go instead of `avoiding`: a host that
    /// takes it now by the rule pipeline (hosts receiving servers of the plan first, then the
    /// best fit), else the pool when allowed. `arrivals` counts the plan's arrivals per host.
    func breakCycle(
        server s: Int, avoiding: Int?, replay: PlanReplay, options: PlanOptions, receivable: [Bool], arrivals: [Int],
        onlyTo: ((Int) -> Bool)? = nil
    ) -> (to: Int?, nodes: [Int]?)? {
        let server = inventory.servers[s]
        let flavor = inventory.flavors[server.flavor]!
        // Hosts that receive other servers of the plan first (they stay in use anyway; a host
        // opened here is one more in use), then the best fit.
        var best: (host: Int, nodes: [Int], score: Double, receiving: Bool)?
        for h in inventory.hosts.indices where h != avoiding && receivable[h] {
            if let cap = options.maxPerHost, arrivals[h] >= cap { continue }
            if let onlyTo, !onlyTo(h) { continue }
            guard let fit = Fit.fit(flavor, free: replay.state.usage[h].free(under: options.layoutPolicy),
                                    capacity: replay.state.usage[h].capacity)
            else { continue }
            let nodes = replay.nodes(server: s, to: h, planned: fit.nodes)
            guard replay.blocker(server: s, to: h, nodes: nodes) == nil else { continue }
            let receiving = arrivals[h] > 0
            if best == nil || (receiving ? 1 : 0, fit.score) > (best!.receiving ? 1 : 0, best!.score) {
                best = (h, fit.nodes, fit.score, receiving)
            }
        }
        if let best { return (best.host, best.nodes) }
        if onlyTo == nil && options.allowPool && server.dedicatedHostID != nil { return (nil, nil) }
        return nil
    }

    /// The moves of the sub-problems' decisions (servers sent nowhere: `unplaced`, when they
    /// must move).
    func concreteMoves(_ decisions: [(SubProblem, [[Decision]])]) -> (moves: [Move], unplaced: [String]) {
        var moves: [Move] = []
        var unplaced: [String] = []
        for (sub, subDecisions) in decisions {
            for (c, cls) in sub.classes.enumerated() {
                for (i, d) in subDecisions[c].enumerated() {
                    let server = inventory.servers[cls.servers[i]]
                    switch d {
                    case .stay: if sub.mustMove { unplaced.append(server.id) }
                    case .pool: moves.append(Move(serverID: server.id, from: server.dedicatedHostID, to: nil, numaNodes: nil))
                    case .host(let h, let nodes):
                        moves.append(Move(
                            serverID: server.id, from: server.dedicatedHostID, to: inventory.hosts[sub.hosts[h]].id, numaNodes: nodes))
                    }
                }
            }
        }
        return (moves, unplaced)
    }

    /// The plan's moves in waves. A single sub-problem whose plan it already put in waves
    /// (`waves`, one per sub-problem, made for its `untrimmed` decisions) keeps those waves when
    /// they hold the same moves, not a second ordering of them (4.5 s for 18,388 moves under
    /// `any` on tiled 2,000).
    ///
    /// `kept` are the moves after `keepHome` (`keptHome` servers kept home), `untrimmed` the
    /// decisions before it. A
    /// server kept home holds room that an arrival on its host may need before the end, which
    /// can close a dependency cycle the models' plan did not have; breaking it re-routes a move
    /// and may open a host (120 servers of unique sizes: 42 hosts instead of 41). So when the
    /// kept plan's ordering re-routes or drops moves, the models' own moves are ordered too, and
    /// the better of the two is kept (fewer dropped, then the objective); `keptHome` is 0 when it
    /// is the models'.
    func finalWaves(
        _ kept: (moves: [Move], unplaced: [String]), waves: [[Move]?], untrimmed: [(SubProblem, [[Decision]])],
        keptHome: Int, options: PlanOptions
    ) -> (ordered: (moves: [Move], dropped: [String], rerouted: Int), unplaced: [String], keptHome: Int) {
        func inWaves(_ moves: [Move]) -> (moves: [Move], dropped: [String], rerouted: Int) {
            if waves.count == 1, let waves = waves[0], waves.count == moves.count {
                let planned = Dictionary(uniqueKeysWithValues: moves.map { ($0.serverID, $0.to) })
                if waves.allSatisfy({ planned[$0.serverID] == .some($0.to) }) { return (waves, [], 0) }
            }
            return orderWaves(moves, options: options)
        }
        let ordered = inWaves(kept.moves)
        guard keptHome > 0, ordered.rerouted > 0 || !ordered.dropped.isEmpty else { return (ordered, kept.unplaced, keptHome) }
        let whole = concreteMoves(untrimmed)
        let other = inWaves(whole.moves)
        let objective = options.effectiveObjective
        if (other.dropped.count, objectiveValue(other.moves, objective: objective))
            < (ordered.dropped.count, objectiveValue(ordered.moves, objective: objective)) {
            return (other, whole.unplaced, 0)
        }
        return (ordered, kept.unplaced, keptHome)
    }
}
