// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Synchronization
import Topology

extension BatchPlanner {
    /// The source of `sequencedFirstFit`'s plans: the packing is made safe in sequence
    /// (`anySafe(sequenced: true)`, which admits all of it) before it is ordered.
    static let sequencedSource = "first-fit decreasing judged in sequence"

    /// First-fit decreasing for consolidations under `any`, judged as the plan will run: every
    /// arrival must find room whatever nodes the cloud picks for it and for the host's earlier
    /// arrivals (`SequencedArrivals.join`, the rule `anySafe(sequenced: true)` applies), and the
    /// moves never wait on each other in a cycle. Under `planned`, the same packing with each
    /// arrival judged on the nodes it names (`namedNodes`): the cycles are what it avoids there.
    /// Foreign fleet 781 (seed 777: 100 hosts, every layout unknown) kept 39 hosts under
    /// `planned` at 1-10 s without it (53 moves re-routed to break cycles), where first-fit
    /// decreasing's final state (`Benchmarks/ffd.py --worst-case`) keeps 33; with it, 34 at 1 s.
    /// Nil under the models that predict the cloud's nodes.
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
    /// at first, more with each start. A kept host's server that finds no place stays home, and
    /// all that would leave its host once it has had two (`startOver`).
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
    /// `orders`: the orders of the leaving servers to pack in (`ArrivalOrder`), the best packing
    /// kept. No order is better on every fleet. The first may run until `firstOrderUntil` where
    /// that is later than `deadline`: with no packing, the packing is lost. Its passes while none
    /// is complete may run until `firstPassUntil` where that is later still: the caller's plan
    /// without this packing is a cycle-free packing whose ordering may run as long. The
    /// generated 10,000-host fleet of `rushed` at 1 s with one of the two cores busy kept
    /// 4,063-4,065 hosts in five runs of six (6,985 in one), 1.11-1.35 s wall, where it kept
    /// 4,065 in two runs of six and 4,942-9,057 in the others, 1.18-1.56 s (a zone's first pass
    /// cut off, the cycle-free packing ordered 0.3 s to its cut); the 120 foreign fleets of seeds
    /// 1, 777, 4242 and 2027 at 1 s with a core busy Σ 18,523 → 18,390 (2029 395 → 255), idle
    /// 18,383 → 18,382.
    ///
    /// Made safe after a wished-node packing instead (`anySafe`), foreign fleet 30 (800 hosts,
    /// every layout known) kept 229-251 hosts of its 206; packed here, 222-224, ordered without
    /// a host more.
    func sequencedFirstFit(
        _ packing: [[Decision]], sub: SubProblem, options: PlanOptions, order: [Int], typeAccepts: [[Bool]], deadline: Double,
        firstOrderUntil: Double? = nil, firstPassUntil: Double? = nil, fewerMovesUntil: Double? = nil, wavesUntil: Double? = nil,
        orders: [ArrivalOrder] = [.init()]
    ) -> (decisions: [[Decision]], waves: [Move]?)? {
        guard options.placement == .any || options.placement == .planned, !orders.isEmpty else { return nil }
        let all = movers(of: sub)
        var moversOn = [[Int]](repeating: [], count: sub.hosts.count)  // per host, its movers (indices into `all`)
        for (k, m) in all.enumerated() where m.origin.host >= 0 { moversOn[m.origin.host].append(k) }
        let sends = moversOn.map { !$0.isEmpty }
        let leavingFrom = moversOn.map { $0.map { all[$0].s } }  // per host, its movers' servers
        let byID = orders.contains(where: \.referenceTies)
            ? firstFitOrder(sub, largest: Self.largestCapacity(sub), homeFirst: false, byID: true).order : order
        @Sendable func pass(_ staying: Set<Int>, kept: Set<Int>, arrivalOrder: ArrivalOrder, until: Double, on packing: [[Decision]],
                            free: Bool = false, stop: (@Sendable () -> Bool)? = nil) -> Pass? {
            let order = free && arrivalOrder.referenceTies ? byID : order
            return sequencedFirstFitPass(packing, kept: kept, staying: staying, movers: all, sends: sends, sub: sub, options: options, order: order,
                                  typeAccepts: typeAccepts, arrivalOrder: arrivalOrder, deadline: until, free: free, stop: stop)
        }
        /// The packing in one order: passes until every leaving server finds a place, with the
        /// kept hosts and the servers that stay as they then stand, and its last pass's time.
        /// Cut off by the deadline, or left with a server from no host, the best pass so far
        /// whose servers without a place all come from hosts not kept (`complete`), if any.
        /// `givesWay`: asked before each pass and as each pass goes; true ends it there (with
        /// the best pass so far, if any). `placedAll`: called as soon as a pass leaves no server
        /// without a place.
        @Sendable func packed(_ arrivalOrder: ArrivalOrder, until deadline: Double, firstPassUntil: Double? = nil,
                              givesWay: @escaping @Sendable () -> Bool = { false }, placedAll: @Sendable () -> Void = {})
            -> (pass: Pass, kept: Set<Int>, staying: Set<Int>, seconds: Double, base: [[Decision]])?
        {
            var base = packing
            if arrivalOrder.freelyKept {
                // Every mover leaves and goes to the first host that admits it, its own included,
                // judged as the plan will run with every departure done and no cycle avoided:
                // the hosts that keeps in use are the kept hosts, and the servers it sends home
                // stay (`ArrivalOrder.freelyKept`).
                // It is a bet, never given the first order's time (`work`): the free pass must
                // end within a third of the time left, and leave time for two passes as long.
                // Large foreign fleet 8387 (seed 8383: 2,000 hosts, 23,342 servers) at 2 s: its
                // free pass took 0.25-0.29 s of the 0.55 s to `deadline`, its packing was cut
                // off there, and a later order (whose packing the plan keeps) began 0.55 s
                // late: 2.02-2.31 s planning instead of 1.94 s.
                let freeStarted = monotonicSeconds()
                let until = max(deadline, firstPassUntil ?? deadline)
                let everyHost = Set(sub.hosts.indices)
                let leave = sub.classes.map { [Decision](repeating: .pool, count: $0.count) }
                guard let free = pass([], kept: everyHost, arrivalOrder: arrivalOrder, until: freeStarted + (until - freeStarted) / 3,
                                      on: leave, free: true, stop: givesWay)
                else { return nil }
                let freeEnded = monotonicSeconds()
                guard freeEnded + 2 * (freeEnded - freeStarted) <= until else { return nil }
                for m in all {
                    if case .host(let l, _) = free.decisions[m.c][m.i], l != m.origin.host {
                        base[m.c][m.i] = free.decisions[m.c][m.i]
                    } else {
                        base[m.c][m.i] = .stay  // sent home, or without a place
                    }
                }
            }
            var kept = Self.keptHosts(base, sub: sub, movers: all)
            var staying = Set<Int>()
            var stuckOn = Set<Int>()  // kept hosts that had a server without a place
            var best: (pass: Pass, kept: Set<Int>, staying: Set<Int>, seconds: Double, base: [[Decision]])?
            var bestLevels: Levels?
            while true {
                if givesWay() { return best }
                let passStarted = monotonicSeconds()
                let until = best == nil ? max(deadline, firstPassUntil ?? deadline) : deadline
                guard let first = pass(staying, kept: kept, arrivalOrder: arrivalOrder, until: until, on: base, stop: givesWay)
                else { return best }
                if first.stuck.isEmpty { placedAll() }
                let seconds = monotonicSeconds() - passStarted
                if Self.complete(first, kept: kept) {  // so is every pass that places everything
                    let levels = sub.levels(first.decisions, objective: options.effectiveObjective, inventory: inventory)
                    if bestLevels.map({ levels < $0 }) ?? true { (best, bestLevels) = ((first, kept, staying, seconds, base), levels) }
                    if first.stuck.isEmpty { return best }
                }
                // As many hosts as the servers left without a place would fill on their own hosts
                // (by the resource they take more of), one at least.
                var volume = 0.0
                for (s, home) in first.stuck where home >= 0 {
                    let r = inventory.flavors[inventory.servers[s].flavor]!.resources, c = sub.fixed[home].capacity.total
                    volume += max(Double(r.vcpus) / Double(max(1, c.vcpus)), Double(r.memoryMiB) / Double(max(1, c.memoryMiB)))
                }
                let room = max(1, Int(volume.rounded(.up)))
                guard Self.startOver(after: first.stuck, room: room, leavingFrom: leavingFrom, kept: &kept, staying: &staying,
                                     stuckOn: &stuckOn)
                else { return best }
            }
        }
        // Each order's packing, on the cores there are to spare at once (`inParallel`: foreign
        // fleet 3141, seed 3131, 586 hosts, at 1 s had time for the first order alone, 586
        // hosts; the second, beside it on the other core, 579). Where none is spare, in turn,
        // the next only where two as long as the longest so far can end by the deadline: the
        // first order (`arrivalOrders`, the kept hosts' servers first) starts over little, the
        // others may take longer. Where one as long could end, on foreign fleet 804 (seed 777,
        // 800 hosts, one zone) at 1 s the second order was cut off after 0.17 s, which left the
        // pattern model no time (378 hosts, where it keeps 333 given the time; that still varies
        // between runs). Then the best packing's moves made fewer at
        // no more hosts: each kept host's leaving servers kept home, one host at a time in
        // `order`, where the packing then still places everything and keeps no more hosts (a
        // pass each; that can also free hosts). The packing moves every server its packing does
        // not leave home: without this, foreign fleet 18 (every layout unknown) kept 29 hosts
        // with 88 moves, with it 22. Until `fewerMovesUntil` (the other packings' deadline)
        // less four passes' time, and a pass started only where one as long as the last can
        // end: the packing still has to be ordered (on foreign fleet 26 at 1 s, 0.16 s for a
        // pass of 0.04 s), and run until the deadline the loop left it no time there (342 hosts
        // instead of 310). Where more orders were packed, until the deadline less four passes'
        // time: with them packed first but made fewer only until `fewerMovesUntil`, foreign
        // fleet 26 at 3 s kept 285 hosts instead of 279-280. But past `fewerMovesUntil` only
        // while the passes free hosts: it stops after `passesWithoutAFreedHost` passes without
        // one. Run on regardless, on foreign fleet 787 (seed 777, 800 hosts, 30 % of layouts
        // unknown) at 3 s it ran 57 passes for 1 s to the extended deadline and freed one host
        // (402), which left the pattern model no time (with it, 361). Only the best: made fewer
        // in turn for each order, on foreign fleet 4256 (seed 4242, 300 hosts in two zones) at
        // 1 s, 0.1 s each, they left the emptying phase after the models no time (206 hosts
        // where it keeps 192).
        let slots = OrderSlots(orders.count)
        let work: @Sendable (Int) -> Void = { k in
            let started = monotonicSeconds()
            guard slots.mayStart(k, at: started, deadline: deadline) else { return }
            // A later order begun while no packing is in hand (beside the first, on a core to
            // spare, or after orders that found none) has the first order's time, until one is
            // in hand and `deadline` has passed: the core is otherwise idle, and the first may
            // not end. Large foreign fleet 8387 (seed 8383: 2,000 hosts, 23,342 servers) at 2 s:
            // the first order's passes of 0.4 s each left 18, 8, 108 and 19 servers without a
            // place, the second's first pass 2, and the second was cut off at `deadline` (0.53
            // s): no packing, and the cycle-free plan ordered kept 1,311 hosts (1,015 at 3 s).
            // The first order gives way later, past its own time (`firstOrderUntil`), where it
            // ran on while none of its passes was complete (`firstPassUntil`): with a packing in
            // hand that no longer costs the plan everything. 8387 at 2 s then ends in 2.23-2.25 s
            // instead of 2.9 s, 8388 (2,000 hosts of three types) in 1.98-2.01 s instead of
            // 2.7 s, at the same hosts (1,015 and 770). Foreign fleet 2056 (seed 2027) at 1 s
            // keeps 192 hosts in two runs of three (187 where the first runs on; within 0.94 s
            // either way); giving way at `deadline` like the others, it kept 192 in three.
            // Not an order whose kept hosts come from a free first pass (`freelyKept`): where its
            // packing fails to come in time, it holds up the order after it on a fleet where a
            // packing is hard to come by (8387 above, with such an order second: 2.2-2.3 s).
            let first = k == 0 || (!slots.anyPacked && !orders[k].freelyKept)
            let ownTime = max(deadline, firstOrderUntil ?? deadline)
            let givesWayAfter = k == 0 ? ownTime : deadline
            guard let found = packed(orders[k], until: first ? ownTime : deadline, firstPassUntil: first ? firstPassUntil : nil,
                                     givesWay: { monotonicSeconds() > givesWayAfter && slots.anyPacked }, placedAll: { slots.packed() })
            else { return }
            slots.packed()
            let levels = sub.levels(found.pass.decisions, objective: options.effectiveObjective, inventory: inventory)
            slots.set(k, (found.pass, found.kept, found.staying, found.seconds, orders[k], levels, found.base), took: monotonicSeconds() - started)
        }
        inParallel(orders.count, work)
        let packings = slots.packings
        guard let packing = packings.min(by: { $0.levels < $1.levels }) else { return nil }
        let nominal = min(fewerMovesUntil ?? deadline, deadline) - 4 * packing.seconds
        let until = packings.count > 1 ? deadline - 4 * packing.seconds : nominal
        var current = packing.pass
        var currentLevels = packing.levels
        var staying = packing.staying
        var sinceFreed = 0  // passes since one freed a host, or since the first
        for k in order where packing.kept.contains(k) {
            if monotonicSeconds() + packing.seconds > until { break }
            // Past `fewerMovesUntil` only while hosts are freed.
            if sinceFreed >= Self.passesWithoutAFreedHost, monotonicSeconds() + packing.seconds > nominal { break }
            let leaving = moversOn[k].map { all[$0] }.filter { m in !staying.contains(m.s) && current.decisions[m.c][m.i] != .stay }
                .map(\.s)
            guard !leaving.isEmpty else { continue }
            let trial = staying.union(leaving)
            sinceFreed += 1
            guard let other = pass(trial, kept: packing.kept, arrivalOrder: packing.order, until: until, on: packing.base),
                Self.complete(other, kept: packing.kept)
            else { continue }
            let levels = sub.levels(other.decisions, objective: options.effectiveObjective, inventory: inventory)
            if levels < currentLevels {
                if levels.primary < currentLevels.primary { sinceFreed = 0 }
                (current, currentLevels, staying) = (other, levels, trial)
            }
        }
        let best = current
        let capped = options.maxParallel != nil || options.maxPerHostParallel != nil
        if capped { return (best.decisions, nil) }
        if let compact = sequencedWaves(best, sub: sub, options: options, compactUntil: wavesUntil ?? deadline) { return compact }
        return sequencedWaves(best, sub: sub, options: options, compactUntil: nil) ?? (best.decisions, nil)
    }

    /// The hosts a consolidation's plan keeps in use (`keptHosts`), filled by the packing judged
    /// in sequence (`sequencedFirstFit`, in each order of `arrivalOrders` while the time
    /// allows): the plan's servers left home stay, every other leaving server goes to the first
    /// kept host (in first-fit decreasing's order) that admits it whatever nodes the cloud
    /// picks, with no move waiting in a cycle. A plan packed node by node on wished nodes, like
    /// the pattern model's, loses hosts when made safe arrival by arrival (`anySafe`); its set
    /// of hosts filled in sequence often keeps fewer, as `cycleFreeOnto` found for first-fit
    /// decreasing's packings where every layout is known. Its moves are made fewer for 30 % of
    /// the time to `deadline`, and past that, where more than one order was packed, while that
    /// frees hosts (`passesWithoutAFreedHost`). Foreign
    /// fleet 787 (`foreign_fleets.py --seed 777`: 800 hosts, 30 % of layouts unknown) at 3 s,
    /// where the pattern model had time (the plan in hand's moves made fewer only until the
    /// heuristics' deadline, a temporary switch): its plan of 348 hosts kept 402 made safe, 361
    /// so.
    /// Nil outside consolidations and past `deadline` (as `sequencedFirstFit`).
    func sequencedOnto(_ decisions: [[Decision]], sub: SubProblem, options: PlanOptions, deadline: Double, wavesUntil: Double)
        -> (decisions: [[Decision]], waves: [Move]?)?
    {
        guard options.mode == .consolidate, options.effectiveObjective == .minHostsUsed, options.maxMoves == nil, !sub.mustMove
        else { return nil }
        let started = monotonicSeconds()
        guard started < deadline else { return nil }
        let order = firstFitOrder(sub, largest: Self.largestCapacity(sub), homeFirst: true).order
        return sequencedFirstFit(decisions, sub: sub, options: options, order: order, typeAccepts: typeAccepts(sub, index: checker.index),
                                 deadline: deadline, fewerMovesUntil: started + (deadline - started) * 0.3, wavesUntil: wavesUntil,
                                 orders: Self.arrivalOrders)
    }

    /// How `sequencedFirstFit` starts its packing over after a pass that left servers without a
    /// place (`stuck`, each with its local host): a kept host's server stays home, and where its
    /// host has had another without a place, in this pass or an earlier one (`stuckOn`), so does
    /// every server that would leave that host (`leavingFrom`, per local host); of the hosts not
    /// kept, up to `room` more are kept, in the order of `stuck`. False where a server comes from
    /// no host: nothing to keep.
    ///
    /// Keeping home only the servers without a place, foreign fleet 6169 (`foreign_fleets.py
    /// --seed 6161`: 300 hosts in two zones, every layout unknown) made 13 passes in one zone
    /// at 1 s, each leaving 1 to 48 servers of kept hosts without a place (the others moved
    /// around them), and was cut off with none complete: 237 hosts, where first-fit decreasing's
    /// final state (`Benchmarks/ffd.py --worst-case`) keeps 212. A host whose servers found no
    /// place twice is reshuffled no more: that zone converges in 7 passes, and the plan keeps
    /// 214-216 hosts.
    static func startOver(
        after stuck: [(s: Int, home: Int)], room: Int, leavingFrom: [[Int]], kept: inout Set<Int>, staying: inout Set<Int>,
        stuckOn: inout Set<Int>
    ) -> Bool {
        var room = room
        for (s, home) in stuck {
            guard home >= 0 else { return false }
            if kept.contains(home) {
                staying.insert(s)
                if !stuckOn.insert(home).inserted { staying.formUnion(leavingFrom[home]) }
            } else if room > 0, kept.insert(home).inserted {
                room -= 1
            }
        }
        return true
    }

    /// The passes past its `fewerMovesUntil` that `sequencedFirstFit`'s loop keeping kept hosts'
    /// servers home runs without freeing a host. The 120 foreign fleets of
    /// `foreign_fleets.py` seeds 1, 777, 4242 and 2027 under `any`, against running on to the
    /// deadline, one run each (804 left out: it moves by 45 hosts between runs): 8 kept 65 hosts
    /// fewer in all at 3 s (6 fleets fewer, 3 more) and 13 fewer at 1 s (4 fewer, 6 more, by
    /// one host each); 4 kept 41 fewer at 1 s and 57 at 3 s;
    /// 16, 3 more at 1 s and 70 fewer at 3 s; stopping at `fewerMovesUntil` as where one order
    /// was packed, 55 and 64 fewer, but foreign fleet 26 at 3 s 283 hosts, above first-fit
    /// decreasing's worst case (280), where the others keep 279-282.
    static let passesWithoutAFreedHost = 8

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

    /// An order of `sequencedFirstFit`'s leaving servers. By default
    /// `SequencedArrivals.comesFirst`'s (servers that span more nodes first, then the larger);
    /// with `largerFirst`, first-fit decreasing's (the larger first, normalised by the largest
    /// host, whatever nodes they span).
    ///
    /// With `keptFirst`, the servers of kept hosts first. Where one of them finds no place, it
    /// stays home if its host's arrivals so far are admitted beside it; taken first, its host
    /// has few arrivals yet, so it mostly does, and the packing need not start over for it.
    /// On foreign fleet 796 (seed 777, 800 hosts in two zones, 30 % of layouts unknown) the
    /// first zone's packing started over 6 times without it (cut off at 1 s: 480 hosts in
    /// all), with it twice (351 hosts, 0.82-0.88 s wall, below first-fit decreasing's 352).
    /// But servers of kept hosts that move first take room that the servers of hosts being
    /// emptied need, and fewer of them stay home: on foreign fleet 800 (seed 777, one zone, 94 %
    /// full) this order keeps 475-482 hosts, the default 468.
    struct ArrivalOrder: Equatable {
        var largerFirst = false
        var keptFirst = false
        /// The kept hosts not those of the packing given but those a first pass keeps in use
        /// where every mover leaves and goes, in this order, to the first host that admits it
        /// (its own included), judged with every departure done and no cycle avoided
        /// (`sequencedFirstFitPass`'s `free`; the packing `Benchmarks/ffd_any.py` makes); the
        /// servers it sends home stay. The packing given is a wished-node one, and its hosts,
        /// too few once arrivals are judged as they will run, grow by the hosts of servers left
        /// without a place: foreign fleet 2055 (seed 2027: 800 hosts, 30 % of layouts unknown)
        /// keeps 363-364 hosts at 1-10 s from its 342, where `ffd_any.py` keeps 354; packed on
        /// the 354 hosts `ffd_any.py` keeps (a temporary switch), 354 at 3 s.
        var freelyKept = false
        /// `Benchmarks/ffd_any.py`'s tie-breaks: servers of one size (with `largerFirst`) in the
        /// order of their ids, not those that span more nodes first; and with `freelyKept`, in
        /// the free first pass, hosts of one size (and alike in keeping servers that cannot
        /// move) in the order of their ids (`firstFitOrder`'s `byID`), instead of those with more movers
        /// first and then in the inventory's order (`firstFitOrder`; the packing after it keeps
        /// that order). On foreign fleet 2055 the free pass in the planner's ties kept 354
        /// hosts, 268 of them among the 352 `ffd_any.py` fills, and the packing on them kept 359
        /// (the kept hosts' servers first) or 363 (not) at 3 s; with the reference's hosts it
        /// puts each of the 4,983 movers where `ffd_any.py` does, and the packing without the
        /// kept hosts' servers first keeps 354 (361 with them). On foreign fleet 9104 (seed
        /// 9090: 300 hosts, flavors of 4 nodes and of one of equal size) the servers' ties
        /// differed too: with the reference's, each of its 908 movers goes where `ffd_any.py`
        /// puts it, and the plan keeps 167 hosts at 1 and 3 s instead of 169 (`ffd_any.py` 166).
        var referenceTies = false
    }

    /// The orders `firstFitDecreasingPlans` packs in while the time allows, on the cores there
    /// are to spare (`sequencedFirstFit`; on two cores the first two side by side, and on
    /// foreign fleet 9091 at 1 s only those): first the servers of kept hosts, each part the
    /// larger first, which leaves the small servers to fill what is left. The first order was
    /// the servers of kept hosts in the default order before: foreign fleet 2036 (seed 2027,
    /// 800 hosts of 4 nodes in two zones, two-node flavors of 1-2 vCPUs a node) kept 600 hosts
    /// at 1 s, where this order keeps 561, 2029 268 (255), 2056 192 (187); the 120 foreign
    /// fleets of seeds 1, 777, 4242 and 2027 at 1 s Σ 18,446 → 18,385 (6 fleets fewer, 2 more),
    /// at 3 s 18,316 → 18,308 (7 fewer, 3 more). The larger first without the kept hosts'
    /// servers first: 18,403 at 1 s; second instead of fourth, fewer hosts at 1 s by about the
    /// noise and more at 3 s (docs/PERFORMANCE.md, "A new seed (5353)"): not kept.
    /// Third, the kept hosts of a free first pass (`freelyKept`): the 210 foreign fleets of seeds
    /// 1, 777, 4242, 2027, 9090, 7171 and 5353 at 1 s Σ 35,164 → 35,152 (16 fleets fewer, 10
    /// more: 4243 11 → 10, `ffd_any.py`'s count; 9097 440 → 433; 2046 128 → 133, the pattern
    /// model left less time). Second, 35,142, but large foreign fleets 8387 and 8388 (seed 8383,
    /// 2,000 hosts) at 2 s lost the second order's packing to it (1,015 → 1,306 and 770 →
    /// 1,229, 3-3.5 s); first, 35,143, and fleet 2036 561 → 587.
    /// Second, `Benchmarks/ffd_any.py` itself as the free first pass (`referenceTies`, the larger
    /// first, no kept hosts' servers first); third the free first pass in the planner's ties
    /// with the kept hosts' servers first, fourth those servers first without a free pass:
    /// foreign fleet 2055 (800 hosts) at 1 s, where on two cores only the first two are packed,
    /// kept 363-364 hosts, this order 354 (`ffd_any.py`'s count); 9091 295-301 → 287
    /// (`ffd_any.py` 288). The 210 foreign fleets at 1 s Σ 35,163 → 35,121 (17 fleets fewer, 4
    /// one more: 19, 797, 5375, 9099; 35,124 once servers of one size go by id too, a wash
    /// between coin-flip fleets), every wall under 1 s; the 12 large
    /// fleets of seeds 8383 and 8484 at 2 s the same hosts, 8387 and 8388 0.03-0.07 s later.
    /// Third instead (the second order after it), 35,146, and 2055 363: it is never begun there.
    /// Instead of the third order, 35,157, but foreign fleet 4243 11 hosts (10 with it).
    static let arrivalOrders: [ArrivalOrder] = [
        .init(largerFirst: true, keptFirst: true), .init(largerFirst: true, freelyKept: true, referenceTies: true),
        .init(largerFirst: true, keptFirst: true, freelyKept: true), .init(keptFirst: true), .init(), .init(largerFirst: true),
    ]

    /// The searches over arrangements that may run out of their budget
    /// (`LayoutVerdict.timedSearchBudget`) in one pass of `sequencedFirstFit` before each
    /// search of the pass gets a `crowdedBudgetDivisor`th of it instead (500 steps of 10,000).
    /// A question whose search ran out in an earlier pass counts again (it is remembered, not
    /// searched): a pass that meets those again is on the same crowded hosts. Where searches
    /// run out, hosts are crowded with servers of unknown layout, and most of the others that
    /// follow run out too. On foreign fleet 2029 (seed 2027: 800 hosts in two zones, hosts of
    /// 8 nodes holding up to 26 servers, every layout unknown), in the first zone of a 10 s
    /// plan, 441 searches ran out of 10,000 steps, 87 % of all steps, where 123 answered past
    /// 1,000, and a pass took 2.7-3.2 s. With this, the plan keeps 271 hosts at 3 and 10 s
    /// instead of the cycle-free packing's 522. Where few run out, nothing changes, where a
    /// timed budget of 1,000 for every heuristic cost hosts (foreign fleets 2047 and 4257, every
    /// layout known: 2 and 6 at 1 s; 2047's passes run out 0-7 times).
    static let ranOutsBeforeCrowdedBudget = 10

    /// See `ranOutsBeforeCrowdedBudget`.
    static let crowdedBudgetDivisor = 20

    /// What a server needs of a host's room: two servers of one size are refused for room alike.
    struct SizeKey: Hashable {
        let vcpus: Int
        let memoryMiB: Int
        let numaNodes: Int
        init(_ flavor: Flavor) { (vcpus, memoryMiB, numaNodes) = (flavor.resources.vcpus, flavor.resources.memoryMiB, flavor.numaNodes) }
    }

    /// Whether `pass` is a plan as it stands, its servers without a place staying home: each of
    /// them comes from a host that is not kept. Such a host receives nothing, so no arrival was
    /// judged beside it, and its other servers' targets only gain room where one of them stays
    /// (`sequencedWaves` keeps home those that would leave after it is in use anyway). On a
    /// kept host it would take room its arrivals were judged without. The packing starts over
    /// until none is left without a place (a pass of 0.02-0.16 s each on the 5,207 servers of
    /// foreign fleet 796, seed 777); cut off, it keeps the best such pass instead of nothing.
    static func complete(_ pass: Pass, kept: Set<Int>) -> Bool {
        pass.stuck.allSatisfy { $0.home >= 0 && !kept.contains($0.home) }
    }

    /// One packing of `sequencedFirstFit` with `kept` and `staying` as they stand. Nil past
    /// `deadline`, or once `stop` says so (asked with the deadline, before each server).
    /// `free`: every host in `kept` takes servers, its own movers included, with no cycle
    /// avoided (the first pass of `ArrivalOrder.freelyKept`; its moves are not a plan).
    func sequencedFirstFitPass(
        _ packing: [[Decision]], kept: Set<Int>, staying: Set<Int>, movers all: [(s: Int, c: Int, i: Int, origin: Origin)],
        sends: [Bool], sub: SubProblem, options: PlanOptions, order: [Int], typeAccepts: [[Bool]], arrivalOrder: ArrivalOrder,
        deadline: Double, ledger: RanOutLedger = RanOutLedger(), free: Bool = false, stop: (@Sendable () -> Bool)? = nil
    ) -> Pass? {
        // Arrivals the search over arrangements cannot judge within its budget are refused, not
        // solved: the packing tries many hosts per arrival, and where it keeps a host's servers
        // home for fewer moves that host may hold scores of servers of unknown layout (foreign
        // fleet 26 at 1 s: 88 on 4 nodes, one arrival's integer programs 0.135 s).
        var replay = heuristicReplay(options)
        replay.options.ranOutLedger = ledger
        // Once `ranOutsBeforeCrowdedBudget` searches have run out of theirs (`ledger`; a fresh
        // one by default), each search gets a twentieth of that budget.
        let crowdedBudget = max(1, replay.options.verdictSearchBudget / Self.crowdedBudgetDivisor)
        func budgetAsSpent() {
            guard ledger.ranOut >= Self.ranOutsBeforeCrowdedBudget else { return }
            replay.options.verdictSearchBudget = min(replay.options.verdictSearchBudget, crowdedBudget)
        }
        // The nodes each arrival is wished on, kept consistent host by host: the cloud picks its
        // own, but the plan prints these, and later steps read the packing's nodes. Under
        // `planned` the cloud takes them: each arrival is judged on them, the fit function's
        // choice on its host as the replay stands (`namedNodes`), and `wishes` is not used.
        var wishes = checker.state
        let named = options.placement == .planned
        let policy = options.checkerOptions.effectivePolicy
        var decisions = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
        var hostWave = sub.classes.map { [Int](repeating: 0, count: $0.count) }
        var wavesOn = [Int](repeating: 0, count: sub.hosts.count)  // per local host, its arrivals' waves so far
        var arrivalsOn = [[(s: Int, c: Int, i: Int)]](repeating: [], count: sub.hosts.count)
        var leaving: [(s: Int, c: Int, i: Int, home: Int)] = []
        for m in all where !staying.contains(m.s) {
            let o = m.origin.host
            if o >= 0 && kept.contains(o), packing[m.c][m.i] == .stay { continue }
            replay.complete(server: m.s, to: nil, nodes: nil)
            if o >= 0 && !named {
                let server = inventory.servers[m.s]
                wishes.remove(server, flavor: sub.classes[m.c].flavor, host: sub.hosts[o], nodes: server.numaNodes, groups: [])
            }
            leaving.append((m.s, m.c, m.i, o))
        }
        // A kept host's server that finds no place stays home where the host's arrivals so far
        // are admitted beside it, judged again in their waves from the state before any
        // arrival (`base`): later arrivals are judged with it there. Where they are not, the
        // packing starts over with it staying (`sequencedFirstFit`): in the default order,
        // foreign fleet 796's first zone (seed 777) started over 6 times, 99 servers staying;
        // with the servers of kept hosts first (`ArrivalOrder.keptFirst`), twice.
        let base = replay
        var stayedOn = [[Int]](repeating: [], count: sub.hosts.count)  // per kept host, those servers
        func staysHome(_ s: Int, on l: Int) -> Bool {
            let h = sub.hosts[l]
            var scratch = base
            scratch.options.verdictSearchBudget = replay.options.verdictSearchBudget
            for t in stayedOn[l] + [s] { scratch.restore(server: t) }
            var open: [Int] = []
            var wave = 0
            for a in arrivalsOn[l] {
                if hostWave[a.c][a.i] != wave {
                    scratch.settle(open, on: h)
                    (open, wave) = ([], hostWave[a.c][a.i])
                }
                let nodes = Self.namedNodes(decisions[a.c][a.i], placement: options.placement)
                guard scratch.mayStart(server: a.s, to: h, nodes: nodes) else { return false }
                scratch.start(server: a.s, to: h, nodes: nodes)
                open.append(a.s)
            }
            return true
        }
        // With `largerFirst`, by size first (normalised by the largest host).
        let size = (arrivalOrder.largerFirst ? Self.largestCapacity(sub) : nil).map { largest in
            sub.classes.map { Self.size($0.flavor.resources, largest: largest) }
        }
        leaving.sort { a, b in
            if arrivalOrder.keptFirst {
                let ka = a.home >= 0 && kept.contains(a.home), kb = b.home >= 0 && kept.contains(b.home)
                if ka != kb { return ka }
            }
            if let size, size[a.c] != size[b.c] { return size[a.c] > size[b.c] }
            if arrivalOrder.referenceTies, size != nil { return inventory.servers[a.s].id < inventory.servers[b.s].id }
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
        // For the same reason, per size of server (vCPUs, memory, nodes spanned), the targets
        // that refused it for room anywhere: past a target skipped for another reason (a cycle
        // it would close, a cap), `firstOpen` stops advancing, and each later server of the size
        // was judged there again. The first zone of foreign fleet 796 (seed 777: 400 hosts,
        // 2,600 leaving servers of unknown layouts) took 0.04-0.16 s a pass, 7 passes, most of
        // it in the search over arrangements.
        var sizeOf: [SizeKey: Int] = [:]
        let sizeOfClass = sub.classes.map { cls in
            let key = SizeKey(cls.flavor)
            if let k = sizeOf[key] { return k }
            sizeOf[key] = sizeOf.count
            return sizeOf.count - 1
        }
        var refusedRoom = [[Bool]](repeating: [Bool](repeating: false, count: sub.hosts.count), count: sizeOf.count)
        var stuck: [(s: Int, home: Int)] = []
        for m in leaving {
            if monotonicSeconds() > deadline || stop?() == true { return nil }
            budgetAsSpent()
            let flavor = sub.classes[m.c].flavor
            let fromKept = m.home >= 0 && kept.contains(m.home)
            var placed = false
            var advancing = true
            for k in firstOpen[m.c]..<targets.count {
                let l = targets[k], h = sub.hosts[l]
                if !free, fromKept ? sendsTo.closesCycle(from: m.home, to: l) : l == m.home {
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
                if refusedRoom[sizeOfClass[m.c]][l] || !replay.state.usage[h].freeTotal.covers(flavor.resources) {
                    if advancing { firstOpen[m.c] = k + 1 }
                    continue
                }
                // Under `planned`, the nodes the fit function picks in the room the host has for
                // certain (its servers of unknown layout counted on every node under the
                // `certain` policy), judged there; no such nodes is a refusal for room. No waves
                // on a host: the cloud lands each arrival on its nodes, in any order.
                var nodes: [Int]?
                let judged: (placed: Bool, opened: Bool, roomRefusal: Bool)
                if named {
                    nodes = replay.state.usage[h].fit(flavor, under: policy)?.nodes
                    let refusal = nodes == nil ? .insufficientNUMACapacity : replay.quickJudge(server: m.s, to: h, nodes: nodes).refusal
                    judged = (refusal == nil, arrivalsOn[l].isEmpty, refusal.map(BatchPlanner.isRoomRefusal) ?? true)
                } else {
                    judged = SequencedArrivals.join(m.s, on: h, replay: &replay, open: &open[h, default: []]) { replay in
                        let refusal = replay.quickJudge(server: m.s, to: h, nodes: nil).refusal
                        return (refusal == nil, refusal.map(BatchPlanner.isRoomRefusal) ?? true)
                    }
                }
                guard judged.placed else {
                    if judged.roomRefusal { refusedRoom[sizeOfClass[m.c]][l] = true }
                    if advancing && judged.roomRefusal { firstOpen[m.c] = k + 1 } else { advancing = false }
                    continue
                }
                replay.start(server: m.s, to: h, nodes: nodes)
                if judged.opened { wavesOn[l] += 1 }
                hostWave[m.c][m.i] = wavesOn[l]
                arrivalsOn[l].append((m.s, m.c, m.i))
                if fromKept { sendsTo.add(from: m.home, to: l) }
                arrivals[l] += 1
                let wish = nodes ?? Self.wishedNodes(flavor, on: wishes.usage[h])
                if !named { wishes.add(inventory.servers[m.s], flavor: flavor, host: h, nodes: wish, groups: []) }
                decisions[m.c][m.i] = .host(l, wish)
                placed = true
                break
            }
            if !placed, fromKept, staysHome(m.s, on: m.home) {
                replay.restore(server: m.s)
                let server = inventory.servers[m.s]
                if !named { wishes.add(server, flavor: flavor, host: sub.hosts[m.home], nodes: server.numaNodes, groups: []) }
                stayedOn[m.home].append(m.s)
                placed = true
            }
            if !placed { stuck.append((m.s, m.home)) }
        }
        return Pass(decisions: decisions, hostWave: hostWave, arrivals: arrivalsOn, stuck: stuck)
    }

    /// Whether a server whose move runs in wave `wave` may stay home instead, every other move
    /// in its wave as before: where the last arrival on its target (`targetLast`; 0 for the pool
    /// or none) and on its own host (`sourceLast`) comes no later than `wave`. Arrivals on its
    /// target in later waves were judged with it landed: under `any`, among the target's servers
    /// of unknown layout, and without it the cloud may arrange those so that such an arrival
    /// finds no room (an arrival certain to fit extends every arrangement of the others; the
    /// arrivals after it were judged only on arrangements that leave it room). Arrivals on its
    /// own host in later waves were judged with it gone. For `sequencedWaves` (compacted) and
    /// `finalWaves` (servers `keepHome` keeps home).
    static func mayStayHome(wave: Int, targetLast: Int, sourceLast: Int) -> Bool { max(targetLast, sourceLast) <= wave }

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
    /// admitted beside it (the packing moves every server of a kept host that it does not leave
    /// home, and its arrivals were judged with all of them gone). Only where its target took no
    /// arrival in a later wave (`mayStayHome`). Without that, on foreign fleet 2056 (seed 2027:
    /// 800 hosts, every layout unknown) at 3 s such waves' replay failed, the plan was ordered
    /// anew (461 moves re-routed, 1.6 s past the limit), and it kept 321 hosts where the
    /// packing keeps 187.
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
        var lastArrivalWave = [Int](repeating: 0, count: n)  // per host, the wave of its latest arrival so far (compacted)
        var ready = (0..<n).filter { waiting[$0] == 0 }
        var done = 0
        while let l = ready.popLast() {
            done += 1
            let leaving = departures[l].map { (s: $0.s, c: $0.c, i: $0.i, target: $0.target, wave: wave[$0.s]!) }
                .sorted { $0.wave < $1.wave }
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
                    let nodes = Self.namedNodes(decisions[a.c][a.i], placement: options.placement)
                    func admitted() -> Bool {
                        replay.state.usage[h].freeTotal.covers(resources) && replay.mayStart(server: a.s, to: h, nodes: nodes)
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
                    replay.start(server: a.s, to: h, nodes: nodes)
                    wave[a.s] = t
                    lastArrivalWave[l] = t
                }
                replay.settleApart(open, on: h)
                if stays[l] || !pass.arrivals[l].isEmpty {
                    // Where it may (`mayStayHome`): this host's arrivals all came before it left.
                    for d in leaving[gone...] where Self.mayStayHome(
                        wave: d.wave, targetLast: d.target < 0 ? 0 : lastArrivalWave[d.target], sourceLast: lastArrivalWave[l])
                    {
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

    /// The nodes an arrival of `decision` is judged on: under `planned` the plan's, which the
    /// cloud takes; under `any` none (the cloud picks).
    static func namedNodes(_ decision: Decision, placement: CloudPlacement) -> [Int]? {
        guard placement == .planned, case .host(_, let nodes) = decision else { return nil }
        return nodes
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

/// The packings of `sequencedFirstFit`'s orders, made on the cores there are to spare
/// (`inParallel`), each in its own slot.
private final class OrderSlots: Sendable {
    typealias Packing = (pass: BatchPlanner.Pass, kept: Set<Int>, staying: Set<Int>, seconds: Double, order: BatchPlanner.ArrivalOrder,
                         levels: Levels, base: [[Decision]])
    /// The packings, and the time the longest so far took (nil while none has ended).
    private let state: Mutex<(slots: [Packing?], longest: Double?)>

    init(_ count: Int) { state = Mutex((Array(repeating: nil, count: count), nil)) }

    /// Whether order `k` starts at `now`: the first always; another where no packing has ended
    /// yet (it runs beside the ones running), or where two as long as the longest so far can
    /// end by `deadline`.
    func mayStart(_ k: Int, at now: Double, deadline: Double) -> Bool {
        state.withLock { s in k == 0 || s.longest.map { now + 2 * $0 <= deadline } ?? true }
    }

    /// Whether some order has packed.
    var anyPacked: Bool { donePacking.load(ordering: .acquiring) }
    private let donePacking = Atomic<Bool>(false)

    /// An order has packed (`set` follows).
    func packed() { donePacking.store(true, ordering: .releasing) }

    func set(_ k: Int, _ packing: Packing, took seconds: Double) {
        state.withLock { s in
            s.slots[k] = packing
            s.longest = max(s.longest ?? 0, seconds)
        }
    }

    /// The packings made, in the orders' order.
    var packings: [Packing] { state.withLock { $0.slots.compactMap { $0 } } }
}
