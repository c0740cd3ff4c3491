// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Testing
import Topology
import TestSupport
@testable import Planner

/// The pattern model's pricing (a multi-node, two-resource knapsack) against brute force on
/// small shapes, and the pattern model's bound against known optima.
@Suite struct ShapePricingTests {
    static let flavors: [Flavor] = [
        Flavor(name: "a", resources: Resources(vcpus: 2, memoryMiB: 4096)),
        Flavor(name: "b", resources: Resources(vcpus: 4, memoryMiB: 4096)),
        Flavor(name: "c", resources: Resources(vcpus: 2, memoryMiB: 8192)),
        Flavor(name: "d", resources: Resources(vcpus: 6, memoryMiB: 12288)),
        Flavor(name: "w", resources: Resources(vcpus: 4, memoryMiB: 8192), numaNodes: 2),
        Flavor(name: "x", resources: Resources(vcpus: 8, memoryMiB: 32768), numaNodes: 4),
    ]

    /// Every per-node count vector with each count from 0 to its cap (lexicographic order).
    static func everyVector(below cap: [Int], _ body: ([Int]) -> Void) {
        var h = Array(repeating: 0, count: cap.count)
        func vectors(_ n: Int) {
            if n == cap.count {
                body(h)
                return
            }
            for v in 0...max(0, cap[n]) {
                h[n] = v
                vectors(n + 1)
            }
            h[n] = 0
        }
        vectors(0)
    }

    /// The best value by brute force: every count of each split class on every set of nodes,
    /// then every count of each one-node class on each node (at most `limit` per node).
    func bruteForce(room: [Resources], price: [Double], limit: [Int], accepted: [Int]) -> Double {
        let f = Self.flavors
        let split = accepted.filter { f[$0].numaNodes > 1 && f[$0].numaNodes <= room.count }
        let single = accepted.filter { f[$0].numaNodes == 1 }
        var placements: [(cls: Int, nodes: [Int])] = []
        for c in split { for nodes in subsets(room.count, f[c].numaNodes) { placements.append((c, nodes)) } }
        var best = 0.0
        func node(_ free: Resources, _ i: Int) -> Double {
            guard i < single.count else { return 0 }
            var out = 0.0
            var k = 0
            var left = free
            while k <= limit[single[i]] && left.vcpus >= 0 && left.memoryMiB >= 0 {
                out = max(out, Double(k) * price[single[i]] + node(left, i + 1))
                k += 1
                left = left - f[single[i]].resources
            }
            return out
        }
        func go(_ i: Int, _ left: [Resources], _ value: Double) {
            if i == placements.count {
                best = max(best, value + left.reduce(0) { $0 + node($1, 0) })
                return
            }
            var k = 0
            var l = left
            let share = f[placements[i].cls].perNode
            while l.allSatisfy({ $0.vcpus >= 0 && $0.memoryMiB >= 0 }) {
                go(i + 1, l, value + Double(k) * price[placements[i].cls])
                k += 1
                for n in placements[i].nodes { l[n] = l[n] - share }
                if k > 6 { break }
            }
        }
        go(0, room, 0)
        return best
    }

    /// `combos` lists the same layouts in the same order as every per-node count vector in
    /// lexicographic order kept by its filter (sum k t, none above t), the enumeration it prunes;
    /// on hosts of 2, 4 and 8 nodes with two- and four-node flavors, and nil where that
    /// enumeration passes the limit.
    @Test func combosAreTheFilteredLexicographicEnumeration() throws {
        let flavors = Self.flavors + [
            Flavor(name: "y", resources: Resources(vcpus: 4, memoryMiB: 8192), numaNodes: 4),
            Flavor(name: "z", resources: Resources(vcpus: 2, memoryMiB: 2048), numaNodes: 2),
        ]
        /// The per-node counts of each split class in a layout, by class.
        func counts(_ combo: ShapePricing.Combo, classes: [Int], nodes: Int) -> [[Int]] {
            classes.map { c in
                var h = Array(repeating: 0, count: nodes)
                for s in combo.servers where s.cls == c { for n in s.nodes { h[n] += 1 } }
                return h
            }
        }
        var rng = SplitMix64(seed: 11)
        var compared = 0, overflows = 0, pruned = 0
        for trial in 0..<90 {
            let nodes = [2, 4, 8][trial % 3]
            let room = (0..<nodes).map { _ in
                nodes == 8 ? Resources(vcpus: 2 + rng.below(2), memoryMiB: 4096 + 2048 * rng.below(3))
                    : Resources(vcpus: 2 + 2 * rng.below(nodes == 4 ? 4 : 6), memoryMiB: 4096 + 2048 * rng.below(8))
            }
            let accepted = flavors.indices.filter { flavors[$0].numaNodes == 1 || rng.below(3) != 0 }
            let largest = room.reduce(Resources.zero) { Resources(vcpus: max($0.vcpus, $1.vcpus), memoryMiB: max($0.memoryMiB, $1.memoryMiB)) }
            let pricing = try #require(ShapePricing(flavors: flavors, accepted: accepted, largestNode: largest))
            let classes = pricing.splitClasses.filter { flavors[$0].numaNodes <= nodes }
            let limit = 3_000
            // The reference: every vector of every class in lexicographic order, filtered.
            var expected: [[[Int]]] = []
            var visited = 0
            func go(_ i: Int, _ left: [Resources], _ chosen: [[Int]]) {
                guard expected.count <= limit else { return }
                if i == classes.count {
                    expected.append(chosen)
                    return
                }
                let f = flavors[classes[i]]
                let share = f.perNode
                let cap = left.map { min($0.vcpus / share.vcpus, $0.memoryMiB / share.memoryMiB, 64) }
                Self.everyVector(below: cap) { h in
                    visited += 1
                    let sum = h.reduce(0, +)
                    guard sum % f.numaNodes == 0, h.allSatisfy({ $0 <= sum / f.numaNodes }) else { return }
                    go(i + 1, left.indices.map { left[$0] - share * h[$0] }, chosen + [h])
                }
            }
            go(0, room, [])
            let found = pricing.combos(room: room, limit: limit)
            if expected.count > limit {
                #expect(found == nil, "trial \(trial): \(found?.count ?? 0) layouts past the limit")
                overflows += 1
                continue
            }
            let combos = try #require(found, "trial \(trial): nil where the enumeration has \(expected.count) layouts")
            #expect(combos.map { counts($0, classes: classes, nodes: nodes) } == expected, "trial \(trial), \(nodes) nodes")
            for (combo, h) in zip(combos, expected) {
                // The room left is the room less each class's counts.
                var left = room
                for (c, counts) in zip(classes, h) { for n in 0..<nodes { left[n] = left[n] - flavors[c].perNode * counts[n] } }
                #expect(combo.left == left, "trial \(trial)")
            }
            if visited > 4 * expected.count { pruned += 1 }
            compared += 1
        }
        #expect(compared >= 60 && pruned >= 20, "\(compared) compared, \(pruned) where most vectors are filtered out, \(overflows) past the limit")
    }

    /// `layoutCount` counts one flavor's per-node count vectors as `combos` keeps them (at most
    /// what each node holds, a multiple of the nodes it spans in all, none above the servers'
    /// count), against a plain enumeration of every vector, and stops one past its limit. A
    /// room where one flavor alone has more layouts than the limit gets none from `combos`
    /// (the room has at least as many), and one where no flavor does is listed as before.
    @Test func oneFlavorsLayoutsDecideAnOverflow() throws {
        let flavors = Self.flavors + [Flavor(name: "z", resources: Resources(vcpus: 2, memoryMiB: 2048), numaNodes: 2)]
        var rng = SplitMix64(seed: 29)
        for trial in 0..<60 {
            let nodes = [2, 4, 8][trial % 3]
            let room = (0..<nodes).map { _ in Resources(vcpus: 2 * rng.below(nodes == 8 ? 3 : 9), memoryMiB: 2048 * rng.below(12)) }
            for flavor in flavors where flavor.numaNodes > 1 && flavor.numaNodes <= nodes {
                let share = flavor.perNode, k = flavor.numaNodes
                let cap = room.map { min($0.vcpus / share.vcpus, $0.memoryMiB / share.memoryMiB, 64) }
                var expected = 0
                Self.everyVector(below: cap) { h in
                    let sum = h.reduce(0, +)
                    if sum % k == 0 && h.allSatisfy({ $0 <= sum / k }) { expected += 1 }
                }
                #expect(ShapePricing.layoutCount(of: flavor, room: room, above: 1_000_000) == expected, "trial \(trial), \(flavor.name)")
                #expect(ShapePricing.layoutCount(of: flavor, room: room, above: 5) == min(expected, 6), "trial \(trial), \(flavor.name)")
            }
        }
        // A 4-node host of 48 vCPUs per node and a two-node flavor of one vCPU per node: far
        // more layouts of that flavor alone than the limit.
        let wide = (0..<4).map { _ in Resources(vcpus: 48, memoryMiB: 196_608) }
        let pricing = try #require(ShapePricing(flavors: flavors, accepted: Array(flavors.indices), largestNode: wide[0]))
        let z = try #require(flavors.first { $0.name == "z" })
        #expect(ShapePricing.layoutCount(of: z, room: wide, above: 20_000) > 20_000)
        #expect(pricing.combos(room: wide) == nil)
        let narrow = (0..<4).map { _ in Resources(vcpus: 4, memoryMiB: 8192) }
        #expect(pricing.combos(room: narrow).map { $0.count > 1 } == true)
    }

    /// Past its deadline `combos` gives nothing for a room that takes split flavors (its shape is
    /// then not exact, and no bound holds), and before it the same layouts as without one.
    @Test func combosStopAtTheirDeadline() throws {
        let room = (0..<4).map { _ in Resources(vcpus: 8, memoryMiB: 32768) }
        let pricing = try #require(ShapePricing(flavors: Self.flavors, accepted: Array(Self.flavors.indices), largestNode: room[0]))
        let all = try #require(pricing.combos(room: room))
        #expect(all.count > 1)
        #expect(pricing.combos(room: room, deadline: monotonicSeconds() - 1) == nil)
        let timely = try #require(pricing.combos(room: room, deadline: monotonicSeconds() + 600))
        #expect(timely.map(\.servers) == all.map(\.servers))
        // A room that takes no split flavor has one layout, the empty one, whatever the deadline.
        let oneNode = try #require(ShapePricing(flavors: Self.flavors, accepted: [0, 1, 2, 3], largestNode: room[0]))
        #expect(oneNode.combos(room: room, deadline: monotonicSeconds() - 1)?.count == 1)
    }

    @Test func pricingMatchesBruteForceOnSmallShapes() throws {
        var rng = SplitMix64(seed: 3)
        var compared = 0
        for trial in 0..<120 {
            let nodes = [1, 2, 4][trial % 3]
            let room = (0..<nodes).map { _ in Resources(vcpus: 4 + 2 * rng.below(5), memoryMiB: 8192 + 4096 * rng.below(5)) }
            let accepted = Self.flavors.indices.filter { _ in rng.below(4) != 0 }
            let price = Self.flavors.map { _ in Double(rng.below(100)) / 37 }
            let limit = Self.flavors.map { _ in 1 + rng.below(4) }
            let largest = room.reduce(Resources.zero) { Resources(vcpus: max($0.vcpus, $1.vcpus), memoryMiB: max($0.memoryMiB, $1.memoryMiB)) }
            let pricing = try #require(ShapePricing(flavors: Self.flavors, accepted: accepted, largestNode: largest))
            let combos = try #require(pricing.combos(room: room))
            let found = pricing.best(shape: 0, room: room, combos: combos, table: pricing.table(price, limit: limit), price: price)
            let expected = bruteForce(room: room, price: price, limit: limit, accepted: accepted)
            #expect(abs(found.value - expected) < 1e-6, "trial \(trial): priced \(found.value), brute force \(expected)")
            // The pattern is a real host content worth what pricing says.
            var used = Array(repeating: Resources.zero, count: nodes)
            for n in 0..<nodes { for c in found.pattern.perNode[n].indices { used[n] += Self.flavors[c].resources * found.pattern.perNode[n][c] } }
            for s in found.pattern.split { for n in s.nodes { used[n] += Self.flavors[s.cls].perNode } }
            #expect(zip(used, room).allSatisfy { $0.vcpus <= $1.vcpus && $0.memoryMiB <= $1.memoryMiB }, "trial \(trial): \(used) in \(room)")
            let worth = found.pattern.counts.indices.reduce(0.0) { $0 + Double(found.pattern.counts[$1]) * price[$1] }
            #expect(abs(worth - found.value) < 1e-6)
            #expect(found.pattern.counts.indices.allSatisfy { found.pattern.counts[$0] == 0 || accepted.contains($0) })
            compared += 1
        }
        #expect(compared == 120)
    }

    /// On grids of about 100 × 100 cells (the unique-size fleets' one-node hosts), where the
    /// table updates eight cells at a time: the same value as a plain bounded knapsack, and a
    /// pattern read back that fits and is worth it.
    @Test func pricingMatchesAPlainKnapsackOnLargeGrids() throws {
        var rng = SplitMix64(seed: 11)
        for trial in 0..<12 {
            let flavors = (0..<(20 + rng.below(40))).map { i in
                Flavor(name: "f\(i)", resources: Resources(vcpus: 1 + rng.below(45), memoryMiB: 1024 * (1 + rng.below(45))))
            }
            let node = Resources(vcpus: 97 + rng.below(8), memoryMiB: 1024 * (97 + rng.below(8)))
            let price = flavors.map { _ in Double(1 + rng.below(1000)) / 97 }
            let limit = flavors.map { _ in 1 + rng.below(3) }
            let pricing = try #require(ShapePricing(flavors: flavors, accepted: Array(flavors.indices), largestNode: node))
            try #require(pricing.gridV >= 90 && pricing.gridM >= 90, "trial \(trial): grid \(pricing.gridV) × \(pricing.gridM)")
            let found = pricing.best(shape: 0, room: [node], combos: try #require(pricing.combos(room: [node])),
                                     table: pricing.table(price, limit: limit), price: price)
            // Plain bounded knapsack: every copy an item of its own, cells from the top.
            let gv = node.vcpus, gm = node.memoryMiB / 1024
            var plain = [[Double]](repeating: [Double](repeating: 0, count: gm + 1), count: gv + 1)
            for (c, f) in flavors.enumerated() {
                for _ in 0..<limit[c] {
                    let (fv, fm) = (f.resources.vcpus, f.resources.memoryMiB / 1024)
                    guard fv <= gv, fm <= gm else { continue }
                    for v in stride(from: gv, through: fv, by: -1) {
                        for m in stride(from: gm, through: fm, by: -1) { plain[v][m] = max(plain[v][m], plain[v - fv][m - fm] + price[c]) }
                    }
                }
            }
            #expect(abs(found.value - plain[gv][gm]) < 1e-6, "trial \(trial): priced \(found.value), plain \(plain[gv][gm])")
            let used = found.pattern.perNode[0].indices.reduce(Resources.zero) { $0 + flavors[$1].resources * found.pattern.perNode[0][$1] }
            #expect(used.vcpus <= node.vcpus && used.memoryMiB <= node.memoryMiB, "trial \(trial): \(used) in \(node)")
            #expect(found.pattern.counts.indices.allSatisfy { found.pattern.counts[$0] <= limit[$0] })
            let worth = found.pattern.counts.indices.reduce(0.0) { $0 + Double(found.pattern.counts[$1]) * price[$1] }
            #expect(abs(worth - found.value) < 1e-6, "trial \(trial): pattern worth \(worth), priced \(found.value)")
        }
    }

    /// On fleets whose optimum is known by construction, the pattern model's bound never
    /// exceeds it, and its plans pass the independent validator.
    @Test(arguments: [("tiled", 3 as UInt64), ("tiled", 4), ("unique", 5), ("unique", 6)])
    func theBoundNeverExceedsAKnownOptimum(kind: String, seed: UInt64) throws {
        let n = 5 + Int(seed)
        let inventory = kind == "tiled" ? try NeverAboveFFDTests.tiled(n, seed: seed) : try NeverAboveFFDTests.uniqueSizes(n, seed: seed)
        let (planner, options, sub, model, start) = try Self.patternModel(inventory)
        let found = try #require(model.solve(start: start, deadline: monotonicSeconds() + 2))
        let bound = try #require(found.bound)
        #expect(bound <= n, "\(kind) \(seed): bound \(bound), optimum \(n)")
        #expect(found.value >= n)
        // Its moves, put in waves, replay cleanly.
        let waves = planner.orderWaves(planner.moves(of: found.decisions, in: sub), options: options)
        #expect(waves.dropped.isEmpty)
        #expect(PlanValidator.violations(of: waves.moves, on: inventory, options: Checker.Options(placement: .planned)).isEmpty)
        let plan = try planner.plan(options)
        #expect(plan.objectiveBound.map { $0 <= Double(n) } ?? true)
        #expect(IndependentValidator.check(plan, inventory: inventory).isEmpty)
    }

    /// The pattern model of a consolidation of every server of `inventory` under `planned`,
    /// with the heuristic's plan in hand to start from.
    static func patternModel(_ inventory: Inventory) throws
        -> (planner: BatchPlanner, options: PlanOptions, sub: SubProblem, model: ShapePatterns, start: [[Decision]])
    {
        let planner = BatchPlanner(inventory)
        let options = PlanOptions(mode: .consolidate, timeLimit: 2, placement: .planned)
        let sub = planner.buildSubProblem(zones: ["az1"], movers: Array(inventory.servers.indices), mustMove: false, evacuated: [],
                                          excluded: [], options: options)
        let model = try #require(ShapePatterns(sub, options: options, planner: planner))
        return (planner, options, sub, model, planner.heuristicPlan(sub, options: options).decisions)
    }
}

/// The pattern model realizes a choice of patterns only while there is time to make it a plan
/// and put it in waves before the caller's `realizeBy`; its bound comes all the same.
@Suite struct PatternRealizeDeadlineTests {
    @Test(arguments: [3 as UInt64, 4, 7])
    func noPlanIsRealizedTooLateButTheBoundStands(seed: UInt64) throws {
        let n = 5 + Int(seed)
        let inventory = try NeverAboveFFDTests.tiled(n, seed: seed)
        let (_, _, _, model, start) = try ShapePricingTests.patternModel(inventory)
        let inHand = try #require(model.value(of: start))
        let free = try #require(model.solve(start: start, deadline: monotonicSeconds() + 2))
        // Given the time, the model finds a plan better than the one in hand (else the case tests nothing).
        try #require(free.value < inHand, "seed \(seed): the model found no better plan than \(inHand)")
        let late = try #require(model.solve(start: start, deadline: monotonicSeconds() + 2, realizeBy: monotonicSeconds()))
        let kept = late.decisions == start
        #expect(kept, "seed \(seed): a plan was realized after its time")
        #expect(late.value == inHand)
        #expect(late.bound != nil && late.bound == free.bound, "seed \(seed): bound \(String(describing: late.bound)) against \(String(describing: free.bound))")
    }
}
