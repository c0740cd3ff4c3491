// SPDX-License-Identifier: GPL-3.0-or-later

@testable import Planner
import PropertyBased
import TestSupport
import Testing
import Topology

/// The search over arrangements (`LayoutVerdict.searchedVerdict`) decides whether a move is safe
/// whatever nodes the cloud picks; it must give the integer programs' answer, and that of
/// enumerating every arrangement, on every host it answers for.
@Suite struct VerdictSearchTests {
    /// A random host: node sizes, use of known layout, servers of unknown layout, concurrent
    /// arrivals and a target, with 2, 4 and 8 GiB per vCPU and one- and two-node flavors.
    struct Case: CustomStringConvertible {
        var usage: HostUsage
        var unknown: [Flavor]
        var concurrent: [Flavor: Int]
        var target: Flavor
        var description: String {
            "free \(usage.freeKnown.map { "\($0.vcpus)/\($0.memoryMiB)" }) unknown \(unknown.map(\.name)) "
                + "concurrent \(concurrent.map { "\($0.key.name)x\($0.value)" }.sorted()) target \(target.name)"
        }
    }

    static func flavor(_ rng: inout SplitMix64, nodes: Int, maxVcpus: Int) -> Flavor {
        let k = 1 + rng.below(min(2, nodes))
        let v = 1 + rng.below(maxVcpus)
        let gib = [2, 4, 8][rng.below(3)]
        return Flavor(name: "v\(v)x\(k)m\(gib)", resources: Resources(vcpus: v * k, memoryMiB: v * k * gib * 1024), numaNodes: k)
    }

    static func randomCase(seed: Int, nodes: Int, unknownCount: Int, concurrentCount: Int) -> Case {
        var rng = SplitMix64(seed: UInt64(seed))
        let node = Resources(vcpus: 16 + 8 * rng.below(3), memoryMiB: (64 + 32 * rng.below(3)) * 1024)
        var usage = HostUsage(capacity: Array(repeating: node, count: nodes))
        for n in 0..<nodes where rng.below(2) == 0 {
            // Known use on some nodes, as one server of known layout each.
            let v = 2 * rng.below(4)
            usage.add(Flavor(name: "known-\(n)", resources: Resources(vcpus: v, memoryMiB: v * 4096)), nodes: [n])
        }
        var unknown: [Flavor] = []
        // Few distinct flavors, so that interchangeable servers occur.
        let palette = (0..<3).map { _ in Self.flavor(&rng, nodes: nodes, maxVcpus: 6) }
        for _ in 0..<unknownCount {
            let f = palette[rng.below(palette.count)]
            unknown.append(f)
            usage.add(f, nodes: nil)
        }
        var concurrent: [Flavor: Int] = [:]
        for _ in 0..<concurrentCount { concurrent[palette[rng.below(palette.count)], default: 0] += 1 }
        let target = Self.flavor(&rng, nodes: nodes, maxVcpus: 10)
        return Case(usage: usage, unknown: unknown, concurrent: concurrent, target: target)
    }

    /// Every arrangement of the servers of unknown layout, then each concurrent arrival absent
    /// or on a node set with room: `impossible` when no arrangement of the unknown ones leaves
    /// room for the target, `certain` when every state (with any subset of the arrivals) does.
    static func enumerated(_ c: Case) -> FitVerdict? {
        let free = c.usage.freeKnown
        var fitsSome = false
        var fitsAll = true
        var anyValid = false
        let optional = c.concurrent.sorted { $0.key.name < $1.key.name }.flatMap { Array(repeating: $0.key, count: $0.value) }
        func fits(_ left: [Resources]) -> Bool {
            left.filter { $0.covers(c.target.perNode) }.count >= c.target.numaNodes
        }
        forEachArrangement(of: c.unknown, on: free) { left in
            anyValid = true
            if fits(left) { fitsSome = true }
            var state = left
            func go(_ i: Int) {
                if !fits(state) { fitsAll = false }
                guard fitsAll, i < optional.count else { return }
                go(i + 1)  // absent
                let f = optional[i]
                for set in subsets(state.count, f.numaNodes) where set.allSatisfy({ state[$0].covers(f.perNode) }) {
                    for n in set { state[n] -= f.perNode }
                    go(i + 1)
                    for n in set { state[n] += f.perNode }
                }
            }
            go(0)
        }
        guard anyValid else { return nil }
        return !fitsSome ? .impossible : (fitsAll ? .certain : .possible)
    }

    @Test func searchAgreesWithEnumeration() async {
        await propertyCheck(
            count: propertyCount(300),
            input: Gen.int(in: 0...1_000_000), Gen.int(in: 2...4), Gen.int(in: 0...4), Gen.int(in: 0...3)
        ) { seed, nodes, unknownCount, concurrentCount in
            let c = Self.randomCase(seed: seed, nodes: nodes, unknownCount: unknownCount, concurrentCount: concurrentCount)
            guard c.usage.freeTotal.covers(c.target.resources), let expected = Self.enumerated(c) else { return }
            let searched = LayoutVerdict.searchedVerdict(c.target, on: c.usage, concurrent: c.concurrent)
            #expect(searched == expected, "seed \(seed): \(c)")
        }
    }

    /// On larger hosts (up to 12 servers of unknown layout, 16 concurrent arrivals, 8 nodes)
    /// full enumeration is out of reach: the reference is the integer programs, where they
    /// decide within their budget (on about 95 % of these hosts).
    @Test func searchAgreesWithTheIntegerPrograms() async {
        var answered = 0
        var cases = 0
        var byIntegerPrograms = 0
        for seed in 0..<propertyCount(300) {
            var rng = SplitMix64(seed: UInt64(seed) &* 7919)
            let nodes = [2, 4, 4, 8][rng.below(4)]
            let c = Self.randomCase(seed: seed, nodes: nodes, unknownCount: rng.below(13), concurrentCount: rng.below(17))
            guard c.usage.freeTotal.covers(c.target.resources) else { continue }
            cases += 1
            guard let searched = LayoutVerdict.searchedVerdict(c.target, on: c.usage, concurrent: c.concurrent) else { continue }
            answered += 1
            // Where both integer programs decide (past their budget they answer "possible", to be safe).
            var reference: FitVerdict?
            if let exists = LayoutVerdict.arrangementExists(c.usage, adding: c.target) {
                if !exists {
                    reference = .impossible
                } else if let blocking = LayoutVerdict.blockingArrangementExists(c.usage, against: c.target, concurrent: c.concurrent) {
                    reference = blocking ? .possible : .certain
                }
            }
            guard let reference else { continue }
            byIntegerPrograms += 1
            #expect(searched == reference, "seed \(seed): \(c)")
        }
        // The search answers nearly everything itself (the integer programs are its fallback),
        // and the integer programs check most of it.
        #expect(answered * 10 >= cases * 9, "\(answered) of \(cases) answered by the search")
        #expect(byIntegerPrograms * 10 >= cases * 9, "\(cases) cases, \(byIntegerPrograms) checked by the integer programs")
    }

    /// Every arrangement as above, but remembering the states seen (nodes with the same free
    /// room are interchangeable, so a state is its sorted free vector): fast enough for hosts
    /// of 4 nodes with a dozen servers of unknown layout and 16 concurrent arrivals, where the
    /// plain enumeration is not. Nil where no arrangement of the unknown servers exists, or
    /// where a search remembers more than `limit` states (one case of 41 below took 32 s).
    static func enumeratedRemembering(_ c: Case, limit: Int = 50_000) -> FitVerdict? {
        let k = c.target.numaNodes, share = c.target.perNode
        let mandatory = c.unknown.sorted { ($0.perNode.vcpus, $0.perNode.memoryMiB, $0.name) > ($1.perNode.vcpus, $1.perNode.memoryMiB, $1.name) }
        let optional = c.concurrent.sorted { $0.key.name < $1.key.name }.flatMap { Array(repeating: $0.key, count: $0.value) }
        let items = mandatory.map { ($0, false) } + optional.map { ($0, true) }
        struct Key: Hashable { let i: Int, v: [Int] }
        func key(_ i: Int, _ state: [Resources]) -> Key {
            Key(i: i, v: state.map { [$0.vcpus, $0.memoryMiB] }.sorted { $0.lexicographicallyPrecedes($1) }.flatMap { $0 })
        }
        func fits(_ state: [Resources]) -> Bool { state.filter { $0.covers(share) }.count >= k }
        // Whether some completion from item i makes `goal` true of a state (`blocking`: any state
        // once every mandatory server is placed, with any of the optional ones; else the state
        // with every mandatory server placed and none of the optional ones).
        func search(_ i: Int, _ state: [Resources], blocking: Bool, seen: inout Set<Key>, goal: ([Resources]) -> Bool) -> Bool {
            if i >= mandatory.count {
                if !blocking { return goal(state) }
                if goal(state) { return true }
            }
            if i == items.count || seen.count > limit { return false }
            guard seen.insert(key(i, state)).inserted else { return false }
            let (f, isOptional) = items[i]
            for set in subsets(state.count, f.numaNodes) where set.allSatisfy({ state[$0].covers(f.perNode) }) {
                var next = state
                for n in set { next[n] -= f.perNode }
                if search(i + 1, next, blocking: blocking, seen: &seen, goal: goal) { return true }
            }
            return isOptional && search(i + 1, state, blocking: blocking, seen: &seen, goal: goal)
        }
        let free = c.usage.freeKnown
        var seen = Set<Key>()
        guard search(0, free, blocking: false, seen: &seen, goal: { _ in true }) else { return nil }
        seen = []
        guard search(0, free, blocking: false, seen: &seen, goal: fits) else { return seen.count > limit ? nil : .impossible }
        seen = []
        let blocks = search(0, free, blocking: true, seen: &seen, goal: { !fits($0) })
        return blocks ? .possible : seen.count > limit ? nil : .certain
    }

    /// The search against `enumeratedRemembering` on crowded 4-node hosts: up to 12 servers of
    /// unknown layout and 16 concurrent arrivals, where the integer programs are the only other
    /// reference and are not exact (on the first case below they find an arrangement that
    /// blocks the target where none exists, which errs on the safe side; why is not known: a
    /// node with exactly the target's share free counted as short within GLPK's tolerances
    /// would explain it). A `certain` here that should not be would be a migration the cloud
    /// can refuse.
    @Test func searchAgreesWithRememberingEnumerationOnCrowdedHosts() {
        // `searchAgreesWithTheIntegerPrograms`'s seed 1319 (run 3,000 cases, not 300): searched
        // certain, the integer programs possible.
        var first = SplitMix64(seed: UInt64(1319) &* 7919)
        let firstNodes = [2, 4, 4, 8][first.below(4)]
        var cases = [Self.randomCase(seed: 1319, nodes: firstNodes, unknownCount: first.below(13), concurrentCount: first.below(17))]
        #expect(Self.enumeratedRemembering(cases[0]) == .certain)
        #expect(LayoutVerdict.blockingArrangementExists(cases[0].usage, against: cases[0].target, concurrent: cases[0].concurrent) == true,
                "the integer programs' answer this case records")
        for seed in 0..<propertyCount(40) {
            var rng = SplitMix64(seed: UInt64(seed) &* 104_729)
            cases.append(Self.randomCase(seed: seed, nodes: 4, unknownCount: rng.below(13), concurrentCount: rng.below(17)))
        }
        var compared = 0, certain = 0
        for (index, c) in cases.enumerated() {
            guard c.usage.freeTotal.covers(c.target.resources), let expected = Self.enumeratedRemembering(c),
                let searched = LayoutVerdict.searchedVerdict(c.target, on: c.usage, concurrent: c.concurrent)
            else { continue }
            compared += 1
            if expected == .certain { certain += 1 }
            #expect(searched == expected, "case \(index): \(c)")
        }
        #expect(compared >= cases.count / 2, "\(compared) of \(cases.count) compared")
        #expect(certain > 0, "no case was certain: the comparison should include some")
    }

    /// The tangents that decide `volumeCanBlock` before its walk over every split of the open
    /// nodes (`tangentVerdict`) change neither an answer nor the number of steps: the search
    /// prunes exactly the branches it pruned without them. Random hosts of 2 to 8 nodes with up
    /// to 20 servers of unknown layout and 6 concurrent arrivals, memory binding as often as
    /// vCPUs; budgets that end some searches early (nil) compare too.
    @Test func tangentsChangeNeitherAnswersNorSteps() {
        var decided = 0
        for seed in 0..<propertyCount(400) {
            var rng = SplitMix64(seed: UInt64(seed) &+ 7_919)
            let nodes = [2, 4, 8][rng.below(3)]
            let c = Self.randomCase(seed: seed, nodes: nodes, unknownCount: rng.below(21), concurrentCount: rng.below(7))
            let unknown = c.usage.unknownFlavors.sorted { $0.key.name < $1.key.name }
            let concurrent = c.concurrent.sorted { $0.key.name < $1.key.name }
            let budget = [200, 2_000, 20_000][rng.below(3)]
            func run(_ tangents: Bool) -> (answer: Bool?, steps: Int, decided: Int) {
                var search = ArrangementSearch(room: c.usage.freeKnown, mandatory: unknown, optional: concurrent, budget: budget)
                search.usesTangents = tangents
                let answer = search.exists(blocking: c.target)
                return (answer, search.steps, search.tangentAnswers)
            }
            let (with, without) = (run(true), run(false))
            #expect(with.answer == without.answer && with.steps == without.steps,
                    "seed \(seed): \(c), budget \(budget): \(with) with tangents, \(without) without")
            #expect(without.decided == 0)
            decided += with.decided
        }
        #expect(decided > 0, "no tangent decided anything: the comparison proves nothing")
    }

    /// A search that runs out of its budget under `searchedOnly` is counted in the options'
    /// ledger (`RanOutLedger`), and so is a question whose search ran out before (remembered,
    /// not searched again); one that answers, and one asked without `searchedOnly` (the integer
    /// programs answer), are not.
    @Test func theLedgerCountsSearchesThatRunOut() {
        var usage = HostUsage(capacity: Array(repeating: Resources(vcpus: 16, memoryMiB: 65536), count: 2))
        for _ in 0..<3 { usage.add(Flavor(name: "six", resources: Resources(vcpus: 6, memoryMiB: 8192)), nodes: nil) }
        let ledger = RanOutLedger()
        func ask(_ name: String, budget: Int, searchedOnly: Bool = true) -> FitVerdict {
            let flavor = Flavor(name: name, resources: Resources(vcpus: 10, memoryMiB: 8192))
            return LayoutVerdict.verdict(flavor, on: usage, concurrent: [:], remembered: true, searchedOnly: searchedOnly,
                                         searchBudget: budget, ledger: ledger)
        }
        #expect(ask("ten-ledger-a", budget: 0) == .impossible)
        #expect(ledger.ranOut == 1)
        #expect(ask("ten-ledger-a", budget: 0) == .impossible)  // remembered: not searched again
        #expect(ledger.ranOut == 2)
        #expect(ask("ten-ledger-b", budget: LayoutVerdict.searchBudget) == .certain)
        #expect(ask("ten-ledger-c", budget: 0, searchedOnly: false) == .certain)
        #expect(ledger.ranOut == 2)
        #expect(ask("ten-ledger-d", budget: 0) == .impossible)
        #expect(ledger.ranOut == 3)
        // Options that differ only in their ledger are the same rules.
        var counted = Checker.Options(placement: .any)
        counted.ranOutLedger = ledger
        #expect(counted == Checker.Options(placement: .any))
    }

    /// Past its budget the search gives up (nil), and the verdict is the integer programs'.
    @Test func overBudgetFallsBackToTheIntegerPrograms() {
        let (usage, probe) = sixtyServersOfUnknownLayout()
        #expect(LayoutVerdict.searchedVerdict(probe, on: usage, concurrent: [:], budget: 10) == nil)
        #expect(LayoutVerdict.verdict(probe, on: usage, remembered: false) == LayoutVerdict.integerProgramVerdict(probe, on: usage, concurrent: [:]))
    }

    /// With `searchedOnly` (heuristics), a verdict the search cannot reach within its budget is
    /// a refusal without the integer programs, and asked so again it is not searched again;
    /// asked without it, the integer programs answer, and that answer then serves both. With no
    /// step the search has not found room under any arrangement: `impossible`, refused under
    /// every layout policy (`possible` was admitted under `--layout-policy possible`).
    @Test func searchedOnlyIsNotSureWhereTheSearchRunsOut() {
        // Two nodes of 16 vCPUs, three servers of 6 of unknown layout: two share a node, and
        // either way the other node has 10 free. A server of 10 is certain, which the fast
        // paths do not see (counted on every node the three leave none). A name of its own,
        // so that the answers remembered here are this test's.
        var usage = HostUsage(capacity: Array(repeating: Resources(vcpus: 16, memoryMiB: 65536), count: 2))
        for _ in 0..<3 { usage.add(Flavor(name: "six", resources: Resources(vcpus: 6, memoryMiB: 8192)), nodes: nil) }
        let ten = Flavor(name: "ten-searched-only", resources: Resources(vcpus: 10, memoryMiB: 8192))
        #expect(LayoutVerdict.searchedVerdict(ten, on: usage, concurrent: [:]) == .certain)
        // With no steps the search runs out at once.
        #expect(LayoutVerdict.searchedVerdict(ten, on: usage, concurrent: [:], budget: 0) == nil)
        func ask(_ searchedOnly: Bool) -> FitVerdict {
            LayoutVerdict.verdict(ten, on: usage, concurrent: [:], remembered: true, searchedOnly: searchedOnly, searchBudget: 0)
        }
        #expect(ask(true) == .impossible)
        #expect(ask(true) == .impossible)
        #expect(ask(false) == .certain)
        #expect(ask(true) == .certain)
    }

    /// Where the first search finds room under some arrangement and the second (is there one
    /// that blocks the flavor?) runs out, the searched-only verdict is `possible`: at least
    /// that is known. Budgets from 0 up: first `impossible` (nothing found), then `possible`,
    /// then the answer, `certain`.
    @Test func searchedOnlyIsPossibleWhereOnlyTheBlockingSearchRunsOut() {
        var usage = HostUsage(capacity: Array(repeating: Resources(vcpus: 16, memoryMiB: 65536), count: 2))
        for _ in 0..<3 { usage.add(Flavor(name: "six", resources: Resources(vcpus: 6, memoryMiB: 8192)), nodes: nil) }
        var seen: [FitVerdict] = []
        for budget in 0...200 {
            // A flavor name per budget: each verdict is its own, not one remembered.
            let ten = Flavor(name: "ten-blocking-\(budget)", resources: Resources(vcpus: 10, memoryMiB: 8192))
            let verdict = LayoutVerdict.verdict(ten, on: usage, concurrent: [:], remembered: true, searchedOnly: true, searchBudget: budget)
            if seen.last != verdict { seen.append(verdict) }
            if verdict == .possible {
                let searched = LayoutVerdict.search(ten, on: usage, concurrent: [:], budget: budget)
                #expect(searched.verdict == nil && searched.possible)
            }
        }
        #expect(seen == [.impossible, .possible, .certain])
    }

    /// A search that ran out of a small budget (the timed heuristics') is searched again under a
    /// larger one, and that answer is remembered: the plan's validation searches with more steps
    /// than the heuristics, and must not go straight to the integer programs (or, timed, to
    /// "not sure") because a smaller search gave up on the same question.
    @Test func aSearchThatRanOutIsSearchedAgainWithMoreSteps() {
        var usage = HostUsage(capacity: Array(repeating: Resources(vcpus: 16, memoryMiB: 65536), count: 2))
        for _ in 0..<3 { usage.add(Flavor(name: "six", resources: Resources(vcpus: 6, memoryMiB: 8192)), nodes: nil) }
        let ten = Flavor(name: "ten-searched-again", resources: Resources(vcpus: 10, memoryMiB: 8192))
        func ask(budget: Int) -> FitVerdict {
            LayoutVerdict.verdict(ten, on: usage, concurrent: [:], remembered: true, searchedOnly: true, searchBudget: budget)
        }
        #expect(ask(budget: 0) == .impossible)  // not sure it fits at all
        #expect(ask(budget: LayoutVerdict.searchBudget) == .certain)
        #expect(ask(budget: 0) == .certain)  // remembered
    }

    /// The timed heuristics search with `timedSearchBudget` steps, fewer than a plan's checks,
    /// and never with more than the options allow.
    @Test func timedHeuristicsSearchWithTheirOwnBudget() {
        var options = PlanOptions(mode: .consolidate, placement: .any)
        #expect(LayoutVerdict.timedSearchBudget < LayoutVerdict.searchBudget)
        #expect(options.checkerOptions.verdictSearchBudget == LayoutVerdict.searchBudget)
        #expect(options.heuristicCheckerOptions(timed: false).verdictSearchBudget == LayoutVerdict.searchBudget)
        #expect(options.heuristicCheckerOptions(timed: true).verdictSearchBudget == LayoutVerdict.timedSearchBudget)
        options.verdictSearchBudget = 0
        #expect(options.heuristicCheckerOptions(timed: true).verdictSearchBudget == 0)
    }
}
