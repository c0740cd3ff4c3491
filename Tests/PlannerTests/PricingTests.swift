// SPDX-License-Identifier: GPL-3.0-or-later

@testable import Planner
import PropertyBased
import TestSupport
import Testing
import Topology

/// A random pricing problem: capacity 20...419, `classes` server sizes up to it, between
/// `minDemand` and `minDemand + 3` servers per class, prices in [0, 1).
func randomPricing(_ rng: inout SplitMix64, classes: Int, minDemand: Int)
    -> (problem: PatternConsolidation, capacity: Int, sizes: [Int], demand: [Int], prices: [Double])
{
    let capacity = 20 + rng.below(400)
    let sizes = (0..<classes).map { _ in 1 + rng.below(capacity) }
    let demand = (0..<classes).map { _ in minDemand + rng.below(4) }
    let prices = (0..<classes).map { _ in Double(rng.below(1000)) / 1000 }
    return (PatternConsolidation(capacity: capacity, sizes: sizes, demand: demand), capacity, sizes, demand, prices)
}

/// The two exact pricing methods of column generation agree on the best pattern value, and
/// both return patterns that fit and respect the counts.
@Suite struct PricingTests {
    @Test func dynamicProgrammingAndBranchAndBoundAgree() async {
        await propertyCheck(count: propertyCount(300), input: Gen.int(in: 0...1_000_000), Gen.int(in: 1...12)) { seed, classes in
            var rng = SplitMix64(seed: UInt64(seed))
            let (p, capacity, sizes, demand, prices) = randomPricing(&rng, classes: classes, minDemand: 1)
            let dp = p.priceDP(prices, demand: demand)
            let bb = p.priceBranchAndBound(prices, demand: demand)
            #expect(abs(dp.value - bb.value) < 1e-9, "sizes \(sizes) demand \(demand) C \(capacity)")
            for result in [dp, bb] {
                #expect(zip(result.counts, sizes).reduce(0) { $0 + $1.0 * $1.1 } <= capacity)
                #expect(zip(result.counts, demand).allSatisfy { $0 <= $1 })
                #expect(abs(zip(result.counts, prices).reduce(0) { $0 + Double($1.0) * $1.1 } - result.value) < 1e-9)
            }
        }
    }
}

@Suite struct ColumnGenerationPartsTests {
    /// Exact pricing returns the dynamic programme's optimum, and every pattern it returns
    /// fits, respects the counts, beats the threshold, and differs from the others, best first.
    /// Quick pricing's patterns beat the threshold and fit too, and never beat the optimum.
    @Test func exactAndQuickPricingReturnImprovingPatterns() async {
        await propertyCheck(count: propertyCount(200), input: Gen.int(in: 0...1_000_000), Gen.int(in: 1...12)) { seed, classes in
            var rng = SplitMix64(seed: UInt64(seed))
            let (p, capacity, sizes, demand, prices) = randomPricing(&rng, classes: classes, minDemand: 0)
            let optimum = p.priceDP(prices, demand: demand).value
            let above = optimum * Double(rng.below(100)) / 100
            let exact = p.priceExact(prices, demand: demand, keep: 5, above: above)
            let quick = p.priceQuick(prices, demand: demand, keep: 5, above: above, nodes: 50)
            #expect(abs(exact.best - optimum) < 1e-9)
            #expect(quick.best <= optimum + 1e-9)
            if optimum > above + 1e-9 { #expect(!exact.patterns.isEmpty) }
            #expect(Set(exact.patterns).count == exact.patterns.count)
            func value(_ pattern: [Int]) -> Double { zip(pattern, prices).reduce(0) { $0 + Double($1.0) * $1.1 } }
            for result in [exact, quick] {
                #expect(result.patterns.count <= 5)
                let values = result.patterns.map(value)
                // Best first, up to rounding: equal worths summed in another order may differ
                // in the last bit.
                #expect(zip(values, values.dropFirst()).allSatisfy { $0 >= $1 - 1e-9 }, "best first: \(values)")
                for pattern in result.patterns {
                    #expect(zip(pattern, sizes).reduce(0) { $0 + $1.0 * $1.1 } <= capacity)
                    #expect(zip(pattern, demand).allSatisfy { $0 <= $1 })
                    #expect(value(pattern) > above)
                    #expect(value(pattern) <= optimum + 1e-9)
                }
            }
            if let first = exact.patterns.first { #expect(abs(value(first) - optimum) < 1e-9) }
        }
    }

    /// `realize` puts servers into slots of their own or a larger class. It places everything
    /// exactly when every set of the k largest classes has at least as many slots as servers
    /// (Hall's condition for these nested sizes); each bin then holds no more vCPUs than its
    /// pattern, and placed plus left over is the demand.
    @Test func realizeFillsSlotsOfLargerClasses() async {
        await propertyCheck(count: propertyCount(300), input: Gen.int(in: 0...1_000_000), Gen.int(in: 1...7)) { seed, classes in
            Self.checkRealize(seed: seed, classes: classes)
        }
    }

    static func checkRealize(seed: Int, classes: Int) {
        var rng = SplitMix64(seed: UInt64(seed))
        let sizes = (0..<classes).map { _ in 1 + rng.below(6) }  // ties on purpose
        let demand = (0..<classes).map { _ in rng.below(4) }
        let patterns = (0..<(1 + rng.below(4))).map { _ in (0..<classes).map { _ in rng.below(3) } }
        let p = PatternConsolidation(capacity: 1000, sizes: sizes, demand: demand)
        let (bins, left) = p.realize(patterns, demand: demand)
        var placed = [Int](repeating: 0, count: classes)
        for bin in bins { for c in bin.indices { placed[c] += bin[c] } }
        #expect(zip(placed, left).map { $0 + $1 } == demand)
        #expect(left.allSatisfy { $0 >= 0 })
        // Hall: for each size s, slots of size >= s cover the servers of size >= s.
        var hall = true
        for s in Set(sizes) {
            var slots = 0
            var servers = 0
            for c in 0..<classes where sizes[c] >= s {
                servers += demand[c]
                for pattern in patterns { slots += pattern[c] }
            }
            if slots < servers { hall = false }
        }
        #expect(left.allSatisfy { $0 == 0 } == hall, "sizes \(sizes) demand \(demand) patterns \(patterns)")
        func load(_ bin: [Int]) -> Int { zip(bin, sizes).reduce(0) { $0 + $1.0 * $1.1 } }
        #expect(bins.count <= patterns.count)
        #expect(bins.allSatisfy { load($0) > 0 })
        #expect(bins.map(load).reduce(0, +) <= patterns.map(load).reduce(0, +))
    }
}
