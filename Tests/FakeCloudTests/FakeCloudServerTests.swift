// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import FakeCloud
import Foundation
import TestSupport
import Testing
import Topology

/// The fake cloud over a real loopback socket, with URLSession as the client's transport.
@Suite(.serialized) struct FakeCloudServerTests {
    func start(faults: FaultInjection = FaultInjection()) async throws -> (FakeCloudServer, CloudClient, UInt16) {
        let inventory = try Inventory.load(path: Fixtures.sample("fragmented.json"))
        let cloud = FakeCloud(inventory: inventory, configuration: .init(projectID: "proj", token: "tok", jobSeconds: 0.2))
        let server = try FakeCloudServer(cloud: cloud, faults: faults)
        let port = try await server.start()
        let client = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:\(port)")!, projectID: "proj", credentials: .token("tok"),
            transport: URLSessionTransport(timeout: 5), retry: RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.05))
        return (server, client, port)
    }

    @Test func migrateOverLoopback() async throws {
        let (server, client, _) = try await start()
        defer { Task { await server.stop() } }
        #expect(try await client.dedicatedHosts().count == 6)
        guard case .accepted(let job) = try await client.migrate(serverID: "app-big", to: "deh-frag-b") else {
            Issue.record("not accepted")
            return
        }
        var status = ""
        for _ in 0..<50 {
            status = try await client.job(job).status
            if status == "SUCCESS" || status == "FAIL" { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(status == "SUCCESS")
        #expect(try await client.server("app-big").dedicatedHostID == "deh-frag-b")
        await server.stop()
    }

    @Test func refusesNonLoopbackAddresses() throws {
        let inventory = try Inventory.load(path: Fixtures.sample("fragmented.json"))
        let cloud = FakeCloud(inventory: inventory, configuration: .init(projectID: "p"))
        #expect(throws: CloudError.self) { try FakeCloudServer(cloud: cloud, host: "0.0.0.0") }
    }

    /// A dropped answer: the migration takes effect, the client sees no answer, reads the server
    /// and reports the migration in progress instead of sending it twice.
    @Test func droppedAnswerIsReconciled() async throws {
        let (server, client, port) = try await start(faults: FaultInjection(dropRate: 1, seed: 3))
        defer { Task { await server.stop() } }
        // With every answer dropped the reconciling GET is lost too: the client gives up, having sent one POST.
        await #expect(throws: CloudError.self) { try await client.migrate(serverID: "app-big", to: "deh-frag-b") }
        let response = try await URLSessionTransport().send(
            CloudAPI.HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(port)/_fake/stats")!))
        let stats = try JSON.parse(response.body)
        #expect(stats["migrations"]?["app-big"] == .number(1))  // executed once, never resent
        await server.stop()
    }
}
