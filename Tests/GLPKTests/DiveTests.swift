// SPDX-License-Identifier: GPL-3.0-or-later

@testable import GLPK
import Testing

@Suite struct DiveTests {
    /// An aggregated bin-packing model (integer counts per size and bin, binary bins): the dive
    /// ends with integral values that satisfy the model, at or above the proven optimum, and
    /// its bound is the LP relaxation's optimum.
    @Test func diveFindsAValidPackingAboveTheOptimum() throws {
        let sizes = [430, 350, 270, 190, 120], demand = [5, 7, 6, 9, 11], capacity = 1000, bins = 14
        var model = Model()
        let used = (0..<bins).map { _ in model.addVariable(kind: .binary, objective: 1) }
        var count: [[Model.Variable]] = []
        for t in sizes.indices {
            count.append((0..<bins).map { _ in model.addVariable(kind: .integer, upper: Double(demand[t])) })
            model.addEqual(count[t].map { ($0, 1) }, Double(demand[t]))
        }
        for b in 0..<bins {
            model.addLessOrEqual(sizes.indices.map { (count[$0][b], Double(sizes[$0])) } + [(used[b], -Double(capacity))], 0)
        }
        let dive = try model.dive(DiveOptions(timeLimit: 60))
        #expect(dive.status == .feasible)
        #expect(model.violation(of: dive.values) == nil)
        let lp = try model.relaxed.solve()
        #expect(abs(dive.bound! - lp.objective!) < 1e-6)
        let optimum = try model.solve(SolveOptions(timeLimit: 60))
        #expect(optimum.status == .optimal)
        #expect(dive.objective! >= optimum.objective! - 1e-9)
        #expect(abs(dive.objective! - model.objectiveValue(of: dive.values)) < 1e-9)
    }

    /// Rounding up makes the LP infeasible, so the dive takes the other direction.
    @Test func takesTheOtherDirection() throws {
        // max x  s.t. 2x <= 1, x integer in 0...3: LP x = 0.5; x = 1 breaks the row; x = 0 is the answer.
        var model = Model()
        model.direction = .maximize
        let x = model.addVariable(kind: .integer, upper: 3, objective: 1)
        model.addLessOrEqual([(x, 2)], 1)
        let dive = try model.dive()
        #expect(dive.status == .feasible)
        #expect(dive[x] == 0)
        #expect(dive.bound == 0.5)
    }

    /// No integer point: every direction fails; the dive says so and still reports the LP bound.
    @Test func reportsFailureWhenNoRoundingWorks() throws {
        var model = Model()
        let x = model.addVariable(kind: .integer, upper: 3, objective: 1)
        model.addEqual([(x, 2)], 1)
        let dive = try model.dive()
        #expect(dive.status == .noSolution)
        #expect(!dive.hasSolution)
        #expect(dive.bound == 0.5)
        #expect(dive.notes.contains { $0.contains("infeasible") })
    }

    @Test func infeasibleRelaxationAndBadOptions() throws {
        var model = Model()
        let x = model.addVariable(kind: .integer, upper: 3, objective: 1)
        model.addGreaterOrEqual([(x, 1)], 5)
        let infeasible = try model.dive()
        #expect(infeasible.status == .infeasible)
        #expect(!infeasible.hitTimeLimit)
        #expect(throws: GLPKError.self) { try model.dive(DiveOptions(timeLimit: -1)) }
        var broken = Model()
        broken.addLessOrEqual([(Model.Variable(index: 3), 1)], 1)
        #expect(throws: GLPKError.self) { try broken.dive() }
    }

    /// Random small integer programs: whatever the dive returns satisfies the model and is no
    /// better than the optimum branch-and-cut proves; when the program has no integer solution
    /// the dive finds none; its bound never exceeds the optimum. Some instances need
    /// backtracking, so that path is exercised too.
    @Test func randomProgramsAgreeWithBranchAndCut() throws {
        var state: UInt64 = 7
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        var found = 0, backtracked = 0, infeasible = 0
        for _ in 0..<300 {
            var model = Model()
            let vars = (0..<5).map { _ in model.addVariable(kind: next(3) == 0 ? .binary : .integer, upper: 3, objective: Double(next(7) - 3)) }
            for r in 0..<4 {
                let terms = vars.map { ($0, Double(next(7) - 3)) }
                let rhs = Double(next(9) - 2) + (next(2) == 0 ? 0.5 : 0)
                if r == 0 && next(2) == 0 { model.addEqual(terms, rhs.rounded()) } else { model.addLessOrEqual(terms, rhs) }
            }
            let exact = try model.solve(SolveOptions(timeLimit: 60))
            let dive = try model.dive(DiveOptions(timeLimit: 60, backtracks: 5))
            if exact.status == .infeasible { infeasible += 1 }
            if dive.hasSolution {
                found += 1
                #expect(exact.status == .optimal)
                #expect(model.violation(of: dive.values) == nil)
                #expect(dive.objective! >= exact.objective! - 1e-6)
            }
            if let bound = dive.bound, exact.status == .optimal { #expect(bound <= exact.objective! + 1e-6) }
            if dive.notes.contains(where: { $0.contains("backtracks") && !$0.contains(", 0 backtracks") }) { backtracked += 1 }
        }
        #expect(found > 100)
        #expect(infeasible > 0)
        #expect(backtracked > 0)
    }
}

extension DiveTests {
    /// A zero time limit ends the dive without a plan instead of misreading the clock as infeasibility.
    @Test func timeLimitEndsTheDive() throws {
        let sizes = hardItems(count: 40)
        let (model, _) = binPacking(items: sizes, capacity: 1000, bins: 30)
        let dive = try model.dive(DiveOptions(timeLimit: 0))
        #expect(dive.status == .noSolution)
        #expect(dive.notes.contains { $0.contains("time") })
        #expect(dive.hitTimeLimit)
    }
}

@Suite struct MemoryTests {
    /// On glibc the setting applies (the CLI relies on it for the dive's thousand re-solves).
    @Test func retainingFreedMemoryAppliesOnGlibc() {
        #if canImport(Glibc)
        #expect(GLPKMemory.retainFreedMemory())
        #endif
    }
}
