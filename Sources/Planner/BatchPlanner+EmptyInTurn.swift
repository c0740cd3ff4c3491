// SPDX-License-Identifier: GPL-3.0-or-later

// Where the cloud picks the nodes (`any`), the local search of `emptiedByLocalSearch` does not
// apply: it judges each server on nodes it wishes. This search empties hosts of the cycle-free
// packing with every arrival judged as the plan will run it (`SequencedArrivals`), as the
// cycle-free packing's own arrivals are.

import GLPK
import Topology

extension BatchPlanner {
    /// First-fit decreasing's cycle-free packing (`free`, made by `emptyOnto` with its arrivals
    /// in sequence) with more hosts emptied. The least filled host in use whose servers may all
    /// move gives them (its own and its arrivals), largest first, to the other hosts in use,
    /// first fit in first-fit decreasing's order, each arrival judged after the host's earlier
    /// ones by `SequencedArrivals.place` (whatever nodes the cloud picks); the host is emptied
    /// only when all of them find a place, and then the whole plan is replayed in its order of
    /// placement, which must admit every arrival again. Each host is tried once; it stops at
    /// `deadline`, when no host is left to try, or after `patience` tries in a row that emptied
    /// nothing.
    ///
    /// Only under `any`, where every layout of the sub-problem is known (where the cycle-free
    /// packing is made in sequence). Elsewhere `emptiedByLocalSearch` does this on wished nodes.
    /// The packing stays cycle-free: hosts that send receive nothing new. Nil where nothing was
    /// emptied or the packing's arrivals do not replay.
    func cycleFreeEmptiedInTurn(
        _ free: (decisions: [[Decision]], waves: [Move]?), sub: SubProblem, options: PlanOptions, deadline: Double,
        patience: Int = 60
    ) -> (decisions: [[Decision]], waves: [Move], emptied: Int)? {
        guard options.placement == .any, options.mode == .consolidate, options.effectiveObjective == .minHostsUsed,
            options.maxMoves == nil, !sub.mustMove, free.waves != nil, options.maxParallel == nil, options.maxPerHostParallel == nil
        else { return nil }
        let all = movers(of: sub)
        guard all.allSatisfy({ $0.origin.host >= 0 }) else { return nil }
        let largest = Self.largestCapacity(sub)
        let (order, _) = firstFitOrder(sub, largest: largest, homeFirst: true)
        let typeAccepts = typeAccepts(sub, index: checker.index)
        let size = all.map { Self.size(sub.classes[$0.c].flavor.resources, largest: largest) }
        /// `emptyOnto`'s order of placement, of mover indices.
        func before(_ a: Int, _ b: Int) -> Bool { leavesFirst((all[a].s, all[a].c), (all[b].s, all[b].c), sub: sub) }
        let base = SequencedArrivals(heuristicReplay(options))
        /// The arrivals placed in `events`' order (mover, local target), or nil where one is refused.
        func replayed(_ events: [(k: Int, to: Int)]) -> SequencedArrivals? {
            var live = base
            for e in events {
                guard monotonicSeconds() < deadline, live.place(all[e.k].s, on: sub.hosts[e.to]).placed else { return nil }
            }
            return live
        }
        var target = all.map { m -> Int in  // each mover's local host at the end (its own where it stays)
            if case .host(let h, _) = free.decisions[m.c][m.i] { return h }
            return m.origin.host
        }
        var events = all.indices.filter { target[$0] != all[$0].origin.host }.sorted(by: before).map { (k: $0, to: target[$0]) }
        guard var live = replayed(events) else { return nil }
        var decisions = free.decisions
        /// Which hosts send, and how many arrivals each takes, in `events`.
        func tally(_ events: [(k: Int, to: Int)]) -> (sends: [Bool], arrivals: [Int]) {
            var sends = [Bool](repeating: false, count: sub.hosts.count)
            var arrivals = [Int](repeating: 0, count: sub.hosts.count)
            for e in events {
                sends[all[e.k].origin.host] = true
                arrivals[e.to] += 1
            }
            return (sends, arrivals)
        }
        var (sends, arrivals) = tally(events)
        var tried = Set<Int>()
        var idle = 0
        var emptied = 0
        while idle < patience, monotonicSeconds() < deadline {
            var load = [Double](repeating: 0, count: sub.hosts.count)
            var inUse = [Bool](repeating: false, count: sub.hosts.count)
            for h in sub.hosts.indices where sub.fixed[h].serverCount > 0 { inUse[h] = true }
            for k in all.indices {
                load[target[k]] += size[k]
                inUse[target[k]] = true
            }
            guard let x = sub.hosts.indices.filter({ inUse[$0] && sub.fixed[$0].serverCount == 0 && !tried.contains($0) })
                .min(by: { (load[$0], $0) < (load[$1], $1) })
            else { break }
            tried.insert(x)
            idle += 1
            // Hosts that receive: in use, not sending (so no cycle), not x.
            let targets = order.filter { $0 != x && inUse[$0] && !sends[$0] && sub.receives[$0] }
            var trial = live
            var added: [(k: Int, to: Int)] = []
            var trialArrivals = arrivals
            var placedAll = true
            for k in all.indices.filter({ target[$0] == x }).sorted(by: before) {
                let flavor = sub.classes[all[k].c].flavor
                var found: Int?
                for t in targets where typeAccepts[all[k].c][t] && t != all[k].origin.host {
                    if let cap = options.maxPerHost, trialArrivals[t] >= cap { continue }
                    guard trial.replay.state.usage[sub.hosts[t]].freeTotal.covers(flavor.resources) else { continue }
                    if trial.place(all[k].s, on: sub.hosts[t]).placed {
                        found = t
                        break
                    }
                }
                guard let t = found, monotonicSeconds() < deadline else {
                    placedAll = false
                    break
                }
                added.append((k, t))
                trialArrivals[t] += 1
            }
            guard placedAll else { continue }
            // Replayed whole without x's arrivals: the plan as it will be ordered and checked.
            let next = events.filter { $0.to != x } + added
            guard let replay = replayed(next) else { continue }
            live = replay
            events = next
            for (k, t) in added { target[k] = t }
            (sends, arrivals) = tally(next)
            emptied += 1
            idle = 0
        }
        guard emptied > 0 else { return nil }
        for (k, m) in all.enumerated() {
            let t = target[k]
            guard t != m.origin.host else {
                decisions[m.c][m.i] = .stay
                continue
            }
            if case .host(let h, _) = free.decisions[m.c][m.i], h == t { continue }  // as packed
            decisions[m.c][m.i] = .host(t, wishedNodes(sub.classes[m.c].flavor, on: t, sub: sub))
        }
        return (decisions, live.numbered(moves(of: decisions, in: sub), inventory: inventory), emptied)
    }

    /// The local hosts `decisions` keeps in use: those with servers that cannot move, movers'
    /// own hosts where they stay, and their targets.
    static func keptHosts(_ decisions: [[Decision]], sub: SubProblem, movers: [(s: Int, c: Int, i: Int, origin: Origin)]) -> Set<Int> {
        var kept = Set<Int>()
        for h in sub.hosts.indices where sub.fixed[h].serverCount > 0 { kept.insert(h) }
        for m in movers {
            switch decisions[m.c][m.i] {
            case .stay: kept.insert(m.origin.host)
            case .host(let h, _): kept.insert(h)
            case .pool: break
            }
        }
        return kept
    }
}
