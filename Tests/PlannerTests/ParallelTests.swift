// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
@testable import Planner
import Synchronization
import TestSupport
import Testing
import Topology

/// Work run on several threads: `inParallel`, `SpareCores`, the sub-problems' lanes, and plans
/// whose sub-problems (zones) are solved at once.
@Suite struct ParallelTests {
    @Test func lanesDealTheLargestFirstAndLeaveNoLaneEmpty() {
        // 0 (5) to the first lane, 2 and 3 (3 each) to the second, 1 (1) to the first (5 < 6),
        // then the empty items to the lane with fewer items at equal load; the largest first.
        #expect(BatchPlanner.lanes([5, 1, 3, 3, 0, 0], count: 2) == [[0, 1, 4], [2, 3, 5]])
        #expect(BatchPlanner.lanes([5, 1, 3], count: 1) == [[0, 1, 2]])
        #expect(BatchPlanner.lanes([5, 1, 3], count: 8) == [[0], [2], [1]])
        #expect(BatchPlanner.lanes([0, 0, 0], count: 3) == [[0], [1], [2]])
        #expect(BatchPlanner.lanes([7], count: 0) == [[0]])
        #expect(BatchPlanner.lanes([], count: 2) == [])
        for count in 1...5 {
            let sizes = (0..<23).map { ($0 * 7919) % 13 }
            let lanes = BatchPlanner.lanes(sizes, count: count)
            #expect(lanes.count == min(count, sizes.count))
            #expect(lanes.flatMap { $0 }.sorted() == Array(sizes.indices))
            #expect(lanes.allSatisfy { !$0.isEmpty && $0 == $0.sorted() })
        }
    }

    @Test func cgroupQuotasAreWholeCores() {
        #expect(cgroupCPULimit(cpuMax: "max 100000\n") == nil)
        #expect(cgroupCPULimit(cpuMax: "-1 100000") == nil)
        #expect(cgroupCPULimit(cpuMax: "50000 100000") == 1)
        #expect(cgroupCPULimit(cpuMax: "100000 100000\n") == 1)
        #expect(cgroupCPULimit(cpuMax: "150000 100000") == 2)
        #expect(cgroupCPULimit(cpuMax: "400000 100000") == 4)
        #expect(cgroupCPULimit(cpuMax: "") == nil)
        #expect(cgroupCPULimit(cpuMax: "100000") == nil)
        // cgroup v1's two files as read, each ending in a newline, joined by a space.
        #expect(cgroupCPULimit(cpuMax: "200000\n" + " " + "100000\n") == 2)
        #expect(cgroupCPULimit(cpuMax: "-1\n" + " " + "100000\n") == nil)
        #expect(processorCount >= 1 && processorCount <= ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test func affinityMasksCountTheirCPUs() {
        #expect(allowedCPUs(status: "Name:\tdehplan\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n") == 2)
        #expect(allowedCPUs(status: "Cpus_allowed:\t1\n") == 1)
        #expect(allowedCPUs(status: "Cpus_allowed:\tffffffff,00000005\n") == 34)
        #expect(allowedCPUs(status: "Name:\tdehplan\n") == nil)
        #expect(allowedCPUs(status: "Cpus_allowed:\tzz\n") == nil)
    }

    @Test func inParallelRunsEveryIndexOnceAndGivesItsCoresBack() {
        let runs = Mutex([Int](repeating: 0, count: 40 * 6))
        inParallel(40) { k in
            // Nested: takes only the cores left to spare, or runs on this thread.
            inParallel(6) { j in
                runs.withLock { $0[k * 6 + j] += 1 }
            }
        }
        #expect(runs.withLock { $0 } == Array(repeating: 1, count: 40 * 6))
        inParallel(0) { _ in Issue.record("no index to run") }
        // Never more spare cores than the machine has beside the calling thread (a thread that
        // gave its core back twice would make more). Other tests may hold some meanwhile.
        let spare = SpareCores.take(upTo: 10_000)
        SpareCores.give(spare)
        #expect(spare <= max(0, processorCount - 1))
    }

    /// Two zones, each of hosts holding one server: every zone consolidates onto one host, and
    /// the plan, its sub-problems solved at once on two threads (and on one), keeps one host in
    /// each and moves no server out of its zone. The zone with more servers is dealt first, so a mix-up of the outcomes
    /// of the two sub-problems would show.
    @Test func zonesSolvedAtOnceEachKeepTheirOwnPlan() throws {
        var b = InventoryBuilder()
        b.flavor("s", vcpus: 4, memory: 16384)
        b.flavor("m", vcpus: 8, memory: 32768)
        b.hostType("t", nodes: 2, vcpus: 16, memory: 65536, flavors: ["s", "m"])
        for k in 0..<4 {
            b.host("a\(k)", type: "t", az: "az1")
            b.server("ma\(k)", flavor: "m", on: "a\(k)", nodes: [0], az: "az1")
        }
        for k in 0..<6 {
            b.host("b\(k)", type: "t", az: "az2")
            b.server("sb\(k)", flavor: "s", on: "b\(k)", nodes: [k % 2], az: "az2")
        }
        let inventory = try b.build()
        for (placement, threads) in [(CloudPlacement.any, 2), (.planned, 2), (.any, 1)] {
            let options = PlanOptions(mode: .consolidate, timeLimit: 10, placement: placement)
            var planner = BatchPlanner(inventory)
            planner.subProblemThreads = threads
            let plan = try planner.plan(options)
            #expect(IndependentValidator.check(plan, inventory: inventory) == [])
            #expect(plan.unplaced.isEmpty)
            var on: [String: String] = [:]
            for s in inventory.servers { on[s.id] = s.dedicatedHostID }
            for m in plan.moves {
                on[m.serverID] = m.to
                #expect(m.to.map { $0.first == m.serverID.dropFirst().first } ?? false, "\(m.serverID) left its zone")
            }
            let used = Set(on.values)
            #expect(used.filter { $0.hasPrefix("a") }.count == 1, "\(placement): \(used.sorted())")
            #expect(used.filter { $0.hasPrefix("b") }.count == 1, "\(placement): \(used.sorted())")
        }
    }
}
