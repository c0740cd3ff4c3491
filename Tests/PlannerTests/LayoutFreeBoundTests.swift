// SPDX-License-Identifier: GPL-3.0-or-later

import Generator
import GLPK
@testable import Planner
import TestSupport
import Testing
import Topology

/// Under `--cloud-placement any` the exact verdict admits arrivals on hosts with servers of
/// unknown layout that the worst case per node refuses, so a bound from models on worst-case
/// rooms is no bound there. Under `any` the bound comes from volume on exact free totals and
/// from the pattern model on rooms that count only servers of known layout per node.
@Suite struct LayoutFreeBoundTests {
    /// Big hosts: 2 nodes of 16 vCPUs / 16 GiB; small hosts: 1 node of 8 / 8. H1 holds u (12 /
    /// 12, layout unknown, running: it stays). Counted on both nodes, u leaves 4 free on each
    /// and H1 takes no x (8 / 8); in truth one node is free, and two x fit there whatever node
    /// u is on. Evacuating: x1 and x2 on E, S1 and S2 empty. Consolidating: x1 on S1, x2 on S2.
    static func inventory(evacuating: Bool) throws -> Inventory {
        var b = InventoryBuilder()
        b.flavor("u", vcpus: 12, memory: 12288)
        b.flavor("x", vcpus: 8, memory: 8192)
        b.hostType("big", nodes: 2, vcpus: 16, memory: 16384, flavors: ["u", "x"])
        b.hostType("small", nodes: 1, vcpus: 8, memory: 8192, flavors: ["x"])
        b.host("H1", type: "big")
        b.host("S1", type: "small")
        b.host("S2", type: "small")
        b.server("u", flavor: "u", on: "H1", nodes: nil, status: "ACTIVE")
        if evacuating {
            b.host("E", type: "big")
            b.server("x1", flavor: "x", on: "E", nodes: [0])
            b.server("x2", flavor: "x", on: "E", nodes: [1])
        } else {
            b.server("x1", flavor: "x", on: "S1", nodes: [0])
            b.server("x2", flavor: "x", on: "S2", nodes: [0])
        }
        return try b.build()
    }

    /// Both x onto H1: valid under `any`, so one host is the optimum there.
    static func ontoH1(from: [String]) -> [Move] {
        [Move(serverID: "x1", from: from[0], to: "H1", numaNodes: [1]), Move(serverID: "x2", from: from[1], to: "H1", numaNodes: [1])]
    }

    /// The bound of the sub-problem under `any`, unclamped by the plan's value.
    static func layoutFreeBound(_ inv: Inventory, _ options: PlanOptions, mustMove: Bool, evacuated: Set<Int>) throws -> Double {
        let planner = BatchPlanner(inv)
        let movers = inv.servers.indices.filter { inv.servers[$0].isStopped }
        let sub = planner.buildSubProblem(zones: ["az1"], movers: movers, mustMove: mustMove, evacuated: evacuated, excluded: [],
                                          options: options)
        let outcome = planner.solve(sub, options: options, timeLimit: 2)
        let slack = try #require(outcome.layoutFreeSlack)
        return sub.levels(outcome.decisions, objective: options.effectiveObjective, inventory: inv).primary - slack
    }

    @Test func evacuationBoundStaysAtOrBelowWhatAnyAdmits() throws {
        let inv = try Self.inventory(evacuating: true)
        let any = PlanOptions(mode: .evacuate(["E"]), timeLimit: 2, placement: .any)
        #expect(PlanValidator.violations(of: Self.ontoH1(from: ["E", "E"]), on: inv, options: any.checkerOptions) == [])
        // The worst case per node needs both small hosts: its bound (2) is above what `any` admits.
        let planned = try BatchPlanner(inv).plan(PlanOptions(mode: .evacuate(["E"]), timeLimit: 2, placement: .planned))
        #expect(planned.objectiveValue == 2 && planned.objectiveBound == 2)
        let e = try #require(inv.hostIndex["E"])
        #expect(try Self.layoutFreeBound(inv, any, mustMove: true, evacuated: [e]) <= 1 + 1e-9)
        // The pattern model's own bound: 2 on worst-case rooms, 1 on rooms of known layouts.
        let planner = BatchPlanner(inv)
        let sub = planner.buildSubProblem(zones: ["az1"], movers: [inv.serverIndex["x1"]!, inv.serverIndex["x2"]!], mustMove: true,
                                          evacuated: [e], excluded: [], options: any)
        let start = [[Decision.host(try #require(sub.local[inv.hostIndex["S1"]!]), [0]),
                      .host(try #require(sub.local[inv.hostIndex["S2"]!]), [0])]]
        for (layoutFree, expected) in [(false, 2), (true, 1)] {
            let shapes = try #require(ShapePatterns(sub, options: any, planner: planner, rooms: layoutFree ? .knownLayouts : .judged))
            let found = shapes.solve(start: start, deadline: monotonicSeconds() + 2, searchPlans: false)
            #expect(found?.bound == expected, "layoutFree \(layoutFree)")
        }
        let plan = try BatchPlanner(inv).plan(any)
        let bound = try #require(plan.objectiveBound)
        #expect(bound >= 1 - 1e-9 && bound <= plan.objectiveValue + 1e-9)
        #expect(IndependentValidator.check(plan, inventory: inv).isEmpty)
    }

    @Test func consolidationIsProvenWhereTheWorstCaseWouldNotAdmitIt() throws {
        let inv = try Self.inventory(evacuating: false)
        let any = PlanOptions(mode: .consolidate, timeLimit: 2, placement: .any)
        #expect(PlanValidator.violations(of: Self.ontoH1(from: ["S1", "S2"]), on: inv, options: any.checkerOptions) == [])
        let planned = try BatchPlanner(inv).plan(PlanOptions(mode: .consolidate, timeLimit: 2, placement: .planned))
        #expect(planned.objectiveValue == 3 && planned.status == .optimal)  // worst case: nothing moves
        #expect(try Self.layoutFreeBound(inv, any, mustMove: false, evacuated: []) <= 1 + 1e-9)
        // The exact verdict empties S1 and S2 onto H1, and the bound proves it.
        let plan = try BatchPlanner(inv).plan(any)
        #expect(plan.objectiveValue == 1 && plan.objectiveBound == 1 && plan.status == .optimal, "\(plan.notes)")
        #expect(IndependentValidator.check(plan, inventory: inv).isEmpty)
    }

    /// Generated mixed fleets with servers of unknown layout (not shaped for this): under `any`
    /// every consolidation and evacuation ends with a bound, never above its value nor above the
    /// optimum of the relaxation the bound models (`planned` nodes, known layouts alone), where
    /// that optimum is proven.
    @Test(arguments: [UInt64(1), 2, 3])
    func generatedFleetsGetABoundUnderAny(seed: UInt64) throws {
        let inventory = InventoryGenerator.generate(.init(
            seed: 4_200 + seed, hosts: 60, servers: 260, availabilityZones: ["az1"],
            unknownLayoutFraction: 0.15, shutoffFraction: 0.8, faultFraction: 0, antiAffinityGroups: 0,
            hostTypeNames: ["c6", "m6", "h4"], maxFill: 0.6))
        #expect(inventory.servers.contains { $0.numaNodes == nil && !$0.isStopped })
        let sources = inventory.hosts.indices.filter { $0 % 10 == 3 }.map { inventory.hosts[$0].id }
        for mode in [PlanMode.consolidate, .evacuate(sources)] {
            let planner = BatchPlanner(inventory)
            let plan = try planner.plan(PlanOptions(mode: mode, timeLimit: 2, placement: .any))
            let bound = try #require(plan.objectiveBound, "\(mode): \(plan.notes)")
            #expect(bound <= plan.objectiveValue + 1e-9)
            #expect(IndependentValidator.check(plan, inventory: inventory).isEmpty)
            let relaxed = try planner.plan(PlanOptions(mode: mode, timeLimit: 4, layoutPolicy: .possible, placement: .planned))
            if relaxed.status == .optimal { #expect(bound <= relaxed.objectiveValue + 1e-9, "\(mode)") }
        }
    }
}
