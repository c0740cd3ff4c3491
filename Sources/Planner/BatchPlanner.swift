// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a plan could not be made at all (bad ids or options; never "infeasible", which is a plan).
public struct PlanError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// Computes batch migration plans (evacuate, move a set, consolidate, rebalance) with GLPK.
///
/// Servers are aggregated into classes (same flavor and AZ, or one server of an anti-affinity
/// group) and the model counts how many of each class arrive on each (host, NUMA node set),
/// stay where they are, or go to the pool. A greedy incumbent built with the fit function
/// guarantees a plan when the solver runs out of time; every plan is replayed wave by wave
/// with the fit function before it is returned.
public struct BatchPlanner: Sendable {
    public let inventory: Inventory
    let checker: Checker

    /// Prepares a planner for an inventory.
    public init(_ inventory: Inventory) {
        self.inventory = inventory
        self.checker = Checker(inventory)
    }

    /// Sub-problem models with more variables than this get the LP bound instead of branch-and-cut
    /// (a stored property so tests can reach that path with small inventories).
    var branchAndCutLimit = 20_000
    /// Model columns per chunk of a sub-problem too large for branch-and-cut. Measured on the
    /// generated inventories (30 s limit): consolidating 10,000 hosts (140,862 columns): 8,503
    /// hosts in use with chunks of 12,000 columns, 8,458 with 6,000, 7,730 with 3,000 (bound
    /// 7,728); 2,500 hosts: 1,957 (the LP bound) with each, in 8.1 s with 3,000 and 18.7 s with
    /// 12,000. Evacuating 1,000 of 10,000 hosts: 596, 599 and 585 hosts touched (greedy 591).
    var chunkColumns = 3_000
    /// Whether the pattern model over host shapes runs before the per-host models (a stored
    /// property so tests can reach the per-host and chunked paths it would otherwise pre-empt).
    var patternModel = true

    static func isMovable(_ server: Server, assumeStopped: Bool = false) -> Bool {
        assumeStopped || (server.isStopped && !server.locked && server.taskState == nil)
    }

    func hostIndex(_ id: String, role: String) throws(PlanError) -> Int {
        guard let h = inventory.hostIndex[id] else {
            var message = "\(role): no Dedicated Host \"\(id)\" in the inventory"
            if let guess = closestMatch(to: id, in: inventory.hosts.lazy.map(\.id)) { message += "; did you mean \"\(guess)\"?" }
            throw PlanError(message: message)
        }
        return h
    }

    /// Solves one sub-problem's aggregated model elsewhere: given the sub-problem's number (from
    /// 0), the model and the time left, returns a solution (checked against the model before use).
    public typealias ExternalSolver = @Sendable (_ subproblem: Int, _ model: Model, _ timeLimit: Double) throws -> Solution

    /// Makes a plan. With `externalSolver`, every sub-problem's aggregated model goes to it instead
    /// of GLPK (for side-by-side comparisons); its plan is extracted, ordered and validated exactly
    /// like GLPK's, and never replaced by the greedy plan.
    public func plan(_ options: PlanOptions, externalSolver: ExternalSolver? = nil) throws(PlanError) -> Plan {
        let start = monotonicNow()
        // First, so that the time limit counts it: 0.3 s for 10,000 hosts (it serializes the
        // whole inventory).
        let fingerprint = inventory.fingerprint
        var options = options
        if options.placement == .any { options.layoutPolicy = .certain }  // only certain fits are safe
        if !(options.timeLimit.isFinite && options.timeLimit > 0) {
            throw PlanError(message: "--time-limit must be a positive number of seconds")
        }
        var excluded = Set<Int>()
        for id in options.exclude { excluded.insert(try hostIndex(id, role: "--exclude")) }

        // Movers and servers that cannot move.
        var movers: [Int] = []
        var blocked: [Unplaced] = []
        var evacuated = Set<Int>()
        var mustMove = false
        switch options.mode {
        case .evacuate(let ids):
            mustMove = true
            for id in ids { evacuated.insert(try hostIndex(id, role: "--evacuate")) }
            let ids = Set(evacuated.map { inventory.hosts[$0].id })
            for (s, server) in inventory.servers.enumerated() where server.dedicatedHostID.map(ids.contains) ?? false {
                if Self.isMovable(server, assumeStopped: options.assumeStopped) {
                    movers.append(s)
                } else {
                    blocked.append(Unplaced(serverID: server.id, reasons: checker.serverReasons(server, options: .init())))
                }
            }
        case .servers(let ids):
            mustMove = true
            var seen = Set<String>()
            for id in ids where seen.insert(id).inserted {
                guard let s = inventory.serverIndex[id] else {
                    var message = "--servers: no server \"\(id)\" in the inventory"
                    if let guess = closestMatch(to: id, in: inventory.servers.lazy.map(\.id)) { message += "; did you mean \"\(guess)\"?" }
                    throw PlanError(message: message)
                }
                let server = inventory.servers[s]
                if Self.isMovable(server, assumeStopped: options.assumeStopped) {
                    movers.append(s)
                } else {
                    blocked.append(Unplaced(serverID: id, reasons: checker.serverReasons(server, options: .init())))
                }
            }
        case .consolidate, .rebalance:
            for (s, server) in inventory.servers.enumerated() where server.dedicatedHostID != nil && Self.isMovable(server, assumeStopped: options.assumeStopped) {
                movers.append(s)
            }
        }

        // Sub-problems: one per availability zone and family of host types (servers of one family
        // can only go to its hosts), or one for all under a global move limit.
        let zonesOfMovers = Set(movers.map { inventory.servers[$0].availabilityZone })
        var groups: [[String]] = zonesOfMovers.sorted().map { [$0] }
        if options.maxMoves != nil && groups.count > 1 { groups = [zonesOfMovers.sorted()] }
        var subs: [SubProblem] = []
        for zones in groups {
            let zoneMovers = movers.filter { zones.contains(inventory.servers[$0].availabilityZone) }
            let families = options.maxMoves == nil ? hostTypeFamilies(of: zoneMovers) : [(types: nil, movers: zoneMovers)]
            for family in families {
                subs.append(buildSubProblem(
                    zones: Set(zones), hostTypes: family.types, movers: family.movers,
                    mustMove: mustMove, evacuated: evacuated, excluded: excluded, options: options))
            }
        }

        // Consolidating under `any` where layouts are unknown keeps 40 % of the time to empty more
        // hosts by the exact verdict afterwards (`emptyMoreHosts`).
        let emptyPhase = options.placement == .any && options.mode == .consolidate && options.effectiveObjective == .minHostsUsed
            && options.maxMoves == nil && inventory.servers.contains { $0.dedicatedHostID != nil && $0.numaNodes == nil }
        // The final wave ordering and the validation replay run after the models, on every
        // move, and the models overrun their share a little (GLPK checks its time limit between
        // simplex iterations, not in its presolver); they get a reserve that grows with the
        // movers. Measured (release build, 2 cores) under `any`, where arrivals are judged by
        // the exact verdict: 1.2-2.0 s of ordering, 0.45 s of validation and 0.3-0.8 s of
        // overrun for 4,305 movers on 10,000 hosts; 0.55 s and 0.16 s for 4,527 movers on
        // 1,957 hosts. Under the other models ordering and validation take 12 microseconds a
        // move. Without the reserve, a 20 s limit ended at 22.4 s.
        let perMover = options.placement == .any ? 0.0006 : 0.00002
        let reserve = min(options.timeLimit * 0.3, perMover * Double(movers.count))
        let solveBudget = (options.timeLimit - reserve) * (emptyPhase ? 0.6 : 1)

        // Solve each sub-problem.
        var decisions: [(SubProblem, [[Decision]])] = []
        var solverSeconds = 0.0
        var variables = 0
        var constraints = 0
        var notes: [String] = []
        var boundSlack = 0.0  // Σ (sub value - sub bound), for the global bound
        var boundKnown = true
        var remainingMovers = movers.count
        for sub in subs {
            let elapsed = monotonicNow() - start
            let remaining = max(0.05, solveBudget - elapsed)
            let share = remaining * Double(sub.totalMovers) / Double(max(remainingMovers, 1))
            remainingMovers -= sub.totalMovers
            let outcome = if let externalSolver {
                try solveExternally(sub, number: decisions.count, options: options, timeLimit: max(0.05, share), solver: externalSolver)
            } else {
                solve(sub, options: options, timeLimit: max(0.05, share))
            }
            let trimmed = keepHome(sub, outcome.decisions, options: options)
            decisions.append((sub, trimmed.decisions))
            solverSeconds += outcome.seconds
            variables += outcome.variables
            constraints += outcome.constraints
            notes += outcome.notes
            if trimmed.cancelled > 0 { notes.append("\(trimmed.cancelled) move(s) dropped: those servers fit where they are") }
            // Dropping moves never raises the primary level; where it lowers it, the plan is
            // closer to the same bound.
            if let slack = outcome.slack { boundSlack += max(0, slack - trimmed.primaryGain) } else { boundKnown = false }
        }

        // Concrete moves, then waves (which re-check every move with the fit function).
        var moves: [Move] = []
        var unplacedIDs: [String] = []
        for (sub, subDecisions) in decisions {
            for (c, cls) in sub.classes.enumerated() {
                for (i, d) in subDecisions[c].enumerated() {
                    let server = inventory.servers[cls.servers[i]]
                    switch d {
                    case .stay: if sub.mustMove { unplacedIDs.append(server.id) }
                    case .pool: moves.append(Move(serverID: server.id, from: server.dedicatedHostID, to: nil, numaNodes: nil))
                    case .host(let h, let nodes):
                        moves.append(Move(
                            serverID: server.id, from: server.dedicatedHostID, to: inventory.hosts[sub.hosts[h]].id, numaNodes: nodes))
                    }
                }
            }
        }
        // The solver's bound holds for any plan with the same final-state constraints, so it
        // survives re-routing; the value is recomputed from the moves actually kept.
        let solverValue = objectiveValue(moves, objective: options.effectiveObjective)
        let ordered = orderWaves(moves, options: options)
        moves = ordered.moves
        if !ordered.dropped.isEmpty {
            notes.append("\(ordered.dropped.count) move(s) dropped: they depend on each other in a cycle and no host or pool could break it")
            unplacedIDs += ordered.dropped
        }
        if ordered.rerouted > 0 {
            notes.append("\(ordered.rerouted) move(s) re-routed to break dependency cycles")
        }
        // The models see a host with servers of unknown layout through the worst case per node;
        // under `any` the exact verdict can admit more there, so the models' bound is no bound
        // of the real problem when such a host may receive servers.
        let boundHolds = !(options.placement == .any && inventory.hosts.indices.contains { h in
            inventory.hosts[h].state == .available && !evacuated.contains(h) && !excluded.contains(h)
                && checker.state.usage[h].hasUnknownLayout
        })
        if !boundHolds { notes.append("no bound from the models: hosts with servers of unknown NUMA layout may take more than their worst case per node") }
        // Under `any`, servers the models could not place go where the exact verdict finds them safe.
        if options.placement == .any && mustMove && !unplacedIDs.isEmpty {
            // Two candidates: the models' plan with the rest inserted, and every mover inserted
            // from scratch (roomiest hosts first); the one that places more, then scores better.
            let all = moves.map(\.serverID) + unplacedIDs
            var best: (moves: [Move], unplaced: [String])?
            for (base, pending) in [(moves, unplacedIDs), ([], all)] {
                let inserted = insertUnplaced(pending, into: base, options: options, evacuated: evacuated, excluded: excluded)
                let reordered = orderWaves(inserted.moves, options: options)  // numbers the waves anew
                let moved = Set(reordered.moves.map(\.serverID))
                let out = all.filter { !moved.contains($0) }
                if let b = best, (b.unplaced.count, objectiveValue(b.moves, objective: options.effectiveObjective))
                    <= (out.count, objectiveValue(reordered.moves, objective: options.effectiveObjective)) { continue }
                best = (reordered.moves, out)
            }
            if let best, best.unplaced.count < unplacedIDs.count {
                notes.append("\(unplacedIDs.count - best.unplaced.count) more server(s) placed on hosts with servers of unknown NUMA layout by the exact verdict (safe whatever nodes the cloud picks)")
                moves = best.moves
                unplacedIDs = best.unplaced
            }
        }
        // Consolidating under `any` where layouts are unknown: empty more hosts by the exact verdict.
        if emptyPhase {
            // From the models' plan, and from no move at all (hosts the models filled are not
            // emptied again); half the time left each; the plan that keeps fewer hosts in use.
            let before = objectiveValue(moves, objective: .minHostsUsed)
            var best: (moves: [Move], value: Double)?
            let now = monotonicNow()
            let end = start + options.timeLimit - reserve
            for (base, deadline) in [(moves, now + (end - now) / 2), ([], end)] {
                let more = emptyMoreHosts(base, options: options, excluded: excluded, deadline: deadline)
                guard more.emptied > 0 else { continue }
                let reordered = orderWaves(more.moves, options: options)
                let value = objectiveValue(reordered.moves, objective: .minHostsUsed)
                if reordered.dropped.isEmpty && value < (best?.value ?? before) { best = (reordered.moves, value) }
            }
            if let best {
                moves = best.moves
                notes.append("\(Int(before - best.value)) more host(s) emptied by the exact unknown-layout verdict (safe whatever nodes the cloud picks)")
            }
        }
        let problems = PlanValidator.violations(of: moves, on: inventory, options: options.checkerOptions)
        if !problems.isEmpty {
            throw PlanError(message: "internal error: the plan failed its own validation (a bug; please report it):\n"
                + problems.prefix(10).joined(separator: "\n"))
        }

        var unplaced = blocked
        for id in unplacedIDs {
            unplaced.append(Unplaced(serverID: id, reasons: explainUnplaced(id, options: options, evacuated: evacuated, excluded: excluded)))
        }
        let value = objectiveValue(moves, objective: options.effectiveObjective)
        var bound: Double? = boundKnown && boundHolds ? solverValue - boundSlack : nil
        if !boundHolds && options.effectiveObjective == .minHostsTouched && !options.allowPool && moves.contains(where: { $0.to != nil }) {
            bound = 1  // what is left to claim: servers that must reach a DeH touch at least one
        }
        if let b = bound { bound = min(value, max(0, b)) }
        let proven = bound.map { abs($0 - value) < 1e-9 } ?? false  // a plan that meets its bound is optimal
        let status: Plan.Status = !unplaced.isEmpty && mustMove
            ? (moves.isEmpty ? .infeasible : .partial) : (proven ? .optimal : .feasible)
        return Plan(
            status: status, objectiveName: options.effectiveObjective.rawValue, objectiveValue: value, objectiveBound: bound,
            moves: moves, unplaced: unplaced, solverSeconds: solverSeconds, variables: variables, constraints: constraints,
            subproblems: subs.count, notes: notes, placement: options.placement,
            topology: inventory.topology(for: moves), fingerprint: fingerprint)
    }

    // MARK: Sub-problems

    /// Splits movers into independent parts: host types are linked when one mover's flavor runs
    /// on both, or a mover sits on one and runs on the other; each part gets the movers and host
    /// types of one connected family. The objectives are sums (or, for balance, a maximum) over
    /// hosts, so solving the parts separately loses nothing, and each model is a fraction of the
    /// size. (The 4,000-server benchmark stays whole: its m6 hosts also run c6.xlarge.4.) For
    /// balance, the parts' bounds combine conservatively in `plan` (value minus every part's
    /// slack). A mover whose flavor runs nowhere keeps everything in one part (nil types: all
    /// hosts).
    func hostTypeFamilies(of movers: [Int]) -> [(types: Set<String>?, movers: [Int])] {
        let typeNames = inventory.hostTypes.keys.sorted()
        var parent = Dictionary(uniqueKeysWithValues: typeNames.map { ($0, $0) })
        func root(_ t: String) -> String {
            var r = t
            while let p = parent[r], p != r { r = p }
            parent[t] = r
            return r
        }
        func union(_ a: String, _ b: String) {
            let (ra, rb) = (root(a), root(b))
            if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
        }
        var anchor: [Int: String] = [:]
        for s in movers {
            let server = inventory.servers[s]
            var types = typeNames.filter { inventory.hostTypes[$0]?.supports(server.flavor) ?? false }
            if let id = server.dedicatedHostID, let h = inventory.hostIndex[id] { types.append(inventory.hosts[h].hostType) }
            guard let first = types.first, parent[first] != nil else { return [(nil, movers)] }
            for t in types.dropFirst() where parent[t] != nil { union(first, t) }
            anchor[s] = first
        }
        var parts: [String: [Int]] = [:]
        for s in movers { parts[root(anchor[s]!), default: []].append(s) }
        guard parts.count > 1 else { return [(nil, movers)] }
        return parts.keys.sorted().map { key in (Set(typeNames.filter { root($0) == key }), parts[key]!) }
    }

    func buildSubProblem(
        zones: Set<String>, hostTypes: Set<String>? = nil, movers: [Int], mustMove: Bool, evacuated: Set<Int>,
        excluded: Set<Int>, options: PlanOptions
    ) -> SubProblem {
        var sub = SubProblem()
        sub.mustMove = mustMove
        for (h, host) in inventory.hosts.enumerated()
        where zones.contains(host.availabilityZone) && (hostTypes?.contains(host.hostType) ?? true) {
            sub.local[h] = sub.hosts.count
            sub.hosts.append(h)
            sub.receives.append(host.state == .available && !excluded.contains(h) && !evacuated.contains(h))
            sub.fixed.append(HostUsage(capacity: inventory.capacity(of: host)))
            sub.fixedMembers.append([:])
        }
        let moving = Set(movers)
        for (s, server) in inventory.servers.enumerated() {
            guard !moving.contains(s), let id = server.dedicatedHostID, let h = inventory.hostIndex[id], let l = sub.local[h],
                let flavor = inventory.flavors[server.flavor]
            else { continue }
            sub.fixed[l].add(flavor, nodes: server.numaNodes)
            for g in inventory.groupsOfServer[server.id] ?? [] { sub.fixedMembers[l][g, default: 0] += 1 }
        }
        var classIndex: [String: Int] = [:]
        for s in movers {
            let server = inventory.servers[s]
            let flavor = inventory.flavors[server.flavor]!
            let grouped = !(inventory.groupsOfServer[server.id] ?? []).isEmpty
            let key = grouped ? "s:\(server.id)" : "f:\(server.flavor)|\(server.availabilityZone)"
            let c: Int
            if let existing = classIndex[key] {
                c = existing
            } else {
                c = sub.classes.count
                classIndex[key] = c
                sub.classes.append(MoverClass(flavor: flavor, singleton: grouped))
            }
            let origin = Origin(
                host: server.dedicatedHostID.flatMap { inventory.hostIndex[$0] }.flatMap { sub.local[$0] } ?? -1,
                nodes: server.numaNodes)
            sub.classes[c].servers.append(s)
            sub.classes[c].origins[origin, default: []].append(s)
        }
        return sub
    }

    struct SubOutcome {
        var decisions: [[Decision]]
        /// value - bound of this sub-problem's primary objective (nil: unknown).
        var slack: Double?
        var seconds: Double
        var variables: Int
        var constraints: Int
        var notes: [String]
    }

    /// The sub-problem solved within `timeLimit`; on consolidations the slack is also measured
    /// against the volume bound (`hostsUsedVolumeBound`), which needs no LP and is what proves
    /// tiled fleets optimal when the models have no time.
    func solve(_ sub: SubProblem, options: PlanOptions, timeLimit: Double) -> SubOutcome {
        var outcome = solveModels(sub, options: options, timeLimit: timeLimit)
        let objective = options.effectiveObjective
        guard objective == .minHostsUsed else { return outcome }
        let levels = sub.levels(outcome.decisions, objective: objective, inventory: inventory)
        guard levels.unplaced == 0, levels.pool == 0 else { return outcome }
        let volume = max(0, levels.primary - Double(sub.hostsUsedVolumeBound()))
        if outcome.slack.map({ volume < $0 }) ?? true {
            outcome.slack = volume
            if volume == 0 { outcome.notes.append("proven by volume: the servers need every host the plan keeps") }
        }
        return outcome
    }

    func solveModels(_ sub: SubProblem, options: PlanOptions, timeLimit: Double) -> SubOutcome {
        let started = monotonicNow()
        let objective = options.effectiveObjective
        // Half of the limit at most for judging first-fit decreasing in waves (the models need the
        // rest), but a quarter second always: small plans are ordered in milliseconds.
        let (heuristic, heuristicSource) = heuristicPlan(
            sub, options: options, deadline: started + max(timeLimit * 0.5, 0.25), lastResort: started + max(timeLimit * 0.6, 0.25),
            greedyDeadline: started + timeLimit * 0.25)
        let heuristicLevels = sub.levels(heuristic, objective: objective, inventory: inventory)
        if let patterns = PatternConsolidation(sub, options: options, inventory: inventory),
            let outcome = patterns.solve(timeLimit: timeLimit)
        {
            let levels = sub.levels(outcome.decisions, objective: objective, inventory: inventory)
            let better = levels <= heuristicLevels
            let decisions = better ? outcome.decisions : heuristic
            let value = better ? levels.primary : heuristicLevels.primary
            return SubOutcome(
                decisions: decisions,
                slack: value - Double(outcome.lowerBound), seconds: outcome.seconds, variables: outcome.columns,
                constraints: outcome.rows, notes: ["column generation: \(outcome.columns) patterns"])
        }
        // The pattern model over host shapes: until 60 % of the limit (at least a fifth of it
        // after the plan in hand, at most 90 %); proven plans end here, others become the plan
        // in hand for the per-host models, and its bound stays.
        let patternDeadline = min(started + timeLimit * 0.9, max(started + timeLimit * 0.6, monotonicNow() + timeLimit * 0.2))
        guard patternModel, let shapes = ShapePatterns(sub, options: options, planner: self),
            let found = shapes.solve(start: heuristic, deadline: patternDeadline, searchPlans: true)
        else {
            return solveAggregated(sub, options: options, timeLimit: timeLimit, started: started, heuristic: heuristic,
                                   source: heuristicSource)
        }
        var plan = (decisions: heuristic, levels: heuristicLevels, source: heuristicSource)
        if found.decisions != heuristic,
            let safe = options.placement == .any ? anySafe(found.decisions, sub: sub, options: options, deadline: started + timeLimit * 0.9) : found.decisions,
            let executable = ordered(safe, sub: sub, options: options, deadline: started + timeLimit)
        {
            let levels = sub.levels(executable, objective: objective, inventory: inventory)
            if levels < plan.levels { plan = (executable, levels, "pattern model") }
        }
        let bound = found.bound.map(Double.init)
        if let bound, plan.levels.primary <= bound + 1e-9 {
            return SubOutcome(decisions: plan.decisions, slack: 0, seconds: monotonicNow() - started, variables: found.patterns,
                              constraints: sub.classes.count + shapes.shapes.count, notes: [found.note])
        }
        var outcome = solveAggregated(sub, options: options, timeLimit: timeLimit, started: started, heuristic: plan.decisions,
                                      source: plan.source)
        outcome.notes.insert(found.note, at: 0)
        if let bound {
            let primary = sub.levels(outcome.decisions, objective: objective, inventory: inventory).primary
            outcome.slack = min(outcome.slack ?? .infinity, max(0, primary - bound))
        }
        return outcome
    }

    /// The per-host models (`aggregatedModel`) from the plan in hand.
    func solveAggregated(
        _ sub: SubProblem, options: PlanOptions, timeLimit: Double, started: Double, heuristic: [[Decision]], source heuristicSource: String
    ) -> SubOutcome {
        let objective = options.effectiveObjective
        // No time left for the models (building one at 10,000 hosts takes seconds): the plan in hand.
        guard monotonicNow() < started + timeLimit * 0.9 else {
            return SubOutcome(decisions: heuristic, slack: nil, seconds: monotonicNow() - started, variables: 0, constraints: 0,
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
        /// Keeps the chunks' plan if it is no worse, and says what it came to.
        func adoptChunks(_ pieces: (decisions: [[Decision]], solved: Int, chunks: Int), unit: String) {
            let levels = sub.levels(pieces.decisions, objective: objective, inventory: inventory)
            notes.append("\(chunkNote(pieces.solved, of: pieces.chunks)): \(Int(levels.primary)) \(unit)")
            adopt(pieces.decisions, levels, from: "chunked")
        }
        /// The plan in hand, with its slack against the bound (0: proven optimal).
        func outcome(slack: Double?) -> SubOutcome {
            SubOutcome(
                decisions: chosen, slack: slack, seconds: monotonicNow() - started,
                variables: built.model.variableCount, constraints: built.model.constraintCount, notes: notes)
        }
        if built.model.variableCount > branchAndCutLimit {
            // GLPK's branch-and-cut on models this size neither finds better plans nor respects
            // its time limit (measured: 296 s for a 30 s limit at 34,000 columns, ~1 GB).
            // Consolidations are solved in chunks of hosts; other host-count objectives dive
            // from the LP relaxation with the whole limit. The better of that plan and the
            // greedy one is kept, bounded by the LP relaxation.
            var bound: Double?
            if objective == .minHostsTouched, sub.mustMove, options.maxMoves == nil,
                let pieces = chunked(sub, options: options, columns: built.model.variableCount,
                                     deadline: started + timeLimit * 0.7)
            {
                adoptChunks(pieces, unit: "hosts touched")
            }
            if objective == .minHostsUsed, options.maxMoves == nil,
                chunkCount(columns: built.model.variableCount) > 1
            {
                // The dive does not finish at this size (35,000 columns in 30 s): take the LP bound
                // with up to half the limit, then solve the hosts in chunks with the rest.
                let lpLimit = max(0.05, timeLimit * 0.5 - (monotonicNow() - started))
                if let lp = try? built.model.relaxed.solve(SolveOptions(timeLimit: lpLimit)), lp.status == .optimal {
                    bound = lp.objective
                }
                if let pieces = chunked(sub, options: options, columns: built.model.variableCount,
                                        deadline: started + timeLimit)
                {
                    adoptChunks(pieces, unit: "hosts in use")
                }
            } else if let dived = lpDive(built, scale: scale, objective: objective, deadline: started + timeLimit, share: 0.97) {
                // (GLPK checks its time limit between simplex iterations and not in its
                // presolver: 0.38 s over at 52,000 columns.)
                notes.append(dived.note)
                bound = dived.bound
                if let found = dived.solution { _ = consider(found) }
            } else {
                let left = max(0.05, timeLimit - (monotonicNow() - started))
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
        if objective == .minHostsUsed,
            let dived = lpDive(built, scale: scale, objective: objective, deadline: started + timeLimit, share: 0.9)
        {
            notes.append(dived.note)
            if let found = dived.solution, consider(found), dived.proven { return outcome(slack: 0) }
        }
        let solution: Solution
        do {
            // Stop as soon as the primary objective of the incumbent meets its bound: the lower
            // levels (moves) cannot change the primary answer.
            let stop: @Sendable (Double, Double) -> Bool = { incumbent, bound in scale.proves(incumbent, bound: bound) }
            // The heuristic and the model's construction count against the limit too.
            let left = max(0.05, timeLimit - (monotonicNow() - started))
            var solveOptions = SolveOptions(timeLimit: left, stopWhen: stop)
            // And once the bound proves the plan in hand (the restricted search's, say), even
            // before branch-and-cut has a plan of its own.
            let held = chosenLevels
            solveOptions.stopWhenBound = { bound in scale.slack(of: held, bound: bound) == 0 }
            // Pseudo-cost branching: GLPK's default (Driebeck-Tomlin) spends seconds per node on
            // tableau rows in models of thousands of columns; measured on the evacuation benchmark
            // it took 30 s without proving what pseudo-costs prove in 0.23 s (docs/PERFORMANCE.md).
            solveOptions.branching = .pseudoCost
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

    func chunkNote(_ solved: Int, of chunks: Int) -> String {
        solved == chunks ? "\(chunks) chunks of hosts solved apart"
            : "\(solved) of \(chunks) chunks of hosts solved apart (no time left for the others: their servers stay)"
    }

    func chunkCount(columns: Int) -> Int {
        (columns + chunkColumns - 1) / chunkColumns
    }

    /// A sub-problem too large for branch-and-cut, solved in chunks small enough (about
    /// `chunkColumns` model columns each) to be solved to optimality quickly. Consolidations:
    /// runs of consecutive hosts, each with the servers it holds. Evacuations: runs of the
    /// receiving hosts paired with runs of the hosts being emptied. Each chunk gets its share
    /// of the time by movers, and the chunks' plans are joined. Servers only move within their
    /// chunk, so the joined plan is valid but may miss better combinations across chunks; the
    /// bound stays the whole model's. Anti-affinity holds across chunks: their hosts are
    /// disjoint and no server leaves its chunk. Chunks the time does not reach keep their
    /// servers where they are. Nil when one chunk would do, when no chunk got time, or
    /// (evacuations) when a host that servers leave could also receive.
    func chunked(_ sub: SubProblem, options: PlanOptions, columns: Int, deadline: Double)
        -> (decisions: [[Decision]], solved: Int, chunks: Int)?
    {
        let count = chunkCount(columns: columns)
        guard count > 1, sub.classes.allSatisfy({ $0.origins.keys.allSatisfy { $0.host >= 0 } })
        else { return nil }
        var groups: [[Int]] = []  // local host indices in `sub`, one list per chunk
        if sub.mustMove {
            // Evacuations: the servers sit on hosts that cannot receive. Pair runs of the
            // receiving hosts with runs of the source hosts.
            var origins = Set<Int>()
            for cls in sub.classes { for o in cls.origins.keys { origins.insert(o.host) } }
            guard origins.allSatisfy({ !sub.receives[$0] }) else { return nil }
            let receivers = sub.hosts.indices.filter { sub.receives[$0] }
            let sources = origins.sorted()
            let parts = min(count, receivers.count, sources.count)  // no chunk without either
            guard parts > 1 else { return nil }
            for k in 0..<parts {
                let r = receivers[(k * receivers.count / parts)..<((k + 1) * receivers.count / parts)]
                let s = sources[(k * sources.count / parts)..<((k + 1) * sources.count / parts)]
                groups.append(Array(r) + Array(s))
            }
        } else {
            let size = (sub.hosts.count + count - 1) / count
            for first in stride(from: 0, to: sub.hosts.count, by: size) {
                groups.append(Array(first..<min(first + size, sub.hosts.count)))
            }
        }
        var decided: [Int: Decision] = [:]  // inventory server index -> decision in `sub`'s host indices
        var moversLeft = sub.totalMovers
        var solved = 0
        for members in groups {
            var piece = SubProblem()
            piece.mustMove = sub.mustMove
            var position: [Int: Int] = [:]
            for h in members {
                position[h] = piece.hosts.count
                piece.local[sub.hosts[h]] = piece.hosts.count
                piece.hosts.append(sub.hosts[h])
                piece.receives.append(sub.receives[h])
                piece.fixed.append(sub.fixed[h])
                piece.fixedMembers.append(sub.fixedMembers[h])
            }
            for cls in sub.classes {
                var part = MoverClass(flavor: cls.flavor, singleton: cls.singleton)
                for (origin, servers) in cls.origins.sorted(by: { $0.key < $1.key }) {
                    guard let at = position[origin.host] else { continue }
                    part.servers += servers
                    part.origins[Origin(host: at, nodes: origin.nodes)] = servers
                }
                if !part.servers.isEmpty { piece.classes.append(part) }
            }
            guard !piece.classes.isEmpty else { continue }
            let left = deadline - monotonicNow()
            guard left > 0.05 else { break }  // the chunks left keep their servers where they are
            let share = left * Double(piece.totalMovers) / Double(max(moversLeft, 1))
            moversLeft -= piece.totalMovers
            let outcome = solve(piece, options: options, timeLimit: share)
            solved += 1
            for (c, cls) in piece.classes.enumerated() {
                for (i, server) in cls.servers.enumerated() {
                    switch outcome.decisions[c][i] {
                    case .stay: decided[server] = .stay
                    case .pool: decided[server] = .pool
                    case .host(let h, let nodes): decided[server] = .host(members[h], nodes)
                    }
                }
            }
        }
        guard solved > 0 else { return nil }
        return (sub.classes.map { cls in cls.servers.map { decided[$0] ?? .stay } }, solved, groups.count)
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
        let start = monotonicNow()
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
        let left = budgetEnd - monotonicNow()
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
        return RestrictedOutcome(
            found: (decisions, levels), lpBound: lpBound, note: "\(what): plan touching \(Int(levels.primary)) host\(levels.primary == 1 ? "" : "s")")
    }

    /// What the search in the LP optimum's rounding neighbourhood found.
    struct DiveOutcome {
        var solution: Solution?
        /// The LP relaxation's optimum (a bound on the weighted objective), when it was solved.
        var bound: Double?
        /// The solution's primary level meets the LP bound: nothing better exists.
        var proven: Bool
        var note: String
    }

    /// Dives from the LP relaxation (GLPK module's `Model.dive`): round the count nearest an
    /// integer, re-optimise, repeat. On consolidations the relaxation is often tight, so a plan
    /// at the LP bound is proven optimal without branch-and-cut (measured on 4,000 servers /
    /// 1,000 hosts: see docs/PERFORMANCE.md). Only for the host-count objectives, whose primary
    /// level is integral and readable from the LP bound.
    /// - Parameter share: the part of the time left until `deadline` the dive may use.
    func lpDive(_ built: SubModel, scale: PrimaryScale, objective: PlanObjective, deadline: Double, share: Double) -> DiveOutcome? {
        guard objective == .minHostsUsed || objective == .minHostsTouched else { return nil }
        let budget = max(0.05, (deadline - monotonicNow()) * share)
        guard let dive = try? built.model.dive(DiveOptions(timeLimit: budget)) else { return nil }
        let detail = dive.notes.map { $0.hasPrefix("dive: ") ? String($0.dropFirst(6)) : $0 }.joined(separator: "; ")
        guard dive.hasSolution, let value = dive.objective, let bound = dive.bound else {
            return DiveOutcome(solution: nil, bound: dive.bound, proven: false, note: "LP dive: no plan (\(detail))")
        }
        let proven = scale.proves(value, bound: bound)
        return DiveOutcome(
            solution: dive, bound: bound, proven: proven,
            note: "LP dive: plan \(proven ? "at" : "above") the LP bound (\(detail))")
    }

    /// `solve` with another solver on the same aggregated model (no column generation, no greedy fallback).
    func solveExternally(
        _ sub: SubProblem, number: Int, options: PlanOptions, timeLimit: Double, solver: ExternalSolver
    ) throws(PlanError) -> SubOutcome {
        let objective = options.effectiveObjective
        let heuristic = heuristicPlan(sub, options: options).decisions
        let (built, scale) = aggregatedModel(
            sub, options: options, heuristic: sub.levels(heuristic, objective: objective, inventory: inventory))
        let solution: Solution
        do {
            solution = try solver(number, built.model, timeLimit)
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

    // MARK: Greedy incumbent

    /// Sends every unit of `demand` from some supply with `forbidden(i, j)` false (max-flow with
    /// breadth-first augmenting paths). Returns flow[i][j], or nil when demand cannot be met.
    func matchAvoidingOwnHost(supply: [Int], demand: [Int], forbidden: (Int, Int) -> Bool) -> [[Int]]? {
        let m = supply.count
        let n = demand.count
        var flow = Array(repeating: Array(repeating: 0, count: n), count: m)
        var left = supply
        var need = demand
        let allowed = (0..<m).map { i in (0..<n).map { j in !forbidden(i, j) } }
        while let j0 = need.indices.first(where: { need[$0] > 0 }) {
            // BFS over demands: from j0 backwards through supplies. A path j0 <- i0 (allowed), and
            // i0 may be "full" but can free a unit by moving one of its flows i0 -> j1 ... until a
            // supply with spare units is found.
            var prevOfSupply = Array(repeating: -1, count: m)  // demand index that reached supply i
            var prevOfDemand = Array(repeating: -2, count: n)  // supply index that reached demand j
            prevOfDemand[j0] = -1
            var queue = [j0]
            var end: Int?
            var head = 0
            search: while head < queue.count {
                let j = queue[head]
                head += 1
                for i in 0..<m where allowed[i][j] && prevOfSupply[i] == -1 {
                    prevOfSupply[i] = j
                    if left[i] > 0 {
                        end = i
                        break search
                    }
                    // i is exhausted: it can serve j if one of its current units moves to j2.
                    for j2 in 0..<n where flow[i][j2] > 0 && prevOfDemand[j2] == -2 {
                        prevOfDemand[j2] = i
                        queue.append(j2)
                    }
                }
            }
            guard var i = end else { return nil }
            left[i] -= 1
            // Walk back: i serves j = prevOfSupply[i]; if j was reached from supply k, k gives up a unit of j.
            while true {
                let j = prevOfSupply[i]
                flow[i][j] += 1
                let k = prevOfDemand[j]
                if k == -1 {
                    need[j] -= 1
                    break
                }
                flow[k][j] -= 1
                i = k
            }
        }
        return flow
    }

    /// A valid plan built with the fit function: first-fit-decreasing for forced moves, host
    /// emptying for consolidation, no moves for rebalancing.
    func greedy(_ sub: SubProblem, options: PlanOptions, deadline: Double? = nil) -> [[Decision]] {
        var decisions = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
        // Every candidate is judged by the rule pipeline (`Checker.evaluateHost`) on a placement
        // state that follows the greedy's own moves; the nodes it asks for are those the fit
        // function picks on the room the layout policy trusts (the worst case per node for
        // servers of unknown layout, as in the models).
        var checker = Checker(inventory)
        let checkerOptions = options.checkerOptions
        let trusted = checkerOptions.effectivePolicy
        var arrivals = Array(repeating: 0, count: sub.hosts.count)
        var moves = 0
        var where_: [Int: (cls: Int, i: Int, origin: Origin)] = [:]
        var context: [Int: Checker.ServerContext] = [:]
        for (c, cls) in sub.classes.enumerated() {
            var position: [Int: Int] = [:]
            for (i, s) in cls.servers.enumerated() { position[s] = i }
            for (origin, servers) in cls.origins {
                for s in servers {
                    where_[s] = (c, position[s]!, origin)
                    var ctx = Checker.ServerContext(inventory.servers[s], index: checker.index, inventory: inventory)
                    ctx.currentHost = origin.host >= 0 ? sub.hosts[origin.host] : -1
                    context[s] = ctx
                }
            }
        }
        // The same usage per local host, kept alongside for the scan over every host (reading
        // through the checker for each of them costs twice the whole plan at 10,000 hosts).
        var local = sub.hosts.map { checker.state.usage[$0] }
        func usage(_ h: Int) -> HostUsage { local[h] }
        let objective = options.effectiveObjective

        /// Hosts with room for `s` on the nodes the layout policy trusts, and those nodes (the
        /// wish); the option filters (receiving hosts, per-host cap, hosts in use) apply here,
        /// the move rules in `accepted`.
        // Hosts whose type the pipeline's index says refuses a class are not scanned (the
        // pipeline would refuse them anyway; this only saves the scan).
        let typeAccepts: [[Bool]] = sub.classes.map { cls in
            let f = checker.index.flavorIndex[cls.flavor.name] ?? -1
            return sub.hosts.map { f >= 0 && checker.index.typeAccepts[checker.index.hostType[$0]][f] }
        }
        func candidates(_ s: Int, avoiding: Set<Int> = [], also excluded: Int = -1, onlyInUse: Bool = false) -> [(h: Int, fit: NodeFit)] {
            let (c, _, origin) = where_[s]!
            let flavor = sub.classes[c].flavor
            var out: [(Int, NodeFit)] = []
            for h in sub.hosts.indices where sub.receives[h] && typeAccepts[c][h] && h != origin.host && h != excluded {
                if onlyInUse && usage(h).serverCount == 0 { continue }
                if avoiding.contains(h) { continue }
                if let cap = options.maxPerHost, arrivals[h] >= cap { continue }
                let u = usage(h)
                if let wish = Fit.fit(flavor, free: u.free(under: trusted), capacity: u.capacity) { out.append((h, wish)) }
            }
            return out
        }
        /// Whether the rule pipeline accepts `s` on local host `h` on the wished nodes.
        func accepted(_ s: Int, _ h: Int, _ wish: NodeFit) -> Bool {
            var sink = FirstCodeSink()
            let judged = checker.evaluateHost(
                context[s]!, hostIndex: sub.hosts[h], options: checkerOptions, arrival: Checker.Arrival(nodes: wish.nodes), sink: &sink)
            return sink.first == nil && judged.fit != nil && (judged.verdict == .certain || trusted == .possible)
        }
        /// The best of `found` by `better` that the rule pipeline accepts (checked best first,
        /// so the pipeline runs on few candidates).
        func best(_ s: Int, _ found: [(h: Int, fit: NodeFit)], by better: ((h: Int, fit: NodeFit), (h: Int, fit: NodeFit)) -> Bool) -> (h: Int, fit: NodeFit)? {
            var rest = found
            while let top = rest.indices.max(by: { better(rest[$1], rest[$0]) }) {
                if accepted(s, rest[top].h, rest[top].fit) { return rest[top] }
                rest.swapAt(top, rest.count - 1)
                rest.removeLast()
            }
            return nil
        }
        func apply(_ s: Int, to h: Int, nodes: [Int]) {
            let (c, i, origin) = where_[s]!
            let server = inventory.servers[s]
            let flavor = sub.classes[c].flavor
            let groups = inventory.groupsOfServer[server.id] ?? []
            if origin.host >= 0 { checker.state.remove(server, flavor: flavor, host: sub.hosts[origin.host], nodes: origin.nodes, groups: groups) }
            checker.state.add(server, flavor: flavor, host: sub.hosts[h], nodes: nodes, groups: groups)
            if origin.host >= 0 { local[origin.host].remove(flavor, nodes: origin.nodes) }
            local[h].add(flavor, nodes: nodes)
            context[s]!.currentHost = sub.hosts[h]
            arrivals[h] += 1
            moves += 1
            decisions[c][i] = .host(h, nodes)
        }
        func undo(_ s: Int, from h: Int, nodes: [Int]) {
            let (c, i, origin) = where_[s]!
            let server = inventory.servers[s]
            let flavor = sub.classes[c].flavor
            let groups = inventory.groupsOfServer[server.id] ?? []
            checker.state.remove(server, flavor: flavor, host: sub.hosts[h], nodes: nodes, groups: groups)
            if origin.host >= 0 { checker.state.add(server, flavor: flavor, host: sub.hosts[origin.host], nodes: origin.nodes, groups: groups) }
            local[h].remove(flavor, nodes: nodes)
            if origin.host >= 0 { local[origin.host].add(flavor, nodes: origin.nodes) }
            context[s]!.currentHost = origin.host >= 0 ? sub.hosts[origin.host] : -1
            arrivals[h] -= 1
            moves -= 1
            decisions[c][i] = .stay
        }
        let budget = options.maxMoves ?? Int.max
        func size(_ s: Int) -> Double {
            let f = sub.classes[where_[s]!.cls].flavor.resources
            return Double(f.vcpus) * 4096 + Double(f.memoryMiB)
        }

        /// Free share of a host's vCPUs and memory, each normalised by its capacity.
        func roomLeft(_ h: Int) -> Double {
            let u = usage(h)
            let cap = u.capacity.total
            return Double(u.freeTotal.vcpus) / Double(max(cap.vcpus, 1)) + Double(u.freeTotal.memoryMiB) / Double(max(cap.memoryMiB, 1))
        }

        switch options.mode {
        case .evacuate, .servers:
            var touched = Set<Int>()
            let order = where_.keys.sorted { (size($0), $1) > (size($1), $0) }
            for s in order {
                guard moves < budget else { break }
                let found = candidates(s)
                let pick: (h: Int, fit: NodeFit)?
                if objective == .minHostsTouched, let found = best(s, found.filter({ touched.contains($0.h) }), by: { $0.fit.score > $1.fit.score }) {
                    pick = found
                } else if objective == .minHostsTouched {
                    // Opening another target: take the one with the most room left, so that it
                    // absorbs as many of the following servers as possible (the tightest fit
                    // would fill at once and open yet another host).
                    pick = best(s, found, by: { (roomLeft($0.h), -$0.h) > (roomLeft($1.h), -$1.h) })
                } else {
                    pick = best(s, found, by: { ($0.fit.score, -$0.h) > ($1.fit.score, -$1.h) })
                }
                if let pick {
                    apply(s, to: pick.h, nodes: pick.fit.nodes)
                    touched.insert(pick.h)
                }
            }
            if options.allowPool {
                for s in order where moves < budget {
                    let (c, i, _) = where_[s]!
                    if decisions[c][i] == .stay && inventory.servers[s].dedicatedHostID != nil {
                        decisions[c][i] = .pool
                        moves += 1
                    }
                }
            }
        case .consolidate where objective == .minHostsUsed || objective == .minHostsTouched:
            // Empty the least loaded hosts first, onto hosts that stay in use.
            var emptied = Set<Int>()
            let onHost = Dictionary(grouping: where_.keys.filter { where_[$0]!.origin.host >= 0 }, by: { where_[$0]!.origin.host })
            let order = onHost.keys.filter { sub.fixed[$0].serverCount == 0 }
                .sorted { (usage($0).usedTotal.vcpus, $0) < (usage($1).usedTotal.vcpus, $1) }
            for e in order {
                if let deadline, monotonicNow() > deadline { break }  // the hosts emptied so far stand
                let servers = onHost[e]!.sorted { (size($0), $1) > (size($1), $0) }
                guard moves + servers.count <= budget else { continue }
                var done: [(Int, Int, [Int])] = []
                var ok = true
                for s in servers {
                    let inUse = candidates(s, avoiding: emptied, also: e, onlyInUse: true)
                    guard let pick = best(s, inUse, by: { ($0.fit.score, -$0.h) > ($1.fit.score, -$1.h) }) else {
                        ok = false
                        break
                    }
                    apply(s, to: pick.h, nodes: pick.fit.nodes)
                    done.append((s, pick.h, pick.fit.nodes))
                }
                if ok {
                    emptied.insert(e)
                } else {
                    for (s, h, nodes) in done.reversed() { undo(s, from: h, nodes: nodes) }
                }
            }
        default:
            break  // no moves is a valid plan
        }
        return decisions
    }

    // MARK: Waves

    /// Numbers waves so that executing them in order never needs capacity that is not free yet.
    /// Cycles are broken through a host with room now (or the pool when allowed); what cannot
    /// be broken is dropped and reported.
    public func orderWaves(_ moves: [Move], options: PlanOptions) -> (moves: [Move], dropped: [String], rerouted: Int) {
        orderWaves(moves, options: options, deadline: nil)!
    }

    /// `orderWaves`, given up (nil) once `deadline` (`monotonicNow()`) has passed: breaking many
    /// cycles costs seconds at 10,000 hosts, too much for judging a candidate plan.
    func orderWaves(_ moves: [Move], options: PlanOptions, deadline: Double?) -> (moves: [Move], dropped: [String], rerouted: Int)? {
        var replay = PlanReplay(inventory, options: options.checkerOptions)
        var pending = moves.sorted { ($0.to ?? "", $0.serverID) < ($1.to ?? "", $1.serverID) }
        if options.placement == .any {
            // Larger arrivals first: once they are in, smaller ones fit whatever nodes the cloud
            // picks far more often than the other way round.
            let size = { (m: Move) -> Double in Self.size(inventory.flavors[inventory.servers[inventory.serverIndex[m.serverID]!].flavor]!) }
            pending.sort { a, b in
                let sa = size(a), sb = size(b)
                return sa != sb ? sa > sb : ((a.to ?? "", a.serverID) < (b.to ?? "", b.serverID))
            }
        }
        var done: [Move] = []
        var dropped: [String] = []
        var rerouted = 0
        var wave = 1
        // A move refused on a host stays refused until that host changes: the rule pipeline
        // judges a move by its server and its target's state alone (`PlanReplay.judge`). Each
        // host's version counts the changes to it; a move refused at a version is not judged
        // again at the same one. Without this, every broken cycle re-judged every pending move:
        // 213 passes over 4,527 moves took 2.7 s of a 10 s limit (tiled 500 under `any`).
        var version = [Int](repeating: 0, count: inventory.hosts.count)
        var refusedAt: [String: (host: Int, version: Int)] = [:]
        while !pending.isEmpty {
            if let deadline, monotonicNow() > deadline { return nil }
            var started: [Move] = []
            var perHost: [String: Int] = [:]
            var rest: [Move] = []
            for move in pending {
                if let cap = options.maxParallel, started.count >= cap {
                    rest.append(move)
                    continue
                }
                if let cap = options.maxPerHostParallel {
                    let hosts = [move.from, move.to].compactMap { $0 }
                    if hosts.contains(where: { perHost[$0, default: 0] >= cap }) {
                        rest.append(move)
                        continue
                    }
                }
                let s = inventory.serverIndex[move.serverID]!
                var target: Int?
                var nodes = move.numaNodes
                if let to = move.to {
                    let h = inventory.hostIndex[to]!
                    if let refused = refusedAt[move.serverID], refused == (h, version[h]) {
                        rest.append(move)
                        continue
                    }
                    nodes = replay.nodes(server: s, to: h, planned: move.numaNodes)
                    if replay.blocker(server: s, to: h, nodes: nodes) != nil {
                        refusedAt[move.serverID] = (h, version[h])
                        rest.append(move)
                        continue
                    }
                    target = h
                    version[h] += 1
                }
                replay.start(server: s, to: target, nodes: nodes)
                // Under a deterministic policy the move carries the predicted nodes.
                var m = options.placement.rule == nil
                    ? move : Move(serverID: move.serverID, from: move.from, to: move.to, numaNodes: nodes)
                m.wave = wave
                started.append(m)
                for id in [move.from, move.to].compactMap({ $0 }) { perHost[id, default: 0] += 1 }
            }
            if started.isEmpty {
                // Deadlock: every pending move waits for space another pending move frees. One
                // move goes elsewhere: the smallest of the waiting moves (up to 8 tried) that a
                // host ending in use takes (it receives servers of the plan or keeps some of its
                // own), else the first one wherever it fits best. Re-routing the first (largest
                // under `any`) anywhere opened hosts: a pattern plan of 14 hosts ended at 17.
                var arrivals: [String: Int] = [:]
                var leaving: [String: Int] = [:]
                for m in done + rest {
                    if let to = m.to { arrivals[to, default: 0] += 1 }
                }
                for m in rest { if let from = m.from { leaving[from, default: 0] += 1 } }
                let endsInUse = { (h: Int) -> Bool in
                    let id = inventory.hosts[h].id
                    return arrivals[id, default: 0] > 0 || replay.state.usage[h].serverCount > leaving[id, default: 0]
                }
                let size = { (m: Move) -> Double in Self.size(inventory.flavors[inventory.servers[inventory.serverIndex[m.serverID]!].flavor]!) }
                var choice: (index: Int, to: String?, nodes: [Int]?)?
                for i in rest.indices.sorted(by: { (size(rest[$0]), $0) < (size(rest[$1]), $1) }).prefix(8) {
                    let s = inventory.serverIndex[rest[i].serverID]!
                    if let alternative = breakCycle(
                        server: s, avoiding: rest[i].to, replay: replay, options: options, arrivals: arrivals, onlyTo: endsInUse) {
                        choice = (i, alternative.to, alternative.nodes)
                        break
                    }
                }
                if choice == nil, let alternative = breakCycle(
                    server: inventory.serverIndex[rest[0].serverID]!, avoiding: rest[0].to, replay: replay, options: options, arrivals: arrivals) {
                    choice = (0, alternative.to, alternative.nodes)
                }
                if let choice {
                    let move = rest.remove(at: choice.index)
                    rest.insert(Move(serverID: move.serverID, from: move.from, to: choice.to, numaNodes: choice.nodes), at: 0)
                    rerouted += 1
                } else {
                    dropped.append(rest.removeFirst().serverID)
                }
                pending = rest
                continue
            }
            for m in started {
                let s = inventory.serverIndex[m.serverID]!
                let h = m.to.flatMap { inventory.hostIndex[$0] }
                for changed in [replay.currentHost(of: s), h].compactMap({ $0 }) { version[changed] += 1 }
                replay.complete(server: s, to: h, nodes: options.placement == .any ? nil : m.numaNodes)
            }
            done += started
            pending = rest
            wave += 1
        }
        return (done, dropped, rerouted)
    }

    func breakCycle(
        server s: Int, avoiding: String?, replay: PlanReplay, options: PlanOptions, arrivals: [String: Int],
        onlyTo: ((Int) -> Bool)? = nil
    ) -> (to: String?, nodes: [Int]?)? {
        let server = inventory.servers[s]
        let flavor = inventory.flavors[server.flavor]!
        // Hosts that receive other servers of the plan first (they stay in use anyway; a host
        // opened here is one more in use), then the best fit.
        var best: (String, [Int], Double, Bool)?
        for (h, host) in inventory.hosts.enumerated() where host.id != avoiding && !options.exclude.contains(host.id) {
            if case .evacuate(let ids) = options.mode, ids.contains(host.id) { continue }
            if let cap = options.maxPerHost, arrivals[host.id, default: 0] >= cap { continue }
            if let onlyTo, !onlyTo(h) { continue }
            let usage = replay.state.usage[h]
            let free = usage.free(under: options.layoutPolicy)
            guard let fit = Fit.fit(flavor, free: free, capacity: usage.capacity) else { continue }
            let nodes = replay.nodes(server: s, to: h, planned: fit.nodes)
            guard replay.blocker(server: s, to: h, nodes: nodes) == nil else { continue }
            let receiving = arrivals[host.id, default: 0] > 0
            if best == nil || (receiving ? 1 : 0, fit.score) > (best!.3 ? 1 : 0, best!.2) { best = (host.id, fit.nodes, fit.score, receiving) }
        }
        if let best { return (best.0, best.1) }
        if onlyTo == nil && options.allowPool && server.dedicatedHostID != nil { return (nil, nil) }
        return nil
    }

    // MARK: Reporting

    func explainUnplaced(_ id: String, options: PlanOptions, evacuated: Set<Int>, excluded: Set<Int>) -> [Reason] {
        let list = checker.targets(serverID: id, options: options.checkerOptions)
        if !list.serverReasons.isEmpty { return list.serverReasons }
        let usable = list.targets.compactMap(\.target.hostID).filter { hid in
            let h = inventory.hostIndex[hid]!
            return !evacuated.contains(h) && !excluded.contains(h)
        }
        if usable.isEmpty {
            var reasons = list.rejected.sorted { $0.key < $1.key }.map { code, n in
                Reason(code, "\(n) host\(n == 1 ? "" : "s") rejected with \(code.rawValue) (run `dehplan check` on one for details)")
            }
            if list.fittingHosts > 0 {
                reasons.append(Reason(.targetNotAvailable, "the \(list.fittingHosts) host(s) that fit are being evacuated or excluded"))
            }
            return reasons
        }
        var limits: [String] = []
        if let n = options.maxPerHost { limits.append("--max-per-host \(n)") }
        if let n = options.maxMoves { limits.append("--max-moves \(n)") }
        if !options.exclude.isEmpty { limits.append("--exclude") }
        let unknown = usable.filter { inventory.hostIndex[$0].map { checker.state.usage[$0].hasUnknownLayout } ?? false }
        var why = "\(usable.count) host(s) could take it alone (e.g. \(usable.prefix(3).joined(separator: ", "))), but their room is needed by other servers of the plan"
        if !limits.isEmpty { why += " or limited by \(limits.joined(separator: ", "))" }
        if !unknown.isEmpty && options.placement == .any {
            why += "; \(unknown.count) of them hold servers of unknown NUMA layout, whose room for several arrivals at once is only counted when it is certain whatever nodes the cloud picks (known layouts, e.g. from `dehplan inventory --host-types` or a file with numa_nodes, may show more)"
        }
        return [Reason(.insufficientCapacity, why)]
    }

    /// The plan's objective value, computed from its moves.
    func objectiveValue(_ moves: [Move], objective: PlanObjective) -> Double {
        switch objective {
        case .minMoves: return Double(moves.count)
        case .minHostsTouched: return Double(Set(moves.compactMap(\.to)).count)
        case .minHostsUsed, .balance:
            let state = PlacementState(inventory.applying(moves))
            if objective == .minHostsUsed { return Double(state.usage.filter { $0.serverCount > 0 }.count) }
            return state.usage.highestNodeUtilisation
        }
    }
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Tells a branch-and-cut callback when its incumbent has stopped improving: no better value
/// for as many calls as half of those made so far, and at least `minimum`. A call is one
/// callback with an incumbent (`stopWhen`). Counted in calls, not seconds, so the same model
/// stops at the same point on any machine and plans stay reproducible. Measured on the
/// 2,500-host evacuation: the restricted search found 147, 145 and 144 hosts at its 1st,
/// 2,157th and 3,558th call (1.3, 2.0 and 2.3 s; about 1,500 calls a second); a window of
/// 0.5 s had stopped it at 147. Used from one solve's callback, on one thread.
final class StallWatch: @unchecked Sendable {
    private let minimum: Int
    private var calls = 0
    private var best = Double.infinity
    private var improvedAt = 0

    init(minimum: Int = 5_000) {
        self.minimum = minimum
    }

    /// Called once per callback with the incumbent's objective (minimisation).
    func stalled(_ incumbent: Double) -> Bool {
        calls += 1
        if incumbent < best - 1e-9 {
            best = incumbent
            improvedAt = calls
            return false
        }
        return calls - improvedAt > max(minimum, calls / 2)
    }
}

