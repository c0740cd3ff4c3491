// SPDX-License-Identifier: GPL-3.0-or-later

import Planner
import Testing
import Topology

private func r(_ v: Int, _ m: Int) -> Resources { Resources(vcpus: v, memoryMiB: m) }
private func flavor(_ v: Int, _ m: Int, nodes: Int = 1) -> Flavor {
    Flavor(name: "f", resources: r(v, m), numaNodes: nodes)
}

@Suite struct FitTests {
    let node = r(32, 131072)

    @Test func singleNodePicksTheTightestNode() throws {
        let free = [r(20, 80000), r(16, 65536), r(30, 120000)]
        let fit = try #require(Fit.fit(flavor(16, 65536), free: free, capacity: Array(repeating: node, count: 3)))
        #expect(fit.nodes == [1])
        #expect(fit.leftover == [r(0, 0)])
        #expect(fit.score == 1)
    }

    @Test func exactFitOnEveryDimensionIsAccepted() {
        #expect(Fit.fit(flavor(32, 131072), free: [node, node], capacity: [node, node])?.nodes == [0])
        #expect(Fit.fit(flavor(33, 131072), free: [node, node], capacity: [node, node]) == nil)
    }

    @Test func tiesGoToTheLowerNodeIndex() {
        let free = [r(10, 40000), r(10, 40000), r(10, 40000)]
        #expect(Fit.fit(flavor(4, 4096), free: free, capacity: Array(repeating: node, count: 3))?.nodes == [0])
        #expect(Fit.fit(flavor(4, 4096, nodes: 2), free: free, capacity: Array(repeating: node, count: 3))?.nodes == [0, 1])
    }

    @Test func memoryBoundRejection() {
        // Plenty of vCPUs, not enough memory on any node; enough memory in total.
        let free = [r(30, 40000), r(30, 40000)]
        let result = Fit.evaluate(flavor(8, 65536), free: free, capacity: [node, node])
        #expect(result == .failure(.insufficientNUMA(eligibleNodes: [], needed: 1, perNode: r(8, 65536))))
    }

    @Test func vcpuBoundRejection() {
        let free = [r(10, 131072), r(10, 131072)]
        let result = Fit.evaluate(flavor(16, 1024), free: free, capacity: [node, node])
        #expect(result == .failure(.insufficientNUMA(eligibleNodes: [], needed: 1, perNode: r(16, 1024))))
    }

    @Test func totalShortageIsReportedAsSuch() {
        let free = [r(4, 131072), r(4, 131072)]
        #expect(Fit.evaluate(flavor(16, 1024), free: free, capacity: [node, node])
            == .failure(.insufficientTotal(free: r(8, 262144), demand: r(16, 1024))))
    }

    @Test func memoryWeighsInBestFit() {
        // Node 0 is tighter on vCPUs, node 1 much tighter on memory: normalised sum picks node 1.
        let free = [r(10, 120000), r(12, 40000)]
        #expect(Fit.fit(flavor(8, 32768), free: free, capacity: [node, node])?.nodes == [1])
    }

    @Test func splitFlavorOverTwoOfTwoNodes() throws {
        let free = [r(16, 65536), r(20, 70000)]
        let fit = try #require(Fit.fit(flavor(32, 131072, nodes: 2), free: free, capacity: [node, node]))
        #expect(fit.nodes == [0, 1])
        #expect(fit.leftover == [r(0, 0), r(4, 70000 - 65536)])
    }

    @Test func splitFlavorNeedsKDistinctNodes() {
        // 32 vCPUs / 145536 MiB free in total, but only node 0 has 16 vCPUs.
        let free = [r(20, 80000), r(12, 65536)]
        #expect(Fit.evaluate(flavor(32, 131072, nodes: 2), free: free, capacity: [node, node])
            == .failure(.insufficientNUMA(eligibleNodes: [0], needed: 2, perNode: r(16, 65536))))
    }

    @Test func fourNodeHostSplitsOverTheRoomiestTwo() throws {
        let cap = Array(repeating: r(24, 98304), count: 4)
        let free = [r(24, 98304), r(12, 49152), r(20, 60000), r(12, 49152)]
        // Shares of 12 vCPUs / 48 GiB per node: 2, 1, 1, 1. The split flavor takes node 0 (room
        // for two) and, among the nodes with room for one, the tightest (node 1, exact fit).
        let fit = try #require(Fit.fit(flavor(24, 98304, nodes: 2), free: free, capacity: cap))
        #expect(fit.nodes == [0, 1])
        #expect(fit.leftover == [r(12, 49152), r(0, 0)])
        // Tightest-first strands room: free shares 2, 1, 1 on three nodes take two servers only
        // when the first one uses the node with two.
        let three = [r(24, 98304), r(12, 49152), r(12, 49152)]
        let first = try #require(Fit.fit(flavor(24, 98304, nodes: 2), free: three, capacity: Array(cap.prefix(3))))
        #expect(first.nodes.contains(0))
        let four = try #require(Fit.fit(flavor(48, 196608, nodes: 4), free: free, capacity: cap))
        #expect(four.nodes == [0, 1, 2, 3])
    }

    @Test func flavorSpanningMoreNodesThanTheHostHas() {
        #expect(Fit.evaluate(flavor(8, 8192, nodes: 4), free: [node, node], capacity: [node, node])
            == .failure(.tooFewNodes(needed: 4, hostHas: 2)))
    }

    @Test func unknownLayoutTotalIsHonoured() {
        // Nodes look free, but servers of unknown layout already use most of the host.
        let result = Fit.evaluate(flavor(16, 1024), free: [node, node], capacity: [node, node], freeTotal: r(8, 262144))
        #expect(result == .failure(.insufficientTotal(free: r(8, 262144), demand: r(16, 1024))))
    }
}
