// SPDX-License-Identifier: GPL-3.0-or-later

/// The outcome of a solve.
public struct Solution: Sendable {
    /// How far the solver got.
    public enum Status: String, Sendable, Hashable {
        /// Proven optimal (within the requested relative gap, which defaults to 0).
        case optimal
        /// A feasible solution, not proven optimal (time limit or gap tolerance hit).
        case feasible
        /// Proven to have no feasible solution.
        case infeasible
        /// The objective can improve without limit.
        case unbounded
        /// Stopped (time limit) before any feasible solution was found.
        case noSolution = "no-solution"
    }

    /// How far the solver got.
    public let status: Status
    /// Objective of the returned values, when there are values.
    public let objective: Double?
    /// Best proven bound on the optimum (a lower bound when minimising), when known.
    public let bound: Double?
    /// One value per variable (empty when there is no solution).
    public let values: [Double]
    /// Dual value (shadow price) of each constraint, for LP solves that reach optimality; empty otherwise.
    public var duals: [Double] = []
    /// Wall-clock seconds spent in GLPK.
    public let seconds: Double
    /// Whether the heuristic incumbent from the options was accepted by GLPK.
    public let incumbentAccepted: Bool
    /// Remarks worth logging (an incumbent that was rejected, presolve outcomes).
    public let notes: [String]
    /// True when the solve ended at its time limit (not at optimality, nor by `stopWhen`).
    public var hitTimeLimit = false
    /// True when the time limit passed in the presolved root LP, before branch-and-cut began
    /// (GLPK counts that LP's limit from its own start; dehplan cuts it short at the solve's).
    public var rootCutShort = false
    /// True when `SolveOptions.tick` ended the search.
    public var cancelled = false
    /// True when `SolveOptions.stopWhenBound` ended the search (the bound it was given is `bound`).
    public var stoppedByBound = false
    /// True when the search ran to its end: proven optimal, infeasible or unbounded, or stopped
    /// by `stopWhen` or `stopWhenBound` (not by the clock, nor cancelled).
    public var isConclusive: Bool {
        switch status {
        case .optimal, .infeasible, .unbounded: true
        case .feasible: !hitTimeLimit && !cancelled
        case .noSolution: stoppedByBound
        }
    }

    /// The value of one variable; 0 for a column added to a live LP after this solution was
    /// taken (it was not in the model, so the solution holds it at 0).
    public subscript(_ variable: Model.Variable) -> Double { variable.index < values.count ? values[variable.index] : 0 }

    /// True when there are values to read.
    public var hasSolution: Bool { !values.isEmpty }

    /// Relative gap between objective and bound, |obj - bound| / max(1, |obj|); nil when either is unknown.
    public var gap: Double? {
        guard let o = objective, let b = bound else { return nil }
        return abs(o - b) / max(1, abs(o))
    }
}
