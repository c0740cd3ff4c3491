// SPDX-License-Identifier: GPL-3.0-or-later

/// Parameters of one solve.
public struct SolveOptions: Sendable {
    /// Wall-clock limit in seconds; nil for none. At the limit a MIP returns its best plan so far.
    public var timeLimit: Double?
    /// Stop when the relative gap between incumbent and bound is at most this (0 proves optimality).
    public var relativeGap: Double
    /// Use GLPK's MIP presolver (recommended: it also proves infeasibility early).
    public var presolve: Bool
    /// A heuristic solution (one value per variable) handed to branch-and-cut as the first incumbent.
    /// It is checked against the model first; an infeasible one is ignored and reported in `Solution.notes`.
    public var incumbent: [Double]?
    /// Called during branch-and-cut with (best objective so far, best bound); returning true stops
    /// the search with the incumbent (`feasible`, with that bound). Lets a caller stop as soon as
    /// its own criterion proves the incumbent good enough, e.g. a lexicographic objective whose
    /// primary part can no longer improve.
    public var stopWhen: (@Sendable (_ incumbent: Double, _ bound: Double) -> Bool)?
    /// Called during branch-and-cut with the best bound, whether or not there is an incumbent;
    /// returning true stops the search (`Solution.stoppedByBound`). Lets a caller holding a
    /// solution found elsewhere stop once the bound proves it.
    public var stopWhenBound: (@Sendable (_ bound: Double) -> Bool)?
    /// How branch-and-cut picks the variable to branch on.
    public enum Branching: Sendable {
        /// GLPK's default (Driebeck-Tomlin): good choices, but each costs tableau rows, which on
        /// models with tens of thousands of columns can take seconds per node.
        case driebeckTomlin
        /// Hybrid pseudo-cost branching: cheap per node once costs are learned.
        case pseudoCost
        /// Most fractional variable.
        case mostFractional
    }
    /// How branch-and-cut picks the variable to branch on.
    public var branching: Branching = .driebeckTomlin
    /// Gomory mixed-integer cuts (GLPK's `gmi_cuts`). Off by default: on most planner models
    /// they cost more than they save, on some they close the search at the root.
    public var gomoryCuts = false
    /// Called at every branch-and-cut callback (many times per node); returning true ends the
    /// search like a time limit, with `Solution.cancelled` set. `Model.race` uses it.
    public var tick: (@Sendable () -> Bool)?

    /// Creates options; the defaults prove optimality with presolve on and no time limit.
    public init(
        timeLimit: Double? = nil, relativeGap: Double = 0, presolve: Bool = true, incumbent: [Double]? = nil,
        stopWhen: (@Sendable (_ incumbent: Double, _ bound: Double) -> Bool)? = nil
    ) {
        self.stopWhen = stopWhen
        self.timeLimit = timeLimit
        self.relativeGap = relativeGap
        self.presolve = presolve
        self.incumbent = incumbent
    }

    func validate() throws(GLPKError) {
        try validateTimeLimit(timeLimit)
        if !(relativeGap.isFinite && relativeGap >= 0 && relativeGap <= 1) {
            throw .invalidOptions("relative gap must be within 0...1, got \(relativeGap)")
        }
    }
}

/// Throws unless `limit` is nil or a finite number of seconds >= 0 (solve and dive options).
func validateTimeLimit(_ limit: Double?) throws(GLPKError) {
    if let t = limit, !(t.isFinite && t >= 0) {
        throw .invalidOptions("time limit must be a finite number of seconds >= 0, got \(t)")
    }
}
