// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Testing
import Topology
import TestSupport
@testable import Planner

/// The integer master over node fills (`PatternMaster.recombined`): fills seen on different
/// host patterns combine on one host, its hosts are valid patterns of their shape, and on
/// fleets that tile exactly the planner proves the optimum with it.
@Suite struct NodeRecombinationTests {
    static let flavors: [Flavor] = [
        Flavor(name: "a", resources: Resources(vcpus: 4, memoryMiB: 8192)),
        Flavor(name: "b", resources: Resources(vcpus: 4, memoryMiB: 16384)),
        Flavor(name: "w", resources: Resources(vcpus: 4, memoryMiB: 8192), numaNodes: 2),
    ]
    static let node = Resources(vcpus: 4, memoryMiB: 16384)

    func master(demand: [Int], hosts: Int) throws -> PatternMaster {
        let pricing = try #require(ShapePricing(flavors: Self.flavors, accepted: [0, 1, 2], largestNode: Self.node))
        let room = [Self.node, Self.node]
        let combos = try #require(pricing.combos(room: room))
        return PatternMaster(
            demand: demand, shapes: [PatternMaster.Shape(room: room, count: hosts, cost: 1, pricing: 0, combos: combos)],
            pricings: [pricing], artificialCost: 100)
    }

    func pattern(_ nodes: [[Int]], split: [[Int]] = []) -> ShapePattern {
        var p = ShapePattern.empty(shape: 0, nodes: 2, classes: 3)
        for (n, fill) in nodes.enumerated() { for (c, k) in fill.enumerated() { for _ in 0..<k { p.addOneNode(c, node: n) } } }
        for nodes in split { p.addSplit(2, nodes: nodes) }
        return p
    }

    /// One a and one b: the pool holds only "a on both nodes" and "b on both nodes", so the
    /// host-pattern master needs two hosts; the fills recombined need one, [a | b].
    @Test func fillsOfDifferentPatternsShareAHost() throws {
        let m = try master(demand: [1, 1, 0], hosts: 3)
        let pool = [pattern([[1, 0, 0], [1, 0, 0]]), pattern([[0, 1, 0], [0, 1, 0]])]
        let picked = try #require(m.recombined(pool, cap: nil, target: 1, timeLimit: 5))
        #expect(picked.count == 1)
        let host = try #require(picked.first)
        #expect(host.counts == [1, 1, 0])
        #expect(Set(host.perNode) == Set([[1, 0, 0], [0, 1, 0]]))
        // With a cap below one host, there is no answer.
        #expect(m.recombined(pool, cap: 0.5, target: 0, timeLimit: 5) == nil)
    }

    /// Split servers stay with their host; a node's fill only goes where the split servers
    /// leave the same room. Every host returned fits its nodes and the demand is covered.
    @Test func splitServersKeepTheirHostAndFillsFitTheRoomLeft() throws {
        let m = try master(demand: [2, 1, 1], hosts: 4)
        // w takes 2 vCPUs / 4 GiB on each node: a node with w has 2 vCPUs / 12 GiB left, room
        // for no a or b; fills of full nodes cannot go there.
        let pool = [pattern([[0, 0, 0], [0, 0, 0]], split: [[0, 1]]), pattern([[1, 0, 0], [0, 1, 0]]), pattern([[1, 0, 0], [1, 0, 0]])]
        let picked = try #require(m.recombined(pool, cap: nil, target: 2, timeLimit: 5))
        var covered = [0, 0, 0]
        for host in picked {
            var used = [Resources.zero, .zero]
            for sp in host.split { for n in sp.nodes { used[n] = used[n] + Self.flavors[sp.cls].perNode } }
            for n in 0..<2 {
                for c in 0..<3 where host.perNode[n][c] > 0 {
                    used[n] = used[n] + Resources(vcpus: Self.flavors[c].perNode.vcpus * host.perNode[n][c],
                                                  memoryMiB: Self.flavors[c].perNode.memoryMiB * host.perNode[n][c])
                }
                #expect(used[n].vcpus <= Self.node.vcpus && used[n].memoryMiB <= Self.node.memoryMiB, "\(host)")
            }
            for c in 0..<3 { covered[c] += host.counts[c] }
        }
        #expect(zip(covered, [2, 1, 1]).allSatisfy { $0 >= $1 }, "\(covered)")
        // [w] alone (its nodes have room for neither a nor b), then a, a and b on three nodes.
        #expect(picked.count == 3)
        #expect(picked.filter { !$0.split.isEmpty }.allSatisfy { $0.counts == [0, 0, 1] })
    }

    /// Fleets that tile N two-node hosts exactly (with empty smaller distractor hosts and every
    /// server spread at random): the plan keeps N hosts in use, proven. Given 10 s each (this
    /// debug build, one at a time), all four ended one host above their optimum (41, 41, 61,
    /// 61) without the perturbed pricing and the recombined master, and were proven in about
    /// 1 s with them. The limit here is 60 s so that a loaded machine does not fail it; a
    /// proven plan ends the search. One at a time: side by side, each gets half the CPU.
    @Test(.serialized, arguments: [(UInt64(11), 40), (12, 40), (14, 60), (15, 60)])
    func tiledFleetsAreProvenOptimal(seed: UInt64, n: Int) throws {
        let inventory = try NeverAboveFFDTests.tiled(n, seed: seed)
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .consolidate, timeLimit: 60, placement: .planned))
        #expect(plan.objectiveValue == Double(n), "\(n) tiled hosts: \(plan.notes)")
        #expect(plan.objectiveBound == Double(n))
        #expect(IndependentValidator.check(plan, inventory: inventory).isEmpty)
    }
}
