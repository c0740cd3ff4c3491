// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

extension BatchPlanner {
    /// The best of the greedy plan and first-fit decreasing (repacked, and cycle-free): the
    /// plan in hand before any model is built. A repacked plan is judged as it will be carried
    /// out: its moves are put in waves first (`orderWaves`), which re-routes moves that depend
    /// on each other in a cycle, and the plan that comes out of that is compared. Waves never
    /// make a plan better, so only a plan that beats the one in hand before them is ordered
    /// (at 10,000 hosts ordering costs seconds); the cycle-free plan, whose targets only
    /// receive, like the greedy plan's, needs no re-routing and is compared as it stands.
    ///
    /// Ordering stops at `deadline` (`monotonicSeconds()`); a repacked plan not ordered by then is
    /// not used (measured: 17 s of a 20 s limit at 10,000 hosts, before this bound). A packing
    /// that meets the volume bound may be ordered until `atBound` while its ordering keeps no
    /// host the packing empties: ordered so, it is optimal. The packing judged in sequence,
    /// tried first, until `orderedBy` (nil: to the end), and packed in its first order until
    /// then too (`sequencedFirstFit`).
    func heuristicPlan(
        _ sub: SubProblem, options: PlanOptions, deadline: Double? = nil, lastResort: Double? = nil, greedyDeadline: Double? = nil,
        atBound: Double? = nil, orderedBy: Double? = nil
    ) -> (decisions: [[Decision]], source: String, waves: [Move]?)
    {
        let objective = options.effectiveObjective
        let began = monotonicSeconds()
        var triedOrdering = false
        var best: (decisions: [[Decision]], source: String, waves: [Move]?)?
        var bestLevels = Levels(unplaced: Int.max)
        // The packing judged in sequence may run until 60 % of the way from `deadline` to
        // `lastResort`: on foreign fleet 26 at 3 s (800 hosts, two zones) it needs 0.3 s in the
        // first zone and had 0.25 s (336 hosts; with the extension, 285). With 30 %, once each
        // zone was held to its part of the time, fleet 26 at 1 s kept 310 hosts in a sweep and
        // in one of four timed runs (the first zone's packing, 0.16-0.2 s, cut off); with 60 %,
        // 285 in each.
        let sequencedUntil = deadline.map { d in lastResort.map { d + max(0, $0 - d) * 0.6 } ?? d }
        // Its first order may run until `orderedBy`, where the caller gives that and it is
        // later: cut off, the packing is lost, and the plan in hand then is a cycle-free packing
        // whose ordering takes as long. Foreign fleet 796 (seed 777, 800 hosts in two zones,
        // 30 % of layouts unknown) at 1 s: the first zone's packing needs 0.2-0.3 s and was cut
        // at 0.265 s in three runs of four; its cycle-free packing (215 hosts) was then ordered
        // in 0.58 s to 230 hosts, and the plan kept 480 hosts in 1.08 s, where it keeps 351.
        // While no pass of it is complete, until that ordering's own cut (`orderedBy` and half the
        // time since this began): on a busy machine the first pass outlasted `orderedBy`.
        var plans = firstFitDecreasingPlans(sub, options: options, deadline: deadline, sequencedUntil: sequencedUntil,
                                            firstOrderUntil: orderedBy, firstPassUntil: orderedBy.map { $0 + ($0 - began) * 0.5 },
                                            wavesUntil: lastResort)
        let volumeFloor = sub.volumeFloor(objective: objective)
        // Under `any`, one that comes in waves first: the others are ordered to the end.
        if let free = plans.firstIndex(where: { $0.cycleFree && (options.placement != .any || $0.waves != nil) })
            ?? plans.firstIndex(where: \.cycleFree)
        {
            // Where the cloud picks the nodes, the cycle-free plan is ordered first: the repacked
            // ones chain their moves in cycles, and breaking those can spend the whole share
            // (tiled 2,000 under `any`: none of them was ordered within 6 s of a 10 s limit).
            // Under `planned` it needs no ordering, and a repacked packing no better than it
            // is then not ordered at all.
            plans.insert(plans.remove(at: free), at: 0)
        }
        if let judged = plans.firstIndex(where: \.judgedInSequence),
            plans[judged].waves != nil || !plans.contains(where: { !$0.judgedInSequence && $0.levels.meets(volumeFloor: volumeFloor) })
        {
            // Then the packing judged in sequence (`sequencedFirstFit`): made safe it loses
            // nothing, where the wished-node packings lose hosts and time. Tried after them, on
            // foreign fleet 19 at 3 s, it found the time spent (415 hosts where it keeps 362).
            // Right after the cycle-free plan even where that one packs fewer hosts: the loop
            // skips it unless it beats the cycle-free plan as ordered, and under `any` ordering
            // that plan can cost hosts (fleet 30 at 3 s: packed 214, ordered 232; this packing,
            // 223, then came after the wished-node packings and found their `anySafe` had spent
            // the time: 227). Not where a packing meets the volume bound: made safe it may keep
            // it, with fewer moves (foreign fleet 25, 600 hosts: 593 moves, where this packing
            // made 880). Before the cycle-free plan where it packs fewer hosts than that plan
            // packs: ordering cannot make that plan better, and on foreign fleet 26 at 1 s
            // ordering it first (0.14 s) left this packing (144 hosts where it kept 176) no time.
            // First, whatever the others meet, where it comes in its own waves
            // (`sequencedFirstFit`): it needs no time to be ordered then. On generated fleet 9008
            // (4,000 hosts, two zones) at 1 s it came after the cycle-free plan and two packings
            // at the volume bound, which were given up when made safe; then, first, the time
            // to order it was spent (2,251 hosts; in its own waves, first, 2,174, the bound).
            let ahead = plans[judged].waves == nil && (plans.first.map { $0.cycleFree && !(plans[judged].levels < $0.levels) } ?? false)
            plans.insert(plans.remove(at: judged), at: ahead ? 1 : 0)
        }
        // Under `any`, the first wished-node packing (not cycle-free, not judged in sequence) is
        // also made safe with its hosts' arrivals judged in sequence (`anySafe`): a last
        // candidate, ordered with the time left. Since the packing judged in sequence moved
        // ahead of the wished-node packings, "the first not cycle-free" was that packing itself,
        // tried twice, and this candidate was lost: on foreign fleet 26 at 30 s, zone 1, it keeps
        // 154 hosts where the best before it kept 157.
        var candidates = plans.map { (plan: $0, sequenced: $0.judgedInSequence) }
        if options.placement == .any, let first = plans.first(where: { !$0.cycleFree && $0.waves == nil && !$0.judgedInSequence }) {
            candidates.append((first, true))
        }
        for (k, (plan, sequencedArrivals)) in candidates.enumerated() {
            guard plan.levels < bestLevels else { continue }
            // The best packing gets until `lastResort` to be ordered: it is the plan in hand that
            // the models must beat (ordering 3,590 moves on 1,000 hosts takes 14 ms, but the
            // packings before it can leave the half limit spent).
            let until = triedOrdering ? deadline : lastResort ?? deadline
            // The cycle-free plan needs no re-routing when the cloud takes the planned nodes. Where
            // it picks them, arrivals the plan stacked on one host may wait for each other for
            // ever and be re-routed (tiled 2,000 under `any`: 825 re-routings, 4.5 s, 2,463 hosts
            // where the plan counted fewer): it is ordered like the others, but to the end. It is
            // the plan kept when nothing else is ordered in time, and would then be ordered after
            // the models anyway: cut off at `lastResort` it was ordered twice, and tiled 2,000
            // at 10 s ended at 10.2-11.6 s in three runs of eight.
            let trusted = plan.cycleFree && options.placement == .planned
            // A packing that comes in waves needs no ordering, and the cycle-free one is ordered
            // to the end anyway: the next one gets `lastResort`.
            if !trusted && plan.waves == nil && !plan.cycleFree { triedOrdering = true }
            var executable = plan.decisions
            var (packing, packingLevels) = (plan.decisions, plan.levels)  // what is ordered, and its levels
            var waves: [Move]?
            var source = plan.source
            if let made = plan.waves {
                // Under `any`, the cycle-free packing comes in waves already (`emptyOnto`); they
                // are replayed with the plan (`finalWaves`), and ordered anew only if that fails.
                waves = made
            } else if !trusted {
                // Under `any`, made safe whatever nodes the cloud picks first, as the pattern
                // model's plans are (`anySafe`): ordered as they stand, arrivals the packing
                // wished onto nodes of hosts with servers of unknown layout were re-routed one
                // cycle at a time and the live mixed 1,000-host fleet (357 hosts packed) was
                // not ordered within 3 s; made safe, it keeps 386 hosts, ordered in 0.25 s.
                // Not the packing judged in sequence: `anySafe(sequenced: true)` admits all of it
                // (`SequencedFirstFitTests`), and on foreign fleet 26 at 1 s judging it again cost
                // the time to order it.
                if options.placement == .any && !plan.cycleFree && !plan.judgedInSequence {
                    guard let safe = anySafe(plan.decisions, sub: sub, options: options, deadline: until ?? .infinity, giveUpEarly: true,
                                             sequenced: sequencedArrivals)
                    else { continue }
                    if sequencedArrivals { source += " (arrivals judged in sequence)" }
                    (packing, packingLevels) = (safe, sub.levels(safe, objective: objective, inventory: inventory))
                    guard packingLevels < bestLevels else { continue }
                }
                // At the volume bound, until `atBound` while no host is kept that the packing
                // empties (generated fleet 9030, 2,000 hosts at 1 s: its first packing lost two
                // hosts to re-routing in 0.2 s, and the second, ordered in 0.15 s to the bound,
                // 1,354 hosts, had no time left: 1,356 or 1,368). Not beyond: on fleet 9015, half
                // the layouts unknown, a packing of 127 hosts ordered to 161 in 0.42 s, past the
                // cycle-free plan's 151, and left the models no time (303 hosts where they make 277).
                let extended = packingLevels.meets(volumeFloor: volumeFloor) ? atBound : nil
                // The packing judged in sequence, tried first, is ordered to the end as the
                // cycle-free plan is: it has no cycle to break (`SequencedFirstFitTests`), and it
                // is then the plan in hand instead of that one, whose ordering the time went to
                // (foreign fleet 26 at 1 s with the sub-problems held to their part of the time:
                // it was cut off in both zones after 0.06-0.08 s, and the cycle-free plans,
                // ordered in 0.07 and 0.15 s, kept 342 hosts where it keeps 285). Until
                // `orderedBy` where the caller gives one, else against a deadline that never
                // comes (so that an arrival the search cannot judge waits for a later wave
                // instead of the integer programs). Given up at `orderedBy`, the cycle-free plan
                // is ordered instead. Only under caps on the moves of a wave: elsewhere it comes
                // in its own waves.
                // A cycle-free packing is ordered to the end only where no plan is in hand yet:
                // else until `until`, like the others. Foreign fleet 796 (seed 777) at 1 s, the
                // packing judged in sequence cut off in the first zone: the cycle-free packing of
                // the local search (215 hosts) was ordered in 0.58 s to 230, past the zone's end,
                // after the one that comes in waves (224) was in hand. Ordered to the end against
                // `.infinity`, not without a deadline: an arrival the search cannot judge then
                // waits instead of the verdict's integer programs. On foreign fleet 806 (seed 777,
                // 40 hosts, some of 8 nodes) at 1 s those took 1.8 s past the limit, and the plan
                // kept 24 hosts either way.
                let ordering = best != nil ? until : plan.cycleFree ? .infinity : plan.judgedInSequence ? orderedBy ?? .infinity : until
                // Ordered to the end, but not past the sub-problem's hard stop (`orderedBy`, else
                // `lastResort`), or half the time since this began where that is later: there it
                // stops, its moves not yet in a wave dropped (the servers stay). Large foreign
                // fleet 796 (8,000 hosts in two zones, 30 % of layouts unknown) under `any` at
                // 1 s: the packing judged in sequence had no time in either zone, and ordering the
                // cycle-free packing re-routed arrivals for 5.3 and 0.9 s: the plan took 9.8 s.
                // The half: on foreign fleet 806 (40 hosts of up to 8 nodes) at 1 s this ordering
                // starts at the hard stop, where the packing judged in sequence was cut off, and
                // takes 0.13 s (24 hosts; stopped at once, 40); on the 8,000-host fleet at 2 s, a
                // quarter kept 7,016 hosts in 1.92 s, a half 6,467 in 1.89 s, the whole 5,700 in
                // 2.24 s. Past it, the waves that need no cycle broken are still made (`orderWaves`).
                let truncateAt = best == nil && plan.cycleFree
                    ? (orderedBy ?? lastResort).map { max($0, monotonicSeconds() + ($0 - began) * 0.5) } : nil
                guard let done = orderedWaves(packing, sub: sub, options: options, deadline: ordering, extended: extended,
                                              truncateAt: truncateAt)
                else { continue }
                (executable, waves) = (done.decisions, done.waves)
                if let note = done.note { source += "; \(note)" }
            }
            let levels = executable == packing ? packingLevels : sub.levels(executable, objective: objective, inventory: inventory)
            if levels < bestLevels {
                best = (executable, source, waves)
                bestLevels = levels
                // At the volume bound nothing keeps fewer hosts: the greedy plan and the
                // packings after it are not tried, unless one of those makes fewer moves as
                // packed. Returning on the first plan at the bound, generated fleet 9032 (4,000
                // hosts, `planned`, 10 s) kept a repacked plan of 11,332 moves where the
                // cycle-free one, at the same bound and needing no ordering, makes 5,473.
                // Not for the packing judged in sequence: the others' moves counted here include
                // those the final plan drops where servers fit at home, and its own do not
                // (foreign fleet 25, 600 hosts: 1,094 moves here, 593 in the plan; its 880 won).
                if levels.meets(volumeFloor: volumeFloor)
                    && !candidates[(k + 1)...].contains(where: { $0.plan.levels < levels && !$0.plan.judgedInSequence })
                {
                    return (executable, source, waves)
                }
            }
        }
        // The greedy plan last: where first-fit decreasing gave a plan, only until
        // `greedyDeadline` (it scans every host for every server: 1.1 s of a 1 s limit at
        // 2,000 hosts, and it rarely beats first-fit decreasing on consolidations).
        // Not at all once that deadline has passed: its preparation alone (a checker and a
        // context per server) took 0.26 s at 8,000 hosts.
        let cutoff = best == nil ? nil : greedyDeadline ?? deadline
        if let best, let cutoff, monotonicSeconds() >= cutoff { return best }
        let greedy = greedyPlan(sub, options: options, deadline: cutoff)
        if best == nil || sub.levels(greedy.decisions, objective: objective, inventory: inventory) < bestLevels {
            best = (greedy.decisions, "greedy", greedy.waves)
        }
        return best!
    }

    /// `decisions` as `orderWaves` leaves them (re-routed moves go where it sent them, dropped
    /// ones stay, servers of relocated hosts go with their host's content), with the waves it
    /// made, whose moves are those of the decisions returned, and what relocation added (a note,
    /// nil when nothing). Nil when the deadline passes, or a move was re-routed out of the
    /// sub-problem.
    func orderedWaves(
        _ decisions: [[Decision]], sub: SubProblem, options: PlanOptions, deadline: Double? = nil, extended: Double? = nil,
        truncateAt: Double? = nil
    ) -> (decisions: [[Decision]], waves: [Move], note: String?)? {
        guard var waves = orderWaves(moves(of: decisions, in: sub), options: options, deadline: deadline, extended: extended,
                                     truncateAt: truncateAt)
        else { return nil }
        if waves.truncated > 0 { waves = withoutIdleMoves(waves, options: options) }
        let note = waves.orderingNote
        guard waves.rerouted > 0 || !waves.dropped.isEmpty || waves.relocatedHosts > 0 else { return (decisions, waves.moves, note) }
        var target: [String: Move] = [:]
        for m in waves.moves { target[m.serverID] = m }
        var out = decisions
        var consistent = true
        for (c, cls) in sub.classes.enumerated() {
            for (i, s) in cls.servers.enumerated() {
                if let m = target[inventory.servers[s].id] {
                    if let to = m.to {
                        if let h = inventory.hostIndex[to], let local = sub.local[h] {
                            out[c][i] = .host(local, m.numaNodes ?? [])
                        } else {
                            consistent = false  // re-routed out of the sub-problem
                        }
                    } else {
                        out[c][i] = .pool
                    }
                } else if decisions[c][i] != .stay {
                    out[c][i] = .stay  // dropped
                }
            }
        }
        // Every move must be one of the sub-problem's movers.
        if consistent && waves.relocatedHosts > 0 {
            let movers = Set(sub.classes.flatMap { $0.servers.map { inventory.servers[$0].id } })
            consistent = waves.moves.allSatisfy { movers.contains($0.serverID) }
        }
        return consistent ? (out, waves.moves, note) : nil
    }

    /// `waves`, stopped at `truncateAt`, without the moves off hosts that its dropped moves keep
    /// in use: they empty no host. Large foreign fleet 796 (8,000 hosts) at 1 s: 2,000 moves of a
    /// stopped ordering emptied one host of 4,000. Kept only where the independent validator
    /// accepts the waves without them (a move re-routed onto such a host may need its room).
    func withoutIdleMoves(_ waves: Waves, options: PlanOptions) -> Waves {
        let stillUsed = Set(waves.dropped.compactMap { inventory.serverIndex[$0].flatMap { inventory.servers[$0].dedicatedHostID } })
        func offHostStillUsed(_ m: Move) -> Bool { m.from.map(stillUsed.contains) ?? false }
        let (kept, idle) = (waves.moves.filter { !offHostStillUsed($0) }, waves.moves.filter(offHostStillUsed))
        guard !idle.isEmpty else { return waves }
        let renumbered = Self.numberedInOrder(kept)
        guard PlanValidator.violations(of: renumbered, on: inventory, options: options.checkerOptions, checker: checker).isEmpty else { return waves }
        var out = waves
        out.moves = renumbered
        out.dropped += idle.map(\.serverID)
        out.truncated += idle.count
        return out
    }

    /// The moves `decisions` make (to hosts and to the pool), wave 1.
    func moves(of decisions: [[Decision]], in sub: SubProblem) -> [Move] {
        var moves: [Move] = []
        for (c, cls) in sub.classes.enumerated() {
            for (i, s) in cls.servers.enumerated() {
                let server = inventory.servers[s]
                switch decisions[c][i] {
                case .stay: continue
                case .pool: moves.append(Move(serverID: server.id, from: server.dedicatedHostID, to: nil, numaNodes: nil))
                case .host(let h, let nodes):
                    moves.append(Move(serverID: server.id, from: server.dedicatedHostID, to: inventory.hosts[sub.hosts[h]].id, numaNodes: nodes))
                }
            }
        }
        return moves
    }

    /// A packing of `firstFitDecreasingPlans`: its decisions, where it comes from (the plan's
    /// notes), whether its targets only receive (`cycleFree`), its levels, its waves where it
    /// comes with them, and whether every arrival was judged in sequence as it stands
    /// (`sequencedFirstFit`: made safe by `anySafe(sequenced: true)`, which admits all of it).
    struct Packing {
        var decisions: [[Decision]]
        var source: String
        var cycleFree: Bool
        var levels: Levels
        var waves: [Move]?
        var judgedInSequence = false
    }

    /// First-fit decreasing plans for a consolidation: the repacked one and, when it differs,
    /// the cycle-free one on a superset of its hosts; then, unless `deadline` has passed, the
    /// same packings with fewer moves and the packing that does not favour servers' own hosts.
    /// Those are the same number of hosts or close, and cost time a short limit cannot spare:
    /// on tiled 2,000 (8,000 hosts) 0.53 s of a 1 s limit. Then, by the same deadline, the
    /// packings the local search empties more hosts of (`emptiedByLocalSearch`). Under `any`
    /// (and under `planned` where some layout is unknown and the best packing so far has
    /// cycles), last, the packing judged in sequence (`sequencedFirstFit`), until
    /// `sequencedUntil` (by default `deadline`) or, its first order, `firstOrderUntil` where that
    /// is later (its passes while none is complete, `firstPassUntil`), its waves made as few as
    /// they can be by `wavesUntil`.
    func firstFitDecreasingPlans(
        _ sub: SubProblem, options: PlanOptions, deadline: Double? = nil, sequencedUntil: Double? = nil, firstOrderUntil: Double? = nil,
        firstPassUntil: Double? = nil, wavesUntil: Double? = nil
    )
        -> [Packing]
    {
        let began = monotonicSeconds()
        guard let repacked = firstFitDecreasing(sub, options: options) else { return [] }
        // What the first packing took (the cycle-free one included) is more than each further
        // step takes: on tiled 2,000 (8,000 hosts) 0.16-0.19 s, against 0.09-0.10 s for the
        // packing that does not favour home and 0.10-0.12 s for each packing with servers kept
        // home. A step starts only while that much is left before `deadline`: started whenever
        // the deadline had not passed, they ran 0.15 s past it there.
        var step = monotonicSeconds() - began
        let objective = options.effectiveObjective
        func candidate(_ d: [[Decision]], _ source: String, cycleFree: Bool, waves: [Move]? = nil, judgedInSequence: Bool = false) -> Packing {
            Packing(decisions: d, source: source, cycleFree: cycleFree, levels: sub.levels(d, objective: objective, inventory: inventory),
                    waves: waves, judgedInSequence: judgedInSequence)
        }
        var out = [candidate(repacked.decisions, "first-fit decreasing", cycleFree: false)]
        // The same packing with the most servers left home, and a packing that does not favour
        // servers' own hosts (whose bins the assignment then maps home): on some fleets one,
        // on others the other packs into fewer hosts (1,000 hosts of three types: 271 against
        // 272). Fewest hosts first, then fewest moves, each judged in waves by the caller.
        /// Less than `margin` seconds left before `until` (by default `deadline`).
        func late(_ margin: Double = 0, until: Double? = deadline) -> Bool { until.map { monotonicSeconds() + margin > $0 } ?? false }
        var packings = [repacked.decisions]
        // Under `any`, where the time left for the packing judged in sequence is short, the
        // variants and local searches are skipped: their packings are wished-node ones, which
        // would need the time left to be made safe and ordered (`rushed`).
        let sequencedStart = [sequencedUntil ?? deadline, firstOrderUntil].compactMap { $0 }.max()
        let rushed = Self.rushed(options.placement, step: step, now: monotonicSeconds(), sequencedStart: sequencedStart)
        if !rushed, !late(step), let plain = firstFitDecreasing(sub, options: options, homeFirst: false)?.decisions, plain != repacked.decisions {
            packings.append(plain)
        }
        for packing in packings where !rushed && !late(step) {
            if let home = keepingServersHome(packing, sub: sub, options: options) {
                out.append(candidate(home, "first-fit decreasing", cycleFree: false))
            }
        }
        if packings.count > 1 { out.append(candidate(packings[1], "first-fit decreasing", cycleFree: false)) }
        // At equal hosts, the packing with fewer moves that could wait on each other in a cycle
        // comes first: it is ordered in far less time. On foreign fleet 26
        // (`Benchmarks/foreign_fleets.py`, 800 hosts, everything movable) the two packings of a
        // zone kept 136 hosts each: the one of fewer moves had 1,104 moves between hosts that
        // send and receive and took 0.84 s and 427 deadlocks to order (ending at 138); the
        // other, 715 such moves, was ordered in 0.03 s with none. At 1 s the first was given up
        // and the cycle-free plan's 199 hosts kept. Not under `any`, where a packing is made
        // safe (`anySafe`) before it is ordered, which changes its moves: there the order by
        // moves kept generated fleet 7626 at 44 hosts, where this order made 45.
        let byCycles = options.placement != .any
        func sort() {
            let prone = byCycles ? out.map { cycleProneMoves($0.decisions, sub: sub) } : out.map { _ in 0 }
            out = out.indices.sorted { a, b in
                let (la, lb) = (out[a].levels, out[b].levels)
                guard la.unplaced == lb.unplaced, la.pool == lb.pool, abs(la.primary - lb.primary) <= 1e-9 else { return la < lb }
                // The packing judged in sequence after the others at equal hosts: their moves
                // counted here include those the final plan drops where servers fit at home.
                let (sa, sb) = (out[a].judgedInSequence ? 1 : 0, out[b].judgedInSequence ? 1 : 0)
                return (prone[a], sa, la.moves, a) < (prone[b], sb, lb.moves, b)
            }.map { out[$0] }
        }
        sort()
        // Then more hosts emptied by the local search (`emptiedByLocalSearch`; under `any` in the
        // cycle-free packing only), each search with at most 30 % of the time left: in the
        // cycle-free packing with no move that could close a cycle, so that it is still ordered
        // without re-routing, and in the first packing as sorted, as it comes. On foreign fleet
        // 30 (800 hosts of three types, 1 s, `planned`) the first went from 239 hosts to 218 and
        // the second from 206 to 199, 30 ms each; on tiled 2,000 (8,000 hosts) the cycle-free
        // packing from 2,378 to 2,228 in 0.19 s.
        var searched: [(decisions: [[Decision]], acyclic: Bool)] = repacked.cycleFree.map { [($0.decisions, true)] } ?? []
        if let first = out.first { searched.append((first.decisions, false)) }
        var found = false
        /// A search's deadline: 30 % of the time left.
        func searchShare() -> Double { deadline.map { min($0, monotonicSeconds() + ($0 - monotonicSeconds()) * 0.3) } ?? .infinity }
        for (packing, acyclic) in searched where !rushed && !late() {
            guard let more = emptiedByLocalSearch(packing, sub: sub, options: options, acyclic: acyclic, deadline: searchShare()),
                more.emptied > 0
            else { continue }
            // Its hosts' contents mapped home as first-fit decreasing's are: the search moves
            // servers between hosts without regard to which of two equal hosts ends with what.
            // Searched without cycles, it stays without them (not mapped home, which could
            // close some) and is marked so: like the cycle-free packing it came from, it needs
            // no ordering in time, and it is the plan kept when the packings with cycles are
            // not ordered in time (before, that was the cycle-free packing, with the hosts the
            // search had emptied in use again).
            let searchedPacking = acyclic || late() ? more.decisions
                : keepingServersHome(more.decisions, sub: sub, options: options) ?? more.decisions
            out.append(candidate(searchedPacking, "first-fit decreasing, then \(more.emptied) host(s) emptied by local search",
                                 cycleFree: acyclic))
            found = true
        }
        if found { sort() }
        // Under `any` where every layout is known, the cycle-free packing comes with its arrivals
        // judged in sequence: its hosts are also emptied with every arrival judged so
        // (`cycleFreeEmptiedInTurn`), with at most 30 % of the time left. Foreign fleet 30 (800
        // hosts, every layout known) at 3 s: 237 hosts before, 227 with it.
        if let free = repacked.cycleFree, !rushed, !late(step) {
            if let more = cycleFreeEmptiedInTurn(free, sub: sub, options: options, deadline: searchShare()) {
                out.append(candidate(more.decisions, "first-fit decreasing (no cycles), then \(more.emptied) host(s) emptied in turn",
                                     cycleFree: true, waves: more.waves))
                sort()
            }
        }
        // Under `any`, last, first-fit decreasing judged as the plan will run, on the hosts the
        // last packing keeps (`sequencedFirstFit`), until `deadline`: safe as it stands and free
        // of cycles, where the wished-node packings lose hosts when made safe. Foreign fleet 19
        // (800 hosts of four nodes, 30 % of layouts unknown) at 10 s: 362 hosts, where the best
        // plan before kept 410. Before the local searches with 40 % of the time left, it left
        // them too little where it did not finish (fleet 30 at 3 s: 227 hosts -> 232).
        // With 30 % of the time left it was cut off by a few milliseconds where its passes take
        // 0.05-0.1 s (fleet 19 at 1 s: 0.05 s left, one pass of 0.05 s, 415 hosts; with the
        // rest of the deadline, 362 in 0.74 s wall; fleet 15 at 3 s: 133 -> 132). The packings
        // before it are ordered after the deadline too (`lastResort` for the first).
        // Not where a cycle-free packing meets the volume bound already: nothing keeps fewer
        // hosts, and that packing needs the time to be ordered (generated fleet 9016, 4,000
        // hosts at 1 s: 0.13 s here for a packing never tried, then 0.2 s ordering the
        // cycle-free one at the bound, past the sub-problem's end).
        let floor = sub.volumeFloor(objective: objective)
        let free = repacked.cycleFree.map { candidate($0.decisions, "first-fit decreasing (no cycles)", cycleFree: true, waves: $0.waves) }
        let packedSoFar = out + [free].compactMap { $0 }
        let cycleFreeAtFloor = packedSoFar.contains { $0.cycleFree && $0.levels.meets(volumeFloor: floor) }
        // Under `planned`, only where some layout is unknown and the best packing so far has
        // moves that may wait on each other in a cycle. A cycle-free one needs no ordering, and
        // this packing, free of cycles too, is what it would compete with: on tiled 500 (2,000
        // hosts, every layout known) at 1 s the local search's cycle-free packing kept 554
        // hosts, this one 602 in 0.14 s, which the pattern model then lacked (501 hosts where
        // it finds the optimum, 500). Where every layout is known the wave ordering re-routes
        // little, and this packing's time is the pattern model's: large foreign fleet 4248
        // (1,000 hosts) at 1 s, 0.44 s for 486 hosts where the best packing kept 485, and the
        // plan kept 485 where the pattern model finds 480. Where layouts are unknown, an arrival
        // waits for every departure of such a server from its host, and the cycles cost hosts:
        // large foreign fleet 4242 (2,000 hosts, every layout unknown) kept 951 hosts, the
        // cycle-free packing's count, where this packing keeps 247.
        let bestCycleFree = packedSoFar.min { $0.levels < $1.levels }?.cycleFree ?? false
        let sequencedHere = options.placement == .any
            || (options.placement == .planned && !bestCycleFree && !Self.layoutsKnown(sub))
        let mayBegin = Self.sequencedMayBegin(step: step, now: monotonicSeconds(), sequencedStart: sequencedStart,
                                              firstPassUntil: firstPassUntil)
        if sequencedHere, !cycleFreeAtFloor, mayBegin, let last = packings.last {
            let order = firstFitOrder(sub, largest: Self.largestCapacity(sub), homeFirst: true).order
            let accepts = typeAccepts(sub, index: checker.index)
            // Packed in each order of `arrivalOrders` where the time allows, and the best kept.
            // The larger first (`largerFirst`), tried for every arrival in place of the
            // nodes-first order, `foreign_fleets.py --time-limit 3` kept fleets 10 (16 -> 15)
            // and 22 (35 -> 34) in fewer hosts, 3 (50 -> 51) and 19 (353 -> 354) in more.
            let started = monotonicSeconds()
            if let judged = sequencedFirstFit(last, sub: sub, options: options, order: order, typeAccepts: accepts,
                                              deadline: sequencedUntil ?? deadline ?? .infinity, firstOrderUntil: firstOrderUntil,
                                              firstPassUntil: firstPassUntil, fewerMovesUntil: deadline,
                                              wavesUntil: wavesUntil ?? sequencedUntil ?? deadline, orders: Self.arrivalOrders) {
                step = max(step, monotonicSeconds() - started)
                out.append(candidate(judged.decisions, Self.sequencedSource, cycleFree: false, waves: judged.waves, judgedInSequence: true))
                sort()
            }
        }
        if let free, free.decisions != repacked.decisions { out.append(free) }
        return out
    }

    /// Whether first-fit decreasing goes from its first packing (which took `step` seconds)
    /// straight to the packing judged in sequence: under `any`, where less than four such steps
    /// are left before `sequencedStart`, the moment until which that packing may begin and its
    /// first order run. Its first order takes about two steps; the variants and local searches
    /// before it about one and a half, and their wished-node packings would then need the time
    /// left to be made safe and ordered. On the generated 10,000-host fleet in two zones at 1 s
    /// (`generate --seed 11 --hosts 10000 --servers 40000 --zones az1,az2 --unknown-layout 0.3
    /// --shutoff 0.9`; steps of 0.09-0.1 s, 0.3-0.34 s left) the packing judged in sequence,
    /// after them, was cut off or not begun in one zone or both in eight runs of thirteen
    /// (6,051-9,907 hosts kept where it keeps 4,060); begun at once, 4,060-4,065 hosts in
    /// thirteen of thirteen, 0.83-0.91 s planning.
    /// Of the 150 foreign fleets at 1 s only one is rushed (4257, whose first packing ends past
    /// every deadline but this one; 108 hosts either way).
    static func rushed(_ placement: CloudPlacement, step: Double, now: Double, sequencedStart: Double?) -> Bool {
        guard placement == .any, let sequencedStart else { return false }
        return now + 4 * step > sequencedStart
    }

    /// Whether the packing judged in sequence may begin, first-fit decreasing's first packing
    /// having taken `step` seconds: while that much is left before `sequencedStart` (the later
    /// of its deadline and the moment its first order may run to), or twice that before
    /// `firstPassUntil` (its passes run until then while none is complete); no moment, no limit.
    /// Against its deadline alone, the generated 10,000-host fleet of `rushed` at 1 s lacked it
    /// in one zone or both in six runs of nine (skipped in the three traced; the cycle-free
    /// packing ordered until its cut: 4,940-8,125 hosts). Without `firstPassUntil`, it was
    /// still skipped there in 3 of 10 runs on an idle machine; the cycle-free packings, ordered
    /// instead, took longer (1.3-1.6 s planning, 4,534 hosts, or every host in use before
    /// `orderWaves` made the waves it could past its stop) than this packing does (0.9-1.1 s,
    /// 4,065). Its first order took 2.2-2.5 such steps there (0.22-0.35 s after 0.09-0.14 s).
    static func sequencedMayBegin(step: Double, now: Double, sequencedStart: Double?, firstPassUntil: Double?) -> Bool {
        guard let sequencedStart else { return true }
        return now + step <= sequencedStart || firstPassUntil.map { now + 2 * step <= $0 } == true
    }

    /// The moves of `decisions` that may wait on each other in a cycle: from a host that also
    /// receives to a host that also sends. Moves onto hosts that only receive, or off hosts that
    /// only send, are never part of one.
    func cycleProneMoves(_ decisions: [[Decision]], sub: SubProblem) -> Int {
        var sends = [Bool](repeating: false, count: sub.hosts.count)
        var receives = sends
        var edges: [(from: Int, to: Int)] = []
        for m in movers(of: sub) {
            guard case .host(let h, _) = decisions[m.c][m.i], m.origin.host >= 0, h != m.origin.host else { continue }
            sends[m.origin.host] = true
            receives[h] = true
            edges.append((m.origin.host, h))
        }
        return edges.reduce(0) { $0 + (receives[$1.from] && sends[$1.to] ? 1 : 0) }
    }

    /// First-fit decreasing for consolidations (fewest hosts in use): every server that may move
    /// is taken off its host and put back, largest first (vCPUs and memory, each normalised by
    /// the largest host), on the first host that takes it, in this order: hosts that stay in
    /// use anyway (servers that cannot move), then the largest hosts, those holding more of
    /// the movers first (so more stay home). A server whose first fit is its own host stays
    /// on its own nodes. Every placement is judged by the rule pipeline
    /// (`Checker.evaluateHost`) on the nodes the fit function picks under the layout policy.
    /// The greedy plan only empties whole hosts onto hosts in use and never repacks; on mixed
    /// fleets that leaves it 1.3-3.1 times above this (issue #15's measurements).
    ///
    /// Nil when it does not apply (other objectives, a move limit) or a server finds no place.
    ///
    /// `homeFirst` false: a server's own host is taken in its turn of the order like any other
    /// (it still stays on its own nodes there), and the cycle-free plan is not made.
    func firstFitDecreasing(_ sub: SubProblem, options: PlanOptions, homeFirst: Bool = true)
        -> (decisions: [[Decision]], cycleFree: (decisions: [[Decision]], waves: [Move]?)?)?
    {
        guard options.mode == .consolidate, options.effectiveObjective == .minHostsUsed, options.maxMoves == nil, !sub.mustMove
        else { return nil }
        let trusted = options.checkerOptions.effectivePolicy
        let checkerOptions = options.checkerOptions
        struct Mover {
            let s: Int, c: Int, i: Int
            let origin: Origin
            let flavor: Flavor
            let groups: [Int]
        }
        let all = self.movers(of: sub)
        let movers = all.map { m in
            Mover(s: m.s, c: m.c, i: m.i, origin: m.origin, flavor: sub.classes[m.c].flavor,
                  groups: inventory.groupsOfServer[inventory.servers[m.s].id] ?? [])
        }
        var checker = checker(without: all, sub: sub)  // off their hosts, all of them
        let largest = Self.largestCapacity(sub)
        func size(_ f: Flavor) -> Double { Self.size(f.resources, largest: largest) }
        let (order, rank) = firstFitOrder(sub, largest: largest, homeFirst: homeFirst)
        // Hosts whose type the pipeline's index refuses for a class are not scanned.
        let typeAccepts = typeAccepts(sub, index: checker.index)
        var decisions = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
        var arrivals = Array(repeating: 0, count: sub.hosts.count)
        // Per class, hosts before this position in `order` cannot take it any more (hosts only fill).
        var firstOpen = Array(repeating: 0, count: sub.classes.count)
        for m in movers.sorted(by: { a, b in
            let sa = size(a.flavor), sb = size(b.flavor)
            return sa != sb ? sa > sb : inventory.servers[a.s].id < inventory.servers[b.s].id
        }) {
            let server = inventory.servers[m.s]
            var context = Checker.ServerContext(server, index: checker.index, inventory: inventory)
            context.currentHost = m.origin.host >= 0 ? sub.hosts[m.origin.host] : -1
            /// Stays on its own host, on its own nodes, if they still have room for it. A host that
            /// has taken no arrival yet holds a part of what it holds now, which fits; one that has
            /// must still hold them with this server back, its servers of unknown layout counted
            /// on every node under `certain` (`HostUsage.withinCapacity`; checked on `free(under:)`,
            /// which stops at zero, every stay passed on hosts with such servers, and on generated
            /// fleets with half the layouts unknown the packings held arrivals the rule pipeline
            /// refuses, which the wave ordering then re-routed).
            func stay() -> Bool {
                let h = m.origin.host
                guard checker.state.holdsHome(m.flavor, nodes: m.origin.nodes, groups: m.groups, host: sub.hosts[h],
                                              tookArrivals: arrivals[h] > 0, policy: trusted)
                else { return false }
                checker.state.add(server, flavor: m.flavor, host: sub.hosts[h], nodes: m.origin.nodes, groups: m.groups)
                decisions[m.c][m.i] = .stay
                return true
            }
            var placed = false
            // Its own host may lie in the part of the order the class has passed (full for the
            // class's flavor on other nodes, or not receiving): it is tried there first.
            if homeFirst && m.origin.host >= 0 && rank[m.origin.host] < firstOpen[m.c] { placed = stay() }
            var k = firstOpen[m.c]
            var advancing = true
            while !placed && k < order.count {
                let h = order[k]
                k += 1
                if h == m.origin.host {
                    if stay() {
                        placed = true
                        break
                    }
                    advancing = false  // its own host is not closed for the rest of the class
                    continue
                }
                // Too little room in total: no node set fits either, and the host's usage is not
                // copied (copying it for every host scanned was a third of a 1 s plan on 4,000
                // hosts with 22,345 servers).
                if !checker.state.usage[sub.hosts[h]].freeTotal.covers(m.flavor.resources) {
                    if advancing { firstOpen[m.c] = k }
                    continue
                }
                let usage = checker.state.usage[sub.hosts[h]]
                guard sub.receives[h], typeAccepts[m.c][h], options.maxPerHost.map({ arrivals[h] < $0 }) ?? true,
                    let wish = usage.fit(m.flavor, under: trusted)
                else {
                    if advancing && (!sub.receives[h] || !typeAccepts[m.c][h]
                        || usage.fit(m.flavor, under: trusted) == nil) {
                        firstOpen[m.c] = k
                    } else {
                        advancing = false
                    }
                    continue
                }
                guard checker.admitsPacked(context, hostIndex: sub.hosts[h], nodes: wish.nodes, options: checkerOptions) else {
                    advancing = false  // refused for this server (anti-affinity, say), not full
                    continue
                }
                checker.state.add(server, flavor: m.flavor, host: sub.hosts[h], nodes: wish.nodes, groups: m.groups)
                arrivals[h] += 1
                decisions[m.c][m.i] = .host(h, wish.nodes)
                placed = true
                break
            }
            if !placed { return nil }
        }
        guard homeFirst else { return (decisions, nil) }
        return (decisions, packedWithoutCycles(decisions, sub: sub, options: options, order: order, rank: rank, typeAccepts: typeAccepts))
    }

    /// The same hosts in use as `decisions`, with fewer moves and no cycles: servers on the hosts
    /// the plan keeps (servers that cannot move, servers it leaves home, its arrivals) stay
    /// where they are, and only the servers of the hosts it empties move, first fit onto the
    /// kept ones (`emptyOnto`). A repacked plan's moves often depend on each other in cycles (a
    /// to b's host while b goes to a's), which wave ordering can only break by re-routing
    /// through other hosts, keeping more in use. Where the kept hosts' room, unpacked, is not
    /// enough, the host of a server that finds no place is kept too (`emptyOnto`). Nil past
    /// `deadline`.
    func packedWithoutCycles(
        _ decisions: [[Decision]], sub: SubProblem, options: PlanOptions, order: [Int], rank: [Int], typeAccepts: [[Bool]],
        deadline: Double? = nil, sequenceAlways: Bool = false
    ) -> (decisions: [[Decision]], waves: [Move]?)? {
        let all = movers(of: sub)
        let kept = Self.keptHosts(decisions, sub: sub, movers: all)
        switch emptyOnto(kept, sub: sub, options: options, order: order, rank: rank, typeAccepts: typeAccepts, movers: all,
                         deadline: deadline, sequenceAlways: sequenceAlways) {
        case .success(let d): return d
        case .failure: return nil
        }
    }

    /// The largest total capacity among the sub-problem's hosts, per resource (first-fit
    /// decreasing's unit of size).
    static func largestCapacity(_ sub: SubProblem) -> Resources {
        sub.fixed.reduce(Resources.zero) { acc, u in
            let t = u.capacity.total
            return Resources(vcpus: max(acc.vcpus, t.vcpus), memoryMiB: max(acc.memoryMiB, t.memoryMiB))
        }
    }

    /// vCPUs and memory, each normalised by `largest` (`largestCapacity`): first-fit
    /// decreasing's measure of servers and hosts.
    static func size(_ r: Resources, largest: Resources) -> Double {
        Double(r.vcpus) / Double(max(1, largest.vcpus)) + Double(r.memoryMiB) / Double(max(1, largest.memoryMiB))
    }

    /// First-fit decreasing's order of the sub-problem's hosts, and each host's rank in it: hosts
    /// that stay in use anyway (servers that cannot move) first, then the largest (vCPUs and
    /// memory, each normalised by `largest`), then (`homeFirst`) those holding more movers, then
    /// in the inventory's order, or (`byID`) in the order of their ids, as `Benchmarks/ffd_any.py`
    /// takes them (`ArrivalOrder.referenceTies`).
    func firstFitOrder(_ sub: SubProblem, largest: Resources, homeFirst: Bool, byID: Bool = false) -> (order: [Int], rank: [Int]) {
        var moversOn = Array(repeating: 0, count: sub.hosts.count)
        for cls in sub.classes {
            for (origin, servers) in cls.origins where origin.host >= 0 { moversOn[origin.host] += servers.count }
        }
        let order = sub.hosts.indices.sorted { a, b in
            let fa = sub.fixed[a].serverCount > 0, fb = sub.fixed[b].serverCount > 0
            if fa != fb { return fa }
            let sa = Self.size(sub.fixed[a].capacity.total, largest: largest)
            let sb = Self.size(sub.fixed[b].capacity.total, largest: largest)
            if sa != sb { return sa > sb }
            if homeFirst && moversOn[a] != moversOn[b] { return moversOn[a] > moversOn[b] }
            return byID ? inventory.hosts[sub.hosts[a]].id < inventory.hosts[sub.hosts[b]].id : sub.hosts[a] < sub.hosts[b]
        }
        var rank = Array(repeating: 0, count: sub.hosts.count)
        for (k, h) in order.enumerated() { rank[h] = k }
        return (order, rank)
    }

    /// Moves every mover off the hosts not in `kept`, largest first, onto the first host of
    /// `order` in `kept` that takes it (rule pipeline); movers on kept hosts stay. The host of
    /// a mover that finds no place is kept from then on: under `any` its earlier movers still
    /// leave and the packing comes with its waves (nil when the options cap the moves per
    /// wave: the wave ordering keeps those caps); elsewhere it takes them back, as if kept from
    /// the start. Past `deadline`, fails with host -1.
    func emptyOnto(
        _ kept: Set<Int>, sub: SubProblem, options: PlanOptions, order: [Int], rank: [Int], typeAccepts: [[Bool]],
        movers: [(s: Int, c: Int, i: Int, origin: Origin)], deadline: Double? = nil, sequenceAlways: Bool = false
    ) -> Result<(decisions: [[Decision]], waves: [Move]?), StuckHost> {
        let trusted = options.checkerOptions.effectivePolicy
        var checker = self.checker  // the planner's, as it stands: built once (index and state)
        // Where the cloud picks the nodes, the kept hosts' arrivals are judged as the plan will
        // run them, by the rule pipeline (`PlanReplay`): in the order they are placed, each with
        // the host's latest wave or after it, whatever nodes the cloud picks for each (sources
        // are never targets, and nothing leaves a kept host, so hosts' waves are independent).
        // Judged on their wished nodes instead, the packing stacked arrivals that could wait
        // for each other for ever: tiled 2,000 had 825 such moves, and re-routing them was most
        // of its 3 s of wave ordering.
        //
        // Only where every layout in the sub-problem is known. Where some are not (a live
        // inventory has none), the exact verdict refused so much that the packing kept far more
        // hosts, and the wished-node packing ordered afterwards did better: tiled 30 read back
        // from the adversarial fake cloud kept 44 hosts in 49 waves this way, 40 in 3 waves before.
        // `sequenceAlways`: judged so all the same (`cycleFreeOnto`, one candidate among others).
        var sequenced = options.placement == .any && (sequenceAlways || Self.layoutsKnown(sub))
            ? SequencedArrivals(heuristicReplay(options)) : nil
        var decisions = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
        var arrivals = Array(repeating: 0, count: sub.hosts.count)
        let leaving = movers.filter { $0.origin.host >= 0 && !kept.contains($0.origin.host) }.sorted {
            leavesFirst(($0.s, $0.c), ($1.s, $1.c), sub: sub)
        }
        var targets = order.filter { kept.contains($0) && sub.receives[$0] }
        // A mover that finds no place keeps its host in use at once (it stays, and so do its
        // host's later movers; the host takes arrivals from then on) instead of
        // starting over with the host kept: judged whatever nodes the cloud picks, tiled 2,000
        // had hundreds of such hosts, and starting over for each took 19 s. Also where layouts
        // are unknown (judged on wished nodes): the live mixed 1,000-host fleet started over 177
        // times, 1.4-2.7 s of a 1 s share. The host's arrivals wait only for its own departures,
        // which go to hosts that only receive: still no cycle.
        var late = Set<Int>()
        // Targets only fill up here (sources are never targets), so a host too full for a class
        // stays too full: each class starts past the run of such hosts at the front. On tiled
        // 2,000 (8,000 hosts) this scan was half of a 1 s plan.
        var firstOpen = [Int](repeating: 0, count: sub.classes.count)
        // Where the plan's nodes are trusted (no replay of arrivals in sequence): the movers
        // placed so far per source host, so that a host whose mover finds no place takes them
        // back and is kept as if from the start.
        let takesBack = sequenced == nil && options.placement != .any
        var placedFrom: [Int: [(s: Int, c: Int, i: Int, origin: Origin, to: Int, nodes: [Int])]] = [:]
        for m in leaving {
            if let deadline, monotonicSeconds() > deadline { return .failure(StuckHost(-1)) }
            if late.contains(m.origin.host) { continue }  // stays
            let server = inventory.servers[m.s]
            let flavor = sub.classes[m.c].flavor
            let groups = inventory.groupsOfServer[server.id] ?? []
            // Made on first use: the replay needs none (a context per server was 2.5 % of a
            // 1 s plan at 8,000 hosts).
            var context: Checker.ServerContext?
            var placed = false
            var advancing = true
            for k in firstOpen[m.c]..<targets.count {
                let h = targets[k]
                // Hosts whose type the pipeline's index refuses for the class: never (on mixed
                // fleets most of the scan; 57,662 verdicts for 2,292 moves on mixed 1,000).
                guard typeAccepts[m.c][h] else {
                    if advancing { firstOpen[m.c] = k + 1 }
                    continue
                }
                if let cap = options.maxPerHost, arrivals[h] >= cap {
                    advancing = false
                    continue
                }
                // The rule pipeline refuses a host whose free room in total does not cover the
                // flavor; checked first, it spares copying the host's usage.
                guard checker.state.usage[sub.hosts[h]].freeTotal.covers(flavor.resources),
                    let wish = checker.state.usage[sub.hosts[h]].fit(flavor, under: trusted)
                else {
                    if advancing { firstOpen[m.c] = k + 1 }
                    continue
                }
                if sequenced != nil {
                    // With the host's open wave if every arrival of it stays safe, else in a
                    // wave of its own after them.
                    let judged = sequenced!.place(m.s, on: sub.hosts[h])
                    guard judged.placed else {
                        // Arrivals only add to a target here, so a host short of room for
                        // the class stays short: the class's open run moves past it.
                        if advancing && judged.roomRefusal { firstOpen[m.c] = k + 1 } else { advancing = false }
                        continue
                    }
                    advancing = false
                } else {
                    advancing = false
                    if context == nil {
                        context = Checker.ServerContext(server, index: checker.index, inventory: inventory)
                        context!.currentHost = sub.hosts[m.origin.host]
                    }
                    guard checker.admitsPacked(context!, hostIndex: sub.hosts[h], nodes: wish.nodes, options: options.checkerOptions)
                    else { continue }
                }
                checker.state.remove(server, flavor: flavor, host: sub.hosts[m.origin.host], nodes: m.origin.nodes, groups: groups)
                checker.state.add(server, flavor: flavor, host: sub.hosts[h], nodes: wish.nodes, groups: groups)
                arrivals[h] += 1
                decisions[m.c][m.i] = .host(h, wish.nodes)
                if takesBack { placedFrom[m.origin.host, default: []].append((m.s, m.c, m.i, m.origin, h, wish.nodes)) }
                placed = true
                break
            }
            if !placed {
                let h = m.origin.host
                late.insert(h)
                // Where the nodes are trusted, the host takes back its movers placed so far and
                // is kept as if from the start: it only receives, so the packing still needs no
                // ordering. (Starting over with the host kept did the same at a pass per host:
                // 119 passes, 0.25-0.55 s of a 1 s limit on a generated 4,000-host fleet with
                // half the layouts unknown, whose worst case keeps many hosts.) The targets
                // they leave have room again: classes whose open run passed them start there.
                var freed: [Int] = []
                for back in placedFrom.removeValue(forKey: h) ?? [] {
                    let server = inventory.servers[back.s]
                    let flavor = sub.classes[back.c].flavor
                    let groups = inventory.groupsOfServer[server.id] ?? []
                    checker.state.remove(server, flavor: flavor, host: sub.hosts[back.to], nodes: back.nodes, groups: groups)
                    checker.state.add(server, flavor: flavor, host: sub.hosts[h], nodes: back.origin.nodes, groups: groups)
                    arrivals[back.to] -= 1
                    decisions[back.c][back.i] = .stay
                    freed.append(back.to)
                }
                if sub.receives[h] {
                    // Its place in the order; classes whose open run had passed it start there again.
                    let position = targets.firstIndex { rank[$0] > rank[h] } ?? targets.count
                    targets.insert(h, at: position)
                    for c in firstOpen.indices where firstOpen[c] >= position { firstOpen[c] = position }
                }
                if let first = freed.compactMap({ t in targets.firstIndex(of: t) }).min() {
                    for c in firstOpen.indices { firstOpen[c] = min(firstOpen[c], first) }
                }
            }
        }
        // Caps on moves per wave are the wave ordering's to keep.
        guard let sequenced, options.maxParallel == nil, options.maxPerHostParallel == nil else { return .success((decisions, nil)) }
        return .success((decisions, sequenced.numbered(moves(of: decisions, in: sub), inventory: inventory)))
    }
}

extension BatchPlanner {
    /// `emptyOnto`'s order of placement, of movers (server, class): larger first (vCPUs, then
    /// memory), then by id. `cycleFreeEmptiedInTurn` replays the packing in this order.
    func leavesFirst(_ a: (s: Int, c: Int), _ b: (s: Int, c: Int), sub: SubProblem) -> Bool {
        let fa = sub.classes[a.c].flavor.resources, fb = sub.classes[b.c].flavor.resources
        if (fa.vcpus, fa.memoryMiB) != (fb.vcpus, fb.memoryMiB) { return (fa.vcpus, fa.memoryMiB) > (fb.vcpus, fb.memoryMiB) }
        return inventory.servers[a.s].id < inventory.servers[b.s].id
    }

    /// Where a server of `flavor` is wished on local host `h` where the cloud picks the nodes:
    /// the first nodes the fit function finds on the host's known layouts as the inventory
    /// stands (the first nodes where none).
    func wishedNodes(_ flavor: Flavor, on h: Int, sub: SubProblem) -> [Int] {
        Self.wishedNodes(flavor, on: checker.state.usage[sub.hosts[h]])
    }

    /// The same on a host's `usage` as a packing has filled it.
    static func wishedNodes(_ flavor: Flavor, on usage: HostUsage) -> [Int] {
        usage.fit(flavor, under: .possible)?.nodes ?? Array(0..<flavor.numaNodes)
    }

    /// Whether every layout in the sub-problem is known: on its hosts, and of its movers.
    static func layoutsKnown(_ sub: SubProblem) -> Bool {
        !sub.fixed.contains { $0.hasUnknownLayout } && !sub.classes.contains { $0.origins.keys.contains { $0.host >= 0 && $0.nodes == nil } }
    }
}

/// The host of a server that found no place (an `Error` so that it can fail a `Result`).
struct StuckHost: Error {
    let host: Int
    init(_ host: Int) { self.host = host }
}
