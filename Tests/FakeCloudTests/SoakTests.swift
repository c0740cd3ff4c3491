// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Executor
import FakeCloud
import Foundation
import Planner
import TestSupport
import Testing
import Topology

/// Hundreds of migrations through injected faults: 10 % throttling, 5 % server errors, 5 %
/// dropped answers, 5 % failed jobs. Afterwards every server is on its planned target or
/// reported failed, no server was migrated twice, and the journal agrees with the cloud.
@Suite struct SoakTests {
    @Test func faultInjectedRunKeepsItsPromises() async throws {
        let inventory = InventoryGenerator.generate(.init(
            seed: 77, hosts: 120, servers: 600, availabilityZones: ["az1"], unknownLayoutFraction: 0, shutoffFraction: 1,
            faultFraction: 0, antiAffinityGroups: 0, hostTypeNames: ["c6", "m6"], maxFill: 0.4))
        // Evacuate hosts until at least 200 servers must move.
        var sources: [String] = []
        var count = 0
        for host in inventory.hosts where count < 200 {
            sources.append(host.id)
            count += inventory.servers.filter { $0.dedicatedHostID == host.id }.count
        }
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .evacuate(sources), timeLimit: 3))
        try #require(plan.moves.count >= 200, "only \(plan.moves.count) moves")

        let clock = TestClock()
        let cloud = FakeCloud(
            inventory: inventory, configuration: .init(projectID: "p", token: "t", jobSeconds: 4, failRate: 0.05, seed: 9),
            now: { clock.now() })
        let transport = FakeCloudTransport(cloud, faults: FaultInjection(throttleRate: 0.10, errorRate: 0.05, dropRate: 0.05, seed: 11))
        let client = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "p", credentials: .token("t"), transport: transport,
            retry: RetryPolicy(maxAttempts: 12, baseDelay: 0.01, maxDelay: 0.05), sleep: { _ in })
        let journalPath = Fixtures.temporaryFile("", name: "soak.jsonl")
        let applier = Applier(
            client: client, inventory: inventory, journal: try Journal(path: journalPath),
            options: ApplyOptions(maxParallel: 8, keepGoing: true, jobTimeout: 600, pollInterval: 1),
            sleep: { clock.advance($0) }, clock: { clock.now() })
        let results = try await applier.apply(plan.moves)

        let truth = await cloud.currentInventory()
        let stats = await cloud.migrationCounts()
        var last: [String: JournalRecord] = [:]
        for record in try Journal.read(path: journalPath) { last[record.serverID] = record }
        #expect(results.count == plan.moves.count)
        #expect(stats.values.allSatisfy { $0 == 1 }, "migrated twice: \(stats.filter { $0.value > 1 })")
        var failed = 0
        for (move, result) in zip(plan.moves, results) {
            let host = truth.server(move.serverID)?.dedicatedHostID
            switch result.status {
            case .succeeded:
                #expect(host == move.to, "\(move.serverID) reported done but is on \(host ?? "pool")")
                #expect(last[move.serverID]?.event == .succeeded)
            case .failed, .skipped:
                failed += 1
                #expect(host == move.from, "\(move.serverID) reported \(result.status) but is on \(host ?? "pool")")
                #expect(last[move.serverID]?.event == (result.status == .failed ? .failed : .skipped))
            }
        }
        // About 5 % of jobs fail by injection; the rest succeed despite throttling, errors and drops.
        #expect(failed > 0)
        #expect(failed < plan.moves.count / 5)
    }
}
