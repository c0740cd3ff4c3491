// SPDX-License-Identifier: GPL-3.0-or-later

/// A linear or mixed-integer program, built from named variables and constraints.
///
/// The model is a plain value: building it never touches GLPK. `solve(_:)` creates
/// the GLPK problem, solves it and frees it inside one synchronous call on the
/// calling thread, so models can be solved from several threads at once.
public struct Model: Sendable {
    /// Whether the objective is minimised or maximised.
    public enum Direction: Sendable { case minimize, maximize }

    /// The domain of a variable.
    public enum Kind: Sendable, Hashable { case continuous, integer, binary }

    /// A handle to a variable of this model (0-based position).
    public struct Variable: Hashable, Sendable, Comparable {
        /// Position of the variable in the model, from 0.
        public let index: Int
        public static func < (a: Variable, b: Variable) -> Bool { a.index < b.index }
    }

    /// A handle to a constraint of this model (0-based position).
    public struct Constraint: Hashable, Sendable {
        /// Position of the constraint in the model, from 0.
        public let index: Int
    }

    struct VariableSpec: Sendable {
        var name: String
        var kind: Kind
        var lower: Double?
        var upper: Double?
        var objective: Double
    }

    struct ConstraintSpec: Sendable {
        var name: String
        var terms: [(Int, Double)]
        var lower: Double?
        var upper: Double?
    }

    var variableSpecs: [VariableSpec] = []
    var constraintSpecs: [ConstraintSpec] = []
    /// Errors found while building; reported by `solve` so building stays non-throwing.
    var buildErrors: [String] = []

    /// Minimise (default) or maximise.
    public var direction: Direction = .minimize
    /// Constant added to the objective.
    public var objectiveConstant: Double = 0

    /// Creates an empty model.
    public init() {}

    /// Number of variables.
    public var variableCount: Int { variableSpecs.count }
    /// Number of constraints.
    public var constraintCount: Int { constraintSpecs.count }
    /// True when at least one variable is integer or binary.
    public var isMIP: Bool { variableSpecs.contains { $0.kind != .continuous } }

    /// Adds a variable. `nil` bounds are infinite; binaries get bounds 0...1.
    @discardableResult
    public mutating func addVariable(
        _ name: String = "", kind: Kind = .continuous,
        lower: Double? = 0, upper: Double? = nil, objective: Double = 0
    ) -> Variable {
        let index = variableSpecs.count
        var lo = lower
        var up = upper
        if kind == .binary {
            lo = max(lower ?? 0, 0)
            up = min(upper ?? 1, 1)
        }
        if let l = lo, !l.isFinite { buildErrors.append("variable \(label(name, index)): lower bound \(l) is not finite") }
        if let u = up, !u.isFinite { buildErrors.append("variable \(label(name, index)): upper bound \(u) is not finite") }
        if let l = lo, let u = up, l > u {
            buildErrors.append("variable \(label(name, index)): lower bound \(l) exceeds upper bound \(u)")
        }
        if !objective.isFinite { buildErrors.append("variable \(label(name, index)): objective \(objective) is not finite") }
        variableSpecs.append(VariableSpec(name: name, kind: kind, lower: lo, upper: up, objective: objective))
        return Variable(index: index)
    }

    /// Sets the objective coefficient of a variable.
    public mutating func setObjective(_ variable: Variable, _ coefficient: Double) {
        guard checkVariable(variable, context: "objective") else { return }
        if !coefficient.isFinite { buildErrors.append("objective coefficient of variable \(variable.index) is not finite") }
        variableSpecs[variable.index].objective = coefficient
    }

    /// Adds `lower <= Σ coefficient·variable <= upper`. `nil` bounds are infinite.
    /// Repeated variables are summed (GLPK itself rejects them).
    @discardableResult
    public mutating func addConstraint(
        _ terms: [(Variable, Double)], lower: Double? = nil, upper: Double? = nil, name: String = ""
    ) -> Constraint {
        let index = constraintSpecs.count
        var merged: [Int: Double] = [:]
        var order: [Int] = []
        for (variable, coefficient) in terms {
            guard checkVariable(variable, context: "constraint \(label(name, index))") else { continue }
            if !coefficient.isFinite {
                buildErrors.append("constraint \(label(name, index)): coefficient of variable \(variable.index) is not finite")
                continue
            }
            if merged[variable.index] == nil { order.append(variable.index) }
            merged[variable.index, default: 0] += coefficient
        }
        if let l = lower, !l.isFinite { buildErrors.append("constraint \(label(name, index)): lower bound is not finite") }
        if let u = upper, !u.isFinite { buildErrors.append("constraint \(label(name, index)): upper bound is not finite") }
        if let l = lower, let u = upper, l > u {
            buildErrors.append("constraint \(label(name, index)): lower bound \(l) exceeds upper bound \(u)")
        }
        let kept = order.compactMap { i -> (Int, Double)? in
            let c = merged[i]!
            return c == 0 ? nil : (i, c)
        }
        constraintSpecs.append(ConstraintSpec(name: name, terms: kept, lower: lower, upper: upper))
        return Constraint(index: index)
    }

    /// Adds `Σ terms <= bound`.
    @discardableResult
    public mutating func addLessOrEqual(_ terms: [(Variable, Double)], _ bound: Double, name: String = "") -> Constraint {
        addConstraint(terms, lower: nil, upper: bound, name: name)
    }

    /// Adds `Σ terms >= bound`.
    @discardableResult
    public mutating func addGreaterOrEqual(_ terms: [(Variable, Double)], _ bound: Double, name: String = "") -> Constraint {
        addConstraint(terms, lower: bound, upper: nil, name: name)
    }

    /// Adds `Σ terms == value`.
    @discardableResult
    public mutating func addEqual(_ terms: [(Variable, Double)], _ value: Double, name: String = "") -> Constraint {
        addConstraint(terms, lower: value, upper: value, name: name)
    }

    /// The same model with every variable continuous (its LP relaxation), whose optimum bounds
    /// the integer optimum (from below when minimising).
    public var relaxed: Model {
        var copy = self
        for i in copy.variableSpecs.indices { copy.variableSpecs[i].kind = .continuous }
        return copy
    }

    /// The upper bound of a variable (infinity when it has none).
    public func upperBound(of variable: Variable) -> Double { variableSpecs[variable.index].upper ?? .infinity }

    /// The kind of a variable.
    public func kind(of variable: Variable) -> Kind { variableSpecs[variable.index].kind }

    /// Checks that `values` (one per variable) satisfies bounds, integrality and every constraint.
    /// Returns a description of the first violation, or nil.
    public func violation(of values: [Double], tolerance: Double = 1e-6) -> String? {
        guard values.count == variableSpecs.count else {
            return "expected \(variableSpecs.count) values, got \(values.count)"
        }
        for (i, spec) in variableSpecs.enumerated() {
            let v = values[i]
            if !v.isFinite { return "variable \(label(spec.name, i)) = \(v) is not finite" }
            if let l = spec.lower, v < l - tolerance { return "variable \(label(spec.name, i)) = \(v) below \(l)" }
            if let u = spec.upper, v > u + tolerance { return "variable \(label(spec.name, i)) = \(v) above \(u)" }
            if spec.kind != .continuous, abs(v - v.rounded()) > tolerance {
                return "variable \(label(spec.name, i)) = \(v) is not integral"
            }
        }
        for (r, row) in constraintSpecs.enumerated() {
            let activity = row.terms.reduce(0) { $0 + $1.1 * values[$1.0] }
            if let l = row.lower, activity < l - tolerance * max(1, abs(l)) {
                return "constraint \(label(row.name, r)): \(activity) < \(l)"
            }
            if let u = row.upper, activity > u + tolerance * max(1, abs(u)) {
                return "constraint \(label(row.name, r)): \(activity) > \(u)"
            }
        }
        return nil
    }

    /// Objective value of `values` (including the constant).
    public func objectiveValue(of values: [Double]) -> Double {
        zip(variableSpecs, values).reduce(objectiveConstant) { $0 + $1.0.objective * $1.1 }
    }

    private mutating func checkVariable(_ variable: Variable, context: String) -> Bool {
        guard variable.index >= 0, variable.index < variableSpecs.count else {
            buildErrors.append("\(context): variable index \(variable.index) out of range 0..<\(variableSpecs.count)")
            return false
        }
        return true
    }

    private func label(_ name: String, _ index: Int) -> String { name.isEmpty ? "#\(index)" : "\"\(name)\"" }
}
