// SPDX-License-Identifier: GPL-3.0-or-later

@testable import Planner
import PropertyBased
import Testing

/// The two exact pricing methods of column generation agree on the best pattern value, and
/// both return patterns that fit and respect the counts.
@Suite struct PricingTests {
    @Test func dynamicProgrammingAndBranchAndBoundAgree() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...1_000_000), Gen.int(in: 1...12)) { seed, classes in
            var rng = SplitMix64(seed: UInt64(seed))
            let capacity = 20 + rng.below(400)
            let sizes = (0..<classes).map { _ in 1 + rng.below(capacity) }
            let demand = (0..<classes).map { _ in 1 + rng.below(4) }
            let prices = (0..<classes).map { _ in Double(rng.below(1000)) / 1000 }
            let p = PatternConsolidation(capacity: capacity, sizes: sizes, demand: demand)
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
