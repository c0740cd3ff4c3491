// SPDX-License-Identifier: GPL-3.0-or-later

// One sub-problem end to end: the plan in hand, the pattern model, the per-host models; then
// servers whose moves are not needed stay home.

import GLPK
import Topology

extension BatchPlanner {
    /// The sub-problem solved within `timeLimit`; on consolidations the slack is also measured
    /// against the volume bound (`hostsUsedVolumeBound`), which needs no LP and is what proves
    /// tiled fleets optimal when the models have no time.
    ///
    /// Under `--cloud-placement any` the outcome also carries `layoutFreeSlack`: the volume
    /// bounds on exact free totals, and the pattern model's bound where it ran on rooms that
    /// count only known layouts (evacuations), hold whatever nodes the cloud picks.
    ///
    /// `grace`: seconds past the limit that making the pattern model's plan safe and putting it
    /// in waves may take, when that plan is found (the time the caller keeps for later phases).
    /// `end`: the moment (monotonic seconds) by which the caller needs the outcome whatever the
    /// share; the quarter second that small shares get to order a packing stops there.
    func solve(_ sub: SubProblem, options: PlanOptions, timeLimit: Double, grace: Double = 0, end: Double = .infinity) -> SubOutcome {
        let started = monotonicSeconds()
        let objective = options.effectiveObjective
        // Consolidating under `any` onto hosts with servers of unknown layout: the models' bound
        // counts those servers on every node they might use, which the exact verdict can beat;
        // a bound-only pass on rooms of known layouts alone holds (15 % of the limit at most).
        // (Under other placements `solveModels` runs its own such pass, where needed.)
        var layoutFreeBound: Int?
        if objective == .minHostsUsed, !sub.mustMove, options.placement == .any {
            let stay = sub.classes.map { [Decision](repeating: .stay, count: $0.count) }
            layoutFreeBound = layoutFreeModelBound(sub, options: options, start: stay, deadline: started + timeLimit * 0.15)
        }
        var outcome = solveModels(sub, options: options, timeLimit: max(0.05, timeLimit - (monotonicSeconds() - started)), grace: grace,
                                  end: end)
        // Evacuations have a volume bound of their own only for `layoutFreeSlack`.
        let evacuatingUnderAny = objective == .minHostsTouched && sub.mustMove && options.placement == .any
        guard objective == .minHostsUsed || evacuatingUnderAny else { return outcome }
        let levels = sub.levels(outcome.decisions, objective: objective, inventory: inventory)
        guard levels.unplaced == 0, levels.pool == 0, !options.allowPool || objective == .minHostsUsed else {
            outcome.layoutFreeSlack = nil
            return outcome
        }
        let volumeBound = objective == .minHostsUsed
            ? sub.hostsUsedVolumeBound() : sub.hostsTouchedVolumeBound(policy: nil, inventory: inventory)
        let volume = max(0, levels.primary - Double(volumeBound))
        if options.placement == .any {
            let model = layoutFreeBound.map { max(0, levels.primary - Double($0)) } ?? .infinity
            outcome.layoutFreeSlack = min(outcome.layoutFreeSlack ?? .infinity, volume, model)
        }
        guard objective == .minHostsUsed else { return outcome }
        if outcome.slack.map({ volume < $0 }) ?? true {
            outcome.slack = volume
            if volume == 0 { outcome.notes.append("proven by volume: the servers need every host the plan keeps") }
        }
        return outcome
    }

    /// The models' outcome, carrying the plan in hand as `alternative` wherever the models
    /// replaced it. Under `any` the caller's last phase empties more hosts by the exact verdict
    /// from both: the models' rooms count servers of unknown layout on every node, so their
    /// plan, even at their bound, may leave fewer hosts to empty than the plan in hand.
    /// Foreign fleet 15 at 3 s: the pattern model's plan met its bound at 137 hosts and returned
    /// without the plan in hand; none more was emptied, where 6 were from the plan in hand (139
    /// to 133).
    func solveModels(_ sub: SubProblem, options: PlanOptions, timeLimit: Double, grace: Double = 0, end: Double = .infinity) -> SubOutcome {
        var (outcome, inHand) = modelsOutcome(sub, options: options, timeLimit: timeLimit, grace: grace, end: end)
        if outcome.decisions != inHand { outcome.alternative = inHand }
        return outcome
    }

    /// `solveModels` but for the plan in hand, returned beside the outcome.
    private func modelsOutcome(_ sub: SubProblem, options: PlanOptions, timeLimit: Double, grace: Double, end: Double)
        -> (SubOutcome, [[Decision]])
    {
        let started = monotonicSeconds()
        let objective = options.effectiveObjective
        // Half of the limit at most for judging first-fit decreasing in waves (the models need the
        // rest), but a quarter second always: small plans are ordered in milliseconds. The best
        // packing may also take the grace to be made safe and ordered, as the pattern model's
        // plan may (live tiled 120 at 3 s: 155 hosts, where the cycle-free packing and the
        // emptying phase kept 175).
        // Under `any` the best packing may take the whole share and the grace: made safe and
        // ordered it is the plan in hand, and what the models or the emptying phase could do
        // after it in that little time does not come close. With 60 % of the share, the live
        // mixed 1,000-host fleet at 1 s kept 499-519 hosts instead of 386 whenever the machine
        // was busy (its packing took 0.4-0.5 s to be made safe and ordered; the cut was 0.52 s).
        // Neither past `end`: a second sub-problem of generated fleet 9008 (4,000 hosts, two zones)
        // at 1 s started with its share spent and took the quarter second and the grace, 0.54 s:
        // the plan took 1.18 s of the 0.85 s left to planning.
        let lastResort = min(started + max(timeLimit * (options.placement == .any ? 1 : 0.6), 0.25) + grace, end)
        var (heuristic, heuristicSource, heuristicWaves) = heuristicPlan(
            sub, options: options, deadline: min(started + max(timeLimit * 0.5, 0.25), end), lastResort: lastResort,
            greedyDeadline: started + timeLimit * 0.25, atBound: min(started + timeLimit + grace, end),
            orderedBy: end < .infinity ? end + (end - started) * 0.25 : nil)
        // (The packing judged in sequence, first among the candidates, may be ordered until a
        // quarter of the sub-problem's time past `end`: ordered to the end, the second zone of
        // generated fleet 9008 took 0.2 s past it, 1.12-1.20 s at a 1 s limit, for 2,200 hosts
        // instead of 2,251; stopped here, 1.01-1.04 s. Foreign fleet 26's zones end in time:
        // 285 hosts either way.)
        var heuristicLevels = sub.levels(heuristic, objective: objective, inventory: inventory)
        // Draining under `planned`: the hosts the plan in hand touches emptied
        // onto each other by the local search (a tenth of the limit at most). A tenth of tiled
        // 2,000 drained at 10 s: 242 hosts touched, proven, in 1.25 s, where the greedy plan's 333
        // left the models at 244 after 10 s. Not under `any`: judged as its waves will run
        // (`sequencedDrain`) the search's plan for the 10,000-host drain at 1 s touched 482 hosts
        // instead of 483 and took the run from 0.98 s to 1.06 s.
        if sub.mustMove, objective == .minHostsTouched, options.placement == .planned,
            let more = emptiedByLocalSearch(heuristic, sub: sub, options: options, deadline: monotonicSeconds() + timeLimit * 0.1),
            more.emptied > 0
        {
            (heuristic, heuristicWaves) = (more.decisions, nil)
            heuristicLevels = sub.levels(heuristic, objective: objective, inventory: inventory)
            heuristicSource += ", then \(more.emptied) host(s) emptied by local search"
        }
        let inHand = (decisions: heuristic, levels: heuristicLevels, source: heuristicSource, waves: heuristicWaves)
        // A consolidation whose plan in hand needs no more hosts than the volume bound is
        // optimal: the models cannot beat it (a generated fleet of 4,000 hosts proven so spent
        // 1.7 s more in the pattern model at a 10 s limit).
        if heuristicLevels.meets(volumeFloor: sub.volumeFloor(objective: objective)) {
            return (SubOutcome(decisions: heuristic, slack: 0, seconds: monotonicSeconds() - started, variables: 0, constraints: 0,
                               notes: ["the \(heuristicSource) plan meets the volume bound: the servers need every host it keeps"],
                               waves: heuristicWaves), heuristic)
        }
        // Small drains and named moves: the per-host models first, with up to 30 % of the limit.
        // At this size they prove the optimum in a fraction of a second, where the pattern
        // model's search for a plan below the one in hand could not end before its share: 43
        // servers off 10 of 60 hosts took 5.5-6.3 s at a 60 s limit (its integer master spent
        // 6.9 s finding that no 5-host plan exists), and the per-host models then proved 6 in
        // 0.6 s. Kept only when proven, and (under `any`) where no receiving host holds servers
        // of unknown layout, whose worst case per node the per-host bound counts.
        let receiving = sub.hosts.indices.filter { sub.receives[$0] }
        if sub.mustMove, objective == .minHostsTouched, options.maxMoves == nil,
            sub.classes.count * receiving.count <= smallPerHostModel,
            options.placement != .any || !receiving.contains(where: { sub.fixed[$0].hasUnknownLayout })
        {
            var early = solveAggregated(sub, options: options, timeLimit: timeLimit * 0.3, started: monotonicSeconds(),
                                        heuristic: heuristic, source: heuristicSource)
            if early.slack == 0 {
                takeWaves(&early, inHand: inHand, sub: sub, options: options, deadline: started + timeLimit + grace)
                if early.slack == 0 {
                    early.notes.insert("per-host models first (a small sub-problem)", at: 0)
                    return (early, heuristic)
                }
            }
        }
        if let patterns = PatternConsolidation(sub, options: options, inventory: inventory),
            let outcome = patterns.solve(timeLimit: timeLimit)
        {
            let levels = sub.levels(outcome.decisions, objective: objective, inventory: inventory)
            let better = levels <= heuristicLevels
            let decisions = better ? outcome.decisions : heuristic
            let value = better ? levels.primary : heuristicLevels.primary
            return (SubOutcome(
                decisions: decisions,
                slack: value - Double(outcome.lowerBound), seconds: outcome.seconds, variables: outcome.columns,
                constraints: outcome.rows, notes: ["column generation: \(outcome.columns) patterns"],
                waves: better ? nil : heuristicWaves), heuristic)
        }
        let patternDeadline = patternModelDeadline(sub, options: options, started: started, timeLimit: timeLimit)
        // Under `any` the caller takes the bound from other models wherever this one's may not
        // hold. Elsewhere, where it may not (movers may stay where its rooms have no place for
        // them), a bound-only pass on rooms that hold them gives the bound (`layoutFreeModelBound`,
        // 15 % of the limit at most), only now that the plan in hand has not met the volume bound.
        let shapes = patternModel ? ShapePatterns(sub, options: options, planner: self, deadline: patternDeadline) : nil
        let ownBoundHolds = options.placement == .any || shapes?.boundHoldsOnPlannedNodes == true
        var boundElsewhere: Int?
        if shapes != nil, !ownBoundHolds {
            boundElsewhere = layoutFreeModelBound(sub, options: options, start: heuristic,
                                                  deadline: min(patternDeadline, monotonicSeconds() + timeLimit * 0.15))
        }
        guard let shapes, let found = shapes.solve(start: heuristic, deadline: patternDeadline, realizeBy: started + timeLimit + grace,
                                                   ownBoundHolds: ownBoundHolds, otherBound: boundElsewhere)
        else {
            var outcome = solveAggregated(sub, options: options, timeLimit: timeLimit, started: started, heuristic: heuristic,
                                          source: heuristicSource)
            takeWaves(&outcome, inHand: inHand, sub: sub, options: options, deadline: started + timeLimit + grace)
            if let boundElsewhere {
                let primary = sub.levels(outcome.decisions, objective: objective, inventory: inventory).primary
                outcome.slack = min(outcome.slack ?? .infinity, max(0, primary - Double(boundElsewhere)))
            }
            return (outcome, heuristic)
        }
        var plan = inHand
        var orderingNote: String?  // what ordering the pattern plan changed, when it is the plan
        if found.decisions != heuristic, options.placement == .any, sub.mustMove {
            // Draining under `any`: judged as its waves will run (`sequencedDrain`). Made safe
            // with every arrival on a host concurrent instead (`anySafe`), the plan for a tenth
            // of 10,000 hosts (467 hosts touched) had 1,279 of its 4,305 arrivals refused and
            // kept 573 hosts; in sequence none is refused: 467.
            if let drained = sequencedDrain(found.decisions, sub: sub, options: options, deadline: started + timeLimit * 0.9 + grace) {
                let levels = sub.levels(drained.decisions, objective: objective, inventory: inventory)
                if levels < plan.levels { plan = (drained.decisions, levels, "pattern model", drained.waves) }
            }
        } else if found.decisions != heuristic,
            let executable = executableWaves(found.decisions, sub: sub, options: options, safeDeadline: started + timeLimit * 0.9 + grace,
                                             deadline: started + timeLimit + grace)
        {
            if executable.levels < plan.levels {
                plan = (executable.decisions, executable.levels, "pattern model", executable.waves)
                orderingNote = executable.note
            }
        }
        // Draining under `any` onto hosts with servers of unknown layout: the bound above counts
        // those servers on every node they might use, which the exact verdict can beat; a
        // bound-only pass on rooms that count only known layouts holds whatever those layouts
        // (a fifth of the limit at most, and not when volume alone proves the plan).
        var layoutFreeBound: Int?
        if options.placement == .any, sub.mustMove, objective == .minHostsTouched,
            plan.levels.primary > Double(sub.hostsTouchedVolumeBound(policy: nil, inventory: inventory))
        {
            layoutFreeBound = layoutFreeModelBound(sub, options: options, start: plan.decisions,
                                                   deadline: min(started + timeLimit * 0.9, monotonicSeconds() + timeLimit * 0.2))
        }
        let bound = (ownBoundHolds ? found.bound : boundElsewhere).map(Double.init)
        if let bound, plan.levels.primary <= bound + 1e-9 {
            let outcome = SubOutcome(decisions: plan.decisions, slack: 0, seconds: monotonicSeconds() - started, variables: found.patterns,
                                     constraints: sub.classes.count + shapes.shapes.count,
                                     notes: [found.note] + [orderingNote].compactMap { $0 }, waves: plan.waves,
                                     layoutFreeSlack: layoutFreeBound.map { max(0, plan.levels.primary - Double($0)) })
            return (outcome, heuristic)
        }
        var outcome: SubOutcome
        if found.converged, found.bound != nil, objective == .minHostsUsed, options.maxMoves == nil,
            !sub.classes.contains(where: \.singleton), perHostColumnsEstimate(sub) > branchAndCutLimit
        {
            // Beyond branch-and-cut a consolidation's per-host model gives only its LP bound
            // (then the local search below), and the converged pattern model's own bound (not
            // one from other rooms) is at least as strong, except where servers of anti-affinity
            // groups move (the pattern model does not see groups; the per-host model does): the
            // per-host model is not built.
            // Built, on tiled 2,000 (8,000 hosts, 226,259 columns) it and its LP took 0.9 s of a
            // 1 s limit, past the limit, for a bound it did not reach.
            outcome = SubOutcome(decisions: plan.decisions, slack: nil, seconds: 0, variables: 0, constraints: 0, notes: [])
            if let more = searchedMore(plan.decisions, sub: sub, options: options, deadline: started + timeLimit),
                more.levels <= plan.levels
            {
                outcome.decisions = more.decisions
                outcome.notes.append(more.note)
            }
            outcome.seconds = monotonicSeconds() - started
        } else {
            outcome = solveAggregated(sub, options: options, timeLimit: timeLimit, started: started, heuristic: plan.decisions,
                                      source: plan.source)
        }
        let kept = outcome.decisions == plan.decisions
        outcome.notes.insert(contentsOf: [found.note] + (kept ? [orderingNote].compactMap { $0 } : []), at: 0)
        takeWaves(&outcome, inHand: plan, sub: sub, options: options, deadline: started + timeLimit + grace)
        let primary = sub.levels(outcome.decisions, objective: objective, inventory: inventory).primary
        if let bound { outcome.slack = min(outcome.slack ?? .infinity, max(0, primary - bound)) }
        if let layoutFreeBound { outcome.layoutFreeSlack = max(0, primary - Double(layoutFreeBound)) }
        return (outcome, heuristic)
    }

    /// The pattern model's bound on rooms that hold where its rooms for plans (the worst case
    /// per node of servers of unknown layout) do not:
    /// - under `any`, where hosts that may receive hold servers of unknown layout: rooms that
    ///   count only known layouts per node, which hold whatever those layouts and whatever nodes
    ///   the cloud picks (the exact verdict can beat the worst case);
    /// - under other placements, consolidating, where movers may stay beside servers of unknown
    ///   layout that cannot move (`SubProblem.stayersInRoom`): known layouts on
    ///   those hosts only (arrivals elsewhere are judged by the worst case, as modelled).
    ///
    /// Nil where neither applies, or when nothing is proven by `deadline`. `start`: a plan in
    /// hand placing every mover (the model gives nothing without one).
    func layoutFreeModelBound(_ sub: SubProblem, options: PlanOptions, start: [[Decision]], deadline: Double) -> Int? {
        guard patternModel else { return nil }
        let rooms: ShapePatterns.Rooms
        if options.placement == .any {
            guard sub.hosts.indices.contains(where: { sub.receives[$0] && sub.fixed[$0].hasUnknownLayout }) else { return nil }
            rooms = .knownLayouts
        } else {
            guard sub.stayersInRoom(policy: options.checkerOptions.effectivePolicy).contains(.mayNotFit) else { return nil }
            rooms = .judgedWhereNothingStays
        }
        // Its shapes' layouts by the deadline too: on foreign fleet 20 (40 hosts, every layout
        // unknown, each host a shape of its own) they were 61 % of a 1 s plan (perf), which ended
        // at 1.1-1.5 s.
        return ShapePatterns(sub, options: options, planner: self, rooms: rooms, deadline: deadline)?
            .solve(start: start, deadline: deadline, searchPlans: false)?.bound
    }

    /// Until when the pattern model over host shapes runs (`monotonicSeconds()`): until 60 % of
    /// the limit (at least a fifth of it after the plan in hand, at most 90 %); proven plans end
    /// there, others become the plan in hand for the per-host models, and its bound stays. Up
    /// to 90 % where the per-host model of a consolidation will be beyond branch-and-cut: only
    /// its LP bound and the local search follow (chunks of hosts solved apart ran there once,
    /// and on 300 servers of unique sizes, 90,900 columns, ended at 131 hosts where the pattern
    /// model had 110, the plan coming at 7 s of a 10 s limit; with the time left the pattern
    /// model's dives find 101).
    func patternModelDeadline(_ sub: SubProblem, options: PlanOptions, started: Double, timeLimit: Double) -> Double {
        if options.effectiveObjective == .minHostsUsed, options.maxMoves == nil, perHostColumnsEstimate(sub) > branchAndCutLimit {
            return started + timeLimit * 0.9
        }
        return min(started + timeLimit * 0.9, max(started + timeLimit * 0.6, monotonicSeconds() + timeLimit * 0.2))
    }

    /// The per-host model's columns (`aggregatedModel`), estimated: one per class and receiving
    /// host whose type takes it. The model has one per set of nodes that fits, and none on hosts
    /// too full for the class or holding servers of its anti-affinity group.
    func perHostColumnsEstimate(_ sub: SubProblem) -> Int {
        typeAccepts(sub, index: checker.index).reduce(0) { sum, accepts in
            sum + accepts.indices.reduce(0) { $0 + (accepts[$1] && sub.receives[$1] ? 1 : 0) }
        }
    }

    /// The per-host models' outcome with its waves, against the plan in hand they started from.
    /// When they kept that plan, its waves. When they replaced it while draining hosts or moving
    /// named servers under `any`: they pack on wished nodes, so their plan is judged as its
    /// waves will run (`sequencedDrain`: arrivals the cloud's choice of nodes could block go
    /// elsewhere) and comes in those waves; the plan in hand (already so judged) stays when that
    /// is no better. Consolidating under `any`, the same with the plan in waves by
    /// `executableWaves`: ordered only at the end, a per-host dive's packing of 24 hosts on a
    /// generated fleet re-routed moves and kept 26 where the plan in hand kept 25. Otherwise
    /// unchanged, as when nothing comes in time (the wave ordering then re-routes what it must).
    func takeWaves(
        _ outcome: inout SubOutcome, inHand: (decisions: [[Decision]], levels: Levels, source: String, waves: [Move]?), sub: SubProblem,
        options: PlanOptions, deadline: Double
    ) {
        if outcome.decisions == inHand.decisions {
            outcome.waves = inHand.waves
            return
        }
        guard options.placement == .any, outcome.waves == nil else { return }
        let objective = options.effectiveObjective
        let made: (decisions: [[Decision]], waves: [Move], note: String?, levels: Levels)?
        if sub.mustMove {
            made = sequencedDrain(outcome.decisions, sub: sub, options: options, deadline: deadline).map {
                ($0.decisions, $0.waves, nil, sub.levels($0.decisions, objective: objective, inventory: inventory))
            }
        } else {
            made = executableWaves(outcome.decisions, sub: sub, options: options, safeDeadline: deadline, deadline: deadline,
                                   giveUpEarly: true)
        }
        let before = sub.levels(outcome.decisions, objective: objective, inventory: inventory).primary
        let levels: Levels
        if let made, made.levels <= inHand.levels {
            levels = made.levels
            (outcome.decisions, outcome.waves) = (made.decisions, made.waves)
            if let note = made.note { outcome.notes.append(note) }
        } else if made != nil || (!sub.mustMove && inHand.waves != nil) {
            // The plan in hand, also where a consolidation's plan is not in waves by the
            // deadline: it would be ordered after the models with no deadline left (on tiled
            // 2,000 at 1 s, 8,000 hosts, the local search's plan after the pattern model, 2,235
            // hosts, was, in 0.3-0.5 s, and the plan ended at 1.26-1.49 s). The plan in hand
            // comes in waves.
            levels = inHand.levels
            (outcome.decisions, outcome.waves) = (inHand.decisions, inHand.waves)
            outcome.notes.append(made != nil
                ? "the models' plan, judged whatever nodes the cloud picks, is no better: the \(inHand.source) plan is used"
                : "the models' plan was not put in waves within the limit: the \(inHand.source) plan is used")
        } else {
            return
        }
        // The slacks were measured on the models' plan: the bound stays, the value moved.
        let change = levels.primary - before
        outcome.slack = outcome.slack.map { max(0, $0 + change) }
        outcome.layoutFreeSlack = outcome.layoutFreeSlack.map { max(0, $0 + change) }
    }

    /// A consolidation's plan packed on wished nodes (the pattern model's, the per-host
    /// models'), in waves by the exact verdict (`orderedWaves`, by `deadline`), with its levels.
    /// Under `any`, the best of five:
    /// - the hosts the plan keeps, packed without cycles (`cycleFreeOnto`, by `safeDeadline`):
    ///   their servers stay, the other hosts' arrive in sequence, judged as they will run;
    /// - the same hosts filled by the packing judged in sequence (`sequencedOnto`, by
    ///   `safeDeadline`): first-fit decreasing of every leaving server onto them, whatever nodes
    ///   the cloud picks, hosts kept too where servers find no place;
    /// - the plan made safe whatever nodes the cloud picks, each host's arrivals judged in
    ///   sequence (`anySafe(sequenced: true)`, by `safeDeadline`; the ordering keeps that
    ///   sequence: `HostSequences`);
    /// - the same with each host's arrivals judged together (`anySafe`);
    /// - while time is left, the plan as it stands, the ordering re-routing what the cloud's
    ///   choice could block.
    /// Each can win. In sequence comes before together: since the ordering keeps the sequence
    /// it keeps the fewest hosts on the tiled fleets (tiled 500 at 10 s: 540 where the others
    /// keep 585; tiled 120 at 1 s: 131 against 140), and judging together first (8.5 s on
    /// tiled 2,000, for 2,586 hosts) left it no time at 10 s there. The cycle-free packing was
    /// added before both: generated fleet 7315 of
    /// `Benchmarks/generated_sweep.py` went from 12 hosts to 11 at 1 s and 5 s; at 10 s tiled
    /// 120 from 144 to 140, tiled 500 from 595 to 585, tiled 2,000 from 2,378 to 2,317 (from
    /// the pattern model's plan of 2,000 hosts, in 0.32 s). It comes first where every layout
    /// is known, and after `anySafe` where some are not: there the exact verdict judges every
    /// arrangement of the unknown servers, and taking the time first it left `anySafe` none on
    /// a live mixed 1,000-host fleet at 1 s (500 hosts where `anySafe` makes 386); second, it
    /// took generated fleet 7310 (5 % unknown layouts) from 12 to 11 and mixed 1,000 at 10 s
    /// from 358 to 356.
    /// The packing judged in sequence comes before `anySafe`: on the 120 foreign fleets of
    /// `foreign_fleets.py` seeds 1, 777, 4242 and 2027 (30 each) at 3 s it kept fewer hosts on 5
    /// and more on one (797, 20 -> 21), and the live mixed 1,000-host fleet keeps 355 at 1 s and
    /// 3 s either way.
    /// On a generated 60-host fleet a per-host dive's plan kept 15 hosts as it stands and none
    /// better than the plan in hand's 16 made safe first; on the live mixed 1,000-host fleet a
    /// packing was not ordered as it stood within 3 s, and made safe first took 0.25 s.
    /// The candidates under `any` are made at once on the cores there are to spare
    /// (`inParallel`): on foreign fleet 804 (seed 777, 800 hosts, one zone) at 1 s the pattern
    /// model's plan made safe in turn kept 377 hosts in 8 runs of 8, made safe so 338 in 10
    /// runs of 14 (377 in the others); on the 120 foreign fleets at 3 s, 4 hosts more in all,
    /// within run-to-run noise (796 kept 339-345 in three runs of either build).
    /// Elsewhere as it stands. Nil when none comes in time.
    func executableWaves(
        _ decisions: [[Decision]], sub: SubProblem, options: PlanOptions, safeDeadline: Double, deadline: Double,
        giveUpEarly: Bool = false
    ) -> (decisions: [[Decision]], waves: [Move], note: String?, levels: Levels)? {
        typealias Candidate = (decisions: [[Decision]], waves: [Move], note: String?, levels: Levels)
        var best: Candidate?
        /// Kept where it beats the best so far.
        func consider(_ candidate: Candidate?) {
            if let candidate, best.map({ candidate.levels < $0.levels }) ?? true { best = candidate }
        }
        let objective = options.effectiveObjective
        /// A packing ordered in waves (`orderedWaves`), with its levels.
        @Sendable func ordered(_ decisions: [[Decision]]?) -> Candidate? {
            guard let decisions, let ordered = orderedWaves(decisions, sub: sub, options: options, deadline: deadline) else { return nil }
            return (ordered.decisions, ordered.waves, ordered.note, sub.levels(ordered.decisions, objective: objective, inventory: inventory))
        }
        guard options.placement == .any else {
            consider(ordered(decisions))
            return best
        }
        /// A packing that comes in waves of its own, as they stand.
        @Sendable func asTheyStand(_ decisions: [[Decision]], waves: [Move]) -> Candidate {
            (decisions, waves, nil, sub.levels(decisions, objective: objective, inventory: inventory))
        }
        let withoutCycles: @Sendable () -> Candidate? = {
            guard let packed = cycleFreeOnto(decisions, sub: sub, options: options, deadline: safeDeadline), let waves = packed.waves
            else { return nil }
            return asTheyStand(packed.decisions, waves: waves)
        }
        // The candidates, made on the cores there are to spare at once (`inParallel`), each
        // started only before `safeDeadline`, and compared in this order (the first of equal
        // ones kept).
        var candidates: [@Sendable () -> Candidate?] = []
        let known = Self.layoutsKnown(sub)
        if known { candidates.append(withoutCycles) }
        candidates.append {
            guard let judged = sequencedOnto(decisions, sub: sub, options: options, deadline: safeDeadline, wavesUntil: deadline) else {
                return nil
            }
            return judged.waves.map { asTheyStand(judged.decisions, waves: $0) } ?? ordered(judged.decisions)
        }
        candidates.append { ordered(anySafe(decisions, sub: sub, options: options, deadline: safeDeadline, giveUpEarly: giveUpEarly, sequenced: true)) }
        candidates.append { ordered(anySafe(decisions, sub: sub, options: options, deadline: safeDeadline, giveUpEarly: giveUpEarly)) }
        if !known { candidates.append(withoutCycles) }
        let made = Slots<Candidate>(candidates.count)
        let tasks = candidates
        inParallel(tasks.count) { k in
            guard monotonicSeconds() < safeDeadline, let candidate = tasks[k]() else { return }
            made.set(k, candidate)
        }
        made.values.forEach(consider)
        if monotonicSeconds() < deadline { consider(ordered(decisions)) }
        return best
    }

    /// The hosts a consolidation's plan keeps in use, packed without cycles
    /// (`packedWithoutCycles`, as first-fit decreasing's cycle-free plan is from its own
    /// packing): the servers on them stay, those of every other host move, largest first, onto
    /// the first of them in first-fit decreasing's order that takes them, judged as the plan
    /// will run where the cloud picks the nodes (under `any`, also where layouts are unknown:
    /// the packing then comes in waves, which the wave ordering need not make). Where a server
    /// finds no place its host is kept too. A packing tiled node by node, which the cloud does
    /// not promise, loses hosts when made safe server by server; its set of hosts, filled in
    /// sequence, often keeps fewer. Nil outside consolidations, under caps on moves per wave
    /// (the wave ordering's to keep) and past `deadline`.
    func cycleFreeOnto(_ decisions: [[Decision]], sub: SubProblem, options: PlanOptions, deadline: Double)
        -> (decisions: [[Decision]], waves: [Move]?)?
    {
        guard options.mode == .consolidate, options.effectiveObjective == .minHostsUsed, options.maxMoves == nil, !sub.mustMove,
            options.maxParallel == nil, options.maxPerHostParallel == nil
        else { return nil }
        let (order, rank) = firstFitOrder(sub, largest: Self.largestCapacity(sub), homeFirst: true)
        return packedWithoutCycles(decisions, sub: sub, options: options, order: order, rank: rank,
                                   typeAccepts: typeAccepts(sub, index: checker.index), deadline: deadline, sequenceAlways: true)
    }

    /// Drops moves the plan does not need: a moving server whose own host stays in use and
    /// still has room for it on its own nodes (after every other decision) stays home. Solver
    /// plans proven optimal on hosts often carry such moves (the dive on the 4,000-server
    /// consolidation: 915 moves where its LP needed 767), and each is a server stopped and
    /// migrated for nothing. Only where servers may stay (not when evacuating or moving named
    /// servers), not for balance (a move may lower the highest node), not for servers in
    /// anti-affinity groups or of unknown layout. Returns the decisions, how many moves were
    /// dropped and by how much the primary level fell.
    func keepHome(_ sub: SubProblem, _ decisions: [[Decision]], options: PlanOptions)
        -> (decisions: [[Decision]], cancelled: Int, primaryGain: Double)
    {
        let objective = options.effectiveObjective
        guard !sub.mustMove, objective != .balance else { return (decisions, 0, 0) }
        let policy = options.layoutPolicy
        let originOf = sub.originOfMovers
        var usage = sub.usage(after: decisions, origins: originOf)
        var result = decisions
        var cancelled = 0
        for (c, cls) in sub.classes.enumerated() where !cls.singleton {
            let share = cls.flavor.perNode
            for (i, d) in result[c].enumerated() {
                guard d != .stay, let o = originOf[cls.servers[i]], o.host >= 0, let home = o.nodes,
                      usage[o.host].serverCount > 0
                else { continue }
                let free = usage[o.host].free(under: policy)
                guard home.allSatisfy({ free[$0].covers(share) }) else { continue }
                if case .host(let h, let nodes) = d { usage[h].remove(cls.flavor, nodes: nodes) }
                usage[o.host].add(cls.flavor, nodes: home)
                result[c][i] = .stay
                cancelled += 1
            }
        }
        guard cancelled > 0 else { return (decisions, 0, 0) }
        let before = sub.levels(decisions, objective: objective, inventory: inventory)
        let after = sub.levels(result, objective: objective, inventory: inventory)
        guard after <= before else { return (decisions, 0, 0) }
        return (result, cancelled, max(0, before.primary - after.primary))
    }
}
