// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Synchronization
import Topology

/// Exact fit verdicts on a host whose servers partly have unknown NUMA layout.
///
/// An *arrangement* puts each server of unknown layout on as many distinct nodes as its flavor
/// spans, without overcommitting any node (counting the servers of known layout). A flavor is
/// `certain` on the host when it fits under every arrangement, `possible` when it fits under
/// some, `impossible` when under none. Both questions are answered by a search over the
/// arrangements (`searchedVerdict`), and where that runs past its budget by small integer
/// programs over counts of unknown servers per (flavor, node set), solved with GLPK.
public enum LayoutVerdict {
    /// The verdict for `flavor` on a host with this usage. Without unknown layouts it is the fit
    /// function's answer.
    ///
    /// `concurrent` are further servers that may arrive on the host before this one, in any
    /// number from none to all and on nodes the cloud picks (moves of the same wave run in any
    /// order): `certain` then means the flavor fits after every arrangement of the servers of
    /// unknown layout together with every subset of the concurrent arrivals. Any feasible
    /// arrangement is one a cloud placing servers one by one can reach, so this is exact.
    ///
    /// Answers that needed the solver are remembered (`solved`); `remembered` false solves
    /// again anyway (the answer is the same; for measuring the solver). `searchedOnly`: where
    /// the search runs past its budget and no answer is remembered, a refusal instead of the
    /// integer programs: `possible` (not sure it is certain) where the search found room under
    /// some arrangement, else `impossible` (not sure it fits at all); that the search ran out
    /// is remembered, not the answer.
    public static func verdict(
        _ flavor: Flavor, on usage: HostUsage, concurrent: [Flavor: Int] = [:], remembered: Bool = true, searchedOnly: Bool = false
    ) -> FitVerdict {
        verdict(flavor, on: usage, concurrent: concurrent, remembered: remembered, searchedOnly: searchedOnly, searchBudget: searchBudget)
    }

    /// The search's budget in steps (`searchedVerdict`).
    static let searchBudget = 50_000

    /// The search's budget where the integer programs are not asked after it
    /// (`PlanOptions.heuristicCheckerOptions`): an arrival the search cannot judge within it
    /// is refused or waits. Most searches end within 2^10 steps, a few run to 2^16, and those
    /// that run out of 50,000 took most of the packing's time on 8-node hosts (foreign fleet
    /// 806: 54 of 612 verdicts, 2.7 of 3.3 million steps in a pass of 0.85 s). With 10,000,
    /// foreign fleet 795 at 1 s ends in 0.6 s instead of 0.9 s, 4257 in 0.8 s instead of 1.1
    /// s, and fleet 20 (seed 1) keeps 30 hosts instead of 34 (docs/PERFORMANCE.md).
    static let timedSearchBudget = 10_000

    /// `verdict` as the rule pipeline asks it under `options`: by the search alone where they
    /// say so (`Checker.Options.searchedVerdictsOnly`), within their budget.
    static func verdict(_ flavor: Flavor, on usage: HostUsage, concurrent: [Flavor: Int], options: Checker.Options) -> FitVerdict {
        verdict(flavor, on: usage, concurrent: concurrent, remembered: true, searchedOnly: options.searchedVerdictsOnly,
                searchBudget: options.verdictSearchBudget, ledger: options.ranOutLedger)
    }

    /// `verdict` with the search's budget given (tests). A search that runs past it under
    /// `searchedOnly` is counted in `ledger`, and so is one whose running out was remembered.
    static func verdict(
        _ flavor: Flavor, on usage: HostUsage, concurrent: [Flavor: Int], remembered: Bool, searchedOnly: Bool, searchBudget: Int,
        ledger: RanOutLedger = .none
    ) -> FitVerdict {
        if !usage.hasUnknownLayout && concurrent.isEmpty {
            return Fit.fit(flavor, free: usage.freeKnown, capacity: usage.capacity) == nil ? .impossible : .certain
        }
        if !usage.freeTotal.covers(flavor.resources) { return .impossible }
        // Fast paths: the worst case already fits; or it fails even with the unknown servers ignored.
        if fitsWorstCase(flavor, on: usage, concurrent: concurrent) { return .certain }
        if Fit.fit(flavor, free: usage.freeKnown, capacity: usage.capacity) == nil { return .impossible }
        let key = remembered
            ? SolvedKey(flavor: flavor, capacity: usage.capacity, knownUsed: usage.knownUsed, unknown: usage.unknownFlavors,
                        concurrent: concurrent)
            : nil
        let known = key.flatMap { key in solved.withLock { $0[key] } }
        if case .answer(let answer)? = known { return answer }
        // A search that ran out within this budget or a larger one is not run again.
        var ranOut = false
        var possible = false  // the search found an arrangement with room: at least possible
        if case .ranOut(let budget, let found)? = known, budget >= searchBudget { (ranOut, possible) = (true, found) }
        var searched: FitVerdict?
        if !ranOut { (searched, possible) = search(flavor, on: usage, concurrent: concurrent, budget: searchBudget) }
        func remember(_ memo: Memo) {
            guard let key else { return }
            solved.withLock { cache in
                if cache.count >= solvedLimit { cache.removeAll(keepingCapacity: true) }
                cache[key] = memo
            }
        }
        if searched == nil && searchedOnly {
            if !ranOut { remember(.ranOut(budget: searchBudget, possible: possible)) }
            ledger.add()
            // Not sure: possible where the search found room under some arrangement; where it
            // found none within its budget the flavor may not fit at all, and is refused under
            // every layout policy (as possible, `--layout-policy possible` admitted it).
            return possible ? .possible : .impossible
        }
        let answer = searched ?? integerProgramVerdict(flavor, on: usage, concurrent: concurrent)
        remember(.answer(answer))
        return answer
    }

    /// The verdict by two small integer programs (GLPK): is there an arrangement that leaves room
    /// for the flavor, and one (with any subset of the concurrent arrivals) that does not.
    static func integerProgramVerdict(_ flavor: Flavor, on usage: HostUsage, concurrent: [Flavor: Int]) -> FitVerdict {
        switch arrangementExists(usage, adding: flavor) {
        case false?: return .impossible
        case nil: return .possible  // solver trouble: claim neither certainty nor impossibility
        case true?: break
        }
        guard let blocking = blockingArrangementExists(usage, against: flavor, concurrent: concurrent) else { return .possible }
        return blocking ? .possible : .certain
    }

    /// Everything a solver-backed verdict depends on: the flavor, the host's node sizes, its use
    /// per node by servers of known layout, its servers of unknown layout and the concurrent
    /// arrivals.
    private struct SolvedKey: Hashable, Sendable {
        let flavor: Flavor
        let capacity: [Resources]
        let knownUsed: [Resources]
        let unknown: [Flavor: Int]
        let concurrent: [Flavor: Int]
    }

    /// Solver-backed verdicts already reached. A verdict is a pure function of its key and the
    /// same on every machine (budgets are counted, not timed), so a repeated question gets the
    /// earlier answer without its two integer programs: ordering the plan of the 1,000-host
    /// mixed benchmark fleet under `any` asked 6,974 such questions, 2,372 of them distinct,
    /// and they took 2.8 of its 3.3 s. Emptied when full, so it stays bounded.
    /// Keys whose search ran past its budget and that were asked only with `searchedOnly` map
    /// to that budget: asked again within it or a smaller one, they are not searched again;
    /// within a larger one they are (the timed heuristics search with `timedSearchBudget`, a
    /// plan's validation with `searchBudget`, and the larger search often answers).
    private static let solved = Mutex<[SolvedKey: Memo]>([:])
    private static let solvedLimit = 200_000

    /// What `solved` remembers of a key: the verdict, or the budget its search ran out of and
    /// whether it had found room under some arrangement.
    private enum Memo {
        case answer(FitVerdict)
        case ranOut(budget: Int, possible: Bool)
    }

    /// Whether `flavor` fits with every server of unknown layout and every concurrent arrival
    /// counted on every node at once: a sufficient condition for `certain` that needs no solver.
    static func fitsWorstCase(_ flavor: Flavor, on usage: HostUsage, concurrent: [Flavor: Int] = [:]) -> Bool {
        fitsWorstCase(flavor, on: usage, extraPerNode: concurrent.reduce(Resources.zero) { sum, e in sum + e.key.perNode * e.value })
    }

    /// `fitsWorstCase` with the concurrent arrivals' shares summed by the caller (`extraPerNode`:
    /// Σ per-node share × count), for callers that ask it of many flavors on one host.
    static func fitsWorstCase(_ flavor: Flavor, on usage: HostUsage, extraPerNode extra: Resources) -> Bool {
        var worst = usage.freeWorst
        if extra != .zero { worst = worst.map { ($0 - extra).clampedAtZero } }
        return Fit.fit(flavor, free: worst, capacity: usage.capacity) != nil
    }

    /// Counts of unknown servers per (flavor, node set), with their per-node capacity rows.
    struct Arrangement {
        var model = Model()
        /// Per node: vCPU and memory terms.
        var terms: [[(Model.Variable, Double)]]
        let room: [Resources]
        /// Each count's flavor and set of nodes, the servers of unknown layout first.
        var choices: [(flavor: Flavor, nodes: [Int], count: Model.Variable)] = []

        init(_ usage: HostUsage, extra: Flavor?, concurrent: [Flavor: Int] = [:]) {
            room = usage.freeKnown
            terms = Array(repeating: [], count: room.count * 2)
            var groups = usage.unknownFlavors.sorted { $0.key.name < $1.key.name }.map { ($0.key, $0.value) }
            if let extra { groups.append((extra, 1)) }
            choices = Self.place(groups, room: room, in: &model, terms: &terms)
            let optional = concurrent.sorted { $0.key.name < $1.key.name }.map { ($0.key, $0.value) }
            choices += Self.place(optional, room: room, in: &model, terms: &terms, atMost: true)
        }

        /// Adds, per flavor, integer counts of its servers on each set of nodes with room for its
        /// share, with "every server is somewhere" rows (with `atMost`: "at most that many are
        /// somewhere", for arrivals that may or may not have come yet), and their use to `terms`
        /// (per node: vCPUs at 2n, memory at 2n+1). The caller adds the capacity rows. Returns
        /// each count's flavor and set of nodes.
        @discardableResult
        static func place(
            _ groups: [(Flavor, Int)], room: [Resources], in model: inout Model, terms: inout [[(Model.Variable, Double)]],
            atMost: Bool = false
        ) -> [(flavor: Flavor, nodes: [Int], count: Model.Variable)] {
            var made: [(flavor: Flavor, nodes: [Int], count: Model.Variable)] = []
            for (flavor, count) in groups {
                let share = flavor.perNode
                var choice: [(Model.Variable, Double)] = []
                for nodes in nodeSubsets(of: room.count, size: flavor.numaNodes)
                where nodes.allSatisfy({ room[$0].covers(share) }) {
                    let v = model.addVariable(kind: .integer, lower: 0, upper: Double(count))
                    choice.append((v, 1))
                    made.append((flavor, nodes, v))
                    for n in nodes {
                        terms[2 * n].append((v, Double(share.vcpus)))
                        terms[2 * n + 1].append((v, Double(share.memoryMiB)))
                    }
                }
                if atMost {
                    if !choice.isEmpty { model.addLessOrEqual(choice, Double(count)) }
                } else {
                    // Every server is somewhere (an empty choice makes the model infeasible, as it should).
                    model.addEqual(choice, Double(count))
                }
            }
            return made
        }

        /// Adds each node's vCPU and memory capacity row over `terms` (call once, after
        /// adding any further variables to `terms`).
        mutating func addCapacityRows() {
            for n in room.indices {
                if !terms[2 * n].isEmpty { model.addLessOrEqual(terms[2 * n], Double(room[n].vcpus)) }
                if !terms[2 * n + 1].isEmpty { model.addLessOrEqual(terms[2 * n + 1], Double(room[n].memoryMiB)) }
            }
        }
    }

    /// Whether some arrangement leaves room for `flavor` too (nil if the solver failed).
    static func arrangementExists(_ usage: HostUsage, adding flavor: Flavor) -> Bool? {
        var a = Arrangement(usage, extra: flavor)
        a.addCapacityRows()
        return feasible(a.model)
    }

    /// Branch-and-cut callbacks one verdict may take before it gives up (counted, not timed, so
    /// verdicts are the same on every machine). Giving up answers nil, which every caller reads
    /// as "not certain": slower plans never become unsafe ones.
    static let callBudget = 20_000

    /// Solve options that end the search after `calls` branch-and-cut callbacks.
    static func budgeted(_ calls: Int, branching: SolveOptions.Branching = .driebeckTomlin) -> SolveOptions {
        let budget = CallBudget(limit: calls)
        var options = SolveOptions()
        options.branching = branching
        options.tick = { budget.spend() }
        return options
    }

    /// Whether a model has a solution: nil when the solver fails or cannot tell in budget.
    static func feasible(_ model: Model, budget limit: Int = callBudget, branching: SolveOptions.Branching = .driebeckTomlin) -> Bool? {
        guard let solution = try? model.solve(budgeted(limit, branching: branching)) else { return nil }
        switch solution.status {
        case .optimal, .feasible: return true  // a solution found proves it, budget or not
        case .infeasible: return solution.cancelled ? nil : false
        default: return nil
        }
    }

    /// Whether some arrangement leaves fewer than k nodes with the flavor's per-node share free
    /// (nil if the solver failed).
    static func blockingArrangementExists(_ usage: HostUsage, against flavor: Flavor, concurrent: [Flavor: Int] = [:]) -> Bool? {
        var a = Arrangement(usage, extra: nil, concurrent: concurrent)
        a.addCapacityRows()
        let share = flavor.perNode
        var blocked: [(Model.Variable, Double)] = []
        for n in a.room.indices {
            // Node n is blocked when its free vCPUs < share (bv) or its free memory < share (bm):
            // Σ use >= room - share + 1 when the indicator is 1.
            var indicators: [(Model.Variable, Double)] = []
            for (d, need, room) in [(0, share.vcpus, a.room[n].vcpus), (1, share.memoryMiB, a.room[n].memoryMiB)] {
                let b = a.model.addVariable(kind: .binary)
                indicators.append((b, -1))
                let threshold = Double(room - need + 1)
                if threshold <= 0 {
                    continue  // already short on this node whatever the arrangement
                }
                // Σ use - threshold·b >= 0
                a.model.addGreaterOrEqual(a.terms[2 * n + d] + [(b, -threshold)], 0)
            }
            let blockedNode = a.model.addVariable(kind: .binary)
            a.model.addLessOrEqual([(blockedNode, 1)] + indicators, 0)
            blocked.append((blockedNode, 1))
        }
        a.model.addGreaterOrEqual(blocked, Double(a.room.count - flavor.numaNodes + 1))
        return feasible(a.model)
    }
}

/// Counts solver callbacks against a limit. Used from one solve's callback, on one thread.
final class CallBudget: Sendable {
    private let limit: Int
    private let calls = Mutex(0)

    init(limit: Int) { self.limit = limit }

    /// Spends one call; true once the limit is passed.
    func spend() -> Bool {
        calls.withLock { n in
            n += 1
            return n > limit
        }
    }
}

/// Counts searches over arrangements that ran past their budget (`Checker.Options.ranOutLedger`),
/// shared by every copy of the options that carry it. Options that differ only in their
/// ledger are the same rules: ledgers are all equal and hash to nothing.
struct RanOutLedger: Hashable, Sendable {
    private final class Count: Sendable {
        let value = Atomic<Int>(0)
    }
    private let count: Count?

    /// A ledger of its own, from zero.
    init() { count = Count() }

    private init(counting: Bool) { count = counting ? Count() : nil }

    /// The ledger of options that count nothing.
    static let none = RanOutLedger(counting: false)

    /// The searches counted so far.
    var ranOut: Int { count?.value.load(ordering: .relaxed) ?? 0 }

    /// Counts one more.
    func add() { count?.value.add(1, ordering: .relaxed) }

    static func == (_: RanOutLedger, _: RanOutLedger) -> Bool { true }
    func hash(into _: inout Hasher) {}
}
