// SPDX-License-Identifier: GPL-3.0-or-later

import CGLPK
import CGLPKSupport

/// Parameters of an LP diving search (`Model.dive`).
public struct DiveOptions: Sendable {
    /// Wall-clock limit in seconds for the whole dive; nil for none.
    public var timeLimit: Double?
    /// How many times a rounding that made the LP infeasible may be undone (both directions of
    /// one variable failing) before the dive gives up.
    public var backtracks: Int

    /// Creates options.
    public init(timeLimit: Double? = nil, backtracks: Int = 20) {
        self.timeLimit = timeLimit
        self.backtracks = backtracks
    }
}

extension Model {
    /// A primal heuristic: LP diving. Solves the LP relaxation, then repeatedly rounds the
    /// integer variable closest to an integer (to that integer, by tightening one bound) and
    /// re-optimises from the previous basis with the dual simplex, until every integer variable
    /// is integral. A rounding that makes the LP infeasible is tried the other way; when both
    /// fail, the most recent roundings are undone (up to `backtracks` times).
    ///
    /// Returns `feasible` with values that satisfy the model (checked here, not trusted from
    /// GLPK), or `noSolution` when the dive failed or ran out of time (then with
    /// `hitTimeLimit`), or `infeasible` when the LP relaxation itself is infeasible. The bound is
    /// the LP relaxation's optimum: a dive proves nothing beyond it. Like `solve`, everything happens on the calling thread.
    public func dive(_ options: DiveOptions = DiveOptions()) throws(GLPKError) -> Solution {
        try checkLoadable()
        try validateTimeLimit(options.timeLimit)
        let start = monotonicSeconds()
        let deadline = options.timeLimit.map { start + $0 }
        func none(_ status: Solution.Status, bound: Double? = nil, _ note: String, timedOut: Bool = false) -> Solution {
            var solution = Solution(status: status, objective: nil, bound: bound, values: [], seconds: monotonicSeconds() - start,
                                    incumbentAccepted: false, notes: [note])
            solution.hitTimeLimit = timedOut
            return solution
        }
        guard !variableSpecs.isEmpty else { return try solve(SolveOptions(timeLimit: options.timeLimit)) }

        guard let problem = glp_create_prob() else { throw .fatal("glp_create_prob returned NULL") }
        var problemAlive = true
        defer {
            if problemAlive { glp_delete_prob(problem) }
            dp_release_env()
        }
        glp_term_out(GLP_OFF)
        load(into: problem)
        // Columns are continuous for the simplex; integrality is this function's business.
        for j in 1...Int32(variableSpecs.count) { glp_set_col_kind(problem, j, GLP_CV) }

        var parm = glp_smcp()
        glp_init_smcp(&parm)
        parm.msg_lev = GLP_MSG_OFF
        parm.presolve = GLP_OFF  // keep the basis between solves
        var lastRC: Int32 = 0
        var outOfTime: Bool { deadline.map { monotonicSeconds() > $0 } ?? false }
        func resolve(dual: Bool) throws(GLPKError) -> Bool {
            if let deadline {
                let left = deadline - monotonicSeconds()
                guard left > 0 else { return false }
                parm.tm_lim = Int32(clamping: Int((left * 1000).rounded(.up)))
            }
            parm.meth = dual ? GLP_DUALP : GLP_PRIMAL
            lastRC = try guarded("simplex", &problemAlive) { dp_guarded_simplex(problem, &parm, $0) }
            return lastRC == 0 && glp_get_status(problem) == GLP_OPT
        }

        // The first solve with GLPK's LP presolver (much faster from scratch) where it fits the
        // time left (`presolveFits`); its postsolve leaves an optimal basis of the original
        // problem for the warm re-solves below.
        parm.presolve = presolveFits(timeLimit: deadline.map { $0 - monotonicSeconds() }) ? GLP_ON : GLP_OFF
        let first = try resolve(dual: false)
        parm.presolve = GLP_OFF
        guard first else {
            // With the presolver on, GLPK reports these through the return code.
            let status = glp_get_status(problem)
            if lastRC == GLP_ENOPFS || status == GLP_NOFEAS { return none(.infeasible, "LP relaxation infeasible") }
            if lastRC == GLP_ENODFS || status == GLP_UNBND { return none(.unbounded, "LP relaxation unbounded") }
            return none(.noSolution, "LP relaxation not solved in time", timedOut: true)
        }
        let lpBound = glp_get_obj_val(problem)
        let integers = variableSpecs.indices.filter { variableSpecs[$0].kind != .continuous }.map { Int32($0 + 1) }
        let binaries = integers.filter { variableSpecs[Int($0) - 1].kind == .binary }
        let counts = integers.filter { variableSpecs[Int($0) - 1].kind == .integer }
        let tolerance = 1e-6

        /// One rounding: the column, its bounds before, the LP value it was rounded from, the
        /// direction taken, and whether the other direction was tried already.
        struct Step {
            let column: Int32
            let type: Int32
            let lower: Double
            let upper: Double
            let value: Double
            var up: Bool
            var triedBoth: Bool
        }
        var path: [Step] = []
        var backtracksLeft = options.backtracks
        var backtracked = 0

        func restore(_ step: Step) {
            glp_set_col_bnds(problem, step.column, step.type, step.lower, step.upper)
        }
        /// Applies a step's rounding: lower bound to the ceiling (up) or upper bound to the floor.
        func apply(_ step: Step) {
            let j = step.column
            let lo = step.type == GLP_FR || step.type == GLP_UP ? -Double.infinity : step.lower
            let hi = step.type == GLP_FR || step.type == GLP_LO ? Double.infinity : step.upper
            let (l, u) = step.up ? (step.value.rounded(.up), hi) : (lo, step.value.rounded(.down))
            switch (l.isFinite, u.isFinite) {
            case (true, true): glp_set_col_bnds(problem, j, l == u ? GLP_FX : GLP_DB, l, u)
            case (true, false): glp_set_col_bnds(problem, j, GLP_LO, l, 0)
            case (false, true): glp_set_col_bnds(problem, j, GLP_UP, 0, u)
            case (false, false): glp_set_col_bnds(problem, j, GLP_FR, 0, 0)
            }
        }

        while true {
            if outOfTime { return none(.noSolution, bound: lpBound, "dive: time limit", timedOut: true) }
            // Structural decisions first: the fractional binary nearest to 0 or 1, rounded there.
            // Then counts: the fractional integer closest to its ceiling, rounded up (rounding a
            // count down mostly shifts the fraction to a twin variable; rounding up commits).
            var pick: (column: Int32, value: Double, distance: Double, up: Bool)?
            for j in binaries {
                let v = glp_get_col_prim(problem, j)
                let distance = abs(v - v.rounded())
                guard distance > tolerance else { continue }
                if pick == nil || distance < pick!.distance { pick = (j, v, distance, v >= 0.5) }
            }
            if pick == nil {
                var fractional: [(column: Int32, value: Double, distance: Double)] = []
                for j in counts {
                    let v = glp_get_col_prim(problem, j)
                    guard abs(v - v.rounded()) > tolerance else { continue }
                    fractional.append((j, v, v.rounded(.up) - v))
                }
                fractional.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.column < $1.column) }
                if let first = fractional.first { pick = (first.column, first.value, first.distance, true) }
            }
            guard let (column, value, _, up) = pick else { break }
            var step = Step(column: column, type: glp_get_col_type(problem, column),
                            lower: glp_get_col_lb(problem, column), upper: glp_get_col_ub(problem, column),
                            value: value, up: up, triedBoth: false)
            apply(step)
            if try resolve(dual: true) {
                path.append(step)
                continue
            }
            // The other direction.
            restore(step)
            step.up.toggle()
            step.triedBoth = true
            apply(step)
            path.append(step)
            if try resolve(dual: true) { continue }
            if outOfTime { return none(.noSolution, bound: lpBound, "dive: time limit", timedOut: true) }
            // Both failed: undo roundings until one whose other direction is untried, and take it.
            var recovered = false
            while let last = path.popLast() {
                restore(last)
                guard !last.triedBoth else { continue }
                guard backtracksLeft > 0 else { break }
                backtracksLeft -= 1
                backtracked += 1
                var other = last
                other.up.toggle()
                other.triedBoth = true
                apply(other)
                path.append(other)
                if try resolve(dual: true) {
                    recovered = true
                    break
                }
            }
            if outOfTime { return none(.noSolution, bound: lpBound, "dive: time limit", timedOut: true) }
            if !recovered { return none(.noSolution, bound: lpBound, "dive: every rounding direction made the LP infeasible") }
        }

        // Every integer column is within tolerance of an integer: round exactly and check.
        var values = (1...Int32(variableSpecs.count)).map { glp_get_col_prim(problem, $0) }
        for j in integers { values[Int(j) - 1] = values[Int(j) - 1].rounded() }
        if let why = violation(of: values) { return none(.noSolution, bound: lpBound, "dive: rounded LP solution violates the model (\(why))") }
        return Solution(status: .feasible, objective: objectiveValue(of: values), bound: lpBound, values: values,
                        seconds: monotonicSeconds() - start, incumbentAccepted: false, notes: ["dive: \(path.count) roundings, \(backtracked) backtracks"])
    }
}
