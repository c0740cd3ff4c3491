// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
@testable import GLPK
import Testing

@Suite struct LiveLPTests {
    /// A cutting-stock master (rows: demand per size) with only single-size columns to start.
    static func master(sizes: [Int], demand: [Int], capacity: Int) -> (Model, [Model.Constraint]) {
        var model = Model()
        let singles = sizes.indices.map { _ in model.addVariable(objective: 1) }
        let rows = sizes.indices.map { c in
            model.addGreaterOrEqual([(singles[c], Double(capacity / sizes[c]))], Double(demand[c]))
        }
        return (model, rows)
    }

    /// Columns added to a live LP, re-solved warm, give the same optimum as the whole model
    /// solved from scratch; so do changed row bounds (dual simplex from the previous basis).
    @Test func warmResolvesMatchSolvesFromScratch() throws {
        let sizes = [45, 36, 31, 14], demand = [97, 610, 395, 211], capacity = 100
        let (model, rows) = Self.master(sizes: sizes, demand: demand, capacity: capacity)
        let patterns = [[2, 0, 0, 0], [0, 2, 0, 2], [0, 1, 2, 0], [1, 1, 0, 1], [0, 0, 3, 0], [0, 0, 1, 4], [1, 0, 1, 1]]
        try model.withLiveLP { lp throws(GLPKError) in
            let first = try lp.solve()
            #expect(first.status == .optimal)
            #expect(lp.solves == 1)
            var previous = first.objective!
            for pattern in patterns {
                let terms = pattern.indices.compactMap { c in pattern[c] > 0 ? (rows[c], Double(pattern[c])) : nil }
                try lp.addVariable(objective: 1, terms: terms)
                let warm = try lp.solve()
                let cold = try lp.model.solve()
                #expect(warm.status == .optimal)
                #expect(abs(warm.objective! - cold.objective!) < 1e-7)
                #expect(warm.objective! <= previous + 1e-9)  // a new column never hurts a minimisation
                #expect(warm.values.count == lp.model.variableCount)
                #expect(warm.duals.count == rows.count)
                #expect(lp.model.violation(of: warm.values) == nil)
                previous = warm.objective!
            }
            // Halve the demand: dual simplex from the last basis, same answer as from scratch.
            for (c, row) in rows.enumerated() { try lp.setBounds(row, lower: Double(demand[c] / 2), upper: nil) }
            let halved = try lp.solve()
            let cold = try lp.model.solve()
            #expect(abs(halved.objective! - cold.objective!) < 1e-7)
            #expect(halved.objective! < previous)
            // Fix one column to zero.
            try lp.setBounds(Model.Variable(index: 0), lower: 0, upper: 0)
            let fixed = try lp.solve()
            #expect(abs(fixed.objective! - (try lp.model.solve()).objective!) < 1e-7)
            #expect(fixed.values[0] == 0)
        }
    }

    /// The model read back after the closure keeps the kinds of added columns, for an integer solve.
    @Test func addedColumnsKeepTheirKind() throws {
        var model = Model()
        model.direction = .maximize
        let x = model.addVariable(upper: 10, objective: 1)
        let row = model.addLessOrEqual([(x, 2)], 7)
        let extended = try model.withLiveLP { lp throws(GLPKError) in
            try lp.addVariable(kind: .integer, objective: 3, upper: 5, terms: [(row, 2)])
            #expect(try lp.solve().objective == 10.5)  // continuous in the live LP
            return lp.model
        }
        #expect(extended.kind(of: Model.Variable(index: 1)) == .integer)
        #expect(try extended.solve().objective == 9.5)  // 3 of the integer column, 0.5 of x
    }

    /// Bad indices and bounds are errors, not GLPK aborts; an infeasible change is reported.
    @Test func rejectsBadInputAndReportsInfeasibility() throws {
        var model = Model()
        let x = model.addVariable(upper: 1, objective: 1)
        let row = model.addGreaterOrEqual([(x, 1)], 0.5)
        try model.withLiveLP { lp throws(GLPKError) in
            #expect(throws: GLPKError.invalidModel("")) { try lp.addVariable(objective: 1, terms: [(Model.Constraint(index: 1), 1)]) }
            #expect(throws: GLPKError.invalidModel("")) { try lp.addVariable(objective: .nan, terms: [(row, 1)]) }
            #expect(throws: GLPKError.invalidModel("")) { try lp.setBounds(Model.Variable(index: 5), lower: 0, upper: 1) }
            #expect(throws: GLPKError.invalidModel("")) { try lp.setBounds(row, lower: 2, upper: 1) }
            #expect(throws: GLPKError.invalidModel("")) { try lp.setBounds(Model.Constraint(index: -1), lower: 0, upper: nil) }
            #expect(throws: GLPKError.invalidOptions("")) { try lp.solve(timeLimit: -1) }
            #expect(try lp.solve().objective == 0.5)
            try lp.setBounds(row, lower: 2, upper: nil)  // x <= 1 cannot reach 2
            #expect(try lp.solve().status == .infeasible)
        }
    }

    /// A model that starts with rows but no columns (column generation from nothing).
    @Test func startsWithoutColumns() throws {
        var model = Model()
        let row = model.addGreaterOrEqual([], 3)
        try model.withLiveLP { lp throws(GLPKError) in
            try lp.addVariable(objective: 2, terms: [(row, 1)])
            try lp.addVariable(objective: 5, terms: [(row, 3)])
            let solution = try lp.solve()
            #expect(solution.status == .optimal)
            #expect(solution.objective == 5)  // one of the second column
        }
    }

    /// Used after its closure, a LiveLP throws instead of touching freed memory.
    @Test func cannotBeUsedAfterItsClosure() throws {
        var model = Model()
        model.addVariable(objective: 1)
        let escaped = try model.withLiveLP { lp throws(GLPKError) in lp }
        #expect(throws: GLPKError.invalidOptions("")) { try escaped.solve() }
        #expect(throws: GLPKError.invalidOptions("")) { try escaped.addVariable(objective: 1, terms: []) }
    }

    /// Other solves inside the closure leave the live problem alone (they must not free this
    /// thread's GLPK environment); a fatal GLPK error, which does free it, makes the live
    /// problem unusable with an error instead of a crash.
    @Test func nestedSolvesAndFatalErrors() throws {
        var model = Model()
        let x = model.addVariable(upper: 4, objective: -1)
        model.addLessOrEqual([(x, 1)], 3)
        try model.withLiveLP { lp throws(GLPKError) in
            #expect(try lp.solve().objective == -3)
            var other = Model()
            other.direction = .maximize
            let y = other.addVariable(kind: .integer, upper: 3, objective: 1)
            other.addLessOrEqual([(y, 2)], 5)
            #expect(try other.solve().objective == 2)
            #expect(try other.dive().objective == 2)
            try lp.setBounds(x, lower: 0, upper: 2)
            #expect(try lp.solve().objective == -2)  // still alive after the nested solves
            #expect(provokeFatalErrorForTesting())
            #expect(throws: GLPKError.invalidOptions("")) { try lp.solve() }
        }
        #expect(try model.solve().objective == -3)  // GLPK works again afterwards
    }

    /// Live LPs on several threads at once each give their own model's answer.
    @Test func concurrentLiveLPs() async throws {
        let cases = (1...6).map { k in (sizes: [40 + k, 30, 20 + k], demand: [10 * k, 7, 13]) }
        @Sendable func run(_ sizes: [Int], _ demand: [Int]) throws -> (Double, Double) {
            let (model, rows) = Self.master(sizes: sizes, demand: demand, capacity: 100)
            return try model.withLiveLP { lp throws(GLPKError) in
                _ = try lp.solve()
                try lp.addVariable(objective: 1, terms: [(rows[0], 1), (rows[1], 1), (rows[2], 1)])
                let warm = try lp.solve().objective!
                return (warm, try lp.model.solve().objective!)
            }
        }
        let results = try await withThrowingTaskGroup(of: (Double, Double).self) { group in
            for c in cases {
                group.addTask {
                    try await withCheckedThrowingContinuation { continuation in
                        Thread.detachNewThread { continuation.resume(with: Result { try run(c.sizes, c.demand) }) }
                    }
                }
            }
            var all: [(Double, Double)] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.count == cases.count)
        for (warm, cold) in results { #expect(abs(warm - cold) < 1e-7) }
    }
}
