// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Planner
import PropertyBased
import TestSupport
import Testing
import Topology

/// Bin-packing instances as inventories: one single-node host per item, items start one per host.
func binPackingInventory(sizes: [Int], capacity: Int) throws -> Inventory {
    var b = InventoryBuilder()
    let distinct = Array(Set(sizes)).sorted()
    for s in distinct { b.flavor("item-\(s)", vcpus: s, memory: 1) }
    b.hostType("bin", nodes: 1, vcpus: capacity, memory: sizes.count + 1, flavors: distinct.map { "item-\($0)" })
    for i in sizes.indices { b.host("bin-\(i)", type: "bin") }
    for (i, s) in sizes.enumerated() { b.server("item-\(i)", flavor: "item-\(s)", on: "bin-\(i)", nodes: [0]) }
    return try b.build()
}

/// The fewest bins for `sizes` by exhaustive search (tiny inputs only).
func fewestBins(_ sizes: [Int], capacity: Int) -> Int {
    let items = sizes.sorted(by: >)
    for bins in 1...items.count {
        var load = [Int](repeating: 0, count: bins)
        func place(_ i: Int) -> Bool {
            if i == items.count { return true }
            var tried = Set<Int>()
            for b in 0..<bins where load[b] + items[i] <= capacity && tried.insert(load[b]).inserted {
                load[b] += items[i]
                if place(i + 1) { return true }
                load[b] -= items[i]
            }
            return false
        }
        if place(0) { return bins }
    }
    return items.count
}

@Suite struct PatternConsolidationTests {
    @Test func tinyBinPackingAgreesWithExhaustiveSearch() async {
        await propertyCheck(count: propertyCount(60), input: Gen.int(in: 0...1_000_000), Gen.int(in: 2...9)) { seed, n in
            var rng = SplitMix64(seed: UInt64(seed))
            let capacity = 10 + rng.below(30)
            let sizes = (0..<n).map { _ in 1 + rng.below(capacity) }
            let inventory = try binPackingInventory(sizes: sizes, capacity: capacity)
            let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .consolidate, timeLimit: 5))
            let optimum = fewestBins(sizes, capacity: capacity)
            #expect(IndependentValidator.check(plan, inventory: inventory) == [])
            #expect(Int(plan.objectiveValue) >= optimum)
            if let bound = plan.objectiveBound { #expect(Int(bound) <= optimum, "sizes \(sizes) C \(capacity)") }
            if plan.status == .optimal { #expect(Int(plan.objectiveValue) == optimum, "sizes \(sizes) C \(capacity)") }
        }
    }

    static let instances = Fixtures.packageRoot.appendingPathComponent("Benchmarks/bpplib/instances/1d_bpplib")

    static func instance(_ path: String) throws -> (sizes: [Int], capacity: Int) {
        let numbers = try String(contentsOf: instances.appendingPathComponent(path), encoding: .utf8)
            .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        return (Array(numbers.dropFirst(2)), numbers[1])
    }

    /// Published instances with proven optima (BPPLIB): the plan must be optimal with exactly that
    /// many hosts (Benchmarks/bpplib/instances). The limit is generous (each ends once proven,
    /// 27 s for the six in a debug build alone): at 60 s BPP60 ended at 64 in a fresh-clone CI
    /// run beside a release build, its 30 dives not done by 40 % of the limit, when the integer
    /// master runs again (speed belongs to Benchmarks/bpplib).
    @Test(
        arguments: [
            ("falkenauer_u120/Falkenauer_u120_00.txt", 48), ("falkenauer_t60/Falkenauer_t60_00.txt", 20),
            ("schwerin1/Schwerin1_BPP1.txt", 18), ("scholl1/N2C1W1_A.txt", 48),
            // Scholl 3 (C = 100,000): pricing by dynamic programming over 100,001 weights, where
            // column generation tails off without the swap columns and smoothing.
            ("scholl3_hard/HARD0.txt", 56),
            // Hard28 BPP60: the dives alone end one bin above (64); the integer master over the
            // patterns they priced, after 30 of them, finds 63.
            ("hard28/Hard28_BPP60.txt", 63),
        ])
    func publishedInstancesAreSolvedToOptimality(path: String, optimum: Int) throws {
        let (sizes, capacity) = try Self.instance(path)
        let inventory = try binPackingInventory(sizes: sizes, capacity: capacity)
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .consolidate, timeLimit: 300))
        #expect(plan.status == .optimal)
        #expect(Int(plan.objectiveValue) == optimum)
        #expect(plan.objectiveBound.map(Int.init) == optimum)
        #expect(PlanValidator.violations(of: plan.moves, on: inventory, options: plan.validationOptions) == [])
    }
}
