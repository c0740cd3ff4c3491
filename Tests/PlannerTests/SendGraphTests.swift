// SPDX-License-Identifier: GPL-3.0-or-later

@testable import Planner
import PropertyBased
import Testing
import Topology

/// `SendGraph`, the transitive closure `sequencedFirstFit` keeps its moves free of cycles with.
@Suite struct SendGraphTests {
    /// Random moves offered in random order, some hosts not taking part: a move is refused
    /// exactly when a search over the moves accepted so far finds a path from its target back
    /// to its source, and the accepted moves never hold a cycle. More than 64 hosts take part
    /// in some cases, so rows span several words.
    @Test func refusesExactlyTheMovesThatCloseACycle() async {
        await propertyCheck(count: 200, input: Gen.int(in: 2...150), Gen.int(in: 0...1_000_000)) { hosts, seed in
            var rng = SplitMix64(seed: UInt64(seed))
            let members = (0..<hosts).filter { _ in rng.below(10) < 8 }
            let taking = Set(members)
            var graph = SendGraph(hosts: hosts, members: members.shuffled(using: &rng))
            var next: [Int: Set<Int>] = [:]
            func reaches(_ a: Int, _ b: Int) -> Bool {
                var seen: Set<Int> = [a], stack = [a]
                while let x = stack.popLast() {
                    if x == b { return true }
                    for y in next[x] ?? [] where seen.insert(y).inserted { stack.append(y) }
                }
                return false
            }
            for _ in 0..<(hosts * 3) {
                let a = rng.below(hosts), b = rng.below(hosts)
                let expected = a == b || (taking.contains(a) && taking.contains(b) && reaches(b, a))
                #expect(graph.closesCycle(from: a, to: b) == expected, "hosts \(hosts) seed \(seed): \(a) -> \(b)")
                if !expected {
                    graph.add(from: a, to: b)
                    if taking.contains(a) && taking.contains(b) { next[a, default: []].insert(b) }
                }
            }
            let moves = next.flatMap { a, bs in bs.map { Move(serverID: "s", from: "h\(a)", to: "h\($0)", numaNodes: nil) } }
            #expect(!LocalSearchTests.hasCycle(moves), "hosts \(hosts) seed \(seed)")
        }
    }

    @Test func aHostThatTakesNoPartClosesNothing() {
        var graph = SendGraph(hosts: 3, members: [0, 1])
        graph.add(from: 0, to: 1)
        #expect(graph.closesCycle(from: 1, to: 0))
        #expect(!graph.closesCycle(from: 0, to: 1))
        #expect(!graph.closesCycle(from: 2, to: 0) && !graph.closesCycle(from: 1, to: 2))
        #expect(graph.closesCycle(from: 2, to: 2))
    }
}
