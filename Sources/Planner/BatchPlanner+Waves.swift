// SPDX-License-Identifier: GPL-3.0-or-later

// Wave ordering: moves numbered so that running the waves in order never needs room that is not
// free yet; dependency cycles broken by re-routing a move or relocating a host.

import GLPK
import Topology

extension BatchPlanner {
    /// Numbers waves so that executing them in order never needs capacity that is not free yet.
    /// Cycles are broken through a host with room now (or the pool when allowed) or, in
    /// consolidations, by moving a host's whole content to an empty host of its type; what
    /// cannot be broken is dropped and reported.
    public func orderWaves(_ moves: [Move], options: PlanOptions) -> Waves {
        orderWaves(moves, options: options, deadline: nil)!
    }

    /// `orderWaves`, given up (nil) once `deadline` (`monotonicSeconds()`) has passed: breaking many
    /// cycles costs seconds at 10,000 hosts, too much for judging a candidate plan. Until a move
    /// re-routed or dropped to break a cycle keeps a host in use that the plan empties, it may
    /// run until `extended` instead (a packing at the volume bound, optimal if ordered so).
    ///
    /// Works on indices: every move's server, hosts, flavor and size are looked up once, and the
    /// counts the cycle breaker needs (arrivals per host, departures still pending) are kept up
    /// to date instead of being recounted over every move at every deadlock (tiled 2,000 under
    /// `any`: 825 deadlocks over 18,388 moves).
    ///
    /// Past `truncateAt` it stops instead of giving up, at the first deadlock (a wave where no
    /// pending move can start): the moves not yet in a wave are dropped (their servers stay where
    /// they are), and the waves so far stand, each judged with those servers still in place. A
    /// plan, if one that keeps more hosts in use. The waves that start moves are still made: each
    /// is one pass over the pending moves, where a deadlock costs a search for a host to re-route
    /// through. On the generated 10,000-host fleet at 1 s (`rushed`), a cycle-free packing of
    /// 9,644 moves came to be ordered with that moment already past: stopped at once, every move
    /// was dropped and the plan kept every host in use (9,907); its first 6 waves take 0.15-0.2 s
    /// and place all but 42 moves, and each deadlock after them 0.1-0.2 s.
    func orderWaves(_ moves: [Move], options: PlanOptions, deadline: Double?, extended: Double? = nil, truncateAt: Double? = nil) -> Waves? {
        /// Whether the time is spent: `deadline`, or `extended` until a move re-routed or dropped
        /// keeps a host in use that the plan empties (`opened`).
        func timeSpent(opened: Bool) -> Bool {
            guard let deadline else { return false }
            return monotonicSeconds() > (opened ? deadline : max(deadline, extended ?? deadline))
        }
        // Not even prepared once the time is spent: for 8,356 moves on 4,000 hosts (generated
        // fleet 9008) that took 0.1 s past a 1 s limit.
        if timeSpent(opened: false) { return nil }
        // Against a deadline, an arrival the search over arrangements cannot judge within its
        // budget waits for a later wave instead of the verdict's integer programs: on foreign
        // fleet 26 at 1 s one arrival's took 0.14 s, and the packing in hand was not ordered.
        // (A deadline of `.infinity` counts: ordered so, a packing never waits for them.)
        var replay = PlanReplay(inventory, options: options.heuristicCheckerOptions(timed: deadline != nil), checker: checker)
        struct Item {
            var move: Move
            let server: Int
            var to: Int?
            let from: Int?
            let flavor: Flavor
            let size: Double
            let kind: Int  // the flavor, numbered here: compared where sets of flavors were hashed
        }
        var kinds: [String: Int] = [:]
        /// The number of the flavor named `name`, given in order of first use.
        func kind(_ name: String) -> Int {
            let k = kinds[name] ?? kinds.count
            kinds[name] = k
            return k
        }
        var items: [Item] = moves.map { m in
            let s = inventory.serverIndex[m.serverID]!
            let flavor = inventory.flavors[inventory.servers[s].flavor]!
            return Item(move: m, server: s, to: m.to.map { inventory.hostIndex[$0]! }, from: m.from.flatMap { inventory.hostIndex[$0] },
                        flavor: flavor, size: Self.size(flavor), kind: kind(inventory.servers[s].flavor))
        }
        // Under `any`, larger arrivals first: once they are in, smaller
        // ones fit whatever nodes the cloud picks far more often than the other way round. At
        // equal size, servers spanning more nodes first: their node set is forced.
        // Then by target and server in inventory order (the pool first), on integer keys:
        // comparing the items' ids as strings took a tenth of a 1 s plan of 8,000 hosts (18,388
        // moves).
        let bySize = options.placement == .any
        let toRank = items.map { $0.to ?? -1 }
        let serverRank = items.map(\.server)
        let sizes = items.map(\.size)
        let spans = items.map(\.flavor.numaNodes)
        var pending = items.indices.sorted { a, b in
            if bySize && sizes[a] != sizes[b] { return sizes[a] > sizes[b] }
            if bySize && spans[a] != spans[b] { return spans[a] > spans[b] }
            return (toRank[a], serverRank[a]) < (toRank[b], serverRank[b])
        }
        let hostCount = inventory.hosts.count
        // Under `any`, the order each host's arrivals must land in (`HostSequences`).
        // Judging them asks the verdict of every arrival: given up with the time (not where the
        // ordering is to stop with what it has, `truncateAt`). On foreign fleet 2029 (seed 2027:
        // 800 hosts in two zones, 8-node hosts of servers of unknown layout only) at 3 s, the
        // sub-problems' waves side by side ordered anew took 2.6 s here, 0.27 s before the
        // deadline, and the plan ended at 4.4 s.
        var sequence: HostSequences?
        if options.placement == .any {
            let until = truncateAt == nil ? deadline.map { max($0, extended ?? $0) } : nil
            guard let made = HostSequences(items.map { ($0.server, $0.from, $0.to) }, replay: replay, until: until) else { return nil }
            sequence = made
        }
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
        var relocation = Relocation(inventory, items: items.map(\.server), options: options)
        // The state at the end of the plan as it stands, for re-routing onto hosts that keep room
        // for the server at the end (built at the first deadlock, kept up to date after). Not
        // under `any`, where the end state holds arrivals of unknown layout, whose worst case
        // refuses hosts that have room (tiled 30: 38 hosts became 39 with that step).
        var finalState: PlanReplay?
        var wave = 1
        // A move refused on a host stays refused until that host changes: the rule pipeline
        // judges a move by its server and its target's state alone (`PlanReplay.judge`). Each
        // host's version counts the changes to it; a move refused at a version is not judged
        // again at the same one. Without this, every broken cycle re-judged every pending move:
        // 213 passes over 4,527 moves took 2.7 s of a 10 s limit (tiled 500 under `any`).
        var version = [Int](repeating: 0, count: hostCount)
        var refusedAt = [(host: Int, version: Int, source: Int)](repeating: (-1, 0, 0), count: items.count)
        // A refusal is stamped with its source's version too: a move's verdict also reads the
        // arrivals of its wave on its source (`PlanReplay.evaluate`, the departure side).
        func stamp(_ i: Int, _ h: Int) -> (host: Int, version: Int, source: Int) {
            (h, version[h], items[i].from.map { version[$0] } ?? -1)
        }
        // The moves leaving each host (built on first use; never under `planned`), and whether
        // each has left (completed) or been dropped, for judging what a host holds once its
        // departures are done.
        var departuresByHost: [Int: [Int]]?
        // Hosts a waiting move goes to, at a deadlock (set and cleared there).
        var awaited = [Bool](repeating: false, count: hostCount)
        var gone = [Bool](repeating: false, count: items.count)
        // Whether a move re-routed or dropped keeps a host in use that the plan empties (the
        // deadline is then `deadline`, not `extended`).
        var opened = false
        var truncated = 0  // moves dropped at `truncateAt`
        // Sends the move of item `i` to `to` (nil: the pool) on `nodes` instead, to break a cycle.
        func sendElsewhere(_ i: Int, to: Int?, nodes: [Int]?) {
            if let to, arrivals[to] == 0 && replay.state.usage[to].serverCount <= leaving[to] { opened = true }
            let m = items[i].move
            sequence?.leave(i)
            if let old = items[i].to { arrivals[old] -= 1 }
            if let to { arrivals[to] += 1 }
            finalState?.shift(server: items[i].server, from: items[i].to, fromNodes: m.numaNodes, to: to, toNodes: nodes)
            items[i].move = Move(serverID: m.serverID, from: m.from, to: to.map { inventory.hosts[$0].id }, numaNodes: nodes)
            items[i].to = to
            refusedAt[i] = (-1, 0, 0)
            rerouted += 1
        }
        // Whether `first`, landed on host `h` (on `nodes`: none under `any`, wherever the cloud
        // likes), leaves `later` no room there by the rule pipeline.
        func landingBlocks(_ first: Item, nodes: [Int]?, on h: Int, _ later: Item) -> Bool {
            replay.land(server: first.server, on: h, nodes: nodes)
            defer { replay.unland(server: first.server, on: h, nodes: nodes) }
            return !replay.mayStart(server: later.server, to: h, nodes: replay.nodes(server: later.server, to: h, planned: later.move.numaNodes))
        }
        while !pending.isEmpty {
            if timeSpent(opened: opened) { return nil }
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
            // Whether host `h` ends in use (it receives servers of the plan or keeps some of its
            // own). Servers that left a host in this wave still count on it until the wave ends.
            var leftNow: [Int: Int] = [:]
            let endsInUse = { (h: Int) -> Bool in
                arrivals[h] > 0 || replay.state.usage[h].serverCount - leftNow[h, default: 0] > leaving[h]
            }
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
                    if refusedAt[i] == stamp(i, h) { return false }
                    if let sequence, !sequence.mayStart(i) { return false }
                    nodes = replay.nodes(server: item.server, to: h, planned: item.move.numaNodes)
                    if !replay.mayStart(server: item.server, to: h, nodes: nodes) {
                        refusedAt[i] = stamp(i, h)
                        return false
                    }
                    version[h] += 1
                } else if let from = item.from {
                    // To the pool: judged for the arrivals of this wave on its source.
                    if refusedAt[i] == stamp(i, from) { return false }
                    if !replay.mayStart(server: item.server, to: nil, nodes: nil) {
                        refusedAt[i] = stamp(i, from)
                        return false
                    }
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
                if refusedAt[i] == stamp(i, h) { return nil }
                guard let later = positions(on: h), later.last! > position else { return nil }
                // Flavors by number, and the shares of this one and of the wave's arrivals on the
                // host summed once: a set of flavors and a copy of the wave's arrivals with this
                // one added, both hashed by flavor, were a tenth of the ordering's time.
                var seen = [item.kind]
                var withThis: Resources?  // per node
                var nodes: [Int]?
                var canStart = false
                for q in later where q > position && !taken[q] {
                    let other = items[pending[q]]
                    guard !seen.contains(other.kind) else { continue }
                    seen.append(other.kind)
                    if seen.count > 8 { break }
                    // Nothing to order when the later arrival fits with this one and the wave's
                    // other arrivals on the host counted on every node: no solver needed (the
                    // exact judging of every pair took 1 s of ordering 18,388 moves).
                    let extra = withThis ?? (replay.waveArrivals[h] ?? [:]).reduce(item.flavor.perNode) { $0 + $1.key.perNode * $1.value }
                    withThis = extra
                    if LayoutVerdict.fitsWorstCase(other.flavor, on: replay.state.usage[h], extraPerNode: extra) { continue }
                    // Under `any` arrivals come larger first, and at equal size those spanning more
                    // nodes: what is left to order is a later arrival spanning more nodes than
                    // this one. Judging the other pairs took 0.8 s of ordering 18,388 moves (tiled
                    // 2,000) and changed no plan of the benchmarks; under `first-fit`, where the
                    // moves come in inventory order, they matter (mixed 1,000: 359 hosts, 368
                    // without).
                    if bySize && other.flavor.numaNodes <= item.flavor.numaNodes { continue }
                    let o = other.server
                    let otherNodes = replay.nodes(server: o, to: h, planned: other.move.numaNodes)
                    guard replay.mayStart(server: o, to: h, nodes: otherNodes) else { continue }
                    if !canStart {
                        // This move must be able to start now, or there is nothing to order.
                        nodes = replay.nodes(server: item.server, to: h, planned: item.move.numaNodes)
                        guard replay.mayStart(server: item.server, to: h, nodes: nodes) else { return nil }
                        canStart = true
                    }
                    guard landingBlocks(item, nodes: nodes, on: h, other) else { continue }
                    replay.land(server: o, on: h, nodes: otherNodes)
                    let fitsAfter = replay.mayStart(
                        server: item.server, to: h, nodes: replay.nodes(server: item.server, to: h, planned: item.move.numaNodes))
                    replay.unland(server: o, on: h, nodes: otherNodes)
                    if fitsAfter { return q }
                }
                return nil
            }
            // Where the cloud picks the nodes, an arrival that starts now may take the room an
            // earlier arrival on the same host waits for: refused now, it would fit once the
            // host's departures are done, but not with this one landed wherever the cloud likes.
            // Then this one waits (a one-node server landing on the node a two-node server waits
            // to have freed dropped the two-node move and kept a host more: 5 hosts where 4 do).
            func holdsBack(_ position: Int) -> Bool {
                guard options.placement != .planned else { return false }
                let item = items[pending[position]]
                // Only where every server on the host has a known layout: with unknown layouts the
                // worst case refuses far more, and holding back on it cost hosts on live
                // inventories, where the API reports no layout (tiled 30: 43 hosts and 51 waves
                // where 40 and 3 do; tiled 120: 183 where 175 do).
                guard let h = item.to, !replay.state.usage[h].hasUnknownLayout, let on = positions(on: h), on.first! < position
                else { return false }
                let waiting = on.prefix { $0 < position }.filter { refusedAt[pending[$0]] == stamp(pending[$0], h) }
                if departuresByHost == nil {
                    var byHost: [Int: [Int]] = [:]
                    for (i, item) in items.enumerated() { if let from = item.from { byHost[from, default: []].append(i) } }
                    departuresByHost = byHost
                }
                let leaving = (departuresByHost![h] ?? []).filter { !gone[$0] }
                guard !waiting.isEmpty, !leaving.isEmpty else { return false }
                let left = leaving.map { items[$0].server }
                for s in left { replay.lift(server: s) }
                defer { for s in left.reversed() { replay.unlift(server: s) } }
                var seen: [Int] = []
                for q in waiting {
                    let w = items[pending[q]]
                    guard !seen.contains(w.kind) else { continue }
                    seen.append(w.kind)
                    if seen.count > 8 { break }
                    guard replay.mayStart(server: w.server, to: h, nodes: replay.nodes(server: w.server, to: h, planned: w.move.numaNodes))
                    else { continue }  // it waits for more than these departures
                    if landingBlocks(item, nodes: replay.nodes(server: item.server, to: h, planned: item.move.numaNodes), on: h, w) {
                        return true
                    }
                }
                return false
            }
            for position in pending.indices where !taken[position] {
                taken[position] = true
                if let q = goesFirst(before: position), tryStart(q) { taken[q] = true }
                if holdsBack(position) || !tryStart(position) { rest.append(pending[position]) }
            }
            if started.isEmpty, let truncateAt, monotonicSeconds() > truncateAt {
                dropped += pending.map { items[$0].move.serverID }
                truncated = pending.count
                break
            }
            if started.isEmpty && options.placement == .any {
                // Under `any`, moves the exact verdict refuses on a host that nothing is to leave
                // any more can never start there: that host only fills up as the plan goes on.
                // They are re-routed together and start in this wave, judged with each other as
                // concurrent arrivals. One at a time, each took a deadlock of its own and a wave
                // of one move (tiled 2,000 at 1 s: 825 waves, 1.3 s).
                let stuck = pending.indices.filter { position in
                    let i = pending[position]
                    guard let h = items[i].to else { return false }
                    return leaving[h] == 0 && refusedAt[i] == stamp(i, h)
                }
                if stuck.count > 1 {
                    for position in stuck {
                        let i = pending[position]
                        let item = items[i]
                        // Each to a host no other arrival of this wave goes to, or where it fits
                        // with all of them counted on every node: judging arrivals together
                        // otherwise takes the exact verdict's integer programs (20 s where this
                        // step took 1.3 s on tiled 2,000).
                        let alone = { (h: Int) -> Bool in
                            guard let wave = replay.waveArrivals[h], !wave.isEmpty else { return true }
                            return LayoutVerdict.fitsWorstCase(item.flavor, on: replay.state.usage[h], concurrent: wave)
                        }
                        guard let alternative = breakCycle(
                            server: item.server, avoiding: item.to, replay: replay, options: options, receivable: receivable,
                            arrivals: arrivals, onlyTo: { endsInUse($0) && alone($0) })
                        else { continue }
                        sendElsewhere(i, to: alternative.to, nodes: alternative.nodes)
                        if tryStart(position), let from = item.from { leftNow[from, default: 0] += 1 }
                    }
                    if !started.isEmpty {
                        let moved = Set(started)
                        rest.removeAll { moved.contains($0) }
                    }
                }
            }
            if started.isEmpty {
                // Deadlock: every pending move waits for space another pending move frees. In
                // this order, the first that works:
                // 1. the smallest of the waiting moves (up to 8 tried) goes to a host that ends
                //    in use (it receives servers of the plan or keeps some of its own), takes it
                //    now and still has room for it at the end (not under `any`);
                // 2. a host's whole final content goes to an empty host of its type (`Relocation`);
                // 3. as 1, without room at the end (that host's own arrivals may then wait);
                // 4. the first waiting move goes wherever it fits best, or is dropped.
                // Re-routing the first (largest under `any`) anywhere opened hosts (a pattern
                // plan of 14 hosts ended at 17); re-routing onto hosts that end full cascaded (8
                // re-routings took a perfect packing of 12 hosts to 14).
                if finalState == nil && options.placement != .any {
                    var end = replay
                    for i in rest {
                        let s = items[i].server
                        end.shift(server: s, from: items[i].from, fromNodes: replay.currentNodes(of: s), to: items[i].to,
                                  toNodes: items[i].move.numaNodes)
                    }
                    finalState = end
                }
                var choice: (position: Int, to: Int?, nodes: [Int]?)?
                // Moves leaving a host that another waiting move goes to come first: re-routing
                // one frees room that move waits for. The smallest waiting move was often one
                // leaving a host nobody waits for, which frees nothing: on the live tiled 120-host
                // fleet the deadlock came back at once, 146 times, each a wave of one move.
                // The first 8 by (awaited source first, size, position), picked in one pass:
                // sorting every waiting move at every deadlock was a fifth of the ordering of a
                // packing with 427 deadlocks over 1,795 moves (foreign fleet 26).
                for i in rest { if let to = items[i].to { awaited[to] = true } }
                var firstEight: [(key: (Int, Double, Int), position: Int)] = []
                for (position, i) in rest.enumerated() {
                    let key = ((items[i].from.map { awaited[$0] } ?? false) ? 0 : 1, items[i].size, position)
                    if firstEight.count == 8 { if key < firstEight[7].key { firstEight.removeLast() } else { continue } }
                    let at = firstEight.firstIndex { key < $0.key } ?? firstEight.count
                    firstEight.insert((key, position), at: at)
                }
                for i in rest { if let to = items[i].to { awaited[to] = false } }
                let smallest = firstEight.map(\.position)
                func reRoute(roomAtEnd: PlanReplay?) {
                    for position in smallest {
                        let item = items[rest[position]]
                        if let alternative = breakCycle(
                            server: item.server, avoiding: item.to, replay: replay, options: options, receivable: receivable,
                            arrivals: arrivals, onlyTo: endsInUse, roomAtEnd: roomAtEnd)
                        {
                            choice = (position, alternative.to, alternative.nodes)
                            return
                        }
                    }
                }
                if let finalState { reRoute(roomAtEnd: finalState) }
                if choice == nil, let r = relocation.find(rest: rest.map { (items[$0].server, items[$0].to, items[$0].move.numaNodes) },
                                                          done: done.count, arrivals: arrivals, replay: &replay, receivable: receivable)
                {
                    var front: [Int] = []
                    for i in rest where items[i].to == r.from {
                        let m = items[i].move
                        finalState?.shift(server: items[i].server, from: r.from, fromNodes: m.numaNodes, to: r.to, toNodes: m.numaNodes)
                        items[i].move = Move(serverID: m.serverID, from: m.from, to: inventory.hosts[r.to].id, numaNodes: m.numaNodes)
                        items[i].to = r.to
                        refusedAt[i] = (-1, 0, 0)
                        front.append(i)
                    }
                    for s in r.stays {
                        let server = inventory.servers[s]
                        let flavor = inventory.flavors[server.flavor]!
                        let nodes = replay.currentNodes(of: s)
                        finalState?.shift(server: s, from: r.from, fromNodes: nodes, to: r.to, toNodes: nodes)
                        items.append(Item(
                            move: Move(serverID: server.id, from: server.dedicatedHostID, to: inventory.hosts[r.to].id, numaNodes: nodes),
                            server: s, to: r.to, from: r.from, flavor: flavor, size: Self.size(flavor), kind: kind(server.flavor)))
                        refusedAt.append((-1, 0, 0))
                        gone.append(false)
                        sequence?.append(to: r.to)
                        departuresByHost?[r.from, default: []].append(items.count - 1)
                        leaving[r.from] += 1
                        front.append(items.count - 1)
                    }
                    sequence?.relocate(from: r.from, to: r.to)
                    arrivals[r.to] += arrivals[r.from] + r.stays.count
                    arrivals[r.from] = 0
                    version[r.from] += 1
                    version[r.to] += 1
                    pending = front + rest.filter { items[$0].to != r.to }
                    continue
                }
                if choice == nil { reRoute(roomAtEnd: nil) }
                if choice == nil, let alternative = breakCycle(
                    server: items[rest[0]].server, avoiding: items[rest[0]].to, replay: replay, options: options,
                    receivable: receivable, arrivals: arrivals)
                {
                    choice = (0, alternative.to, alternative.nodes)
                }
                if let choice {
                    let i = rest.remove(at: choice.position)
                    sendElsewhere(i, to: choice.to, nodes: choice.nodes)
                    rest.insert(i, at: 0)
                } else {
                    let i = rest.removeFirst()
                    sequence?.leave(i)
                    if let to = items[i].to { arrivals[to] -= 1 }
                    if let from = items[i].from { leaving[from] -= 1 }
                    finalState?.shift(server: items[i].server, from: items[i].to, fromNodes: items[i].move.numaNodes,
                                      to: items[i].from, toNodes: replay.currentNodes(of: items[i].server))
                    dropped.append(items[i].move.serverID)
                    opened = true
                    gone[i] = true
                }
                pending = rest
                continue
            }
            for i in started {
                let item = items[i]
                gone[i] = true
                sequence?.leave(i)
                for changed in [replay.currentHost(of: item.server), item.to].compactMap({ $0 }) { version[changed] += 1 }
                replay.complete(server: item.server, to: item.to, nodes: options.placement == .any ? nil : item.move.numaNodes)
            }
            done += started.map { items[$0].move }
            pending = rest
            wave += 1
        }
        return Waves(moves: done, dropped: dropped, rerouted: rerouted, relocatedHosts: relocation.hosts,
                     relocationMoves: relocation.moves, truncated: truncated)
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
    /// best fit), else the pool when allowed. `arrivals` counts the plan's arrivals per host;
    /// with `roomAtEnd` (the state at the end of the plan) only hosts that still have room for
    /// the server there.
    func breakCycle(
        server s: Int, avoiding: Int?, replay: PlanReplay, options: PlanOptions, receivable: [Bool], arrivals: [Int],
        onlyTo: ((Int) -> Bool)? = nil, roomAtEnd: PlanReplay? = nil
    ) -> (to: Int?, nodes: [Int]?)? {
        let server = inventory.servers[s]
        let flavor = inventory.flavors[server.flavor]!
        // Hosts that receive other servers of the plan first (they stay in use anyway; a host
        // opened here is one more in use), then the best fit.
        // Candidates by the fit function first, best first (ties: lower host index), then the
        // rule pipeline on them in that order until one takes the server: the pipeline (the exact
        // verdict under `any`) on every host that fits took most of the cycle breaking.
        var candidates: [(host: Int, nodes: [Int], score: Double, receiving: Bool)] = []
        for h in inventory.hosts.indices where h != avoiding && receivable[h] {
            if let cap = options.maxPerHost, arrivals[h] >= cap { continue }
            guard replay.state.usage[h].freeTotal.covers(flavor.resources) else { continue }  // before copying per-node room
            if let onlyTo, !onlyTo(h) { continue }  // after: the callers' tests look up dictionaries
            guard let fit = replay.state.usage[h].fit(flavor, under: options.layoutPolicy) else { continue }
            candidates.append((h, fit.nodes, fit.score, arrivals[h] > 0))
        }
        candidates.sort { a, b in
            if a.receiving != b.receiving { return a.receiving }
            if a.score != b.score { return a.score > b.score }
            return a.host < b.host
        }
        for c in candidates {
            let h = c.host
            guard replay.mayStart(server: s, to: h, nodes: replay.nodes(server: s, to: h, planned: c.nodes)) else { continue }
            if let end = roomAtEnd, !end.mayStart(server: s, to: h, nodes: end.nodes(server: s, to: h, planned: c.nodes)) { continue }
            return (h, c.nodes)
        }
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
    /// and may open a host (120 servers of unique sizes: 42 hosts instead of 41), or relocates a
    /// host at the price of moves. So when the kept plan's ordering re-routes, relocates or drops
    /// moves, the models' own moves are ordered too, and the better of the two is kept (fewer
    /// dropped, then the objective, then fewer moves); `keptHome` is 0 when it is the models'.
    ///
    /// Ordering the kept moves anew stops at `deadline` when the models' own waves are given:
    /// their moves are then ordered instead, from those waves. On tiled 2,000 under `any` the
    /// plan judged in sequence (23,836 moves) had servers kept home, its waves no longer
    /// replayed, and ordering anew ended a 10 s plan at 93 s.
    func finalWaves(
        _ kept: (moves: [Move], unplaced: [String]), waves: [[Move]?], untrimmed: [(SubProblem, [[Decision]])],
        keptHome: Int, options: PlanOptions, deadline: Double? = nil
    ) -> (ordered: Waves, unplaced: [String], keptHome: Int) {
        // Under `any`, the sub-problems' own waves side by side: their hosts are disjoint, so
        // wave k of one runs beside wave k of another (the replay below checks it). Ordered
        // anew by the exact verdict instead, the plan of a generated 300-host fleet of two
        // zones re-routed 24 moves and kept 101 hosts where the sub-problems' waves keep 96.
        // Not under a cap on the moves of a wave, which each sub-problem kept on its own.
        let sideBySide = waves.count > 1 && options.placement == .any && options.maxParallel == nil
            && !waves.contains(where: { $0 == nil })
        let given: [Move]? = waves.count == 1 ? waves[0] : sideBySide ? waves.flatMap { $0 ?? [] } : nil
        lazy var whole = concreteMoves(untrimmed)  // the models' own moves
        // Under `any`, a server kept home leaves the given waves only where it may
        // (`mayStayHome`); the others move as the waves have them. Kept home all the same, on
        // foreign fleet 800 (seed 777) at 3 s the waves' replay refused 85-127 arrivals, and
        // ordering the kept moves anew took 0.4-0.5 s before the models' own waves were taken.
        var (kept, keptHome) = (kept, keptHome)
        if keptHome > 0, options.placement == .any, let waves = given {
            var lastArrival: [String: Int] = [:]  // per host id, the wave of its last arrival
            for m in waves { if let to = m.to { lastArrival[to] = max(lastArrival[to] ?? 0, m.wave) } }
            let moving = Set(kept.moves.map(\.serverID))
            let planned = Set(whole.moves.map(\.serverID))  // the waves' moves, as decided
            let restored = waves.filter {
                !moving.contains($0.serverID) && planned.contains($0.serverID)
                    && !Self.mayStayHome(wave: $0.wave, targetLast: $0.to.flatMap { lastArrival[$0] } ?? 0,
                                         sourceLast: $0.from.flatMap { lastArrival[$0] } ?? 0)
            }
            kept.moves += restored
            keptHome -= restored.count
        }
        func inWaves(_ moves: [Move], cutoff: Double? = nil) -> Waves? {
            if let waves = given, waves.count >= moves.count {
                let planned = Dictionary(uniqueKeysWithValues: moves.map { ($0.serverID, $0.to) })
                let same = waves.filter { planned[$0.serverID] == .some($0.to) }
                if same.count == moves.count {
                    // Outside `any`, ordered waves are the sub-problem's own; the plan replays them
                    // once more before it is printed.
                    if same.count == waves.count && options.placement != .any { return Waves(moves: waves) }
                    // Under `any`, the sub-problem's waves (less the moves kept home), when they
                    // still replay cleanly by the rule pipeline: a server kept home holds room
                    // that a later arrival on its host may need, which the replay finds. Ordering
                    // anew by the exact verdict took 1.4 s of a 1 s plan on tiled 2,000; the
                    // replay takes a quarter of that. Elsewhere ordering is cheap (about 12
                    // microseconds a move), and ordering anew can only pack the waves tighter
                    // (the sub-problem's waves keep the one-move waves of its broken cycles).
                    guard options.placement == .any else { return orderWaves(moves, options: options, deadline: cutoff) }
                    let renumbered = Self.renumbered(same)
                    // Replayed by the search over arrangements alone where the plan has a time
                    // limit: what it admits is proven, and a replay that passes stands for the
                    // plan's validation (`validated`). Where the search cannot tell, the waves
                    // are ordered anew instead of waiting for the verdict's integer programs: on
                    // foreign fleet 806 (seed 777, 40 hosts, some of 8 nodes) at 3 s, four
                    // questions of this replay took 1.6 s of integer programs each (7.3 s in
                    // all); ordered anew, the plan kept 21 hosts in 2.3 s.
                    let replayed = options.heuristicCheckerOptions(timed: deadline != nil)
                    if PlanValidator.violations(of: renumbered, on: inventory, options: replayed, checker: checker).isEmpty {
                        var reused = Waves(moves: renumbered)
                        reused.validated = true
                        // Side by side, the waves can also be longer than ordering anew makes
                        // them (8 against 4 on another such fleet, with the same hosts, where
                        // servers were kept home): ordered anew too, as every plan of several
                        // sub-problems was before, and taken when no worse and in fewer waves.
                        // Only by `deadline`: without one, generated fleet 9008 (4,000 hosts, two
                        // zones) spent 0.15 s here past a 1 s limit.
                        if sideBySide, let anew = orderWaves(moves, options: options, deadline: deadline) {
                            let objective = options.effectiveObjective
                            func rank(_ w: Waves) -> (Int, Double, Int) {
                                (w.dropped.count, objectiveValue(w.moves, objective: objective), w.moves.map(\.wave).max() ?? 0)
                            }
                            if rank(anew) < rank(reused) { return anew }
                        }
                        return reused
                    }
                }
            }
            return orderWaves(moves, options: options, deadline: cutoff)
        }
        // Under `any`, moves dropped where servers fit at home often break the sub-problems'
        // waves (a server kept home holds room a later arrival was judged to use): the plan is
        // then replayed, ordered anew and compared with the models' own, about 20 microseconds
        // a move. Where that would end past `deadline`, the models' plan in its own waves is
        // taken at once: on generated fleet 9008 (4,000 hosts, two zones) at 1 s the trimmed
        // plan's replay failed, its ordering anew ran past the deadline, and the models' plan
        // (10,055 moves) was taken anyway, 0.13 s later.
        let tooLate = keptHome > 0 && given != nil && options.placement == .any
            && deadline.map { monotonicSeconds() + 20e-6 * Double(kept.moves.count) > $0 } == true
        guard !tooLate, let ordered = inWaves(kept.moves, cutoff: keptHome > 0 && given != nil ? deadline : nil) else {
            return (inWaves(whole.moves)!, whole.unplaced, 0)  // no deadline: never nil
        }
        guard keptHome > 0, ordered.rerouted > 0 || !ordered.dropped.isEmpty || ordered.relocatedHosts > 0 else {
            return (ordered, kept.unplaced, keptHome)
        }
        let other = inWaves(whole.moves)!  // no deadline: never nil
        let objective = options.effectiveObjective
        // Then fewer moves: relocating a host to break the cycle can cost more moves than
        // keeping servers home saved; on a tie the models' plan, which needed no repair.
        let models = (other.dropped.count, objectiveValue(other.moves, objective: objective), other.moves.count)
        let trimmed = (ordered.dropped.count, objectiveValue(ordered.moves, objective: objective), ordered.moves.count)
        if models < trimmed || (models == trimmed && other.relocatedHosts + other.rerouted == 0) {
            return (other, whole.unplaced, 0)
        }
        return (ordered, kept.unplaced, keptHome)
    }
}

/// A plan's moves numbered in waves (`BatchPlanner.orderWaves`), and what ordering them changed.
public struct Waves: Sendable {
    public var moves: [Move]
    /// Servers whose moves waited on each other in a cycle that nothing could break.
    public var dropped: [String] = []
    /// Moves sent to another target than planned, to break cycles.
    public var rerouted = 0
    /// Hosts whose whole final content went to an empty host of their type to break a cycle
    /// (`Relocation`), and the moves that added (servers that were to stay on them).
    public var relocatedHosts = 0
    public var relocationMoves = 0
    /// Moves left out (among `dropped`) because the waves were not finished by `truncateAt` (at
    /// the first deadlock past it):
    /// those not yet in a wave then, and those `withoutIdleMoves` took away. Their servers stay.
    public var truncated = 0
    /// Whether `moves` already passed `PlanValidator` (the final validation need not replay them
    /// a second time).
    var validated = false

    /// What relocation and truncation did, for the plan's notes (nil when nothing).
    var orderingNote: String? {
        var notes: [String] = []
        if relocatedHosts > 0 {
            notes.append("\(relocatedHosts) host(s) with dependency cycles had their servers moved whole to an empty host of their type (\(relocationMoves) more move(s), no host more in use)")
        }
        if truncated > 0 { notes.append("\(truncated) move(s) left out, the waves not finished in time (those servers stay)") }
        return notes.isEmpty ? nil : notes.joined(separator: "; ")
    }
}

/// Breaks a dependency cycle of a consolidation without opening a host: everything a host `h`
/// was to end with (its arrivals, none started yet, and the servers that stay on it) goes
/// instead to an empty host `e` of the same type and zone that receives nothing. `h` then
/// empties, the moves that waited for its room start at once, and hosts in use stay as many;
/// it costs one more move per server that was to stay. Breaking the cycle by re-routing one
/// move opens a host when every host ending in use ends full (a perfect packing of 40 hosts
/// ended at 41). Every server is judged on `e` by the rule pipeline first, one after another;
/// each host takes part once, as `h` or as `e`, so the ordering still ends.
struct Relocation {
    let inventory: Inventory
    let enabled: Bool
    let assumeStopped: Bool
    let maxMoves: Int?
    let maxPerHost: Int?
    let anyPlacement: Bool
    /// Servers with a move in the plan (those added here included).
    private var hasMove: [Bool]
    private var used = Set<Int>()
    /// The inventory's servers per host, and the hosts that were empty and received nothing at
    /// the first deadlock, per type and zone; built on first use.
    private var serversOn: [Int: [Int]] = [:]
    private var empty: [Key: [Int]]?
    private(set) var hosts = 0
    private(set) var moves = 0

    init(_ inventory: Inventory, items: [Int], options: PlanOptions) {
        self.inventory = inventory
        enabled = options.mode == .consolidate && options.effectiveObjective == .minHostsUsed
        assumeStopped = options.assumeStopped
        maxMoves = options.maxMoves
        maxPerHost = options.maxPerHost
        anyPlacement = options.placement == .any
        hasMove = [Bool](repeating: false, count: enabled ? inventory.servers.count : 0)
        if enabled { for s in items { hasMove[s] = true } }
    }

    private struct Key: Hashable {
        let type: Int
        let zone: Int
    }

    private func key(_ h: Int, _ index: InventoryIndex) -> Key { Key(type: index.hostType[h], zone: index.hostZone[h]) }

    /// A host of the waiting moves' targets to relocate, where to, and the servers that were to
    /// stay on it (which now move too); nil when none qualifies. `rest` are the waiting moves
    /// (server, target, planned nodes), `done` how many moves have started, `arrivals` the
    /// plan's arrivals per host.
    mutating func find(
        rest: [(server: Int, to: Int?, nodes: [Int]?)], done: Int, arrivals: [Int], replay: inout PlanReplay, receivable: [Bool]
    ) -> (from: Int, to: Int, stays: [Int])? {
        guard enabled else { return nil }
        let index = replay.checker.index
        if empty == nil {
            var byKey: [Key: [Int]] = [:]
            for h in inventory.hosts.indices where receivable[h] && arrivals[h] == 0 && replay.state.usage[h].serverCount == 0 {
                byKey[key(h, index), default: []].append(h)
            }
            empty = byKey
            for (s, server) in inventory.servers.enumerated() {
                if let id = server.dedicatedHostID, let h = inventory.hostIndex[id] { serversOn[h, default: []].append(s) }
            }
        }
        var waiting: [Int: [(server: Int, nodes: [Int]?)]] = [:]
        for r in rest { if let to = r.to { waiting[to, default: []].append((r.server, r.nodes)) } }
        var candidates: [(h: Int, stays: [Int])] = []
        for (h, arriving) in waiting where !used.contains(h) && arriving.count == arrivals[h] && empty![key(h, index)] != nil {
            let stays = (serversOn[h] ?? []).filter { !hasMove[$0] }
            // Servers that move must be movable and, where the plan names nodes, of known layout.
            guard stays.allSatisfy({ BatchPlanner.isMovable(inventory.servers[$0], assumeStopped: assumeStopped)
                && (anyPlacement || replay.currentNodes(of: $0) != nil) })
            else { continue }
            if let cap = maxPerHost, arriving.count + stays.count > cap { continue }
            if let cap = maxMoves, done + rest.count + stays.count > cap { continue }
            candidates.append((h, stays))
        }
        candidates.sort { ($0.stays.count, $0.h) < ($1.stays.count, $1.h) }
        for c in candidates.prefix(16) {
            let ending = c.stays.map { ($0, replay.currentNodes(of: $0)) } + waiting[c.h]!.map { ($0.server, $0.nodes) }
            // Empty hosts of one type and zone differ at most in their state: a content refused
            // on three is not tried on the others (under `any` every empty host of a type refused
            // the same content: 8 s of a 1 s limit on 8,000 hosts).
            var tried = 0
            for e in empty![key(c.h, index)]! where e != c.h && !used.contains(e) && arrivals[e] == 0 && replay.state.usage[e].serverCount == 0 {
                if tried == 3 { break }
                tried += 1
                var landed: [(Int, [Int]?)] = []
                for (s, planned) in ending {
                    let nodes = replay.nodes(server: s, to: e, planned: planned)
                    guard replay.mayStart(server: s, to: e, nodes: nodes) else { break }
                    replay.land(server: s, on: e, nodes: nodes)
                    landed.append((s, nodes))
                }
                for (s, nodes) in landed.reversed() { replay.unland(server: s, on: e, nodes: nodes) }
                guard landed.count == ending.count else { continue }
                used.insert(c.h)
                used.insert(e)
                for s in c.stays { hasMove[s] = true }
                hosts += 1
                moves += c.stays.count
                return (c.h, e, c.stays)
            }
        }
        return nil
    }
}

/// Under `any`, the order a host's arrivals must land in to stay safe, by `SequencedArrivals`'
/// rule: judged after every mover of the plan has left, in `SequencedArrivals.comesFirst` order,
/// each joins the host's open group or opens the next once that group has landed where the
/// cloud liked. An arrival of a later group waits until those of the earlier groups on its host
/// have landed; the wave ordering still judges each move when it starts. Hosts whose arrivals
/// all fit together (one group: every plan made safe concurrently) get no constraint.
///
/// Without it, the ordering started an arrival as soon as it fitted: a smaller one of a later
/// group landed while a larger one of an earlier group still waited for its host's departures,
/// and the larger then found no room and was re-routed, opening hosts (fleet 7627 with every
/// layout known: packings judged in sequence kept 82-84 hosts, ordered they became 88-95).
struct HostSequences {
    /// Each move's group on its target (nil: no constraint).
    private var group: [Int?]
    private var target: [Int?]
    /// Per host with more than one group: arrivals not landed yet, per group (from 1).
    private var waiting: [Int: [Int]] = [:]

    /// `moves`: (server, from, to) as inventory indices; `replay` the state before the plan.
    /// Nil once `until` (`monotonicSeconds()`) has passed.
    init?(_ moves: [(server: Int, from: Int?, to: Int?)], replay start: PlanReplay, until: Double? = nil) {
        group = Array(repeating: nil, count: moves.count)
        target = moves.map(\.to)
        var replay = start
        var byHost: [Int: [Int]] = [:]
        for (i, m) in moves.enumerated() {
            if m.from != nil { replay.complete(server: m.server, to: nil, nodes: nil) }
            if let to = m.to { byHost[to, default: []].append(i) }
        }
        for h in byHost.keys.sorted() {
            let list = byHost[h]!.sorted { a, b in
                SequencedArrivals.comesFirst(replay.flavor(of: moves[a].server), replay.flavor(of: moves[b].server))
                    ?? (moves[a].server < moves[b].server)
            }
            var open: [Int] = []
            var groups = 0
            var counts: [Int] = [0]
            var judged: [(Int, Int)] = []
            for i in list {
                if let until, monotonicSeconds() > until { return nil }
                let s = moves[i].server
                let joined = SequencedArrivals.join(s, on: h, replay: &replay, open: &open) { replay in
                    (replay.mayStart(server: s, to: h, nodes: nil), true)
                }
                guard joined.placed else { continue }
                if joined.opened {
                    groups += 1
                    counts.append(0)
                }
                replay.start(server: s, to: h, nodes: nil)
                counts[groups] += 1
                judged.append((i, groups))
            }
            replay.settle(open, on: h)
            guard groups > 1 else { continue }
            for (i, g) in judged { group[i] = g }
            waiting[h] = counts
        }
    }

    /// Whether move `i` may start: every arrival of an earlier group on its host has landed.
    func mayStart(_ i: Int) -> Bool {
        guard let g = group[i], let h = target[i], let counts = waiting[h] else { return true }
        return !counts[1..<g].contains { $0 > 0 }
    }

    /// Move `i` landed, was dropped or was sent elsewhere: it no longer holds back its host's
    /// later groups, and constrains nothing any more.
    mutating func leave(_ i: Int) {
        guard let g = group[i], let h = target[i] else { return }
        waiting[h]![g] -= 1
        group[i] = nil
    }

    /// A move added by the ordering (to `to`), with no constraint.
    mutating func append(to: Int) {
        group.append(nil)
        target.append(to)
    }

    /// Host `from`'s arrivals now go to `to` (an empty host of its type: `Relocation`), in the
    /// same groups.
    mutating func relocate(from: Int, to: Int) {
        for i in target.indices where target[i] == from { target[i] = to }
        if let counts = waiting.removeValue(forKey: from) { waiting[to] = counts }
    }
}
