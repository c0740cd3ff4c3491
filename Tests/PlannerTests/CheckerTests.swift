// SPDX-License-Identifier: GPL-3.0-or-later

import Planner
import TestSupport
import Testing
import Topology

/// Every reason code of `check`, from inventories built in code.
@Suite struct CheckerTests {
    /// Two c6 hosts (2 × 32 vCPUs / 131072 MiB) in az1, one in az2, a fault host, an h4 host that
    /// accepts only small flavors; "mover" (16 vCPUs) on deh-src.
    func inventory(_ extra: (inout InventoryBuilder) -> Void = { _ in }) throws -> Inventory {
        var b = InventoryBuilder()
        b.flavor("small", vcpus: 4, memory: 16384)
        b.flavor("big", vcpus: 16, memory: 65536)
        b.flavor("split", vcpus: 32, memory: 131072, nodes: 2)
        b.hostType("c6", nodes: 2, vcpus: 32, memory: 131072, flavors: ["small", "big", "split"])
        b.hostType("h4", nodes: 4, vcpus: 24, memory: 98304, flavors: ["small"])
        b.host("deh-src", type: "c6")
        b.host("deh-a", type: "c6")
        b.host("deh-far", type: "c6", az: "az2")
        b.host("deh-broken", type: "c6", state: .fault)
        b.host("deh-h4", type: "h4")
        b.server("mover", flavor: "big", on: "deh-src", nodes: [0])
        extra(&b)
        return try b.build()
    }

    func codes(_ check: MoveCheck) -> [String] { check.reasons.map(\.code.rawValue) }

    @Test func feasibleMoveReportsNodesAndLeftover() throws {
        let check = Checker(try inventory()).check(serverID: "mover", target: .host("deh-a"))
        #expect(check.feasible)
        #expect(check.numaNodes == [0])
        #expect(check.fit?.leftover == [Resources(vcpus: 16, memoryMiB: 65536)])
        #expect(check.reasons.isEmpty)
        #expect(check.verdict == .certain)
    }

    @Test func serverNotFoundSuggestsAName() throws {
        let check = Checker(try inventory()).check(serverID: "movr", target: .host("deh-a"))
        #expect(codes(check) == ["SERVER_NOT_FOUND"])
        #expect(check.reasons[0].message.contains(#"did you mean "mover"?"#))
    }

    @Test func serverLevelReasonsAreAllReported() throws {
        let inv = try inventory { $0.server("busy", flavor: "small", on: "deh-src", nodes: [1], status: "ACTIVE", locked: true, taskState: "resize_prep") }
        let check = Checker(inv).check(serverID: "busy", target: .host("deh-a"))
        #expect(codes(check) == ["SERVER_NOT_STOPPED", "SERVER_LOCKED", "SERVER_BUSY"])
        #expect(!check.feasible)
        let assumed = Checker(inv).check(serverID: "busy", target: .host("deh-a"), options: .init(assumeStopped: true))
        #expect(assumed.feasible)
    }

    @Test func targetReasons() throws {
        let checker = Checker(try inventory())
        #expect(codes(checker.check(serverID: "mover", target: .host("deh-zz"))) == ["TARGET_NOT_FOUND"])
        #expect(codes(checker.check(serverID: "mover", target: .host("deh-broken"))) == ["TARGET_NOT_AVAILABLE"])
        #expect(codes(checker.check(serverID: "mover", target: .host("deh-src"))) == ["SAME_HOST"])
        #expect(codes(checker.check(serverID: "mover", target: .host("deh-far"))) == ["AZ_MISMATCH"])
        #expect(codes(checker.check(serverID: "mover", target: .host("deh-h4"))) == ["FLAVOR_NOT_SUPPORTED"])
    }

    @Test func poolMoves() throws {
        let inv = try inventory { $0.server("pooled", flavor: "small", on: nil, nodes: nil) }
        let checker = Checker(inv)
        let toPool = checker.check(serverID: "mover", target: .pool)
        #expect(toPool.feasible)
        #expect(toPool.numaNodes == nil)
        #expect(codes(checker.check(serverID: "pooled", target: .pool)) == ["NOT_A_DEH_MIGRATION"])
        #expect(checker.check(serverID: "pooled", target: .host("deh-a")).feasible)
    }

    @Test func antiAffinityNamesTheMember() throws {
        var b = InventoryBuilder()
        b.flavor("small", vcpus: 4, memory: 16384)
        b.hostType("c6", nodes: 2, vcpus: 32, memory: 131072, flavors: ["small"])
        b.host("h1", type: "c6")
        b.host("h2", type: "c6")
        b.server("s1", flavor: "small", on: "h1", nodes: [0])
        b.server("s2", flavor: "small", on: "h2", nodes: [0])
        b.groups = [ServerGroup(id: "g", members: ["s1", "s2"])]
        let check = Checker(try b.build()).check(serverID: "s1", target: .host("h2"))
        #expect(codes(check) == ["ANTI_AFFINITY"])
        #expect(check.reasons[0].message == #"anti-affinity group "g" already has s2 on "h2""#)
    }

    /// The central case: enough in total, not on one node.
    @Test func numaShortageVersusTotalShortage() throws {
        let inv = try inventory { b in
            // deh-a: 22 vCPUs used per node → 10 free per node, 20 in total.
            for n in 0..<2 {
                b.server("fill-big-\(n)", flavor: "big", on: "deh-a", nodes: [n])
                b.server("fill-small-\(n)", flavor: "small", on: "deh-a", nodes: [n])
            }
            b.flavor("two", vcpus: 2, memory: 4096)
            b.hostTypes[0] = HostType(name: "c6", numaNodes: b.hostTypes[0].numaNodes, flavors: ["small", "big", "split", "two"])
            for n in 0..<2 { b.server("fill-two-\(n)", flavor: "two", on: "deh-a", nodes: [n]) }
            // deh-far-ish: use deh-broken's twin in az1 that is nearly full.
            b.host("deh-full", type: "c6")
            for n in 0..<2 {
                b.server("full-big-\(n)", flavor: "big", on: "deh-full", nodes: [n])
                b.server("full-split-\(n)", flavor: "small", on: "deh-full", nodes: [n])
                b.server("full-s2-\(n)", flavor: "small", on: "deh-full", nodes: [n])
                b.server("full-s3-\(n)", flavor: "small", on: "deh-full", nodes: [n])
            }
        }
        let checker = Checker(inv)
        let numa = checker.check(serverID: "mover", target: .host("deh-a"))
        #expect(codes(numa) == ["INSUFFICIENT_NUMA_CAPACITY"])
        #expect(numa.reasons[0].message.contains("20 vCPUs / 90112 MiB free in total"))
        #expect(numa.reasons[0].message.contains("node 0: 10 vCPUs / 45056 MiB, node 1: 10 vCPUs / 45056 MiB"))
        let total = checker.check(serverID: "mover", target: .host("deh-full"))
        #expect(codes(total) == ["INSUFFICIENT_CAPACITY"])
        #expect(total.reasons[0].message.contains("has only 8 vCPUs / 32768 MiB free in total"))
    }

    @Test func splitFlavorNeedsKNodes() throws {
        let inv = try inventory { b in
            b.server("splitter", flavor: "split", on: "deh-src", nodes: [0, 1])
            b.server("a0", flavor: "big", on: "deh-a", nodes: [0])
            b.server("a0b", flavor: "small", on: "deh-a", nodes: [0])
        }
        // deh-a: node 0 has 12 free, node 1 has 32: 44 in total, but the split needs 16 on two nodes.
        let check = Checker(inv).check(serverID: "splitter", target: .host("deh-a"))
        #expect(codes(check) == ["INSUFFICIENT_NUMA_CAPACITY"])
        #expect(check.reasons[0].message.contains("fewer than 2 NUMA nodes have 16 vCPUs / 65536 MiB free each (only node 1)"))
    }

    @Test func unknownLayoutUnderBothPolicies() throws {
        // deh-a: node 0 has 16 free, node 1 has 8 free, plus one 8-vCPU server of unknown layout.
        // If it sits on node 1, "mover" fits on node 0; if on node 0, nothing fits.
        let inv = try inventory { b in
            b.flavor("mid", vcpus: 8, memory: 32768)
            b.hostTypes[0] = HostType(name: "c6", numaNodes: b.hostTypes[0].numaNodes, flavors: ["small", "big", "split", "mid"])
            b.server("k0", flavor: "big", on: "deh-a", nodes: [0])
            b.server("k1", flavor: "big", on: "deh-a", nodes: [1])
            b.server("k1b", flavor: "mid", on: "deh-a", nodes: [1])
            b.server("unknown", flavor: "mid", on: "deh-a", nodes: nil)
        }
        let checker = Checker(inv)
        let certain = checker.check(serverID: "mover", target: .host("deh-a"))
        #expect(codes(certain) == ["NUMA_LAYOUT_UNKNOWN"])
        #expect(certain.verdict == .possible)
        #expect(!certain.layoutKnown)
        let possible = checker.check(serverID: "mover", target: .host("deh-a"), options: .init(layoutPolicy: .possible, placement: .planned))
        #expect(possible.feasible)
        // Under `any` the cloud picks the nodes: a possible fit is never enough.
        let any = checker.check(serverID: "mover", target: .host("deh-a"), options: .init(layoutPolicy: .possible, placement: .any))
        #expect(codes(any) == ["NUMA_LAYOUT_UNKNOWN"])
        #expect(possible.numaNodes == [0])
        #expect(possible.verdict == .possible)
    }

    @Test func unknownLayoutThatCannotMatterIsCertain() throws {
        // One 4-vCPU server of unknown layout cannot stop a 16-vCPU fit on an otherwise empty host.
        let inv = try inventory { $0.server("u", flavor: "small", on: "deh-a", nodes: nil) }
        let check = Checker(inv).check(serverID: "mover", target: .host("deh-a"))
        #expect(check.feasible)
        #expect(check.verdict == .certain)
        #expect(!check.layoutKnown)
    }

    @Test func targetsRankBestFitFirstAndPoolLast() throws {
        let inv = try inventory { b in
            b.host("deh-tight", type: "c6")
            b.server("t0", flavor: "big", on: "deh-tight", nodes: [0])
        }
        let list = Checker(inv).targets(serverID: "mover")
        #expect(list.targets.map(\.target) == [.host("deh-tight"), .host("deh-a"), .pool])
        #expect(list.targets[0].fit?.nodes == [0])
        #expect(list.fittingHosts == 2)
        #expect(list.rejected == [.sameHost: 1, .azMismatch: 1, .targetNotAvailable: 1, .flavorNotSupported: 1])
        let limited = Checker(inv).targets(serverID: "mover", limit: 1)
        #expect(limited.targets.map(\.target) == [.host("deh-tight"), .pool])
        #expect(limited.fittingHosts == 2)
    }

    @Test func targetsOfABlockedServerAreEmpty() throws {
        let inv = try inventory { $0.server("on", flavor: "small", on: "deh-src", nodes: [1], status: "ACTIVE") }
        let list = Checker(inv).targets(serverID: "on")
        #expect(list.targets.isEmpty)
        #expect(list.serverReasons.map(\.code) == [.serverNotStopped])
    }
}
