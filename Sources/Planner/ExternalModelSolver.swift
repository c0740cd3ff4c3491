// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK

/// One sub-problem's per-host model as handed to a solver other than GLPK: MPS text (GLPK's
/// free-format writer) and its column count. The answer's values are read back in column
/// order, checked against the model's rows, extracted, put in waves and validated exactly
/// like GLPK's.
public struct ExternalModel: Sendable {
    let model: Model

    /// The model in free MPS.
    public var mps: String { model.mps }
    /// How many columns (values the answer must give, in MPS column order).
    public var columnCount: Int { model.variableCount }
}

/// A solver's answer for an `ExternalModel`.
public struct ExternalAnswer: Sendable {
    public enum Status: String, Sendable, CaseIterable {
        case optimal, feasible, infeasible, unbounded
        /// Stopped before any feasible solution (time limit).
        case noSolution = "no-solution"
    }

    public var status: Status
    /// One value per column, in MPS column order (empty without a solution).
    public var values: [Double]
    /// The solver's proven bound on the objective, if any.
    public var bound: Double?
    public var seconds: Double
    /// Shown in the plan's notes (e.g. "external solver peak_rss_kb 12345").
    public var notes: [String]

    public init(status: Status, values: [Double], bound: Double? = nil, seconds: Double = 0, notes: [String] = []) {
        self.status = status
        self.values = values
        self.bound = bound
        self.seconds = seconds
        self.notes = notes
    }
}

/// A solver for the planner's per-host models other than GLPK, for side-by-side comparisons
/// (`dehplan plan --external-solver`, `Benchmarks/peers`). Called once per sub-problem, with
/// its number (from 0) and the time left; its answer is never replaced by the greedy plan.
public protocol ExternalModelSolver: Sendable {
    func solve(subproblem: Int, model: ExternalModel, timeLimit: Double) throws -> ExternalAnswer
}
