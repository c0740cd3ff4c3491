// SPDX-License-Identifier: GPL-3.0-or-later

extension Model {
    /// The model in free MPS format, for solving it with other solvers (HiGHS, CBC, OR-Tools
    /// read it). Columns are `C1`...`Cn` and rows `R1`...`Rm` in model order, so a solution can
    /// be read back by position. A maximisation is written as the minimisation of the negated
    /// objective (MPS has no standard sense marker); the objective constant is left out.
    public var mps: String {
        var out = "NAME dehplan\n"
        if direction == .maximize { out += "* maximise: objective negated\n" }
        out += "ROWS\n N OBJ\n"
        for (r, row) in constraintSpecs.enumerated() {
            let type: String
            switch (row.lower, row.upper) {
            case let (l?, u?) where l == u: type = "E"
            case (_?, _?), (nil, _?): type = "L"
            case (_?, nil): type = "G"
            case (nil, nil): type = "N"
            }
            out += " \(type) R\(r + 1)\n"
        }
        // Column-wise coefficients.
        var columns: [[(Int, Double)]] = Array(repeating: [], count: variableSpecs.count)
        for (r, row) in constraintSpecs.enumerated() {
            for (v, a) in row.terms where a != 0 { columns[v].append((r, a)) }
        }
        let sign = direction == .maximize ? -1.0 : 1.0
        out += "COLUMNS\n"
        var inInteger = false
        for (i, spec) in variableSpecs.enumerated() {
            let integer = spec.kind != .continuous
            if integer != inInteger {
                out += integer ? " MARKER 'MARKER' 'INTORG'\n" : " MARKER 'MARKER' 'INTEND'\n"
                inInteger = integer
            }
            let name = "C\(i + 1)"
            out += " \(name) OBJ \(number(sign * spec.objective))\n"
            for (r, a) in columns[i] { out += " \(name) R\(r + 1) \(number(a))\n" }
        }
        if inInteger { out += " MARKER 'MARKER' 'INTEND'\n" }
        out += "RHS\n"
        var ranges = ""
        for (r, row) in constraintSpecs.enumerated() {
            switch (row.lower, row.upper) {
            case let (l?, u?) where l == u: out += " RHS R\(r + 1) \(number(u))\n"
            case let (l?, u?):
                out += " RHS R\(r + 1) \(number(u))\n"
                ranges += " RNG R\(r + 1) \(number(u - l))\n"
            case let (nil, u?): out += " RHS R\(r + 1) \(number(u))\n"
            case let (l?, nil): out += " RHS R\(r + 1) \(number(l))\n"
            case (nil, nil): break
            }
        }
        if !ranges.isEmpty { out += "RANGES\n" + ranges }
        out += "BOUNDS\n"
        for (i, spec) in variableSpecs.enumerated() {
            let name = "C\(i + 1)"
            switch (spec.lower, spec.upper) {
            case let (l?, u?) where l == u: out += " FX BND \(name) \(number(l))\n"
            case let (l?, u?):
                // Integer columns in an INTORG block default to 0..1 in some readers: always state both bounds.
                out += " LO BND \(name) \(number(l))\n UP BND \(name) \(number(u))\n"
            case let (l?, nil):
                out += spec.kind != .continuous || l != 0 ? " LO BND \(name) \(number(l))\n PL BND \(name)\n" : ""
            case let (nil, u?): out += " MI BND \(name)\n UP BND \(name) \(number(u))\n"
            case (nil, nil): out += " FR BND \(name)\n"
            }
        }
        out += "ENDATA\n"
        return out
    }

    private func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
    }
}

extension Solution {
    /// A solution found elsewhere (another solver given this model's MPS): checked against the
    /// model before use. Throws when the values break a bound, integrality or a constraint.
    public init(
        external values: [Double], status: Status, bound: Double?, seconds: Double, notes: [String] = [], for model: Model
    ) throws(GLPKError) {
        if !values.isEmpty, let why = model.violation(of: values, tolerance: 1e-5) {
            throw .invalidModel("the external solution is not feasible for the model: \(why)")
        }
        if values.isEmpty && (status == .optimal || status == .feasible) {
            throw .invalidModel("the external solution claims \(status.rawValue) but has no values")
        }
        self.init(
            status: status, objective: values.isEmpty ? nil : model.objectiveValue(of: values), bound: bound,
            values: values.map { $0.rounded() == $0 ? $0 : (abs($0 - $0.rounded()) < 1e-5 ? $0.rounded() : $0) },
            seconds: seconds, incumbentAccepted: false, notes: notes)
    }
}
