// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

extension BatchPlanner {
    /// A plan being extended one server at a time: its moves, their replay under the placement
    /// model (every arrival concurrent with every other, no source freed), the planned view for
    /// the nodes each inserted move wishes for, and the arrivals per host. A value: copy it to
    /// try an insertion, keep the copy if it works.
    struct Insertion {
        var moves: [Move]
        var replay: PlanReplay
        var wishes: PlacementState
        var arrivals: [Int: Int] = [:]
        /// Each host's place in the order of host ids, the last tie-break of `insert`: made once
        /// per state, not per `insert` (`emptyMoreHosts` inserts once per host it tries).
        let idRank: [Int]

        init(moves: [Move], replay: PlanReplay, wishes: PlacementState, inventory: Inventory) {
            (self.moves, self.replay, self.wishes) = (moves, replay, wishes)
            var rank = Array(repeating: 0, count: inventory.hosts.count)
            for (k, h) in inventory.hosts.indices.sorted(by: { inventory.hosts[$0].id < inventory.hosts[$1].id }).enumerated() { rank[h] = k }
            idRank = rank
        }
    }

    /// The insertion state of `moves`; `timed`: its verdicts are the search's alone
    /// (`PlanOptions.heuristicCheckerOptions`).
    func insertion(of moves: [Move], options: PlanOptions, timed: Bool = false) -> Insertion {
        var state = Insertion(
            moves: moves, replay: PlanReplay(inventory, options: options.heuristicCheckerOptions(timed: timed), checker: checker),
            wishes: checker.state,
            inventory: inventory)
        for move in moves {
            guard let s = inventory.serverIndex[move.serverID] else { continue }
            let h = move.to.flatMap { inventory.hostIndex[$0] }
            state.replay.start(server: s, to: h, nodes: move.numaNodes)
            if let h {
                let server = inventory.servers[s]
                state.wishes.add(server, flavor: inventory.flavors[server.flavor]!, host: h, nodes: move.numaNodes, groups: [])
                state.arrivals[h, default: 0] += 1
            }
        }
        return state
    }

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
        _ ids: [String], into moves: [Move], options: PlanOptions, evacuated: Set<Int>, excluded: Set<Int>
    ) -> (moves: [Move], placed: Set<String>) {
        guard !ids.isEmpty else { return (moves, []) }
        var state = insertion(of: moves, options: options)
        let placed = insert(ids, into: &state, options: options, evacuated: evacuated, excluded: excluded)
        return (state.moves, placed)
    }

    /// `insertUnplaced` on a given state; `onlyTo` limits the targets.
    func insert(
        _ ids: [String], into state: inout Insertion, options: PlanOptions, evacuated: Set<Int>, excluded: Set<Int>,
        onlyTo targets: Set<Int>? = nil, deadline: Double? = nil
    ) -> Set<String> {
        insert(ids, into: &state, options: options, evacuated: evacuated, excluded: excluded, onlyTo: targets, deadline: deadline,
               giveUpEarly: false).placed
    }

    /// `insert`, and whether it stopped for time. `giveUpEarly`: it also stops once the rest, at
    /// the pace so far, would not be done by the deadline (after 32 servers, so that the pace
    /// means something), rather than spend the time to the deadline for nothing.
    func insert(
        _ ids: [String], into state: inout Insertion, options: PlanOptions, evacuated: Set<Int>, excluded: Set<Int>,
        onlyTo targets: Set<Int>?, deadline: Double?, giveUpEarly: Bool
    ) -> (placed: Set<String>, stopped: Bool) {
        var budget = options.maxMoves.map { $0 - state.moves.count } ?? Int.max
        let order = ids.compactMap { inventory.serverIndex[$0] }.sorted { a, b in
            let sa = Self.size(inventory.flavors[inventory.servers[a].flavor]!)
            let sb = Self.size(inventory.flavors[inventory.servers[b].flavor]!)
            return sa != sb ? sa > sb : inventory.servers[a].id < inventory.servers[b].id
        }
        var placed = Set<String>()
        // Hosts that refused a flavor for want of room: arrivals only add up here (no source is
        // freed), so they refuse it again; not asked twice.
        var full: [String: Set<Int>] = [:]
        // The hosts receiving servers of the plan, and the others in the order they are tried
        // in: the most free vCPUs first, then by id. Nothing arrives at those but what this
        // inserts (no source is freed), so their order holds until one receives a server; it
        // is kept, not sorted again per server (4,473 servers refused on tiled 2,000 under `any`
        // took over 3 s, sorting 8,000 hosts for each).
        let hosts = targets.map(Array.init) ?? Array(inventory.hosts.indices)
        var touched = Set(hosts.filter { state.arrivals[$0, default: 0] > 0 })
        let untouched = hosts.filter { !touched.contains($0) }
            .map { h in (free: state.replay.state.usage[h].freeTotal.vcpus, rank: state.idRank[h], h: h) }
            .sorted { a, b in a.free != b.free ? a.free > b.free : a.rank < b.rank }.map(\.h)
        let started = monotonicSeconds()
        for (done, s) in order.enumerated() where budget > 0 {
            if let deadline {
                let now = monotonicSeconds()
                if now > deadline
                    || giveUpEarly && done >= 32 && now + (now - started) / Double(done) * Double(order.count - done) > deadline
                {
                    return (placed, true)
                }
            }
            let server = inventory.servers[s]
            let flavor = inventory.flavors[server.flavor]!
            let refusing = full[flavor.name] ?? []
            let home = server.dedicatedHostID.flatMap { inventory.hostIndex[$0] } ?? -1
            func admissible(_ h: Int) -> Bool {
                h != home && !evacuated.contains(h) && !excluded.contains(h) && !refusing.contains(h)
                    && options.maxPerHost.map { state.arrivals[h, default: 0] < $0 } ?? true
            }
            // Hosts already receiving first (fewest hosts touched), then the most free vCPUs; on
            // keys read once (reading each host's usage and comparing ids inside the sort was half
            // of the insertion's time: live mixed 1,000 hosts, 515 servers inserted).
            var keyed: [(free: Int, rank: Int, h: Int)] = touched.filter(admissible).map { h in
                (state.replay.state.usage[h].freeTotal.vcpus, state.idRank[h], h)
            }
            keyed.sort { a, b in a.free != b.free ? a.free > b.free : a.rank < b.rank }
            // Whether `s` goes to `h`: started there when the exact verdict admits it.
            func place(on h: Int) -> Bool {
                if let code = state.replay.quickJudge(server: s, to: h, nodes: nil).refusal {
                    if Self.isRoomRefusal(code) { full[flavor.name, default: []].insert(h) }
                    return false
                }
                // The nodes are a wish only (the cloud picks): where the fit function would put it
                // on the layouts known.
                let wish = state.wishes.usage[h].fit(flavor, under: .possible)?.nodes
                if let wish { state.wishes.add(server, flavor: flavor, host: h, nodes: wish, groups: []) }
                state.replay.start(server: s, to: h, nodes: nil)
                state.arrivals[h, default: 0] += 1
                touched.insert(h)
                state.moves.append(Move(serverID: server.id, from: server.dedicatedHostID, to: inventory.hosts[h].id, numaNodes: wish))
                placed.insert(server.id)
                budget -= 1
                return true
            }
            if keyed.contains(where: { place(on: $0.h) }) { continue }
            for h in untouched where state.arrivals[h, default: 0] == 0 && admissible(h) {
                if place(on: h) { break }
            }
        }
        return (placed, false)
    }

    /// Consolidation under `any`: empties further hosts of the plan, least loaded first, by
    /// inserting all their servers onto other hosts that stay in use wherever the exact verdict
    /// finds them safe (`insert`, every arrival on a host concurrent with every other). The
    /// models see hosts with servers of unknown layout through the worst case per node and keep
    /// far more of them in use; where every layout is known, the models' plans made safe still
    /// leave hosts to empty. A host is emptied only when every one of its servers finds a
    /// place; stops at `deadline`. Against that deadline, an arrival the search over
    /// arrangements cannot judge within its budget is refused rather than asked of the verdict's
    /// integer programs, which the deadline cannot stop: on foreign fleet 806 (seed 777, 40
    /// hosts, some of 8 nodes) at 10 s, one insertion given 0.1 s took 4.8 s with them.
    func emptyMoreHosts(_ moves: [Move], options: PlanOptions, excluded: Set<Int>, deadline: Double) -> (moves: [Move], emptied: Int) {
        var state = insertion(of: moves, options: options, timed: true)
        var emptied = Set<Int>()
        func after() -> [[Server]] {
            var on = Array(repeating: [Server](), count: inventory.hosts.count)
            var target: [String: String?] = [:]
            for m in state.moves { target[m.serverID] = .some(m.to) }
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
        for h in candidates where monotonicSeconds() < deadline {
            let servers = on[h]
            // Only hosts whose servers all started there and may move (arrivals stay put).
            guard !servers.isEmpty, servers.allSatisfy({ $0.dedicatedHostID == inventory.hosts[h].id && Self.isMovable($0, assumeStopped: options.assumeStopped) })
            else { continue }
            let inUse = Set(inventory.hosts.indices.filter { !on[$0].isEmpty && $0 != h && !emptied.contains($0) })
            var trial = state
            let placed = insert(
                servers.map(\.id), into: &trial, options: options, evacuated: emptied.union([h]), excluded: excluded, onlyTo: inUse,
                deadline: deadline)
            guard placed.count == servers.count else { continue }
            // Only appended moves, each of a server of `h`: `on` follows them (rebuilding it
            // after every host emptied was an eighth of a 3 s plan on the live 1,000-host fleet).
            for m in trial.moves[state.moves.count...] {
                guard let to = m.to, let t = inventory.hostIndex[to], let s = inventory.serverIndex[m.serverID] else { continue }
                on[t].append(inventory.servers[s])
            }
            on[h] = []
            state = trial
            emptied.insert(h)
        }
        return (state.moves, emptied.count)
    }

    /// A refusal for want of room on the target, which more arrivals on it never lift.
    static func isRoomRefusal(_ code: ReasonCode) -> Bool {
        switch code {
        case .insufficientCapacity, .insufficientNUMACapacity, .numaLayoutUnknown: true
        default: false
        }
    }

    /// A server's size for "largest first": vCPUs plus memory in 4 GiB units.
    static func size(_ flavor: Flavor) -> Double {
        Double(flavor.resources.vcpus) + Double(flavor.resources.memoryMiB) / 4096
    }
}

extension BatchPlanner {
    /// Under `--cloud-placement any`: a plan of the pattern model (whose packings are tiled node
    /// by node, which the cloud does not promise) made safe whatever nodes the cloud picks.
    /// Every mover leaves its host first; then, target by target and largest first, each
    /// arrival is kept when the exact verdict admits it with all the host's other arrivals
    /// concurrent (the final state, judged more strictly than any wave order). The arrivals
    /// refused are inserted again where the exact verdict admits them (`insert`): back on their
    /// own host when it stays in use, then on hosts that stay in use, then on any host that may
    /// receive; one that finds none stays on its own host if nothing arrives there. Nil when
    /// some mover finds no place at all. `orderWaves` puts the result in waves.
    ///
    /// `giveUpEarly`: nil as soon as the insertion's pace says it will not be done by the
    /// deadline. On the live mixed 1,000-host fleet at `--time-limit 1` the repacked packing
    /// spent its whole share and was not made safe; stopped early, the time went to emptying
    /// more hosts of the plan in hand (503 and 508 hosts in two runs, where 517-519 were kept).
    ///
    /// `sequenced`: a host's arrivals are judged in sequence instead (`SequencedArrivals`'s
    /// order and rule: an arrival refused with the host's open wave is judged again after that
    /// wave has landed where the cloud liked), still after every mover has left; the wave
    /// ordering keeps that sequence (`HostSequences`). Fewer arrivals are refused, but the moves
    /// depend on each other more: a candidate beside the concurrent one, not instead of it. The
    /// live tiled fleet of 120 (480 hosts, no layout known) at 10 s: 147 hosts against 155;
    /// generated fleet 7625: 13 against 14.
    func anySafe(_ decisions: [[Decision]], sub: SubProblem, options: PlanOptions, deadline: Double, giveUpEarly: Bool = false,
                 sequenced: Bool = false) -> [[Decision]]? {
        // Against a deadline, an arrival the search over arrangements cannot judge within its
        // budget is refused (and inserted elsewhere) instead of waiting for the verdict's integer
        // programs: on foreign fleet 20 (40 hosts, no layout known) at 1 s a packing made safe
        // here took 1.6 s, and the plan 2.2 s.
        // (`.infinity` is how callers say "no deadline".)
        // Past the deadline with an arrival to judge, it gives up at that arrival: given up
        // before the replay is set up. The plan in hand's candidates came here past their
        // deadline on a 10,000-host fleet at 1 s, and each took 0.07 s to give up.
        if monotonicSeconds() > deadline, decisions.contains(where: { $0.contains { if case .host = $0 { true } else { false } } }) {
            return nil
        }
        var replay = PlanReplay(inventory, options: options.heuristicCheckerOptions(timed: deadline < .infinity), checker: checker)
        var wishes = checker.state
        var where_: [Int: Decision] = [:]  // inventory server index -> decision
        var arrivals: [(s: Int, h: Int, nodes: [Int])] = []
        var inUse = Set<Int>()  // local hosts that hold a server after the plan
        for (c, cls) in sub.classes.enumerated() {
            for (i, s) in cls.servers.enumerated() {
                let server = inventory.servers[s]
                let home = server.dedicatedHostID.flatMap { inventory.hostIndex[$0] }
                let decision = decisions[c][i]
                if decision == .stay {
                    where_[s] = .stay
                    if let h = home, let l = sub.local[h] { inUse.insert(l) }
                    continue
                }
                // A mover (to the pool or a host) leaves its host before any arrival is judged.
                replay.complete(server: s, to: nil, nodes: nil)
                if let h = home { wishes.remove(server, flavor: inventory.flavors[server.flavor]!, host: h, nodes: server.numaNodes, groups: []) }
                if case .host(let l, let nodes) = decision {
                    arrivals.append((s, sub.hosts[l], nodes))
                    inUse.insert(l)
                } else {
                    where_[s] = .pool
                }
            }
        }
        for l in sub.hosts.indices where sub.fixed[l].serverCount > 0 { inUse.insert(l) }
        arrivals.sort { a, b in
            if a.h != b.h { return a.h < b.h }
            if sequenced, let first = SequencedArrivals.comesFirst(replay.flavor(of: a.s), replay.flavor(of: b.s)) { return first }
            let sa = Self.size(replay.flavor(of: a.s)), sb = Self.size(replay.flavor(of: b.s))
            return sa != sb ? sa > sb : a.s < b.s
        }
        var state = Insertion(moves: [], replay: replay, wishes: wishes, inventory: inventory)
        var refused: [Int] = []
        var openWave: [Int: [Int]] = [:]  // sequenced: per host, the arrivals judged together
        for a in arrivals {
            if monotonicSeconds() > deadline { return nil }
            var admitted = options.maxPerHost.map({ state.arrivals[a.h, default: 0] < $0 }) ?? true
            if admitted && sequenced {
                admitted = SequencedArrivals.join(a.s, on: a.h, replay: &state.replay, open: &openWave[a.h, default: []]) { replay in
                    (replay.mayStart(server: a.s, to: a.h, nodes: nil), true)
                }.placed
            } else if admitted {
                admitted = state.replay.mayStart(server: a.s, to: a.h, nodes: nil)
            }
            guard admitted else {
                refused.append(a.s)
                continue
            }
            let server = inventory.servers[a.s]
            state.replay.start(server: a.s, to: a.h, nodes: nil)
            state.wishes.add(server, flavor: replay.flavor(of: a.s), host: a.h, nodes: a.nodes, groups: [])
            state.arrivals[a.h, default: 0] += 1
            where_[a.s] = .host(sub.local[a.h]!, a.nodes)
        }
        if !refused.isEmpty {
            // Home first where home stays in use (the server then keeps its own nodes).
            var rest: [String] = []
            for s in refused {
                let server = inventory.servers[s]
                if let id = server.dedicatedHostID, let h = inventory.hostIndex[id], let l = sub.local[h], inUse.contains(l), sub.receives[l],
                    state.replay.mayStart(server: s, to: h, nodes: nil)
                {
                    state.replay.start(server: s, to: h, nodes: nil)
                    state.wishes.add(server, flavor: replay.flavor(of: s), host: h, nodes: server.numaNodes, groups: [])
                    where_[s] = .stay
                } else {
                    rest.append(server.id)
                }
            }
            let receiving = Set(sub.hosts.indices.filter { sub.receives[$0] }.map { sub.hosts[$0] })
            let stayingInUse = Set(inUse.map { sub.hosts[$0] }).intersection(receiving)
            let first = insert(rest, into: &state, options: options, evacuated: [], excluded: [], onlyTo: stayingInUse, deadline: deadline,
                               giveUpEarly: giveUpEarly)
            guard !(giveUpEarly && first.stopped) else { return nil }
            var placed = first.placed
            let left = rest.filter { !placed.contains($0) }
            let anywhere = insert(left, into: &state, options: options, evacuated: [], excluded: [], onlyTo: receiving, deadline: deadline,
                                  giveUpEarly: giveUpEarly)
            guard !(giveUpEarly && anywhere.stopped) else { return nil }
            placed.formUnion(anywhere.placed)
            // Last, a server that found no place stays on its own host where that host takes no
            // arrival (the plan had emptied it): one more host in use, the rest of the plan kept.
            // Without this the whole pattern plan was dropped: the live mixed 1,000-host fleet at
            // 10 s fell back to 483 hosts in two runs of three, where the plan made safe keeps 368.
            for id in rest where !placed.contains(id) {
                guard let s = inventory.serverIndex[id], let home = inventory.servers[s].dedicatedHostID.flatMap({ inventory.hostIndex[$0] }),
                    let l = sub.local[home], state.arrivals[home, default: 0] == 0,
                    state.replay.mayStart(server: s, to: home, nodes: inventory.servers[s].numaNodes)
                else { return nil }
                let server = inventory.servers[s]
                state.replay.start(server: s, to: home, nodes: server.numaNodes)
                state.wishes.add(server, flavor: replay.flavor(of: s), host: home, nodes: server.numaNodes, groups: [])
                state.arrivals[home, default: 0] += 1  // nothing else lands there from now on
                inUse.insert(l)
                where_[s] = .stay
                placed.insert(id)
            }
            guard placed.count == rest.count else { return nil }
            for m in state.moves {
                let s = inventory.serverIndex[m.serverID]!
                guard let to = m.to, let h = inventory.hostIndex[to], let l = sub.local[h] else { return nil }
                where_[s] = .host(l, m.numaNodes ?? [])
            }
        }
        return sub.classes.map { cls in cls.servers.map { where_[$0] ?? .stay } }
    }
}
