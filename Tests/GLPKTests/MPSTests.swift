// SPDX-License-Identifier: GPL-3.0-or-later

import CGLPK
import Foundation
import GLPK
import Testing

/// The MPS export (`Model.mps`, read by HiGHS, CBC and OR-Tools in Benchmarks/peers) describes
/// the same problem: GLPK's own MPS reader, solving the file, finds the same optimum; and an
/// external solution is checked against the model before it is used.
@Suite struct MPSTests {
    /// Reads MPS text with GLPK's reader and solves it (integer optimum, or LP optimum).
    static func solveWithGLPKReader(_ text: String) -> Double? {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dehplan-mps-\(UUID().uuidString).mps").path
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { return nil }
        defer { try? FileManager.default.removeItem(atPath: path) }
        glp_term_out(GLP_OFF)
        defer { glp_free_env() }
        guard let problem = glp_create_prob() else { return nil }
        defer { glp_delete_prob(problem) }
        guard glp_read_mps(problem, GLP_MPS_FILE, nil, path) == 0 else { return nil }
        var parm = glp_iocp()
        glp_init_iocp(&parm)
        parm.msg_lev = GLP_MSG_OFF
        parm.presolve = GLP_ON
        guard glp_intopt(problem, &parm) == 0 else { return nil }
        return glp_mip_obj_val(problem)
    }

    /// Every kind of row and bound: ≤, ≥, =, ranged; integer, binary, continuous, free, negative.
    static func model(maximize: Bool) -> Model {
        var m = Model()
        m.direction = maximize ? .maximize : .minimize
        let x = m.addVariable("x", kind: .integer, lower: 0, upper: 7, objective: maximize ? 3 : -3)
        let y = m.addVariable("y", kind: .integer, lower: 1, objective: maximize ? 2 : -2)  // no upper bound
        let b = m.addVariable("b", kind: .binary, objective: maximize ? 1.5 : -1.5)
        let z = m.addVariable("z", lower: nil, upper: nil, objective: 0.25)  // free, continuous
        let w = m.addVariable("w", lower: -4, upper: -1, objective: 0)
        m.addLessOrEqual([(x, 2), (y, 3), (b, 1)], 21.5)
        m.addGreaterOrEqual([(x, 1), (y, -1)], -3)
        m.addEqual([(z, 1), (x, -1), (w, 1)], 0)
        m.addConstraint([(y, 1), (b, 2)], lower: 1, upper: 6)
        m.addLessOrEqual([(z, 1)], 5)
        return m
    }

    @Test(arguments: [true, false])
    func glpkReadsTheExportAsTheSameProblem(maximize: Bool) throws {
        let model = Self.model(maximize: maximize)
        let direct = try model.solve()
        #expect(direct.status == .optimal)
        let viaFile = try #require(Self.solveWithGLPKReader(model.mps))
        // A maximisation is written as the minimisation of the negated objective.
        let expected = maximize ? -direct.objective! : direct.objective!
        #expect(abs(viaFile - expected) < 1e-6, "\(model.mps)")
        #expect(model.mps.contains("MARKER"))
        #expect(model.mps.contains("RANGES"))
        #expect(model.mps.contains(" FR BND C4"))
    }

    @Test func externalSolutionsAreChecked() throws {
        let model = Self.model(maximize: false)
        let direct = try model.solve()
        let accepted = try Solution(external: direct.values, status: .optimal, bound: direct.objective, seconds: 0.1, for: model)
        #expect(accepted.objective.map { abs($0 - direct.objective!) < 1e-9 } == true)
        var broken = direct.values
        broken[0] += 0.5  // x no longer integral
        #expect(throws: GLPKError.self) { try Solution(external: broken, status: .feasible, bound: nil, seconds: 0, for: model) }
        #expect(throws: GLPKError.self) { try Solution(external: [], status: .optimal, bound: nil, seconds: 0, for: model) }
        #expect(throws: GLPKError.self) { try Solution(external: [1, 2], status: .feasible, bound: nil, seconds: 0, for: model) }
    }
}
