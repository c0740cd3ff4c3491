// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

/// The configuration (pattern) master over host shapes, shared by consolidation
/// (`ShapePatterns`) and demand fits (`DemandPatterns`).
///
/// Rows: per class, at least its demand; per shape, at most its host count. Columns: patterns
/// (`ShapePattern`), each with its shape's cost. Column generation prices every shape exactly
/// (`ShapePricing`) from the duals, so when no pattern prices out the LP optimum is the
/// Gilmore–Gomory bound; before that, the Lagrangian bound (Σ price · demand plus, per shape,
/// its host count times its best reduced cost) holds. Integer choices come from an LP dive, the
/// integer master over the patterns generated (price and branch), and random dives; each is
/// handed to the caller (`consider`), which turns it into a plan and keeps the best.
///
/// A shape without pricing offers only its `fixed` patterns (e.g. "left unplaced" in a demand
/// fit); they take part in the bound like priced ones.
struct PatternMaster {
    struct Shape {
        let room: [Resources]
        var count: Int
        let cost: Double
        /// Index into `pricings`; nil: the shape offers only `fixed`.
        let pricing: Int?
        let combos: [ShapePricing.Combo]
        var fixed: [ShapePattern] = []
        /// False when `combos` leaves some ways to lay split servers out (too many to list):
        /// pricing is then not exact, and no bound holds.
        var exact = true
    }
    let demand: [Int]
    let shapes: [Shape]
    let pricings: [ShapePricing]
    /// Cost per unit of the artificial columns that keep the LP feasible from the start; an LP
    /// that still uses them covers nothing (`coverable` false). Above any real plan's cost.
    let artificialCost: Double
    /// Share of the time left after the first dive spent on pricing at perturbed duals (2b).
    var enrichment = 0.15
    /// A perturbed pattern joins when its reduced cost at the true duals is at most this share
    /// of its shape's cost.
    var enrichmentSlack = 0.02
    /// Share of the time left after the first dive given to the node recombination (3).
    var recombination = 0.3

    struct Outcome {
        var lp: Double?
        var lagrangian: Double?
        var converged = false
        /// False when the root LP needs artificial columns: no bound holds.
        var coverable = true
        var columns = 0
        var rounds = 0
        /// False when some shape's pricing is not exact.
        var exact = true
        /// The proven lower bound on the master's cost (raw, not rounded), if any.
        var bound: Double? {
            guard coverable, exact, let raw = converged ? lp : lagrangian, raw.isFinite else { return nil }
            return raw
        }
    }

    /// Column generation from `start`'s patterns until `deadline` (`monotonicSeconds()`), then, when
    /// `searchPlans`, integer choices handed to `consider` until `proven(bound)` or the deadline,
    /// none begun after `searchUntil` (a choice found later could not be made a plan in time).
    /// `integerCap`: the cost the integer master must not exceed (to beat the plan in hand);
    /// `integerTarget`: the cost at which it may stop.
    func run(
        start: [ShapePattern], deadline rootDeadline: Double, searchUntil: Double = .infinity, searchPlans: Bool,
        consider: ([ShapePattern], String) -> Void,
        proven: (Double?) -> Bool,
        integerCap: () -> Double?,
        integerTarget: (Double?) -> Double
    ) -> Outcome {
        var outcome = Outcome()
        outcome.exact = shapes.allSatisfy(\.exact)
        var model = Model()
        let rows = demand.map { model.addGreaterOrEqual([], Double($0)) }
        let shapeRows = shapes.map { model.addLessOrEqual([], Double($0.count)) }
        var columns: [ShapePattern] = []
        var variables: [Model.Variable] = []
        var known = Set<ShapePattern>()
        func terms(_ p: ShapePattern) -> [(Model.Constraint, Double)] {
            var t: [(Model.Constraint, Double)] = p.counts.indices.compactMap { p.counts[$0] > 0 ? (rows[$0], Double(p.counts[$0])) : nil }
            t.append((shapeRows[p.shape], 1))
            return t
        }
        do {
            try model.withLiveLP { lp throws(GLPKError) in
                let artificial = try rows.map { row throws(GLPKError) in try lp.addVariable(objective: artificialCost, terms: [(row, 1)]) }
                /// Adds `p` as a column of the live LP; false when it is already one.
                @discardableResult
                func addColumn(_ p: ShapePattern) throws(GLPKError) -> Bool {
                    guard known.insert(p).inserted else { return false }
                    columns.append(p)
                    variables.append(try lp.addVariable(kind: .integer, objective: shapes[p.shape].cost, terms: terms(p)))
                    return true
                }
                for p in start + shapes.flatMap(\.fixed) { try addColumn(p) }
                /// Column generation on the LP as its bounds stand, until no pattern prices out or
                /// `until`. Returns the last optimal solution, whether pricing was complete and
                /// found nothing, and the Lagrangian bound of the last complete pricing.
                /// `wholePatterns`: untrimmed patterns may join (for the root's bound; in dives
                /// they only slow each step).
                func generate(demand: [Int], until: Double, wholePatterns: Bool = false) throws(GLPKError) -> (solution: Solution, converged: Bool, lagrangian: Double?)? {
                    var last: (solution: Solution, converged: Bool, lagrangian: Double?)?
                    var lagrange: Double?
                    while monotonicSeconds() < until {
                        let solution = try lp.solve(timeLimit: max(0.01, until - monotonicSeconds()))
                        guard solution.status == .optimal else { break }
                        last = (solution, false, lagrange)
                        let price = rows.map { max(0, solution.duals[$0.index]) }
                        let mu = shapeRows.map { min(0, solution.duals[$0.index]) }
                        var tables: [Int: ShapePricing.Table] = [:]
                        var added = 0
                        var improving = false
                        // Lagrangian bound (cover rows relaxed at `price`): Σ π d + Σ_s n_s min(0, best reduced cost).
                        var bound = zip(price, demand).reduce(0.0) { $0 + $1.0 * Double($1.1) }
                        var complete = true
                        for (s, shape) in shapes.enumerated() {
                            if monotonicSeconds() > until {
                                complete = false
                                break
                            }
                            var found: (value: Double, pattern: ShapePattern)
                            let top = shape.fixed.max(by: { Self.worth($0, price) < Self.worth($1, price) })
                            if let p = shape.pricing {
                                let table = tables[p] ?? pricings[p].table(price, limit: demand)
                                tables[p] = table
                                found = pricings[p].best(shape: s, room: shape.room, combos: shape.combos, table: table, price: price)
                                // A priced shape may also offer fixed patterns (all its movers staying).
                                if let top, Self.worth(top, price) > found.value { found = (Self.worth(top, price), top) }
                            } else {
                                guard let top else { continue }
                                found = (Self.worth(top, price), top)
                            }
                            bound += Double(shape.count) * min(0, shape.cost - found.value)
                            // Servers beyond the demand left are no use to an integer plan: trimmed.
                            // When the trimmed pattern no longer prices out (or is known), the
                            // whole one joins instead (the LP over such patterns is still a
                            // relaxation, and plans trim them): without it the Lagrangian bound
                            // stalls where pricing counts more servers than the demand holds.
                            let trimmed = found.pattern.trimmed(to: demand)
                            let prices = shape.cost - found.value - mu[s] < -1e-9
                            if prices { improving = true }
                            var pattern: ShapePattern?
                            if shape.cost - Self.worth(trimmed, price) - mu[s] < -1e-9, !known.contains(trimmed) {
                                pattern = trimmed
                            } else if prices, wholePatterns, !known.contains(found.pattern) {
                                pattern = found.pattern
                            }
                            if let pattern, try addColumn(pattern) { added += 1 }
                        }
                        if complete { lagrange = max(lagrange ?? -.infinity, bound) }
                        last?.lagrangian = lagrange
                        outcome.rounds += 1
                        if added == 0 {
                            // Converged only when no pattern at all prices out (before trimming).
                            last?.converged = complete && !improving
                            break
                        }
                    }
                    return last
                }
                // 1. The root LP: its bound.
                let root = try generate(demand: demand, until: rootDeadline, wholePatterns: true)
                if let root {
                    outcome.lp = root.solution.objective
                    outcome.converged = root.converged
                    outcome.lagrangian = root.lagrangian
                    outcome.coverable = artificial.allSatisfy { root.solution[$0] < 1e-9 }
                }
                let deadline = min(rootDeadline, searchUntil)
                guard outcome.coverable, !proven(outcome.bound), searchPlans, monotonicSeconds() < deadline else { return }
                // 2. A dive: take the pattern the LP uses most (its whole copies, at least one),
                //    lower the demand and the shape's hosts, re-price the rest, repeat.
                func dive(random: inout SplitMix64?) throws(GLPKError) -> [ShapePattern]? {
                    var residual = demand
                    var hostsLeft = shapes.map(\.count)
                    var chosen: [ShapePattern] = []
                    defer {
                        for c in demand.indices { try? lp.setBounds(rows[c], lower: Double(demand[c]), upper: nil) }
                        for s in shapes.indices { try? lp.setBounds(shapeRows[s], lower: nil, upper: Double(shapes[s].count)) }
                    }
                    while residual.contains(where: { $0 > 0 }) {
                        guard monotonicSeconds() < deadline else { return nil }
                        for c in demand.indices { try lp.setBounds(rows[c], lower: Double(residual[c]), upper: nil) }
                        for s in shapes.indices { try lp.setBounds(shapeRows[s], lower: nil, upper: Double(hostsLeft[s])) }
                        guard let step = try generate(demand: residual, until: deadline),
                            artificial.allSatisfy({ step.solution[$0] < 1e-9 })
                        else { return nil }
                        let lambda = variables.map { step.solution[$0] }
                        /// Copies of pattern k that the demand left can fill.
                        func fitting(_ k: Int) -> Int {
                            columns[k].counts.indices.reduce(hostsLeft[columns[k].shape]) { m, c in
                                columns[k].counts[c] == 0 ? m : min(m, residual[c] / columns[k].counts[c])
                            }
                        }
                        var usable = lambda.indices.filter { lambda[$0] > 1e-9 && fitting($0) > 0 }
                        var whole = true
                        if usable.isEmpty {
                            // Every pattern in use holds more than some class has left: take one
                            // copy of one that still covers something (the caller trims the rest).
                            whole = false
                            usable = lambda.indices.filter { k in
                                lambda[k] > 1e-9 && hostsLeft[columns[k].shape] > 0 && columns[k].counts.indices.contains { columns[k].counts[$0] > 0 && residual[$0] > 0 }
                            }
                        }
                        guard let top = usable.max(by: { (lambda[$0], -$0) < (lambda[$1], -$1) }) else { return nil }
                        var k = top
                        if random != nil {
                            let large = usable.filter { lambda[$0] >= 0.5 * lambda[top] }
                            k = large[random!.below(large.count)]
                        }
                        let p = columns[k]
                        let copies = whole ? min(fitting(k), max(1, Int((lambda[k] + 1e-6).rounded(.down)))) : 1
                        guard copies > 0 else { return nil }
                        chosen += Array(repeating: p, count: copies)
                        hostsLeft[p.shape] -= copies
                        let before = residual
                        for c in residual.indices { residual[c] = max(0, residual[c] - copies * p.counts[c]) }
                        if residual == before { return nil }  // the pattern covers nothing left
                    }
                    return chosen
                }
                var none: SplitMix64? = nil
                if let chosen = try dive(random: &none) { consider(chosen, "pattern model (dive)") }
                // 2b. Unless a dive met the bound: more patterns the LP optimum could use.
                //     Pricing at randomly perturbed duals finds other patterns of (near) zero
                //     reduced cost at the true ones (on a fleet that tiles, other exact fills),
                //     which the node recombination (3) can combine; pricing returns one pattern
                //     per shape and dual vector, so the pool otherwise holds one of many equally
                //     good fills. Multi-node shapes only: on one-node hosts the extra patterns
                //     only slow the dives (unique sizes, 100 hosts: 110 instead of 101).
                let multiNode = shapes.contains { $0.room.count > 1 }
                /// 2b: pricing at perturbed duals for `enrichment` of the time left.
                func enrich(seed: UInt64) throws(GLPKError) {
                    guard let root else { return }
                    let price = rows.map { max(0, root.solution.duals[$0.index]) }
                    let mu = shapeRows.map { min(0, root.solution.duals[$0.index]) }
                    let until = monotonicSeconds() + max(0, deadline - monotonicSeconds()) * enrichment
                    var rng = SplitMix64(seed: seed)
                    var idle = 0
                    let cap = columns.count + 300
                    // Prices drawn within ±50 %; it stops after 150 rounds in a row without a new
                    // pattern (±20 % and 40 rounds left one of four tiled test fleets above its
                    // optimum after 10 s), or after 300 new patterns, so that the recombined
                    // master (whose root LP GLPK's time limit does not cover) stays small.
                    while idle < 150, columns.count < cap, monotonicSeconds() < until {
                        let noisy = price.map { $0 * (0.5 + Double(rng.below(1 << 20)) / Double(1 << 20)) }
                        var tables: [Int: ShapePricing.Table] = [:]
                        var added = false
                        for (s, shape) in shapes.enumerated() {
                            guard let p = shape.pricing else { continue }
                            let table = tables[p] ?? pricings[p].table(noisy, limit: demand)
                            tables[p] = table
                            let pattern = pricings[p].best(shape: s, room: shape.room, combos: shape.combos, table: table, price: noisy)
                                .pattern.trimmed(to: demand)
                            if shape.cost - Self.worth(pattern, price) - mu[s] <= enrichmentSlack * shape.cost, try addColumn(pattern) {
                                added = true
                            }
                        }
                        idle = added ? 0 : idle + 1
                    }
                }
                // 3. Price and branch: the integer master over the patterns generated, asked to
                //    beat the plan in hand, stopping at the bound. On multi-node shapes, first
                //    over node fills recombined (`recombined`; every host pattern is one of its
                //    solutions, so it can only do better, but its model is larger) for
                //    `recombination` of the time left, up to three rounds of 2b and 3 while the
                //    plan is not proven (GLPK's search within a time limit is not always lucky),
                //    then the host-pattern master with half of the rest.
                if multiNode, enrichment > 0 || recombination > 0 {
                    for round in 0..<3 where !proven(outcome.bound) && monotonicSeconds() < deadline - 0.02 {
                        if enrichment > 0 { try enrich(seed: 7 + UInt64(round)) }
                        guard recombination > 0, !proven(outcome.bound), monotonicSeconds() < deadline - 0.02 else { break }
                        if let picked = recombined(columns, cap: integerCap(), target: integerTarget(outcome.bound),
                                                   timeLimit: (deadline - monotonicSeconds()) * recombination) {
                            consider(picked, "pattern model (node recombination)")
                        }
                    }
                }
                guard !proven(outcome.bound), monotonicSeconds() < deadline - 0.02 else { return }
                var integer = lp.model
                if let cap = integerCap() {
                    integer.addLessOrEqual(variables.indices.map { (variables[$0], shapes[columns[$0].shape].cost) }, cap)
                }
                let target = integerTarget(outcome.bound)
                let mipOptions = SolveOptions(timeLimit: max(0.05, (deadline - monotonicSeconds()) * 0.5),
                                              stopWhen: { incumbent, _ in incumbent <= target + 1e-9 })
                if let mip = try? integer.solve(mipOptions), mip.hasSolution, artificial.allSatisfy({ mip[$0] < 1e-9 }) {
                    var picked: [ShapePattern] = []
                    for (k, v) in variables.enumerated() { picked += Array(repeating: columns[k], count: Int(mip[v].rounded())) }
                    consider(picked, "pattern model (integer master)")
                }
                // 4. Dives that pick at random among the patterns the LP uses much, until the
                //    plan meets the bound or time runs out.
                var rng: SplitMix64? = SplitMix64(seed: 1)
                var attempts = 0
                while !proven(outcome.bound) && monotonicSeconds() < deadline && attempts < 500 {
                    if let chosen = try dive(random: &rng) { consider(chosen, "pattern model (dive)") }
                    attempts += 1
                }
            }
        } catch {
            // A GLPK failure ends the search; the caller's plan in hand still holds.
        }
        outcome.columns = columns.count
        return outcome
    }

    static func worth(_ p: ShapePattern, _ price: [Double]) -> Double {
        p.counts.indices.reduce(0.0) { $0 + Double(p.counts[$1]) * price[$1] }
    }
}

