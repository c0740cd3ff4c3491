// SPDX-License-Identifier: GPL-3.0-or-later

// The per-host aggregated models (GLPK): branch-and-cut, the LP dive, the restricted search, and an
// external solver on the same model.

import GLPK
import Topology

extension BatchPlanner {
    /// Seconds to build the per-host model, per host and flavor pair that may receive
    /// (`perHostColumnsEstimate`): 7.6 microseconds measured at 20,410 pairs (96,406 variables).
    static let perHostBuildSeconds = 8e-6

    /// Whether the per-host model may be built with `left` seconds of a sub-problem's
    /// `timeLimit`: a tenth of the limit at least, and twice its build time (`pairs` host and
    /// flavor pairs, `perHostBuildSeconds` each: the build and then its LP).
    static func perHostModelFits(left: Double, of timeLimit: Double, pairs: Int) -> Bool {
        left > timeLimit * 0.1 && left > perHostBuildSeconds * 2 * Double(pairs)
    }

    /// The per-host models (`aggregatedModel`) from the plan in hand.
    func solveAggregated(
        _ sub: SubProblem, options: PlanOptions, timeLimit: Double, started: Double, heuristic: [[Decision]], source heuristicSource: String
    ) -> SubOutcome {
        let objective = options.effectiveObjective
        // No time left for the models (building one at 10,000 hosts takes seconds): the plan in hand.
        // Nor where building the model would outlast what is left, with as much again for its LP:
        // about 8 microseconds a host and flavor pair to build. Foreign fleet 19 (seed 1, 800
        // hosts) under `planned` at 1 s entered with 0.09 s left in 2 runs of 6; its model
        // (20,410 pairs, 96,406 variables) took 0.16 s to build and its LP 0.12 s at a 0.05 s
        // limit: 1.11 s of planning.
        guard Self.perHostModelFits(left: started + timeLimit - monotonicSeconds(), of: timeLimit, pairs: perHostColumnsEstimate(sub))
        else {
            return SubOutcome(decisions: heuristic, slack: nil, seconds: monotonicSeconds() - started, variables: 0, constraints: 0,
                              notes: ["no time left for the per-host models; the \(heuristicSource) plan is used"])
        }
        let heuristicLevels = sub.levels(heuristic, objective: objective, inventory: inventory)
        let (built, scale) = aggregatedModel(sub, options: options, heuristic: heuristicLevels)
        var notes: [String] = []
        var chosen = heuristic
        var chosenLevels = heuristicLevels
        var chosenSource = heuristicSource
        /// Keeps `decisions` (their `levels`) when they are at least as good as the plan in hand.
        @discardableResult
        func adopt(_ decisions: [[Decision]], _ levels: Levels, from source: String) -> Bool {
            guard levels <= chosenLevels else { return false }
            chosen = decisions
            chosenLevels = levels
            chosenSource = source
            return true
        }
        func consider(_ candidate: Solution) -> Bool {
            guard candidate.hasSolution, let extracted = extract(sub, built, candidate) else { return false }
            return adopt(extracted, sub.levels(extracted, objective: objective, inventory: inventory), from: "solver's")
        }
        /// More hosts emptied of the plan in hand by the local search until `deadline`, kept if
        /// no worse, with a note of what it came to.
        func searchMore(until deadline: Double) {
            guard let more = searchedMore(chosen, sub: sub, options: options, deadline: deadline) else { return }
            notes.append(more.note)
            adopt(more.decisions, more.levels, from: "local search's")
        }
        /// The plan in hand, with its slack against the bound (0: proven optimal).
        func outcome(slack: Double?) -> SubOutcome {
            SubOutcome(
                decisions: chosen, slack: slack, seconds: monotonicSeconds() - started,
                variables: built.model.variableCount, constraints: built.model.constraintCount, notes: notes)
        }
        if built.model.variableCount > branchAndCutLimit {
            // GLPK's branch-and-cut on models this size neither finds better plans nor respects
            // its time limit (measured: 296 s for a 30 s limit at 34,000 columns, ~1 GB).
            // Drains and consolidations get the local search on the plan in hand, under `planned`
            // (chunks of hosts solved apart ran here once); other objectives dive from the LP
            // relaxation with the whole limit, and drains too after the search. The better of
            // that plan and the one in hand is kept, bounded by the LP relaxation.
            var bound: Double?
            // (Draining, the search gets until 30 % of the limit, or a tenth of it from now when
            // the models before took longer, then the dive has the rest.)
            if objective == .minHostsTouched, sub.mustMove, options.maxMoves == nil {
                searchMore(until: min(started + timeLimit, max(started + timeLimit * 0.3, monotonicSeconds() + timeLimit * 0.1)))
            }
            if objective == .minHostsUsed, options.maxMoves == nil, built.model.variableCount > diveColumnLimit {
                // The dive does not finish at this size (35,000 columns in 30 s): take the LP bound
                // with up to half the limit, then empty more hosts of the plan in hand by the local
                // search with the rest, adding no move that could close a cycle (under `planned` only).
                // Chunks of hosts solved apart ran here: where the time did not reach them all
                // their servers stayed (foreign fleet 30 at 1 s: 638 hosts against 201 in hand),
                // and in the foreign sweeps' plans their plan was never the one used.
                let lpLimit = max(0.05, timeLimit * 0.5 - (monotonicSeconds() - started))
                if let lp = try? built.model.relaxed.solve(SolveOptions(timeLimit: lpLimit)), lp.status == .optimal {
                    bound = lp.objective
                }
                searchMore(until: started + timeLimit)
            } else if let dived = lpDive(built, scale: scale, objective: objective, deadline: started + timeLimit, share: 0.97) {
                // (GLPK checks its time limit between simplex iterations and not in its
                // presolver: 0.38 s over at 52,000 columns.)
                notes.append(dived.note)
                bound = dived.bound
                if let found = dived.solution { _ = consider(found) }
            } else {
                let left = max(0.05, timeLimit - (monotonicSeconds() - started))
                let lp = try? built.model.relaxed.solve(SolveOptions(timeLimit: left))
                bound = lp?.status == .optimal ? lp?.objective : nil
            }
            var slack = scale.slack(of: chosenLevels, bound: bound)
            if slack == nil, chosenLevels.unplaced == 0, chosenLevels.pool == 0 {
                switch objective {
                case .minHostsUsed:
                    // Without the LP: hosts holding servers that cannot move stay in use whatever happens.
                    let fixedHosts = sub.fixed.filter { $0.serverCount > 0 }.count
                    slack = max(0, chosenLevels.primary - Double(fixedHosts))
                case .minHostsTouched:
                    slack = max(0, chosenLevels.primary - Double(sub.hostsTouchedVolumeBound(policy: options.layoutPolicy, inventory: inventory)))
                default:
                    break
                }
            }
            notes.append("\(built.model.variableCount) variables: beyond branch-and-cut in the time limit; bound from the LP relaxation\(bound != nil ? "" : " (not solved in time: \(objective == .minHostsUsed ? "bound = hosts with servers that cannot move" : objective == .minHostsTouched ? "bound from free volume" : "no bound"))")")
            return outcome(slack: slack)
        }
        // On consolidations (min-hosts-used) the LP bound is usually tight and the dive is what
        // finds plans: it gets 90 % of what is left (the 4,000-server benchmark needs 6-7 s of a
        // 10 s limit; at 70 % it missed the limit in three runs of five), and where it fails
        // branch-and-cut rarely finds a plan in the rest. On evacuations (min-hosts-touched) the
        // dive found nothing in 15 s at 1,000 hosts; a search restricted to the hosts the LP
        // opens finds the plans there, and branch-and-cut does the proving.
        if objective == .minHostsTouched,
            let restricted = restrictedSearch(sub, built, options: options, current: chosen, best: chosenLevels,
                                              deadline: started + timeLimit, share: 0.5)
        {
            notes.append(restricted.note)
            if let found = restricted.found { adopt(found.decisions, found.levels, from: "restricted search's") }
            if let bound = restricted.lpBound, scale.slack(of: chosenLevels, bound: bound) == 0 { return outcome(slack: 0) }
        }
        let diveStarted = monotonicSeconds()
        if objective == .minHostsUsed,
            let dived = lpDive(built, scale: scale, objective: objective, deadline: started + timeLimit, share: 0.9)
        {
            notes.append(dived.note)
            if let found = dived.solution, consider(found), dived.proven { return outcome(slack: 0) }
            // The dive had 90 % of the time and its LPs did not finish, or what is left is less
            // than the dive took: branch-and-cut on the same model would start with the same
            // root LP, whose solve (in GLPK's MIP presolver) GLPK does not cut short at the limit
            // (2.5 s over a 10 s limit on 120 servers of unique sizes; on a generated 300-host
            // fleet the race began with 0.7-1.5 s left after a 1.7-2.3 s dive and took 3.1-3.4 s).
            if dived.timedOut || started + timeLimit - monotonicSeconds() < monotonicSeconds() - diveStarted {
                notes.append("no time left for branch-and-cut after the LP dive; the \(chosenSource) plan is used")
                return outcome(slack: scale.slack(of: chosenLevels, bound: dived.bound))
            }
        }
        let solution: Solution
        do {
            // Stop as soon as the primary objective of the incumbent meets its bound: the lower
            // levels (moves) cannot change the primary answer.
            let stop: @Sendable (Double, Double) -> Bool = { incumbent, bound in scale.proves(incumbent, bound: bound) }
            // The heuristic and the model's construction count against the limit too.
            let left = max(0.05, timeLimit - (monotonicSeconds() - started))
            var solveOptions = SolveOptions(timeLimit: left, stopWhen: stop)
            // And once the bound proves the plan in hand (the restricted search's, say), even
            // before branch-and-cut has a plan of its own.
            let held = chosenLevels
            solveOptions.stopWhenBound = { bound in scale.slack(of: held, bound: bound) == 0 }
            // Pseudo-cost branching: GLPK's default (Driebeck-Tomlin) spends seconds per node on
            // tableau rows in models of thousands of columns; measured on the evacuation benchmark
            // it took 30 s without proving what pseudo-costs prove in 0.23 s (docs/PERFORMANCE.md).
            solveOptions.branching = .pseudoCost
            // Evacuations and named moves without GLPK's MIP presolver: it solves its root LP
            // with no time limit (moving 497 named servers on the mixed 1,000-host fleet at
            // 5 s: 0.78 s over; draining a tenth of 2,500 hosts at 10 s: 1.1-1.4 s over).
            // Without it the root LP is solved first under the limit, branch-and-cut gets what
            // is left, and the plan in hand goes in as its incumbent (the presolved problem's
            // columns are not the model's). Measured: 4.8 s and 9.4 s instead of 5.5-5.9 s and
            // 11.4 s; the same plans. Small models keep it: their root LP takes milliseconds,
            // and the presolver's tightening is what proves them (43 servers off 10 of 60
            // hosts, 421 columns: 0.03 s with it, 0.53 s without).
            if objective == .minHostsTouched, built.model.variableCount > presolveColumns { solveOptions.presolve = false }
            // Race the same search with Gomory cuts on a second thread: on the evacuation
            // benchmark they prove the optimum in 0.01 s instead of 0.1 s, on most other models
            // they slow it a little. The race is decided by callback counts, so plans stay
            // reproducible (GLPK's Model.race).
            var withCuts = solveOptions
            withCuts.gomoryCuts = true
            solution = try built.model.race([solveOptions, withCuts])
        } catch {
            notes.append("solver failed (\(error)); the \(heuristicSource) plan is used")
            return SubOutcome(decisions: heuristic, slack: nil, seconds: 0,
                              variables: built.model.variableCount, constraints: built.model.constraintCount, notes: notes)
        }
        let solverPlanKept = consider(solution)
        if solution.status == .noSolution {
            notes.append(solution.stoppedByBound
                ? "branch-and-cut proved the \(chosenSource) plan optimal"
                : "time limit reached before the solver found a plan; the \(chosenSource) plan is used")
        }
        if solution.status == .feasible && solution.hitTimeLimit { notes.append("time limit reached; the plan is the best found, with its gap") }
        let optimal = solution.status == .optimal && solverPlanKept
        // Bound on the primary objective from the solver's bound on the weighted objective.
        return outcome(slack: optimal ? 0 : scale.slack(of: chosenLevels, bound: solution.bound))
    }

    /// What the LP-guided restricted search found.
    struct RestrictedOutcome {
        /// The plan found, with its objective levels.
        var found: (decisions: [[Decision]], levels: Levels)?
        /// The full model's LP optimum (a bound on its weighted objective), when solved.
        var lpBound: Double?
        var note: String
    }

    /// An LP-guided neighbourhood for evacuations (min-hosts-touched): solve the LP relaxation,
    /// then the same model with only the hosts it opens (any arrival above zero) and the hosts
    /// the best plan so far touches allowed to receive, capped at that plan's host count. The
    /// restricted model is a fraction of the full one, so branch and cut finds plans there that
    /// it does not find in the full model in the same time (measured: 2,500 hosts). Its plan is
    /// valid for the whole sub-problem (it only forbids targets); its bound is not, so the LP
    /// bound of the full model is returned for that. The LP gets a third of the budget. The
    /// search stops when its plan meets the LP bound, or when it has not improved for half the
    /// callbacks it has made with a plan (at least 5,000, `StallWatch`): proving optimality
    /// inside the neighbourhood is not its job. Uses at most `share` of the time left.
    func restrictedSearch(
        _ sub: SubProblem, _ built: SubModel, options: PlanOptions, current: [[Decision]], best: Levels, deadline: Double,
        share: Double
    ) -> RestrictedOutcome? {
        let objective = options.effectiveObjective
        let start = monotonicSeconds()
        let budgetEnd = start + max(0.05, (deadline - start) * share)
        var open = Set<Int>()  // the hosts the plan in hand touches, and those the LP opens
        for decision in current.joined() {
            if case .host(let h, _) = decision { open.insert(h) }
        }
        let lpLimit = max(0.05, (budgetEnd - start) / 3)
        guard let lp = try? built.model.relaxed.solve(SolveOptions(timeLimit: lpLimit)), lp.status == .optimal,
            let lpBound = lp.objective
        else { return RestrictedOutcome(found: nil, lpBound: nil, note: "restricted search: LP relaxation not solved in time") }
        var opened = Set<Int>()
        for classArrivals in built.arrivals {
            for arrival in classArrivals where lp[arrival.variable] > 1e-6 { opened.insert(arrival.host) }
        }
        open.formUnion(opened)
        let source = "\(opened.count) opened by the LP"
        var restricted = sub
        for h in sub.hosts.indices where !open.contains(h) { restricted.receives[h] = false }
        let (small, smallScale) = aggregatedModel(restricted, options: options, heuristic: best)
        let left = budgetEnd - monotonicSeconds()
        guard left > 0.01 else {
            return RestrictedOutcome(found: nil, lpBound: lpBound, note: "restricted search (\(source)): no time left")
        }
        let stall = StallWatch()
        var solveOptions = SolveOptions(timeLimit: left, stopWhen: { incumbent, bound in
            // Nothing better in the neighbourhood (its own bound), or anywhere (the full LP's).
            if smallScale.proves(incumbent, bound: max(bound, lpBound)) { return true }
            return stall.stalled(incumbent)
        })
        solveOptions.branching = .pseudoCost
        let what = "restricted search (\(open.count) of \(sub.hosts.count) hosts, \(source))"
        guard let solution = try? small.model.solve(solveOptions), solution.hasSolution,
            let decisions = extract(restricted, small, solution)
        else {
            return RestrictedOutcome(found: nil, lpBound: lpBound, note: "\(what): no plan")
        }
        let levels = sub.levels(decisions, objective: objective, inventory: inventory)
        // Servers it leaves unplaced are said: its hosts touched alone read as a better plan
        // than the one kept (mixed 1,000, 499 named servers: "17 hosts" beside a plan of 43).
        let unplacedNote = levels.unplaced > 0 ? ", \(levels.unplaced) server(s) left unplaced" : ""
        return RestrictedOutcome(
            found: (decisions, levels), lpBound: lpBound,
            note: "\(what): plan touching \(Int(levels.primary)) host\(levels.primary == 1 ? "" : "s")\(unplacedNote)")
    }

    /// What the search in the LP optimum's rounding neighbourhood found.
    struct DiveOutcome {
        var solution: Solution?
        /// The LP relaxation's optimum (a bound on the weighted objective), when it was solved.
        var bound: Double?
        /// The solution's primary level meets the LP bound: nothing better exists.
        var proven: Bool
        var note: String
        /// The dive ended at its time limit.
        var timedOut = false
    }

    /// Dives from the LP relaxation (GLPK module's `Model.dive`): round the count nearest an
    /// integer, re-optimise, repeat. On consolidations the relaxation is often tight, so a plan
    /// at the LP bound is proven optimal without branch-and-cut (measured on 4,000 servers /
    /// 1,000 hosts: see docs/PERFORMANCE.md). Only for the host-count objectives, whose primary
    /// level is integral and readable from the LP bound.
    /// - Parameter share: the part of the time left until `deadline` the dive may use.
    func lpDive(_ built: SubModel, scale: PrimaryScale, objective: PlanObjective, deadline: Double, share: Double) -> DiveOutcome? {
        guard objective == .minHostsUsed || objective == .minHostsTouched else { return nil }
        let budget = max(0.05, (deadline - monotonicSeconds()) * share)
        guard let dive = try? built.model.dive(DiveOptions(timeLimit: budget)) else { return nil }
        let detail = dive.notes.map { $0.hasPrefix("dive: ") ? String($0.dropFirst(6)) : $0 }.joined(separator: "; ")
        guard dive.hasSolution, let value = dive.objective, let bound = dive.bound else {
            return DiveOutcome(solution: nil, bound: dive.bound, proven: false, note: "LP dive: no plan (\(detail))",
                               timedOut: dive.hitTimeLimit)
        }
        let proven = scale.proves(value, bound: bound)
        return DiveOutcome(
            solution: dive, bound: bound, proven: proven,
            note: "LP dive: plan \(proven ? "at" : "above") the LP bound (\(detail))")
    }

    /// `solve` with another solver on the same aggregated model (no column generation, no greedy fallback).
    func solveExternally(
        _ sub: SubProblem, number: Int, options: PlanOptions, timeLimit: Double, solver: any ExternalModelSolver
    ) throws(PlanError) -> SubOutcome {
        let objective = options.effectiveObjective
        let heuristic = heuristicPlan(sub, options: options).decisions
        let (built, scale) = aggregatedModel(
            sub, options: options, heuristic: sub.levels(heuristic, objective: objective, inventory: inventory))
        let solution: Solution
        do {
            let answer = try solver.solve(subproblem: number, model: ExternalModel(model: built.model), timeLimit: timeLimit)
            solution = try Solution(
                external: answer.values, status: Solution.Status(rawValue: answer.status.rawValue) ?? .noSolution, bound: answer.bound,
                seconds: answer.seconds, notes: answer.notes, for: built.model)
        } catch {
            throw PlanError(message: "external solver, sub-problem \(number): \(error)")
        }
        guard solution.hasSolution else {
            throw PlanError(message: "external solver, sub-problem \(number): no solution (\(solution.status.rawValue))")
        }
        guard let decisions = extract(sub, built, solution) else {
            throw PlanError(message: "external solver, sub-problem \(number): its counts do not form a plan")
        }
        let levels = sub.levels(decisions, objective: objective, inventory: inventory)
        let slack = solution.status == .optimal ? 0 : scale.slack(of: levels, bound: solution.bound)
        return SubOutcome(
            decisions: decisions, slack: slack, seconds: solution.seconds, variables: built.model.variableCount,
            constraints: built.model.constraintCount, notes: solution.notes)
    }

    /// The sub-problem's aggregated model, its primary objective capped at the heuristic plan's
    /// level when that plan places everything (the issue's "cap the host set at the heuristic's
    /// count"), and how to read the primary level out of its weighted objective.
    func aggregatedModel(_ sub: SubProblem, options: PlanOptions, heuristic levels: Levels) -> (SubModel, PrimaryScale) {
        let objective = options.effectiveObjective
        let cap = levels.unplaced == 0 && levels.pool == 0
            && (objective == .minHostsUsed || objective == .minHostsTouched) ? Int(levels.primary) : nil
        let built = SubModel(sub, options: options, inventory: inventory, primaryCap: cap)
        let scale = PrimaryScale(
            primary: built.weights.primary, pool: built.weights.pool, lower: built.weights.moves * Double(built.maxMoves),
            integral: objective != .balance)
        return (built, scale)
    }

    /// Reads the primary level out of the weighted objective (levels: unplaced, pool, primary, moves).
    struct PrimaryScale: Sendable {
        let primary: Double
        let pool: Double
        /// The most the levels below the primary can add.
        let lower: Double
        let integral: Bool

        /// A lower bound on the primary objective from a bound on the weighted objective.
        func bound(_ weighted: Double) -> Double {
            var b = (weighted - lower) / primary
            if integral { b = (b - 1e-6).rounded(.up) }
            return max(0, b)
        }

        /// How far a plan's primary level can be above the optimum, given a bound on the weighted
        /// objective; nil without a bound, or when the plan leaves servers unplaced or pooled
        /// (the weighted bound then says nothing about the primary level alone).
        func slack(of levels: Levels, bound weighted: Double?) -> Double? {
            guard let weighted, levels.unplaced == 0, levels.pool == 0 else { return nil }
            return max(0, levels.primary - bound(weighted))
        }

        /// True when an incumbent with nothing unplaced or pooled has a primary level its bound meets.
        func proves(_ incumbent: Double, bound weighted: Double) -> Bool {
            guard integral, primary > 0, incumbent < pool - 0.5 else { return false }
            return bound(weighted) >= (incumbent / primary).rounded(.down) - 1e-9
        }
    }

    /// Turns solver counts into one decision per server; nil if the counts are inconsistent.
    func extract(_ sub: SubProblem, _ built: SubModel, _ solution: Solution) -> [[Decision]]? {
        func count(_ v: Model.Variable) -> Int { Int(solution[v].rounded()) }
        var result: [[Decision]] = []
        for (c, cls) in sub.classes.enumerated() {
            var decision: [Int: Decision] = [:]
            var leaving: [Int: [Int]] = [:]  // origin host -> servers leaving
            for stay in built.stays[c] {
                let members = cls.origins[stay.origin] ?? []
                let n = count(stay.variable)
                guard n <= members.count else { return nil }
                for s in members.prefix(n) { decision[s] = .stay }
                leaving[stay.origin.host, default: []] += members.dropFirst(n)
            }
            // Arrival slots per host, then match movers to slots so that none returns to its own
            // host: a small max-flow from sources to target hosts (the model's Hall constraints
            // guarantee a full matching exists).
            var slots: [Int: [[Int]]] = [:]
            for a in built.arrivals[c] { slots[a.host, default: []] += Array(repeating: a.nodes, count: count(a.variable)) }
            // The pool is one more target (-2) that only servers on a DeH may go to.
            let poolCount = built.pool[c].map(count) ?? 0
            if poolCount > 0 { slots[-2] = Array(repeating: [], count: poolCount) }
            let sources = leaving.keys.sorted()
            let targets = slots.keys.sorted()
            guard let flow = matchAvoidingOwnHost(
                supply: sources.map { leaving[$0]!.count }, demand: targets.map { slots[$0]!.count },
                forbidden: { sources[$0] == targets[$1] || (targets[$1] == -2 && sources[$0] == -1) })
            else { return nil }
            for (i, src) in sources.enumerated() {
                for (j, h) in targets.enumerated() where flow[i][j] > 0 {
                    for _ in 0..<flow[i][j] {
                        let server = leaving[src]!.removeLast()
                        decision[server] = h == -2 ? .pool : .host(h, slots[h]!.removeLast())
                    }
                }
            }
            guard leaving.values.allSatisfy(\.isEmpty) else { return nil }
            result.append(cls.servers.map { decision[$0] ?? .stay })
        }
        return result
    }

    /// `decisions` with more hosts emptied by the local search (`emptiedByLocalSearch`) until
    /// `deadline`, their levels, and a note of what they came to; nil when it empties none.
    func searchedMore(_ decisions: [[Decision]], sub: SubProblem, options: PlanOptions, deadline: Double)
        -> (decisions: [[Decision]], levels: Levels, note: String)?
    {
        guard let more = emptiedByLocalSearch(decisions, sub: sub, options: options, deadline: deadline), more.emptied > 0
        else { return nil }
        let objective = options.effectiveObjective
        let levels = sub.levels(more.decisions, objective: objective, inventory: inventory)
        let unit = objective == .minHostsUsed ? "hosts in use" : "hosts touched"
        return (more.decisions, levels, "local search: \(more.emptied) more host(s) emptied, \(Int(levels.primary)) \(unit)")
    }
}
