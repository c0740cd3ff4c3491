// SPDX-License-Identifier: GPL-3.0-or-later

import CGLPK
import CGLPKSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// State shared with the branch-and-cut callback through its `info` pointer.
private final class CallbackContext {
    let minimize: Bool
    let incumbent: [Double]?  // 1-based copy for glp_ios_heur_sol (index 0 unused)
    let columnCount: Int32
    var bestBound: Double?
    var incumbentAccepted = false
    var incumbentTried = false
    let stopWhen: (@Sendable (Double, Double) -> Bool)?
    /// Monotonic deadline: GLPK checks its own time limit only between some phases, so the
    /// callback also ends the search once this passes.
    var deadline: Double?
    var timedOut = false
    var tick: (@Sendable () -> Bool)?
    var cancelled = false
    var stopWhenBound: (@Sendable (Double) -> Bool)?
    var stoppedByBound = false

    init(minimize: Bool, incumbent: [Double]?, columnCount: Int32, stopWhen: (@Sendable (Double, Double) -> Bool)?) {
        self.stopWhen = stopWhen
        self.minimize = minimize
        self.incumbent = incumbent.map { [0] + $0 }
        self.columnCount = columnCount
    }
}

/// Branch-and-cut callback: records the best bound and hands GLPK the heuristic incumbent once.
private func branchAndCutCallback(_ tree: OpaquePointer?, _ info: UnsafeMutableRawPointer?) {
    guard let tree, let info else { return }
    dp_watch_disarm()  // the tree has started: from here this callback keeps the deadline
    let context = Unmanaged<CallbackContext>.fromOpaque(info).takeUnretainedValue()
    if let tick = context.tick, tick() {
        context.cancelled = true
        glp_ios_terminate(tree)
        return
    }
    if let deadline = context.deadline, monotonicSeconds() > deadline {
        context.timedOut = true
        glp_ios_terminate(tree)
        return
    }
    let best = glp_ios_best_node(tree)
    if best != 0 {
        let bound = glp_ios_node_bound(tree, best)
        if bound.isFinite { context.bestBound = bound }
    }
    if let stop = context.stopWhenBound, let bound = context.bestBound, stop(bound) {
        context.stoppedByBound = true
        glp_ios_terminate(tree)
        return
    }
    if let stop = context.stopWhen, let bound = context.bestBound {
        let problem = glp_ios_get_prob(tree)
        // An incumbent exists once the MIP status is feasible.
        if glp_mip_status(problem) == GLP_FEAS, stop(glp_mip_obj_val(problem), bound) {
            glp_ios_terminate(tree)
            return
        }
    }
    if glp_ios_reason(tree) == GLP_IHEUR, !context.incumbentTried, let x = context.incumbent {
        context.incumbentTried = true
        // With presolve on, the tree works on the presolved problem: its columns are
        // not ours. Inject only when the column count shows it is the original problem.
        if glp_get_num_cols(glp_ios_get_prob(tree)) == context.columnCount {
            let rc = x.withUnsafeBufferPointer { glp_ios_heur_sol(tree, $0.baseAddress) }
            context.incumbentAccepted = (rc == 0)
        }
    }
}

extension Model {
    /// Whether GLPK's presolver may run within `timeLimit` (always without one). Neither the
    /// presolver nor what GLPK does after it before its first simplex iteration looks at the
    /// clock, and that time grows with rows times columns: on consolidation models of the per-host
    /// kind (release build, 2 cores, LP with a 0.05 s limit) 2.4-2.6 s at 17,097 rows and 33,544
    /// columns, 4.9 s at 22,762 and 44,620, about 5 ns per row and column. It runs when that
    /// estimate is at most half the limit; otherwise GLPK starts from its standard basis and
    /// stops at the limit (the same LP of 44,620 columns took 28-30 s from there and 9-10 s
    /// presolved: a slower solve, but one that ends on time).
    public func presolveFits(timeLimit: Double?) -> Bool {
        guard let timeLimit else { return true }
        return 5e-9 * Double(constraintCount) * Double(variableCount) <= timeLimit / 2
    }

    /// Solves the model. Creates, solves and frees the GLPK problem on the calling thread,
    /// with GLPK's terminal output off for this solve. For an LP, `options.presolve` is honoured
    /// only where the presolver fits the time limit (`presolveFits`); a MIP's root LP is cut
    /// short at the limit after GLPK's MIP presolver (`rootCutShort`).
    public func solve(_ options: SolveOptions = SolveOptions()) throws(GLPKError) -> Solution {
        try checkLoadable()
        try options.validate()
        if variableSpecs.isEmpty {
            // GLPK handles this, but the answer is trivial and the edge case is not worth its quirks.
            if constraintSpecs.contains(where: { ($0.lower ?? 0) > 0 || ($0.upper ?? 0) < 0 }) {
                return Solution(status: .infeasible, objective: nil, bound: nil, values: [], seconds: 0,
                                incumbentAccepted: false, notes: [])
            }
            return Solution(status: .optimal, objective: objectiveConstant, bound: objectiveConstant, values: [],
                            seconds: 0, incumbentAccepted: false, notes: [])
        }

        var notes: [String] = []
        var incumbent = options.incumbent
        if let x = incumbent {
            if let why = violation(of: x) {
                notes.append("heuristic incumbent ignored: \(why)")
                incumbent = nil
            }
        }

        let start = monotonicSeconds()
        guard let problem = glp_create_prob() else { throw .fatal("glp_create_prob returned NULL") }
        var problemAlive = true
        defer {
            if problemAlive { glp_delete_prob(problem) }
            dp_release_env()  // drop this thread's GLPK environment, unless a LiveLP needs it
        }
        // Some GLPK routines (cut generators, the conflict graph) print regardless of msg_lev:
        // silence this thread's terminal output altogether.
        glp_term_out(GLP_OFF)
        load(into: problem)

        let minimize = direction == .minimize
        if !isMIP {
            var parm = glp_smcp()
            glp_init_smcp(&parm)
            parm.msg_lev = GLP_MSG_OFF
            parm.presolve = options.presolve && presolveFits(timeLimit: options.timeLimit) ? GLP_ON : GLP_OFF
            if let t = options.timeLimit { parm.tm_lim = Int32(clamping: Int((t * 1000).rounded(.up))) }
            let rc = try guarded("simplex", &problemAlive) { dp_guarded_simplex(problem, &parm, $0) }
            let seconds = monotonicSeconds() - start
            return try lpResult(problem, rc: rc, seconds: seconds, notes: notes)
        }

        var parm = glp_iocp()
        glp_init_iocp(&parm)
        parm.msg_lev = GLP_MSG_OFF
        parm.presolve = options.presolve ? GLP_ON : GLP_OFF
        parm.mip_gap = options.relativeGap
        parm.gmi_cuts = options.gomoryCuts ? GLP_ON : GLP_OFF
        switch options.branching {
        case .driebeckTomlin: parm.br_tech = GLP_BR_DTH
        case .pseudoCost: parm.br_tech = GLP_BR_PCH
        case .mostFractional: parm.br_tech = GLP_BR_MFV
        }
        if let t = options.timeLimit { parm.tm_lim = Int32(clamping: Int((t * 1000).rounded(.up))) }

        if !options.presolve {
            // Without the MIP presolver glp_intopt needs an optimal LP basis first.
            var smcp = glp_smcp()
            glp_init_smcp(&smcp)
            smcp.msg_lev = GLP_MSG_OFF
            if let t = options.timeLimit { smcp.tm_lim = Int32(clamping: Int((t * 1000).rounded(.up))) }
            let rc = try guarded("simplex", &problemAlive) { dp_guarded_simplex(problem, &smcp, $0) }
            let lpStatus = glp_get_status(problem)
            if rc == 0 && (lpStatus == GLP_NOFEAS) {
                return Solution(status: .infeasible, objective: nil, bound: nil, values: [],
                                seconds: monotonicSeconds() - start, incumbentAccepted: false, notes: notes)
            }
            if rc == 0 && lpStatus == GLP_UNBND {
                return Solution(status: .unbounded, objective: nil, bound: nil, values: [],
                                seconds: monotonicSeconds() - start, incumbentAccepted: false, notes: notes)
            }
            if rc != 0 || lpStatus != GLP_OPT {
                if rc == GLP_ETMLIM {
                    return Solution(status: .noSolution, objective: nil, bound: nil, values: [],
                                    seconds: monotonicSeconds() - start, incumbentAccepted: false, notes: notes)
                }
                throw .solverFailure("LP relaxation failed: \(describeReturnCode(rc))")
            }
            // The LP counts against the limit: branch-and-cut gets what is left (given the
            // whole limit again, it ran 1.7 s past a 3.9 s limit). With less left than the LP
            // took it does not start: its first steps (pseudo-cost estimates, cut rounds)
            // re-solve LPs from this basis and do not look at the clock (0.3 s left after a
            // 1.6 s LP: 0.68 s over the limit, nothing found).
            if let t = options.timeLimit {
                let spent = monotonicSeconds() - start
                let left = t - spent
                guard left > spent else {
                    var solution = Solution(status: .noSolution, objective: nil, bound: glp_get_obj_val(problem), values: [],
                                            seconds: monotonicSeconds() - start, incumbentAccepted: false, notes: notes)
                    solution.hitTimeLimit = true
                    return solution
                }
                parm.tm_lim = Int32(clamping: Int((left * 1000).rounded(.up)))
            }
        }

        let context = CallbackContext(minimize: minimize, incumbent: incumbent,
                                      columnCount: Int32(variableSpecs.count), stopWhen: options.stopWhen)
        if let t = options.timeLimit { context.deadline = start + t }
        context.tick = options.tick
        context.stopWhenBound = options.stopWhenBound
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }
        parm.cb_func = branchAndCutCallback
        parm.cb_info = unmanaged.toOpaque()

        // With the presolver, GLPK gives the root LP the whole limit again, counted from that
        // LP's own start after the presolver, and calls no callback before the tree exists:
        // its progress lines are checked against this solve's deadline, and past it the solve
        // ends there, with nothing found.
        // (Without the presolver the root LP was solved above, under the limit.)
        let deadline = options.presolve ? context.deadline : nil
        if deadline != nil { parm.msg_lev = GLP_MSG_ON }
        var cutShort = false
        let rc = try guarded("branch-and-cut", &problemAlive) { fatal in
            let rc = dp_guarded_intopt_until(problem, &parm, deadline ?? .infinity, fatal)
            if fatal.pointee == 2 { (cutShort, fatal.pointee) = (true, 0) }
            return rc
        }
        let seconds = monotonicSeconds() - start
        if cutShort {
            problemAlive = false  // GLPK's environment, and the problem with it, is gone
            var solution = Solution(status: .noSolution, objective: nil, bound: nil, values: [], seconds: seconds,
                                    incumbentAccepted: false, notes: notes + ["root LP cut short at the time limit"])
            solution.hitTimeLimit = true
            solution.rootCutShort = true
            return solution
        }
        if incumbent != nil && !context.incumbentAccepted {
            notes.append("heuristic incumbent not injected (presolved problem has other columns, or GLPK declined it)")
        }

        switch rc {
        case 0, GLP_ETMLIM, GLP_EMIPGAP, GLP_ESTOP:
            break
        case GLP_ENOPFS:
            return Solution(status: .infeasible, objective: nil, bound: nil, values: [], seconds: seconds,
                            incumbentAccepted: context.incumbentAccepted, notes: notes)
        case GLP_ENODFS:
            return Solution(status: .unbounded, objective: nil, bound: nil, values: [], seconds: seconds,
                            incumbentAccepted: context.incumbentAccepted, notes: notes)
        default:
            throw .solverFailure("branch-and-cut failed: \(describeReturnCode(rc))")
        }

        let mipStatus = glp_mip_status(problem)
        switch mipStatus {
        case GLP_OPT:
            let values = (1...Int32(variableSpecs.count)).map { glp_mip_col_val(problem, $0) }
            let objective = glp_mip_obj_val(problem)
            // Proven optimal within the requested gap: the bound is the tightest GLPK reported.
            let bound = options.relativeGap == 0 ? objective : (context.bestBound ?? objective)
            let status: Solution.Status = options.relativeGap == 0 ? .optimal : (abs(bound - objective) < 1e-9 ? .optimal : .feasible)
            return Solution(status: status, objective: objective, bound: bound, values: values, seconds: seconds,
                            incumbentAccepted: context.incumbentAccepted, notes: notes)
        case GLP_FEAS:
            let values = (1...Int32(variableSpecs.count)).map { glp_mip_col_val(problem, $0) }
            let objective = glp_mip_obj_val(problem)
            var bound = context.bestBound
            if let b = bound { bound = minimize ? min(b, objective) : max(b, objective) }
            var solution = Solution(status: .feasible, objective: objective, bound: bound, values: values, seconds: seconds,
                                    incumbentAccepted: context.incumbentAccepted, notes: notes)
            solution.hitTimeLimit = rc == GLP_ETMLIM || context.timedOut
            solution.cancelled = context.cancelled
            solution.stoppedByBound = context.stoppedByBound
            return solution
        case GLP_NOFEAS:
            return Solution(status: .infeasible, objective: nil, bound: nil, values: [], seconds: seconds,
                            incumbentAccepted: context.incumbentAccepted, notes: notes)
        default:
            var solution = Solution(status: .noSolution, objective: nil, bound: context.bestBound, values: [], seconds: seconds,
                                    incumbentAccepted: context.incumbentAccepted, notes: notes)
            solution.hitTimeLimit = rc == GLP_ETMLIM || context.timedOut
            solution.cancelled = context.cancelled
            solution.stoppedByBound = context.stoppedByBound
            return solution
        }
    }

    /// Throws when GLPK cannot be given this model: errors recorded while building it, or sizes
    /// beyond its 32-bit indices. Every entry point (`solve`, `dive`) checks this first.
    func checkLoadable() throws(GLPKError) {
        if let first = buildErrors.first {
            throw .invalidModel(buildErrors.count == 1 ? first : "\(first) (and \(buildErrors.count - 1) more)")
        }
        guard variableSpecs.count < Int(Int32.max), constraintSpecs.count < Int(Int32.max) else {
            throw .invalidModel("model too large for GLPK (32-bit indices)")
        }
        let nonzeros = constraintSpecs.reduce(0) { $0 + $1.terms.count }
        guard nonzeros < Int(Int32.max) else { throw .invalidModel("too many nonzeros for GLPK") }
    }

    /// Runs one guarded GLPK call; a fatal error means GLPK freed its environment (and our problem).
    func guarded(
        _ what: String, _ problemAlive: inout Bool, _ call: (UnsafeMutablePointer<Int32>) -> Int32
    ) throws(GLPKError) -> Int32 {
        var fatal: Int32 = 0
        let rc = call(&fatal)
        if fatal != 0 {
            problemAlive = false
            throw .fatal("GLPK \(what) hit a fatal error")
        }
        return rc
    }

    func load(into problem: OpaquePointer) {
        glp_set_obj_dir(problem, direction == .minimize ? GLP_MIN : GLP_MAX)
        glp_set_obj_coef(problem, 0, objectiveConstant)
        let n = Int32(variableSpecs.count)
        if n > 0 { glp_add_cols(problem, n) }  // GLPK treats adding 0 columns as a fatal error
        for (i, spec) in variableSpecs.enumerated() {
            let j = Int32(i + 1)
            let (type, lo, up) = boundType(spec.lower, spec.upper)
            switch spec.kind {
            case .continuous: glp_set_col_kind(problem, j, GLP_CV)
            case .integer: glp_set_col_kind(problem, j, GLP_IV)
            case .binary: glp_set_col_kind(problem, j, GLP_IV)
            }
            glp_set_col_bnds(problem, j, type, lo, up)
            glp_set_obj_coef(problem, j, spec.objective)
        }
        let m = Int32(constraintSpecs.count)
        guard m > 0 else { return }
        glp_add_rows(problem, m)
        var ia: [Int32] = [0]
        var ja: [Int32] = [0]
        var ar: [Double] = [0]
        for (r, row) in constraintSpecs.enumerated() {
            let i = Int32(r + 1)
            let (type, lo, up) = boundType(row.lower, row.upper)
            glp_set_row_bnds(problem, i, type, lo, up)
            for (col, coefficient) in row.terms {
                ia.append(i)
                ja.append(Int32(col + 1))
                ar.append(coefficient)
            }
        }
        let count = Int32(ia.count - 1)
        if count > 0 { glp_load_matrix(problem, count, ia, ja, ar) }
    }

    func boundType(_ lower: Double?, _ upper: Double?) -> (Int32, Double, Double) {
        switch (lower, upper) {
        case (nil, nil): return (GLP_FR, 0, 0)
        case (let l?, nil): return (GLP_LO, l, 0)
        case (nil, let u?): return (GLP_UP, 0, u)
        case (let l?, let u?): return l == u ? (GLP_FX, l, u) : (GLP_DB, l, u)
        }
    }

    /// Reads a simplex outcome (`rc` from glp_simplex) off `problem`, which holds this model.
    /// `solve` and `LiveLP.solve` share it.
    func lpResult(_ problem: OpaquePointer, rc: Int32, seconds: Double, notes: [String]) throws(GLPKError) -> Solution {
        if rc == GLP_ENOPFS {
            return Solution(status: .infeasible, objective: nil, bound: nil, values: [], seconds: seconds,
                            incumbentAccepted: false, notes: notes)
        }
        if rc == GLP_ENODFS {
            return Solution(status: .unbounded, objective: nil, bound: nil, values: [], seconds: seconds,
                            incumbentAccepted: false, notes: notes)
        }
        if rc == GLP_ETMLIM {
            return Solution(status: .noSolution, objective: nil, bound: nil, values: [], seconds: seconds,
                            incumbentAccepted: false, notes: notes)
        }
        guard rc == 0 else { throw .solverFailure("simplex failed: \(describeReturnCode(rc))") }
        switch glp_get_status(problem) {
        case GLP_OPT:
            let n = Int32(variableSpecs.count)  // a LiveLP may have no columns yet
            let values = n > 0 ? (1...n).map { glp_get_col_prim(problem, $0) } : []
            let objective = glp_get_obj_val(problem)
            var solution = Solution(status: .optimal, objective: objective, bound: objective, values: values,
                                    seconds: seconds, incumbentAccepted: false, notes: notes)
            if !constraintSpecs.isEmpty {
                solution.duals = (1...Int32(constraintSpecs.count)).map { glp_get_row_dual(problem, $0) }
            }
            return solution
        case GLP_NOFEAS:
            return Solution(status: .infeasible, objective: nil, bound: nil, values: [], seconds: seconds,
                            incumbentAccepted: false, notes: notes)
        case GLP_UNBND:
            return Solution(status: .unbounded, objective: nil, bound: nil, values: [], seconds: seconds,
                            incumbentAccepted: false, notes: notes)
        default:
            return Solution(status: .noSolution, objective: nil, bound: nil, values: [], seconds: seconds,
                            incumbentAccepted: false, notes: notes)
        }
    }
}

func describeReturnCode(_ rc: Int32) -> String {
    switch rc {
    case GLP_EBADB: "invalid initial basis (GLP_EBADB)"
    case GLP_ESING: "singular basis matrix (GLP_ESING)"
    case GLP_ECOND: "ill-conditioned basis matrix (GLP_ECOND)"
    case GLP_EBOUND: "incorrect bounds (GLP_EBOUND)"
    case GLP_EFAIL: "solver failure (GLP_EFAIL)"
    case GLP_EROOT: "no optimal LP basis for branch-and-cut (GLP_EROOT)"
    case GLP_EITLIM: "iteration limit (GLP_EITLIM)"
    default: "GLPK return code \(rc)"
    }
}

/// The project's one monotonic clock (CLOCK_MONOTONIC), in seconds from an arbitrary origin:
/// every time limit, deadline and elapsed time is measured on it, never on the wall clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Seconds since this process started, to the clock tick (10 ms): its start time in
/// `/proc/self/stat` against CLOCK_BOOTTIME. 0 where that cannot be read. For limits that count
/// the whole command: starting a process of dehplan's size and ending it takes 0.02-0.03 s.
public func processAge() -> Double {
    #if os(Linux)
    let fd = open("/proc/self/stat", O_RDONLY)
    guard fd >= 0 else { return 0 }
    var buffer = [UInt8](repeating: 0, count: 1024)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    close(fd)
    guard count > 0 else { return 0 }
    let stat = String(decoding: buffer[0..<count], as: UTF8.self)
    guard let close = stat.lastIndex(of: ")") else { return 0 }
    // After the command name: state (field 3), ..., starttime (field 22).
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
    guard fields.count > 19, let ticks = Double(fields[19]), hz > 0 else { return 0 }
    var ts = timespec()
    clock_gettime(CLOCK_BOOTTIME, &ts)
    let age = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 - ticks / hz
    return age >= 0 && age < 86_400 ? age : 0
    #else
    return 0
    #endif
}
