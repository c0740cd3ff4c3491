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
    /// Made safe after a wished-node packing instead (`anySafe`), foreign fleet 30 (800 hosts,
    /// every layout known) kept 229-251 hosts of its 206; packed here, 222-224, ordered without
    /// a host more.
    func sequencedFirstFit(
        _ packing: [[Decision]], sub: SubProblem, options: PlanOptions, order: [Int], typeAccepts: [[Bool]], deadline: Double,
        fewerMovesUntil: Double? = nil
    ) -> [[Decision]]? {
        guard options.placement == .any else { return nil }
        let all = movers(of: sub)
        var kept = Self.keptHosts(packing, sub: sub, movers: all)
        var moversOn = [[Int]](repeating: [], count: sub.hosts.count)  // per host, its movers (indices into `all`)
        for (k, m) in all.enumerated() where m.origin.host >= 0 { moversOn[m.origin.host].append(k) }
        let sends = moversOn.map { !$0.isEmpty }
        var staying = Set<Int>()
        func pass(_ staying: Set<Int>, kept: Set<Int>, until: Double) -> (decisions: [[Decision]], stuck: [(s: Int, home: Int)])? {
            sequencedFirstFitPass(packing, kept: kept, staying: staying, movers: all, sends: sends, sub: sub, options: options, order: order,
                                  typeAccepts: typeAccepts, deadline: until)
        }
        while true {
            let passStarted = monotonicSeconds()
            guard let (decisions, stuck) = pass(staying, kept: kept, until: deadline) else { return nil }
            if stuck.isEmpty {
                // Fewer moves at no more hosts: each kept host's leaving servers kept home, one
                // host at a time in `order`, where the packing then still places everything and
                // keeps no more hosts (a pass each). The packing moves every server its packing
                // does not leave home: without this, foreign fleet 18 (every layout unknown) kept
                // 29 hosts with 88 moves, with it 22. Until `fewerMovesUntil` (the other
                // packings' deadline) less four passes' time, and a pass started only where one
                // as long as the last can end: the packing still has to be ordered (on foreign
                // fleet 26 at 1 s, 0.16 s for a pass of 0.04 s), and run until the deadline the
                // loop left it no time there (342 hosts instead of 310).
                let passSeconds = monotonicSeconds() - passStarted
                let until = min(fewerMovesUntil ?? deadline, deadline) - 4 * passSeconds
                var best = decisions
                var bestLevels = sub.levels(best, objective: options.effectiveObjective, inventory: inventory)
                for k in order where kept.contains(k) {
                    if monotonicSeconds() + passSeconds > until { break }
                    let leaving = moversOn[k].map { all[$0] }.filter { m in !staying.contains(m.s) && best[m.c][m.i] != .stay }.map(\.s)
                    guard !leaving.isEmpty else { continue }
                    let trial = staying.union(leaving)
                    guard let (other, left) = pass(trial, kept: kept, until: until), left.isEmpty else { continue }
                    let levels = sub.levels(other, objective: options.effectiveObjective, inventory: inventory)
                    if levels < bestLevels { (best, bestLevels, staying) = (other, levels, trial) }
                }
                return best
            }
            // As many hosts as the servers left without a place would fill on their own hosts
            // (by the resource they take more of), one at least.
            var volume = 0.0
            for (s, home) in stuck where home >= 0 {
                let r = inventory.flavors[inventory.servers[s].flavor]!.resources, c = sub.fixed[home].capacity.total
                volume += max(Double(r.vcpus) / Double(max(1, c.vcpus)), Double(r.memoryMiB) / Double(max(1, c.memoryMiB)))
            }
            var room = max(1, Int(volume.rounded(.up)))
            for (s, home) in stuck {
                guard home >= 0 else { return nil }  // from no host: nothing to keep
                if kept.contains(home) {
                    staying.insert(s)
                } else if room > 0, kept.insert(home).inserted {
                    room -= 1
                }
            }
        }
    }

    /// One packing of `sequencedFirstFit` with `kept` and `staying` as they stand: the decisions,
    /// and the servers that found no place with their hosts (local, -1 for none). Nil past
    /// `deadline`.
    private func sequencedFirstFitPass(
        _ packing: [[Decision]], kept: Set<Int>, staying: Set<Int>, movers all: [(s: Int, c: Int, i: Int, origin: Origin)],
        sends: [Bool], sub: SubProblem, options: PlanOptions, order: [Int], typeAccepts: [[Bool]], deadline: Double
    ) -> (decisions: [[Decision]], stuck: [(s: Int, home: Int)])? {
        // Arrivals the search over arrangements cannot judge within its budget are refused, not
        // solved: the packing tries many hosts per arrival, and where it keeps a host's servers
        // home for fewer moves that host may hold scores of servers of unknown layout (foreign
        // fleet 26 at 1 s: 88 on 4 nodes, one arrival's integer programs 0.135 s).
        var replay = PlanReplay(inventory, options: options.heuristicCheckerOptions(timed: true), checker: checker)
        // The nodes each arrival is wished on, kept consistent host by host: the cloud picks its
        // own, but the plan prints these, and later steps read the packing's nodes.
        var wishes = checker.state
        var decisions = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
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
        leaving.sort { a, b in SequencedArrivals.comesFirst(sub.classes[a.c].flavor, sub.classes[b.c].flavor) ?? (a.s < b.s) }
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
        return (decisions, stuck)
    }
}
