// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
@testable import GLPK
import Testing

@Suite struct ModelTests {
    /// max 3x + 2y  s.t. x + y <= 4, x + 3y <= 6, x <= 3  → x = 3, y = 1, objective 11.
    @Test func solvesASmallLP() throws {
        var model = Model()
        model.direction = .maximize
        let x = model.addVariable("x", objective: 3)
        let y = model.addVariable("y", objective: 2)
        model.addLessOrEqual([(x, 1), (y, 1)], 4, name: "cap")
        model.addLessOrEqual([(x, 1), (y, 3)], 6, name: "mix")
        model.addLessOrEqual([(x, 1)], 3, name: "xmax")
        let solution = try model.solve()
        #expect(solution.status == .optimal)
        #expect(abs(solution.objective! - 11) < 1e-9)
        #expect(abs(solution[x] - 3) < 1e-9)
        #expect(abs(solution[y] - 1) < 1e-9)
    }

    /// 0/1 knapsack: values 10, 13, 7, 8; weights 5, 6, 3, 4; capacity 10 → best is items 1+3 (or 2+4) = 21.
    @Test func solvesAKnapsackMIP() throws {
        var model = Model()
        model.direction = .maximize
        let values = [10.0, 13, 7, 8]
        let weights = [5.0, 6, 3, 4]
        let items = values.map { model.addVariable(kind: .binary, objective: $0) }
        model.addLessOrEqual(Array(zip(items, weights)), 10, name: "weight")
        let solution = try model.solve()
        #expect(solution.status == .optimal)
        #expect(solution.objective == 21)
        #expect(solution.bound == 21)
        let weight = zip(items, weights).reduce(0) { $0 + solution[$1.0] * $1.1 }
        #expect(weight <= 10)
        #expect(model.violation(of: solution.values) == nil)
    }

    /// An integer program whose LP relaxation is fractional: min x + y, 2x + 2y >= 3, integers → 2.
    @Test func integralityMatters() throws {
        var model = Model()
        let x = model.addVariable(kind: .integer, objective: 1)
        let y = model.addVariable(kind: .integer, objective: 1)
        model.addGreaterOrEqual([(x, 2), (y, 2)], 3)
        let mip = try model.solve()
        #expect(mip.objective == 2)
        var relaxed = Model()
        let rx = relaxed.addVariable(objective: 1)
        let ry = relaxed.addVariable(objective: 1)
        relaxed.addGreaterOrEqual([(rx, 2), (ry, 2)], 3)
        #expect(try relaxed.solve().objective == 1.5)
    }

    @Test(arguments: [true, false])
    func detectsInfeasibleMIP(presolve: Bool) throws {
        var model = Model()
        let x = model.addVariable(kind: .integer, lower: 0, upper: 10, objective: 1)
        model.addGreaterOrEqual([(x, 1)], 5)
        model.addLessOrEqual([(x, 1)], 4)
        let solution = try model.solve(SolveOptions(presolve: presolve))
        #expect(solution.status == .infeasible)
        #expect(!solution.hasSolution)
    }

    @Test func detectsInfeasibleLP() throws {
        var model = Model()
        let x = model.addVariable(objective: 1)
        model.addGreaterOrEqual([(x, 1)], 5)
        model.addLessOrEqual([(x, 1)], 4)
        #expect(try model.solve(SolveOptions(presolve: false)).status == .infeasible)
    }

    @Test(arguments: [true, false])
    func detectsUnboundedMIP(presolve: Bool) throws {
        var model = Model()
        model.direction = .maximize
        let x = model.addVariable(kind: .integer, objective: 1)
        let y = model.addVariable(kind: .integer, objective: 1)
        model.addLessOrEqual([(x, 1), (y, -1)], 2)
        #expect(try model.solve(SolveOptions(presolve: presolve)).status == .unbounded)
    }

    @Test func detectsUnboundedLP() throws {
        var model = Model()
        let x = model.addVariable(lower: nil, objective: 1)
        model.addLessOrEqual([(x, 1)], 4)
        #expect(try model.solve(SolveOptions(presolve: false)).status == .unbounded)
    }

    /// Without the presolver the LP relaxation is solved first and counts against the limit:
    /// when it leaves less time than it took, branch-and-cut does not start (its first steps do
    /// not look at the clock) and the LP's bound is returned.
    @Test func anLPThatSpendsTheLimitEndsTheSolve() throws {
        var model = Model()
        model.direction = .maximize
        let x = model.addVariable(kind: .integer, objective: 1)
        let y = model.addVariable(kind: .integer, objective: 1)
        model.addLessOrEqual([(x, 2), (y, 2)], 5)
        let cut = try model.solve(SolveOptions(timeLimit: 1e-6, presolve: false))
        #expect(cut.status == .noSolution)
        #expect(cut.hitTimeLimit)
        #expect(cut.bound == 2.5)
        let whole = try model.solve(SolveOptions(timeLimit: 10, presolve: false))
        #expect(whole.status == .optimal)
        #expect(whole.objective == 2)
    }

    @Test func duplicateVariablesInARowAreSummed() throws {
        // GLPK aborts on a repeated column index in one row; the wrapper merges them.
        var model = Model()
        model.direction = .maximize
        let x = model.addVariable(kind: .integer, objective: 1)
        model.addLessOrEqual([(x, 1), (x, 2)], 7)
        #expect(try model.solve().objective == 2)
    }

    @Test func invalidIndicesAreRejectedBeforeGLPKSeesThem() {
        var model = Model()
        _ = model.addVariable(objective: 1)
        var other = Model()
        (0..<6).forEach { _ in other.addVariable() }
        let foreign = other.addVariable()  // index 6: not a variable of `model`
        model.addLessOrEqual([(foreign, 1)], 1, name: "bad")
        #expect(throws: GLPKError.invalidModel("")) { try model.solve() }
        var inverted = Model()
        inverted.addVariable(lower: 3, upper: 1)
        #expect(throws: GLPKError.invalidModel("")) { try inverted.solve() }
        var nan = Model()
        let v = nan.addVariable()
        nan.addLessOrEqual([(v, .nan)], 1)
        #expect(throws: GLPKError.invalidModel("")) { try nan.solve() }
    }

    @Test func invalidOptionsAreRejected() {
        var model = Model()
        model.addVariable(objective: 1)
        #expect(throws: GLPKError.invalidOptions("")) { try model.solve(SolveOptions(timeLimit: -1)) }
        #expect(throws: GLPKError.invalidOptions("")) { try model.solve(SolveOptions(relativeGap: 2)) }
    }

    /// A hard bin-packing model with a 0.2 s limit: ends with a valid solution and a bound, not a proof.
    @Test func timeLimitEndsWithBestSolutionAndBound() throws {
        let (model, _) = binPacking(items: hardItems(count: 60), capacity: 1000, bins: 40)
        let solution = try model.solve(SolveOptions(timeLimit: 0.2, incumbent: nil))
        #expect(solution.status == .feasible || solution.status == .optimal || solution.status == .noSolution)
        #expect(solution.hitTimeLimit == (solution.status != .optimal))
        if solution.hasSolution {
            #expect(model.violation(of: solution.values) == nil)
            if let bound = solution.bound { #expect(bound <= solution.objective! + 1e-6) }
        }
        #expect(solution.seconds < 5)
    }

    /// The heuristic incumbent reaches branch-and-cut when presolve is off, and is rejected when infeasible.
    @Test func incumbentHook() throws {
        // Pairs that fill a bin exactly, in order: first fit is optimal and the LP bound proves it.
        let items = pairedItems(pairs: 8, seed: 3, shuffled: false)
        let (model, start) = binPacking(items: items, capacity: 1000, bins: 11)
        let solution = try model.solve(SolveOptions(presolve: false, incumbent: start))
        #expect(solution.incumbentAccepted)
        #expect(solution.status == .optimal)
        #expect(model.violation(of: solution.values) == nil)
        #expect(solution.objective! <= model.objectiveValue(of: start))

        var bad = start
        bad[0] = 0.5  // not integral
        let rejected = try model.solve(SolveOptions(presolve: false, incumbent: bad))
        #expect(!rejected.incumbentAccepted)
        #expect(rejected.notes.contains { $0.contains("heuristic incumbent ignored") })
        #expect(rejected.objective == solution.objective)
    }

    /// Solves on several threads at once give the same answers as one at a time.
    @Test func concurrentSolvesAgree() async throws {
        let instances = (0..<8).map { seed in
            binPacking(items: pairedItems(pairs: 5, seed: UInt64(seed), shuffled: true) + [100 + seed], capacity: 1000, bins: 8).0
        }
        let serial = try instances.map { try $0.solve().objective }
        let parallel = try await withThrowingTaskGroup(of: (Int, Double?).self) { group in
            for (i, model) in instances.enumerated() {
                group.addTask {
                    // A detached thread per solve: GLPK's environment is per OS thread.
                    let value = try await withCheckedThrowingContinuation { continuation in
                        Thread.detachNewThread {
                            continuation.resume(with: Result { try model.solve().objective })
                        }
                    }
                    return (i, value)
                }
            }
            var results = [Double?](repeating: nil, count: instances.count)
            for try await (i, v) in group { results[i] = v }
            return results
        }
        #expect(parallel == serial)
        #expect(serial.allSatisfy { $0 == 6 })
    }
}

/// Item sizes of a deterministic pseudo-random bin-packing instance.
func hardItems(count: Int, seed: UInt64 = 42) -> [Int] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return 250 + Int((state >> 33) % 250)
    }
}

/// Pairs of sizes that sum to exactly 1000 (optionally shuffled).
func pairedItems(pairs: Int, seed: UInt64, shuffled: Bool) -> [Int] {
    var state = seed
    func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
    var items: [Int] = []
    for _ in 0..<pairs {
        let a = 300 + Int(next() % 400)
        items += [a, 1000 - a]
    }
    if shuffled {
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, Int(next() % UInt64(i + 1))) }
    }
    return items
}

/// Assignment model of bin packing: x[i][b] binary, y[b] bin used; minimise Σ y. Returns it with a first-fit start.
func binPacking(items: [Int], capacity: Int, bins: Int) -> (Model, [Double]) {
    var model = Model()
    let y = (0..<bins).map { model.addVariable("y\($0)", kind: .binary, objective: 1) }
    var x: [[Model.Variable]] = []
    for i in items.indices {
        x.append((0..<bins).map { model.addVariable("x\(i)_\($0)", kind: .binary) })
        model.addEqual(x[i].map { ($0, 1.0) }, 1, name: "assign\(i)")
    }
    for b in 0..<bins {
        var terms = items.indices.map { (x[$0][b], Double(items[$0])) }
        terms.append((y[b], -Double(capacity)))
        model.addLessOrEqual(terms, 0, name: "cap\(b)")
    }
    for b in 1..<bins { model.addLessOrEqual([(y[b], 1), (y[b - 1], -1)], 0, name: "sym\(b)") }
    // First fit.
    var start = [Double](repeating: 0, count: model.variableCount)
    var load = [Int](repeating: 0, count: bins)
    for (i, size) in items.enumerated() {
        if let b = load.indices.first(where: { load[$0] + size <= capacity }) {
            load[b] += size
            start[x[i][b].index] = 1
            start[y[b].index] = 1
        }
    }
    return (model, start)
}

@Suite struct FatalErrorHookTests {
    /// GLPK would abort() the process; the error hook turns it into a return value, and GLPK keeps working afterwards.
    @Test func fatalErrorDoesNotKillTheProcess() throws {
        #expect(provokeFatalErrorForTesting())
        var model = Model()
        model.direction = .maximize
        let x = model.addVariable(kind: .integer, upper: 3, objective: 1)
        _ = x
        #expect(try model.solve().objective == 3)
    }
}

@Suite struct DualTests {
    /// min x + y s.t. x + 2y >= 4 (dual 0.5), 3x + y >= 3 (dual 1/... ) — checked by complementary slackness.
    @Test func lpDualsSatisfyStrongDuality() throws {
        var model = Model()
        let x = model.addVariable(objective: 1)
        let y = model.addVariable(objective: 1)
        model.addGreaterOrEqual([(x, 1), (y, 2)], 4)
        model.addGreaterOrEqual([(x, 3), (y, 1)], 3)
        let solution = try model.solve(SolveOptions(presolve: false))
        #expect(solution.status == .optimal)
        #expect(solution.duals.count == 2)
        // Strong duality: Σ dual·rhs equals the objective.
        #expect(abs(solution.duals[0] * 4 + solution.duals[1] * 3 - solution.objective!) < 1e-9)
        #expect(solution.duals.allSatisfy { $0 >= -1e-12 })
    }
}

@Suite struct StopCallbackTests {
    /// A caller's stop criterion ends branch-and-cut with the incumbent long before the limit.
    @Test func stopWhenEndsTheSearchWithTheIncumbent() throws {
        let (model, _) = binPacking(items: hardItems(count: 60), capacity: 1000, bins: 40)
        let calls = Counter()
        let solution = try model.solve(SolveOptions(timeLimit: 60, stopWhen: { incumbent, bound in
            calls.increment()
            return incumbent >= bound  // any incumbent will do
        }))
        #expect(solution.status == .feasible || solution.status == .optimal)
        #expect(solution.hasSolution)
        #expect(!solution.hitTimeLimit)  // stopped by the callback, not the clock
        #expect(model.violation(of: solution.values) == nil)
        #expect(calls.value > 0)
        #expect(solution.seconds < 30)  // far from the 60 s limit: the callback stopped it
    }
}

@Suite struct StopWhenBoundTests {
    /// A bound criterion stops branch-and-cut even before it has an incumbent; the solution
    /// says so, carries the bound, and counts as conclusive (a race takes it as finished).
    @Test func stopsOnTheBoundAlone() throws {
        let (model, _) = binPacking(items: pairedItems(pairs: 5, seed: 1, shuffled: true) + [101], capacity: 1000, bins: 8)
        let lp = try model.relaxed.solve()
        let target = (lp.objective! - 1e-6).rounded(.up)
        let seen = Counter()
        let solution = try model.solve(SolveOptions(timeLimit: 60))
        #expect(solution.hasSolution)
        var options = SolveOptions(timeLimit: 60)
        options.stopWhenBound = { bound in
            seen.increment()
            return bound >= target - 1e-6
        }
        let stopped = try model.solve(options)
        #expect(stopped.stoppedByBound)
        #expect(stopped.isConclusive)
        #expect(!stopped.hitTimeLimit)
        #expect(try #require(stopped.bound) >= target - 1e-6)
        #expect(seen.value > 0)
        // A criterion never met changes nothing.
        var never = SolveOptions(timeLimit: 60)
        never.stopWhenBound = { _ in false }
        let full = try model.solve(never)
        #expect(!full.stoppedByBound)
        #expect(full.status == .optimal)
        #expect(full.objective == solution.objective)
        #expect(full.objective == 6)
    }
}

final class Counter: @unchecked Sendable {
    private var count = 0
    func increment() { count += 1 }
    var value: Int { count }
}

@Suite struct RelaxationTests {
    /// Every branching rule proves the same optimum; the LP relaxation bounds it.
    @Test func branchingRulesAgreeAndTheRelaxationBounds() throws {
        // A 0/1 knapsack of 16 items (weights and values from a fixed sequence), capacity 100.
        var model = Model()
        model.direction = .maximize
        var terms: [(Model.Variable, Double)] = []
        for i in 0..<16 {
            let weight = Double(7 + (i * 37) % 23), value = Double(5 + (i * 53) % 31)
            terms.append((model.addVariable(kind: .binary, objective: value), weight))
        }
        model.addLessOrEqual(terms, 100)
        var optima: [Double] = []
        for rule in [SolveOptions.Branching.driebeckTomlin, .pseudoCost, .mostFractional] {
            var options = SolveOptions(timeLimit: 60)
            options.branching = rule
            let solution = try model.solve(options)
            #expect(solution.status == .optimal, "\(rule)")
            #expect(model.violation(of: solution.values) == nil)
            optima.append(solution.objective!)
        }
        #expect(Set(optima).count == 1, "\(optima)")
        let relaxed = model.relaxed
        #expect(!relaxed.isMIP)
        let lp = try relaxed.solve()
        #expect(lp.status == .optimal)
        #expect(lp.objective! >= optima[0] - 1e-6)  // maximising: the relaxation bounds from above
    }
}

@Suite struct PresolveRuleTests {
    /// GLPK's presolver does not look at the clock (seconds at 10^9 rows times columns): it
    /// runs only where its estimate (5 ns per row and column) is at most half the limit.
    @Test func thePresolverRunsOnlyWhereItFitsTheTimeLimit() {
        var model = Model()
        let x = (0..<2_000).map { _ in model.addVariable(objective: 1) }
        for i in 0..<1_000 { model.addGreaterOrEqual([(x[i], 1), (x[i + 1_000], 1)], 1) }
        // 2,000 columns x 1,000 rows: 0.01 s estimated.
        let limits: [Double?] = [nil, 1, 0.02, 0.019, 0.001]
        let fits = limits.map { model.presolveFits(timeLimit: $0) }
        #expect(fits == [true, true, true, false, false])
    }

    /// Where the rule turns the presolver off the LP is still solved, from GLPK's standard basis.
    @Test func anLPSolvedWithoutThePresolverHasTheSameOptimum() throws {
        var model = Model()
        let x = (0..<200).map { _ in model.addVariable(objective: 1) }
        for i in 0..<100 { model.addGreaterOrEqual([(x[i], 1), (x[i + 100], 2)], Double(i % 7 + 1)) }
        let with = try model.solve(SolveOptions(presolve: true))
        let without = try model.solve(SolveOptions(presolve: false))
        #expect(with.status == .optimal && without.status == .optimal)
        #expect(abs(with.objective! - without.objective!) < 1e-6)
    }
}
