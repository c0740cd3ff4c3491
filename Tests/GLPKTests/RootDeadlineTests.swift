// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
@testable import GLPK
import Testing

/// With GLPK's MIP presolver, glp_intopt gives the root LP the whole limit again, from that
/// LP's own start after the presolver, and calls no callback until the tree starts; dehplan
/// checks the solve's deadline on that LP's progress lines.
@Suite struct RootDeadlineTests {
    /// A generalized assignment problem (items to bins of limited capacity, random costs and
    /// weights): its root LP takes thousands of simplex iterations (600 items and 60 bins: about
    /// 1 s in a debug build, to the first branch-and-cut callback).
    static func assignment(items: Int, bins: Int, seed: UInt64, kind: Model.Kind) -> Model {
        var random = SplitMix64Local(seed: seed)
        var model = Model()
        var x: [[Model.Variable]] = []
        for _ in 0..<items {
            x.append((0..<bins).map { _ in model.addVariable(kind: kind, lower: 0, upper: 1, objective: Double(10 + random.next() % 90)) })
        }
        var weights: [[Double]] = []
        for _ in 0..<items { weights.append((0..<bins).map { _ in Double(5 + random.next() % 25) }) }
        for i in 0..<items { model.addEqual(x[i].map { ($0, 1) }, 1) }
        let capacity = Double(items) * 17 / Double(bins) * 1.2
        for b in 0..<bins { model.addLessOrEqual((0..<items).map { (x[$0][b], weights[$0][b]) }, capacity) }
        return model
    }

    @Test func theRootLPEndsAtTheDeadlineAndGLPKWorksAfterwards() throws {
        let mip = Self.assignment(items: 600, bins: 60, seed: 11, kind: .binary)
        // How long GLPK takes to its first callback, i.e. through the presolver and the root LP.
        var toTheTree = SolveOptions(timeLimit: 120, presolve: true)
        toTheTree.stopWhenBound = { _ in true }
        let root = try mip.solve(toTheTree)
        #expect(!root.rootCutShort && root.stoppedByBound)
        // GLPK gives the root LP the whole limit, counted from its own start (after the
        // presolver); dehplan ends it at the limit counted from the start of the solve.
        let limit = root.seconds / 20
        let cut = try mip.solve(SolveOptions(timeLimit: limit, presolve: true))
        #expect(cut.rootCutShort, "\(cut.seconds) s at a \(limit) s limit; \(root.seconds) s to the tree")
        #expect(cut.status == .noSolution && cut.hitTimeLimit)
        #expect(cut.seconds < root.seconds / 2, "\(cut.seconds) s at a \(limit) s limit; \(root.seconds) s to the tree")
        // The thread's GLPK environment was freed; the next solve makes a new one.
        var model = Model()
        model.direction = .maximize
        let items = [10.0, 13, 7, 8].map { model.addVariable(kind: .binary, objective: $0) }
        model.addLessOrEqual(Array(zip(items, [5.0, 6, 3, 4])), 10)
        let after = try model.solve(SolveOptions(timeLimit: 10, presolve: true))
        #expect(after.status == .optimal && after.objective == 21)
    }
}

private struct SplitMix64Local {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
