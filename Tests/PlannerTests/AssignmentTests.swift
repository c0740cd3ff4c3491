// SPDX-License-Identifier: GPL-3.0-or-later

import Testing
import Topology
import TestSupport
@testable import Planner

/// Mapping a packing's bins onto hosts so that the most servers stay where they are.
@Suite struct AssignmentTests {
    /// The Hungarian method finds the maximum weight assignment: against enumeration of every
    /// permutation on random matrices up to 6 × 6.
    @Test func maximumWeightAssignmentMatchesEnumeration() {
        var rng = SplitMix64(seed: 42)
        for trial in 0..<200 {
            let n = 1 + trial % 6
            let w = (0..<n).map { _ in (0..<n).map { _ in rng.below(4) == 0 ? 0 : rng.below(10) } }
            let found = maxWeightAssignment(w)
            #expect(Set(found).count == n, "a permutation")
            let value = found.enumerated().reduce(0) { $0 + w[$1.offset][$1.element] }
            let best = permutations(n).map { p in p.enumerated().reduce(0) { $0 + w[$1.offset][$1.element] } }.max()!
            #expect(value == best, "\(w): \(found) gives \(value), best \(best)")
        }
    }

    /// Bins of one kind (the same pattern) share their edges, asked for once per kind; the
    /// assignment is as heavy as with every bin asked apart, exact or greedy. Weights are
    /// distinct per (kind, host), so greedy ties arise only between bins of one kind.
    @Test(arguments: [0, 100])
    func binsOfOneKindShareTheirEdges(exactLimit: Int) {
        var rng = SplitMix64(seed: 7)
        for trial in 0..<60 {
            let hosts = 4 + trial % 9
            let bins = 1 + rng.below(hosts)
            let kindCount = 1 + rng.below(min(3, bins))
            let kinds = (0..<bins).map { _ in rng.below(kindCount) }
            var weights: [[Int]] = []
            var used = Set<Int>()
            for _ in 0..<kindCount {
                weights.append((0..<hosts).map { _ in
                    guard rng.below(3) != 0 else { return 0 }
                    var w = 1 + rng.below(1000)
                    while used.contains(w) { w = 1 + rng.below(1000) }
                    used.insert(w)
                    return w
                })
            }
            func edges(_ b: Int) -> [(o: Int, w: Int, perm: Int)] {
                weights[kinds[b]].enumerated().compactMap { $0.element > 0 ? (o: $0.offset, w: $0.element, perm: 0) : nil }
            }
            var asked = 0
            let shared = assignBins(bins, hosts: hosts, exactLimit: exactLimit, kinds: kinds) { b in
                asked += 1
                return edges(b)
            }
            let apart = assignBins(bins, hosts: hosts, exactLimit: exactLimit, edges: edges)
            guard let shared, let apart else {
                Issue.record("no assignment")
                continue
            }
            #expect(asked == Set(kinds).count, "edges once per kind")
            #expect(Set(shared.map(\.o)).count == bins, "distinct hosts")
            func total(_ a: [(o: Int, perm: Int)]) -> Int { a.enumerated().reduce(0) { $0 + weights[kinds[$1.offset]][$1.element.o] } }
            #expect(total(shared) == total(apart), "trial \(trial): kinds \(kinds)")
        }
    }

    /// Hosts a, b, c of 2 nodes × 16 vCPUs, flavors "s" and "big" (KeepHomeTests' fleet).
    func inventory(_ build: (inout InventoryBuilder) -> Void) throws -> Inventory { try KeepHomeTests().inventory(build) }

    func sub(_ inv: Inventory, planner: BatchPlanner) -> SubProblem { KeepHomeTests().sub(inv, planner: planner) }

    /// A packing that swaps the contents of two equal hosts, and moves a server to the other
    /// node of its own host, is the same packing with nothing moved.
    @Test func swappedContentsAndMirroredNodesStayHome() throws {
        let inv = try inventory { b in
            b.server("x", flavor: "big", on: "a", nodes: [0])
            b.server("y", flavor: "big", on: "b", nodes: [1])
        }
        let planner = BatchPlanner(inv)
        let problem = sub(inv, planner: planner)
        let a = problem.local[inv.hostIndex["a"]!]!, b = problem.local[inv.hostIndex["b"]!]!
        let decisions = problem.classes.map { cls in
            cls.servers.map { inv.servers[$0].id == "x" ? Decision.host(b, [1]) : Decision.host(a, [0]) }
        }
        let home = try #require(planner.keepingServersHome(decisions, sub: problem, options: PlanOptions(mode: .consolidate)))
        #expect(home.flatMap { $0 }.allSatisfy { $0 == .stay }, "\(home)")
    }

    /// Three servers packed onto one host: the host that already holds most of them receives
    /// the bin, and the fewest servers move (against enumeration of the three hosts).
    @Test func theBinGoesWhereMostOfItIs() throws {
        let inv = try inventory { b in
            b.server("p", flavor: "s", on: "c", nodes: [0])
            b.server("q", flavor: "s", on: "c", nodes: [1])
            b.server("r", flavor: "s", on: "a", nodes: [0])
        }
        let planner = BatchPlanner(inv)
        let problem = sub(inv, planner: planner)
        let a = problem.local[inv.hostIndex["a"]!]!
        // Everything onto a: p and q move, r stays.
        let decisions = problem.classes.map { cls in
            cls.servers.map { s -> Decision in
                switch inv.servers[s].id {
                case "p": .host(a, [0])
                case "q": .host(a, [1])
                default: .stay
                }
            }
        }
        let home = try #require(planner.keepingServersHome(decisions, sub: problem, options: PlanOptions(mode: .consolidate)))
        let moves = planner.moves(of: home, in: problem)
        #expect(moves.count == 1 && moves.first?.serverID == "r" && moves.first?.to == "c", "\(moves)")
        #expect(PlanValidator.violations(of: moves, on: inv, options: Checker.Options(placement: .planned)).isEmpty)
    }
}
