// SPDX-License-Identifier: GPL-3.0-or-later

@testable import FakeCloud
import Planner
import TestSupport
import Testing
import Topology

/// The fake cloud gives servers of unknown layout a real one when it starts.
@Suite struct FakeCloudLayoutTests {
    /// Host "h" (4 nodes of 12 vCPUs) keeps known servers that leave 12 vCPUs free on node 2
    /// only, and two of unknown layout: a two-node server of 2 + 2 vCPUs, listed first, and a
    /// one-node server of 12. Only node 2 holds the 12, so the two-node server must go
    /// elsewhere. Placed one at a time, the two-node server took node 2 and the 12-vCPU one was
    /// left without a layout, which the fake then counted on every node and refused every
    /// arrival there (foreign fleet 19 under the adversarial fake: a 4-vCPU arrival that
    /// `check` admits for every arrangement failed with Ecs.0319).
    @Test func everyServerOfUnknownLayoutGetsOneThatFits() async throws {
        var b = InventoryBuilder()
        b.flavor("f1", vcpus: 4, memory: 4096)
        b.flavor("f2", vcpus: 4, memory: 4096, nodes: 2)
        b.flavor("f6", vcpus: 4, memory: 16384)
        b.flavor("f7", vcpus: 12, memory: 12288)
        b.hostType("t0", nodes: 4, vcpus: 12, memory: 98304, flavors: ["f1", "f2", "f6", "f7"])
        b.host("h", type: "t0")
        b.host("g", type: "t0")
        b.server("split", flavor: "f2", on: "h", nodes: nil)
        b.server("whole", flavor: "f7", on: "h", nodes: nil)
        b.server("a", flavor: "f1", on: "h", nodes: [0])
        b.server("b", flavor: "f6", on: "h", nodes: [3])
        b.server("c", flavor: "f2", on: "h", nodes: [0, 1])
        b.server("mover", flavor: "f6", on: "g", nodes: [0])
        let inventory = try b.build()
        let cloud = FakeCloud(inventory: inventory, configuration: .init(projectID: "p", token: "t", placement: .adversarial))
        let now = await cloud.currentInventory()
        let onH = now.servers.filter { $0.dedicatedHostID == "h" }
        #expect(onH.count == 5)
        #expect(onH.allSatisfy { $0.numaNodes != nil }, "every layout resolved: \(onH.map { "\($0.id) \($0.numaNodes ?? [])" })")
        var used = [Resources](repeating: .zero, count: 4)
        for s in onH {
            let f = now.flavors[s.flavor]!
            for n in s.numaNodes ?? [] { used[n] = Resources(vcpus: used[n].vcpus + f.perNode.vcpus, memoryMiB: used[n].memoryMiB + f.perNode.memoryMiB) }
        }
        #expect(used.allSatisfy { $0.vcpus <= 12 && $0.memoryMiB <= 98304 }, "\(used)")
        #expect(now.servers.first { $0.id == "whole" }?.numaNodes == [2])
    }

    /// A host whose 25 servers of unknown layout fill its memory exactly (host h00280 of foreign
    /// fleet 6169, `foreign_fleets.py --seed 6161`, in its order). Placed one at a time, some
    /// find no place, and the worst-fit search runs out of its 100,000 steps: two were left
    /// without a layout, counted on every node, and the adversarial fake refused two arrivals
    /// there (Ecs.0319) that every arrangement admits. The integer program
    /// (`DemandFit.someArrangement`) arranges them all. Fails if a server is left without a
    /// layout, or a node is overfull.
    @Test func aHostFilledExactlyIsArrangedByTheIntegerProgram() async throws {
        var b = InventoryBuilder()
        b.flavor("f0", vcpus: 4, memory: 8192, nodes: 2)
        b.flavor("f3", vcpus: 2, memory: 2048)
        b.flavor("f4", vcpus: 2, memory: 2048)
        b.flavor("f5", vcpus: 1, memory: 4096)
        b.flavor("f6", vcpus: 6, memory: 24576)
        b.flavor("f8", vcpus: 2, memory: 2048, nodes: 2)
        let capacity = [Resources(vcpus: 20, memoryMiB: 40960), Resources(vcpus: 22, memoryMiB: 45056),
                        Resources(vcpus: 24, memoryMiB: 49152), Resources(vcpus: 24, memoryMiB: 49152)]
        b.hostTypes.append(HostType(name: "t0", numaNodes: capacity, flavors: ["f0", "f3", "f4", "f5", "f6", "f8"]))
        b.host("h", type: "t0")
        let flavors = ["f6", "f0", "f6", "f3", "f0", "f0", "f8", "f0", "f5", "f5", "f4", "f3", "f3", "f6", "f4", "f5", "f6", "f8", "f3",
                       "f0", "f0", "f4", "f8", "f4", "f8"]
        for (k, flavor) in flavors.enumerated() { b.server("s\(k)", flavor: flavor, on: "h", nodes: nil) }
        let inventory = try b.build()
        let cloud = FakeCloud(inventory: inventory, configuration: .init(projectID: "p", token: "t", placement: .adversarial))
        let now = await cloud.currentInventory()
        #expect(now.servers.allSatisfy { $0.numaNodes != nil }, "\(now.servers.filter { $0.numaNodes == nil }.map(\.id))")
        var used = [Resources](repeating: .zero, count: 4)
        for s in now.servers {
            let f = now.flavors[s.flavor]!
            #expect(s.numaNodes?.count == f.numaNodes)
            for n in s.numaNodes ?? [] {
                used[n] = Resources(vcpus: used[n].vcpus + f.perNode.vcpus, memoryMiB: used[n].memoryMiB + f.perNode.memoryMiB)
            }
        }
        #expect(zip(used, capacity).allSatisfy { $0.vcpus <= $1.vcpus && $0.memoryMiB <= $1.memoryMiB }, "\(used)")
        // The program alone: nil where nothing fits.
        let f6 = try #require(inventory.flavors["f6"])
        #expect(DemandFit.someArrangement([f6, f6], free: [Resources(vcpus: 6, memoryMiB: 40000)]) == nil)
        #expect(DemandFit.someArrangement([f6, f6], free: [Resources(vcpus: 6, memoryMiB: 40000), Resources(vcpus: 7, memoryMiB: 30000)])
            .map { Set($0) } == [[0], [1]])
    }

    /// The search it falls back on (`DemandFit.worstFitArrangement`): all fit, each on its
    /// number of nodes; nil where nothing can.
    @Test func arrangementsFitOrAreNil() {
        let f7 = Flavor(name: "f7", resources: Resources(vcpus: 12, memoryMiB: 12288), numaNodes: 1)
        let f2 = Flavor(name: "f2", resources: Resources(vcpus: 4, memoryMiB: 4096), numaNodes: 2)
        let free = [Resources(vcpus: 6, memoryMiB: 90000), Resources(vcpus: 10, memoryMiB: 90000),
                    Resources(vcpus: 12, memoryMiB: 90000), Resources(vcpus: 8, memoryMiB: 90000)]
        let found = DemandFit.worstFitArrangement([f2, f7], free: free, maxSteps: 100_000)
        #expect(found?[1] == [2])
        #expect(found.map { $0[0].count == 2 && !$0[0].contains(2) } == true)
        #expect(DemandFit.worstFitArrangement([f7, f7], free: free, maxSteps: 100_000) == nil)
    }
}
