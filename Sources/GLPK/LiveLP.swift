// SPDX-License-Identifier: GPL-3.0-or-later

import CGLPK
import CGLPKSupport

/// An LP kept loaded in GLPK between solves, for column generation and diving: add columns or
/// change bounds, and the next `solve` starts from the previous optimal basis (primal simplex
/// after new columns, dual simplex after bound changes) instead of from scratch.
///
/// Only `Model.withLiveLP` creates one, and it is valid only inside that call's closure: GLPK
/// keeps its state per OS thread, so the problem is created, solved and freed within one
/// synchronous call. Every method throws `invalidOptions` once the closure has returned.
/// Other solves (`Model.solve`, `Model.dive`) may run inside the closure, on the same thread.
/// Indices are checked here, so GLPK never sees an out-of-range row or column.
public final class LiveLP {
    private var problem: OpaquePointer?
    private var problemAlive = true
    /// The thread's GLPK environment generation the problem lives in (`dp_env_epoch`).
    private let epoch: UInt
    /// The model as it stands: the loaded one plus every added column and bound change. Solve it
    /// as a MIP, or load it again, after the closure returns.
    public private(set) var model: Model
    private var boundsChanged = false
    /// Number of simplex calls so far.
    public private(set) var solves = 0

    fileprivate init(model: Model, problem: OpaquePointer) {
        self.model = model
        self.problem = problem
        self.epoch = dp_env_epoch()
    }

    fileprivate func close() -> (OpaquePointer?, Bool) {
        defer { problem = nil }
        return (problem, problemAlive && dp_env_epoch() == epoch)
    }

    private func live() throws(GLPKError) -> OpaquePointer {
        // A fatal GLPK error in any solve on this thread (a nested `Model.solve` too) freed the
        // environment and this problem with it.
        if dp_env_epoch() != epoch { problemAlive = false }
        guard let problem, problemAlive else {
            throw .invalidOptions("LiveLP used outside Model.withLiveLP, or after a fatal GLPK error")
        }
        return problem
    }

    /// Solves the LP from the current basis. The result has values, objective and duals when
    /// optimal; `noSolution` with `hitTimeLimit` when the time limit (seconds) ran out first.
    public func solve(timeLimit: Double? = nil) throws(GLPKError) -> Solution {
        let problem = try live()
        try validateTimeLimit(timeLimit)
        let start = monotonicSeconds()
        var parm = glp_smcp()
        glp_init_smcp(&parm)
        parm.msg_lev = GLP_MSG_OFF
        parm.presolve = GLP_OFF  // keep the basis between solves
        if let timeLimit { parm.tm_lim = Int32(clamping: Int((timeLimit * 1000).rounded(.up))) }
        // New columns keep the basis primal feasible; new bounds keep it dual feasible. GLP_DUALP
        // falls back to the primal simplex when the basis is not dual feasible.
        parm.meth = boundsChanged || solves == 0 ? GLP_DUALP : GLP_PRIMAL
        let rc = try model.guarded("simplex", &problemAlive) { dp_guarded_simplex(problem, &parm, $0) }
        solves += 1
        boundsChanged = false
        if rc == GLP_ETMLIM {
            var timedOut = Solution(status: .noSolution, objective: nil, bound: nil, values: [],
                                    seconds: monotonicSeconds() - start, incumbentAccepted: false, notes: [])
            timedOut.hitTimeLimit = true
            return timedOut
        }
        if rc == GLP_ESING || rc == GLP_EBADB || rc == GLP_ECOND {
            // A singular basis after many changes: start again from the standard basis once.
            glp_std_basis(problem)
            boundsChanged = true
            let retry = try model.guarded("simplex", &problemAlive) { dp_guarded_simplex(problem, &parm, $0) }
            guard retry == 0 else { throw .solverFailure("simplex failed: \(describeReturnCode(rc))") }
            return try model.lpResult(problem, rc: retry, seconds: monotonicSeconds() - start, notes: [])
        }
        return try model.lpResult(problem, rc: rc, seconds: monotonicSeconds() - start, notes: [])
    }

    /// Adds a column with these coefficients in existing constraints. The live LP treats it as
    /// continuous; `kind` is kept in `model` for a later integer solve.
    @discardableResult
    public func addVariable(
        kind: Model.Kind = .continuous, objective: Double, lower: Double? = 0, upper: Double? = nil,
        terms: [(Model.Constraint, Double)]
    ) throws(GLPKError) -> Model.Variable {
        let problem = try live()
        var merged: [Int: Double] = [:]
        for (row, coefficient) in terms {
            guard row.index >= 0, row.index < model.constraintCount else {
                throw .invalidModel("constraint index \(row.index) out of range 0..<\(model.constraintCount)")
            }
            guard coefficient.isFinite else { throw .invalidModel("coefficient in constraint \(row.index) is not finite") }
            merged[row.index, default: 0] += coefficient
        }
        guard objective.isFinite else { throw .invalidModel("objective \(objective) is not finite") }
        try checkBounds(lower, upper, "new variable")
        guard model.variableCount + 1 < Int(Int32.max) else { throw .invalidModel("model too large for GLPK (32-bit indices)") }
        let variable = model.addVariable(kind: kind, lower: lower, upper: upper, objective: objective)
        let kept = merged.filter { $0.value != 0 }.sorted { $0.key < $1.key }
        for (row, coefficient) in kept { model.appendTerm(Model.Constraint(index: row), variable, coefficient) }
        let j = glp_add_cols(problem, 1)
        let spec = model.variableSpecs[variable.index]  // binaries: clamped to 0...1
        let (type, lo, up) = model.boundType(spec.lower, spec.upper)
        glp_set_col_bnds(problem, j, type, lo, up)
        glp_set_obj_coef(problem, j, objective)
        var ind: [Int32] = [0] + kept.map { Int32($0.key + 1) }
        var val: [Double] = [0] + kept.map(\.value)
        glp_set_mat_col(problem, j, Int32(kept.count), &ind, &val)
        return variable
    }

    /// Changes a constraint's bounds (nil: infinite).
    public func setBounds(_ constraint: Model.Constraint, lower: Double?, upper: Double?) throws(GLPKError) {
        let problem = try live()
        guard constraint.index >= 0, constraint.index < model.constraintCount else {
            throw .invalidModel("constraint index \(constraint.index) out of range 0..<\(model.constraintCount)")
        }
        try checkBounds(lower, upper, "constraint \(constraint.index)")
        model.setBounds(constraint, lower: lower, upper: upper)
        let (type, lo, up) = model.boundType(lower, upper)
        glp_set_row_bnds(problem, Int32(constraint.index + 1), type, lo, up)
        boundsChanged = true
    }

    /// Changes a variable's bounds (nil: infinite).
    public func setBounds(_ variable: Model.Variable, lower: Double?, upper: Double?) throws(GLPKError) {
        let problem = try live()
        guard variable.index >= 0, variable.index < model.variableCount else {
            throw .invalidModel("variable index \(variable.index) out of range 0..<\(model.variableCount)")
        }
        try checkBounds(lower, upper, "variable \(variable.index)")
        model.setBounds(variable, lower: lower, upper: upper)
        let (type, lo, up) = model.boundType(lower, upper)
        glp_set_col_bnds(problem, Int32(variable.index + 1), type, lo, up)
        boundsChanged = true
    }

    private func checkBounds(_ lower: Double?, _ upper: Double?, _ what: String) throws(GLPKError) {
        if let l = lower, !l.isFinite { throw .invalidModel("\(what): lower bound \(l) is not finite") }
        if let u = upper, !u.isFinite { throw .invalidModel("\(what): upper bound \(u) is not finite") }
        if let l = lower, let u = upper, l > u { throw .invalidModel("\(what): lower bound \(l) exceeds upper bound \(u)") }
    }
}

extension Model {
    /// Loads this model's LP relaxation into GLPK and runs `body` with it; the problem is freed
    /// when `body` returns, on the same thread. See `LiveLP`.
    public func withLiveLP<R>(_ body: (LiveLP) throws(GLPKError) -> R) throws(GLPKError) -> R {
        try checkLoadable()
        guard let problem = glp_create_prob() else { throw .fatal("glp_create_prob returned NULL") }
        glp_term_out(GLP_OFF)
        relaxed.load(into: problem)
        let lp = LiveLP(model: self, problem: problem)
        dp_live_open()  // solves inside `body` must not free the environment under this problem
        defer {
            let (left, alive) = lp.close()
            if let left, alive { glp_delete_prob(left) }
            dp_live_close()
            dp_release_env()
        }
        return try body(lp)
    }

    /// Adds `coefficient · variable` to an existing constraint (LiveLP keeps its model in step).
    mutating func appendTerm(_ constraint: Constraint, _ variable: Variable, _ coefficient: Double) {
        constraintSpecs[constraint.index].terms.append((variable.index, coefficient))
    }

    /// Replaces a constraint's bounds.
    mutating func setBounds(_ constraint: Constraint, lower: Double?, upper: Double?) {
        constraintSpecs[constraint.index].lower = lower
        constraintSpecs[constraint.index].upper = upper
    }

    /// Replaces a variable's bounds.
    mutating func setBounds(_ variable: Variable, lower: Double?, upper: Double?) {
        variableSpecs[variable.index].lower = lower
        variableSpecs[variable.index].upper = upper
    }
}
