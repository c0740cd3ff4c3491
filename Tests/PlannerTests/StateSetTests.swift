// SPDX-License-Identifier: GPL-3.0-or-later

@testable import Planner
import PropertyBased
import TestSupport
import Testing
import Topology

/// The set of states the search remembers (`StateSet`) against a set of arrays.
@Suite struct StateSetTests {
    @Test func agreesWithASetOfArrays() async {
        await propertyCheck(count: propertyCount(100), input: Gen.int(in: 0...1_000_000), Gen.int(in: 1...18)) { seed, stride in
            var rng = SplitMix64(seed: UInt64(seed))
            var states = StateSet(stride: stride)
            var reference = Set<[Int]>()
            // Few distinct values, so that states repeat; enough of them to grow the table often.
            for _ in 0..<(1 + rng.below(3_000)) {
                let key = (0..<stride).map { _ in rng.below(4) - 1 }
                #expect(states.contains(key) == reference.contains(key), "seed \(seed): \(key)")
                if rng.below(2) == 0 {
                    states.insert(key)
                    reference.insert(key)
                }
            }
            #expect(states.count == reference.count, "seed \(seed)")
            for key in reference { #expect(states.contains(key), "seed \(seed): \(key)") }
        }
    }

    /// Only the first `stride` integers of a key count (the search passes its whole buffer).
    @Test func onlyTheFirstStrideIntegersCount() {
        var states = StateSet(stride: 2)
        states.insert([1, 2, 3])
        #expect(states.contains([1, 2, 9]))
        #expect(states.contains([1, 2]))
        #expect(!states.contains([2, 1, 3]))
    }
}
