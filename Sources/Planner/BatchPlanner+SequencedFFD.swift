// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

extension BatchPlanner {
    /// The source of `sequencedFirstFit`'s plans: the packing is made safe in sequence
    /// (`anySafe(sequenced: true)`, which admits all of it) before it is ordered.
    static let sequencedSource = "first-fit decreasing judged in sequence"

    /// First-fit decreasing for consolidations under `any`, judged as the plan will run: every
    /// arrival must find room whatever nodes the cloud picks for it and for the host's earlier
    /// arrivals (`SequencedArrivals.join`, the rule `anySafe(sequenced: true)` applies), and the
    /// moves never wait on each other in a cycle.
    ///
    /// The hosts `packing` keeps in use (`keptHosts`) receive. Their servers that `packing`
    /// leaves home stay; the others leave, and so do all servers of the other hosts. Then every
    /// leaving server, in the order `SequencedArrivals.comesFirst` gives, goes to the first
    /// host of `order` that admits it after the host's arrivals so far, every departure counted
    /// done, and, for a server of a kept host, whose move closes no cycle: no host it would go
    /// to sends, directly or through others, to its own (`SendGraph`). A host waits only for its
    /// departures, and those never wait for it: the wave ordering re-routes nothing.
    ///
    /// Before, kept hosts sent only to kept hosts after their own in `order`, and their servers
    /// that `packing` sent to earlier ones stayed: on foreign fleet 26 (800 hosts, two zones,
    /// every server movable, no host empty) at 30 s that packing kept 169 + 182 hosts; closing no
    /// cycle instead, 141 + 144 (first-fit decreasing without order, `Benchmarks/ffd.py`: 279).
    ///
    /// Where the kept hosts' room is not enough, judged so, the first hosts of servers that
    /// found no place are kept too (their servers stay) and the packing starts over: one host
    /// at first, more with each start. A kept host's server that finds no place stays home.
    /// Nil past `deadline`.
    ///
    /// With the packing, its waves (`sequencedWaves`): compacted where that is done by
    /// `wavesUntil` (by default `deadline`), else each host's arrivals after all its
    /// departures. Nil under caps on the moves of a wave (the wave ordering's to keep).
    /// Ordered by `orderWaves` instead, generated fleet 9008 (4,000 hosts, two zones) at 1 s
    /// gave this packing up after 0.15 s in its second zone and kept the cycle-free plan: 2,251
    /// hosts where this packing keeps 2,174, the volume bound. Uncompacted, its waves were 470
    /// there; compacted, 47 (0.08 s), and 1,289 fewer moves (servers kept home).
    ///
    /// `orders`: the orders of the leaving servers to pack in, the better packing kept: false,
    /// `SequencedArrivals.comesFirst`'s (servers that span more nodes first); true
    /// (`largerFirst`), first-fit decreasing's (the larger first, normalised by the largest
    /// host). Neither order is better on every fleet.
    ///
    /// Made safe after a wished-node packing instead (`anySafe`), foreign fleet 30 (800 hosts,
    /// every layout known) kept 229-251 hosts of its 206; packed here, 222-224, ordered without
    /// a host more.
    func sequencedFirstFit(
        _ packing: [[Decision]], sub: SubProblem, options: PlanOptions, order: [Int], typeAccepts: [[Bool]], deadline: Double,
        fewerMovesUntil: Double? = nil, wavesUntil: Double? = nil, orders: [Bool] = [false]
    ) -> (decisions: [[Decision]], waves: [Move]?)? {
        guard options.placement == .any, !orders.isEmpty else { return nil }
        let all = movers(of: sub)
        var moversOn = [[Int]](repeating: [], count: sub.hosts.count)  // per host, its movers (indices into `all`)
        for (k, m) in all.enumerated() where m.origin.host >= 0 { moversOn[m.origin.host].append(k) }
        let sends = moversOn.map { !$0.isEmpty }
        func pass(_ staying: Set<Int>, kept: Set<Int>, largerFirst: Bool, until: Double) -> Pass? {
            sequencedFirstFitPass(packing, kept: kept, staying: staying, movers: all, sends: sends, sub: sub, options: options, order: order,
                                  typeAccepts: typeAccepts, largerFirst: largerFirst, deadline: until)
        }
        /// The packing in one order: passes until every leaving server finds a place, with the
        /// kept hosts and the servers that stay as they then stand, and its last pass's time.
        func packed(largerFirst: Bool) -> (pass: Pass, kept: Set<Int>, staying: Set<Int>, seconds: Double)? {
            var kept = Self.keptHosts(packing, sub: sub, movers: all)
            var staying = Set<Int>()
            while true {
                let passStarted = monotonicSeconds()
                guard let first = pass(staying, kept: kept, largerFirst: largerFirst, until: deadline) else { return nil }
                if first.stuck.isEmpty { return (first, kept, staying, monotonicSeconds() - passStarted) }
                // As many hosts as the servers left without a place would fill on their own hosts
                // (by the resource they take more of), one at least.
                var volume = 0.0
                for (s, home) in first.stuck where home >= 0 {
                    let r = inventory.flavors[inventory.servers[s].flavor]!.resources, c = sub.fixed[home].capacity.total
                    volume += max(Double(r.vcpus) / Double(max(1, c.vcpus)), Double(r.memoryMiB) / Double(max(1, c.memoryMiB)))
                }
                var room = max(1, Int(volume.rounded(.up)))
                for (s, home) in first.stuck {
                    guard home >= 0 else { return nil }  // from no host: nothing to keep
                    if kept.contains(home) {
                        staying.insert(s)
                    } else if room > 0, kept.insert(home).inserted {
                        room -= 1
                    }
                }
            }
        }
        // Each order's packing, the next only where one as long as the longest so far can end by
        // the deadline. Then, the better first, each packing's moves made fewer at no more
        // hosts: each kept host's leaving servers kept home, one host at a time in `order`,
        // where the packing then still places everything and keeps no more hosts (a pass each;
        // that can also free hosts), and the best kept. The packing moves every server its
        // packing does not leave home: without this, foreign fleet 18 (every layout unknown)
        // kept 29 hosts with 88 moves, with it 22. Until `fewerMovesUntil` (the other
        // packings' deadline) less four passes' time, and a pass started only where one as
        // long as the last can end: the packing still has to be ordered (on foreign fleet 26
        // at 1 s, 0.16 s for a pass of 0.04 s), and run until the deadline the loop left it no
        // time there (342 hosts instead of 310). Where both orders were packed, until the
        // deadline less four passes' time: packed and made fewer in turn, the second order was
        // packed in that time after the first's fewer moves. That way, the first order left
        // foreign fleet 4252 (seed 4242, 800 hosts) at 1 s no time for the second, which keeps
        // 218 hosts where the first keeps 233; with both packed first but made fewer only
        // until `fewerMovesUntil`, foreign fleet 26 at 3 s kept 285 hosts instead of 279-280.
        var packings: [(pass: Pass, kept: Set<Int>, staying: Set<Int>, seconds: Double, largerFirst: Bool, levels: Levels)] = []
        var longest = 0.0
        for largerFirst in orders {
            let started = monotonicSeconds()
            if !packings.isEmpty, started + longest > deadline { break }
            guard let found = packed(largerFirst: largerFirst) else { break }
            longest = max(longest, monotonicSeconds() - started)
            let levels = sub.levels(found.pass.decisions, objective: options.effectiveObjective, inventory: inventory)
            packings.append((found.pass, found.kept, found.staying, found.seconds, largerFirst, levels))
        }
        packings.sort { $0.levels < $1.levels }
        var best: (pass: Pass, levels: Levels)?
        for packing in packings {
            let passSeconds = packing.seconds
            let until = (packings.count > 1 ? deadline : min(fewerMovesUntil ?? deadline, deadline)) - 4 * passSeconds
            var current = packing.pass
            var currentLevels = packing.levels
            var staying = packing.staying
            for k in order where packing.kept.contains(k) {
                if monotonicSeconds() + passSeconds > until { break }
                let leaving = moversOn[k].map { all[$0] }.filter { m in !staying.contains(m.s) && current.decisions[m.c][m.i] != .stay }
                    .map(\.s)
                guard !leaving.isEmpty else { continue }
                let trial = staying.union(leaving)
                guard let other = pass(trial, kept: packing.kept, largerFirst: packing.largerFirst, until: until), other.stuck.isEmpty
                else { continue }
                let levels = sub.levels(other.decisions, objective: options.effectiveObjective, inventory: inventory)
                if levels < currentLevels { (current, currentLevels, staying) = (other, levels, trial) }
            }
            if best.map({ currentLevels < $0.levels }) ?? true { best = (current, currentLevels) }
        }
        guard let best = best?.pass else { return nil }
        let capped = options.maxParallel != nil || options.maxPerHostParallel != nil
        if capped { return (best.decisions, nil) }
        if let compact = sequencedWaves(best, sub: sub, options: options, compactUntil: wavesUntil ?? deadline) { return compact }
        return sequencedWaves(best, sub: sub, options: options, compactUntil: nil) ?? (best.decisions, nil)
    }

    /// One packing of `sequencedFirstFit`: the decisions, each arrival's wave on its host (from
    /// 1, per class and server as the decisions; 0 for none), and the servers that found no
    /// place with their hosts (local, -1 for none).
    struct Pass {
        var decisions: [[Decision]]
        var hostWave: [[Int]]
        /// Per local host, its arrivals in the order they were judged.
        var arrivals: [[(s: Int, c: Int, i: Int)]]
        var stuck: [(s: Int, home: Int)]
    }

    /// One packing of `sequencedFirstFit` with `kept` and `staying` as they stand. Nil past
    /// `deadline`.
    private func sequencedFirstFitPass(
        _ packing: [[Decision]], kept: Set<Int>, staying: Set<Int>, movers all: [(s: Int, c: Int, i: Int, origin: Origin)],
        sends: [Bool], sub: SubProblem, options: PlanOptions, order: [Int], typeAccepts: [[Bool]], largerFirst: Bool, deadline: Double
    ) -> Pass? {
        // Arrivals the search over arrangements cannot judge within its budget are refused, not
        // solved: the packing tries many hosts per arrival, and where it keeps a host's servers
        // home for fewer moves that host may hold scores of servers of unknown layout (foreign
        // fleet 26 at 1 s: 88 on 4 nodes, one arrival's integer programs 0.135 s).
        var replay = heuristicReplay(options)
        // The nodes each arrival is wished on, kept consistent host by host: the cloud picks its
        // own, but the plan prints these, and later steps read the packing's nodes.
        var wishes = checker.state
        var decisions = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
        var hostWave = sub.classes.map { [Int](repeating: 0, count: $0.count) }
        var wavesOn = [Int](repeating: 0, count: sub.hosts.count)  // per local host, its arrivals' waves so far
        var arrivalsOn = [[(s: Int, c: Int, i: Int)]](repeating: [], count: sub.hosts.count)
        var leaving: [(s: Int, c: Int, i: Int, home: Int)] = []
        for m in all where !staying.contains(m.s) {
            let o = m.origin.host
            if o >= 0 && kept.contains(o), packing[m.c][m.i] == .stay { continue }
            replay.complete(server: m.s, to: nil, nodes: nil)
            if o >= 0 {
                let server = inventory.servers[m.s]
                wishes.remove(server, flavor: sub.classes[m.c].flavor, host: sub.hosts[o], nodes: server.numaNodes, groups: [])
            }
            leaving.append((m.s, m.c, m.i, o))
        }
        // With `largerFirst`, by size first (normalised by the largest host).
        let size = (largerFirst ? Self.largestCapacity(sub) : nil).map { largest in
            sub.classes.map { Self.size($0.flavor.resources, largest: largest) }
        }
        leaving.sort { a, b in
            if let size, size[a.c] != size[b.c] { return size[a.c] > size[b.c] }
            return SequencedArrivals.comesFirst(sub.classes[a.c].flavor, sub.classes[b.c].flavor) ?? (a.s < b.s)
        }
        let targets = order.filter { sub.receives[$0] && (kept.contains($0) || !sends[$0]) }
        // Kept hosts both send and receive; the others only send, or only receive.
        var sendsTo = SendGraph(hosts: sub.hosts.count, members: targets.filter { sends[$0] })
        var arrivals = [Int](repeating: 0, count: sub.hosts.count)
        var open: [Int: [Int]] = [:]  // per host, the arrivals judged together
        // Per class, targets before this position refused it for room or type: arrivals only
        // take room, so they refuse it for good.
        var firstOpen = [Int](repeating: 0, count: sub.classes.count)
        var stuck: [(s: Int, home: Int)] = []
        for m in leaving {
            if monotonicSeconds() > deadline { return nil }
            let flavor = sub.classes[m.c].flavor
            let fromKept = m.home >= 0 && kept.contains(m.home)
            var placed = false
            var advancing = true
            for k in firstOpen[m.c]..<targets.count {
                let l = targets[k], h = sub.hosts[l]
                if fromKept ? sendsTo.closesCycle(from: m.home, to: l) : l == m.home {
                    advancing = false
                    continue
                }
                guard typeAccepts[m.c][l] else {
                    if advancing { firstOpen[m.c] = k + 1 }
                    continue
                }
                if let cap = options.maxPerHost, arrivals[l] >= cap {
                    advancing = false
                    continue
                }
                if !replay.state.usage[h].freeTotal.covers(flavor.resources) {
                    if advancing { firstOpen[m.c] = k + 1 }
                    continue
                }
                let judged = SequencedArrivals.join(m.s, on: h, replay: &replay, open: &open[h, default: []]) { replay in
                    let refusal = replay.quickJudge(server: m.s, to: h, nodes: nil).refusal
                    return (refusal == nil, refusal.map(BatchPlanner.isRoomRefusal) ?? true)
                }
                guard judged.placed else {
                    if advancing && judged.roomRefusal { firstOpen[m.c] = k + 1 } else { advancing = false }
                    continue
                }
                replay.start(server: m.s, to: h, nodes: nil)
                if judged.opened { wavesOn[l] += 1 }
                hostWave[m.c][m.i] = wavesOn[l]
                arrivalsOn[l].append((m.s, m.c, m.i))
                if fromKept { sendsTo.add(from: m.home, to: l) }
                arrivals[l] += 1
                let wish = Self.wishedNodes(flavor, on: wishes.usage[h])
                wishes.add(inventory.servers[m.s], flavor: flavor, host: h, nodes: wish, groups: [])
                decisions[m.c][m.i] = .host(l, wish)
                placed = true
                break
            }
            if !placed { stuck.append((m.s, m.home)) }
        }
        return Pass(decisions: decisions, hostWave: hostWave, arrivals: arrivalsOn, stuck: stuck)
    }

    /// The moves of `pass` in waves, with the decisions they carry out. Hosts are taken after
    /// the hosts they send to, whose arrivals fix the waves of their departures; moves to the
    /// pool are in wave 1. Nil where the departures wait on each other in a cycle (the packing
    /// closes none).
    ///
    /// With `compactUntil` nil, a host's arrivals come in the waves the packing judged them in
    /// (`Pass.hostWave`), its first right after its last departure: the state each arrival was
    /// judged in, valid by construction, but long (470 waves on generated fleet 9008, a chain
    /// of kept hosts each waiting for the next).
    ///
    /// With `compactUntil`, fewer: a host's arrivals may come while servers that leave it are
    /// still there, where they find room beside them. Each arrival, in the order it was judged,
    /// joins the host's latest wave if it is admitted with that wave in flight, else opens the
    /// next wave, at the first wave after the latest in which it is admitted, the departures of
    /// earlier waves gone and those of later ones still there (never a wave in which a server
    /// leaves the host: its departure would be in flight beside the arrivals). Judged by the
    /// rule the packing was judged by (`SequencedArrivals.join`, the search alone under time),
    /// one host at a time (`PlanReplay.settleApart`). Each arrival is admitted at the latest
    /// once every departure is gone, as the packing judged it, but its host's waves may group
    /// arrivals otherwise: nil when one is not admitted then, or past `compactUntil`. A server
    /// that would leave a host in use after all of the host's arrivals stays home: they were
    /// admitted beside it, and its target only gains room (the packing moves every server of a
    /// kept host that it does not leave home, and its arrivals were judged with all of them
    /// gone).
    func sequencedWaves(_ pass: Pass, sub: SubProblem, options: PlanOptions, compactUntil: Double?)
        -> (decisions: [[Decision]], waves: [Move])?
    {
        let n = sub.hosts.count
        var departures = [[(s: Int, c: Int, i: Int, target: Int)]](repeating: [], count: n)  // per host; target -1: the pool
        var stays = sub.fixed.map { $0.serverCount > 0 }  // per host, whether a server stays on it
        for m in movers(of: sub) where m.origin.host >= 0 {
            switch pass.decisions[m.c][m.i] {
            case .stay: stays[m.origin.host] = true
            case .pool: departures[m.origin.host].append((m.s, m.c, m.i, -1))
            case .host(let l, _):
                guard l != m.origin.host else { return nil }
                departures[m.origin.host].append((m.s, m.c, m.i, l))
            }
        }
        var decisions = pass.decisions
        var waiting = departures.map { $0.filter { $0.target >= 0 }.count }
        var senders = [[Int]](repeating: [], count: n)  // per target, the hosts that send to it (once per move)
        for (h, out) in departures.enumerated() { for d in out where d.target >= 0 { senders[d.target].append(h) } }
        var wave: [Int: Int] = [:]  // inventory server index -> wave
        for out in departures { for d in out where d.target < 0 { wave[d.s] = 1 } }
        var replay = heuristicReplay(options)
        var ready = (0..<n).filter { waiting[$0] == 0 }
        var done = 0
        while let l = ready.popLast() {
            done += 1
            let leaving = departures[l].map { (s: $0.s, c: $0.c, i: $0.i, wave: wave[$0.s]!) }.sorted { $0.wave < $1.wave }
            if let compactUntil {
                // Compacted: each arrival in the first wave that admits it (see above).
                if monotonicSeconds() > compactUntil { return nil }
                let h = sub.hosts[l]
                let leavingWaves = Set(leaving.map(\.wave))
                var gone = 0  // departures lifted so far, in wave order
                var t = 0
                /// To wave `to` or the first after it in which nothing leaves, the departures before it gone.
                func advance(to: Int) {
                    t = to
                    while leavingWaves.contains(t) { t += 1 }
                    while gone < leaving.count, leaving[gone].wave < t {
                        replay.lift(server: leaving[gone].s)
                        gone += 1
                    }
                }
                advance(to: 1)
                var open: [Int] = []
                for a in pass.arrivals[l] {
                    let resources = sub.classes[a.c].flavor.resources
                    func admitted() -> Bool {
                        replay.state.usage[h].freeTotal.covers(resources) && replay.quickJudge(server: a.s, to: h, nodes: nil).refusal == nil
                    }
                    if !open.isEmpty, admitted() {
                        open.append(a.s)
                    } else {
                        if !open.isEmpty {
                            replay.settleApart(open, on: h)
                            open = []
                            advance(to: t + 1)
                        }
                        while !admitted() {
                            guard gone < leaving.count else { return nil }
                            advance(to: max(t, leaving[gone].wave) + 1)
                        }
                        open = [a.s]
                    }
                    replay.start(server: a.s, to: h, nodes: nil)
                    wave[a.s] = t
                }
                replay.settleApart(open, on: h)
                if stays[l] || !pass.arrivals[l].isEmpty {
                    for d in leaving[gone...] {
                        decisions[d.c][d.i] = .stay
                        wave[d.s] = nil
                    }
                }
            } else {
                let first = (leaving.last?.wave ?? 0) + 1
                for a in pass.arrivals[l] { wave[a.s] = first + pass.hostWave[a.c][a.i] - 1 }
            }
            for from in senders[l] {
                waiting[from] -= 1
                if waiting[from] == 0 { ready.append(from) }
            }
        }
        guard done == n else { return nil }
        var numbered = moves(of: decisions, in: sub)
        for k in numbered.indices {
            guard let w = inventory.serverIndex[numbered[k].serverID].flatMap({ wave[$0] }) else { return nil }
            numbered[k].wave = w
        }
        return (decisions, Self.numberedInOrder(numbered))
    }

    /// `moves` with their waves numbered 1, 2, ... without gaps, in wave order.
    static func numberedInOrder(_ moves: [Move]) -> [Move] {
        renumbered(moves).sorted { ($0.wave, $0.serverID) < ($1.wave, $1.serverID) }
    }

    /// `moves` with their waves numbered 1, 2, ... without gaps, in the order given.
    static func renumbered(_ moves: [Move]) -> [Move] {
        let numbers = Dictionary(uniqueKeysWithValues: Set(moves.map(\.wave)).sorted().enumerated().map { ($1, $0 + 1) })
        return moves.map { m in
            var m = m
            m.wave = numbers[m.wave]!
            return m
        }
    }
}
