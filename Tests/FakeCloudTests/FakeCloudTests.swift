// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import FakeCloud
import Foundation
import TestSupport
import Testing
import Topology

final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var t = Date(timeIntervalSince1970: 1_800_000_000)
    func now() -> Date { lock.withLock { t } }
    func advance(_ seconds: Double) { lock.withLock { t = t.addingTimeInterval(seconds) } }
}

/// An adversarially placing fake cloud on `clock`, with a client that reaches it in process
/// (project "p", token "t").
func adversarialCloud(_ inventory: Inventory, clock: TestClock) throws -> (FakeCloud, CloudClient) {
    let cloud = FakeCloud(
        inventory: inventory, configuration: .init(projectID: "p", token: "t", jobSeconds: 3, placement: .adversarial),
        now: { clock.now() })
    let client = try CloudClient(
        ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "p", credentials: .token("t"),
        transport: FakeCloudTransport(cloud), retry: RetryPolicy(maxAttempts: 3), sleep: { _ in })
    return (cloud, client)
}

@Suite struct FakeCloudTests {
    let clock = TestClock()

    func setUp(_ mutate: (inout [Server]) -> Void = { _ in }) throws -> (FakeCloud, CloudClient) {
        var inventory = try Inventory.load(path: Fixtures.sample("fragmented.json"))
        var servers = inventory.servers
        mutate(&servers)
        inventory = inventory.replacing(servers: servers)
        let clock = self.clock
        let cloud = FakeCloud(
            inventory: inventory,
            configuration: .init(projectID: "proj", token: "good-token", accessKey: "AK", secretKey: "SK", jobSeconds: 3),
            now: { clock.now() })
        let client = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "proj", credentials: .token("good-token"),
            transport: FakeCloudTransport(cloud), retry: RetryPolicy(maxAttempts: 2), sleep: { _ in })
        return (cloud, client)
    }

    func raw(_ cloud: FakeCloud, _ method: String, _ path: String, body: String? = nil, token: String = "good-token") async -> HTTPResponse {
        await cloud.handle(HTTPRequest(
            method: method, url: URL(string: "http://127.0.0.1:1\(path)")!, headers: ["X-Auth-Token": token],
            body: body.map { Array($0.utf8) }))
    }

    func code(_ response: HTTPResponse) -> String? {
        guard let doc = try? JSON.parse(response.body), case .string(let code)? = doc["error"]?["code"] else { return nil }
        return code
    }

    /// The HTTP status of the CloudError a call throws (nil when it succeeds or throws something else).
    func status(of call: () async throws -> WireServer) async -> Int? {
        do {
            _ = try await call()
            return nil
        } catch {
            return (error as? CloudError)?.status
        }
    }

    /// The documented failure: enough capacity in total, none on one NUMA node: the job fails.
    @Test func numaShortageFailsInTheJob() async throws {
        let (cloud, client) = try setUp()
        guard case .accepted(let jobID) = try await client.migrate(serverID: "app-big", to: "deh-frag-a") else {
            Issue.record("not accepted")
            return
        }
        #expect(try await client.server("app-big").status == "RESIZE")
        #expect(try await client.job(jobID).status == "INIT")
        clock.advance(1.5)
        #expect(try await client.job(jobID).status == "RUNNING")
        clock.advance(2)
        let job = try await client.job(jobID)
        #expect(job.status == "FAIL")
        #expect(job.error_code == "Ecs.0319")
        #expect(job.fail_reason?.contains("single NUMA node") == true)
        let server = try await client.server("app-big")
        #expect(server.status == "SHUTOFF")
        #expect(server.dedicatedHostID == "deh-src")
        #expect(await cloud.migrationCounts() == ["app-big": 1])
    }

    @Test func migrationSucceedsOnTheFittingHost() async throws {
        let (cloud, client) = try setUp()
        guard case .accepted(let jobID) = try await client.migrate(serverID: "app-big", to: "deh-frag-b") else {
            Issue.record("not accepted")
            return
        }
        clock.advance(3)
        #expect(try await client.job(jobID).status == "SUCCESS")
        let server = try await client.server("app-big")
        #expect(server.dedicatedHostID == "deh-frag-b")
        #expect(server.status == "SHUTOFF")
        let truth = await cloud.currentInventory()
        #expect(truth.server("app-big")?.numaNodes == [0])
        #expect(throws: Never.self) { _ = try Inventory.decode(truth.json()) }  // still a valid inventory
    }

    @Test func migrateErrorCodes() async throws {
        let (cloud, _) = try setUp { servers in
            let i = servers.firstIndex { $0.id == "web-small" }!
            let s = servers[i]
            servers[i] = Server(id: s.id, flavor: s.flavor, status: s.status, availabilityZone: s.availabilityZone,
                                dedicatedHostID: s.dedicatedHostID, numaNodes: s.numaNodes, locked: true)
        }
        let body = #"{"migrate": {"dedicated_host_id": "deh-frag-b"}}"#
        #expect(code(await raw(cloud, "POST", "/v1/proj/cloudservers/nope/migrate", body: body)) == "Ecs.0114")
        #expect(code(await raw(cloud, "POST", "/v1/proj/cloudservers/db-split/migrate", body: body)) == "Ecs.0100")
        #expect(code(await raw(cloud, "POST", "/v1/proj/cloudservers/web-small/migrate", body: body)) == "Ecs.0605")
        let same = #"{"migrate": {"dedicated_host_id": "deh-src"}}"#
        #expect(code(await raw(cloud, "POST", "/v1/proj/cloudservers/app-big/migrate", body: same)) == "Ecs.0221")
        let unknown = #"{"migrate": {"dedicated_host_id": "deh-zz"}}"#
        let bad = await raw(cloud, "POST", "/v1/proj/cloudservers/app-big/migrate", body: unknown)
        #expect(bad.status == 400)
        #expect(code(bad) == "Ecs.0005")
        let first = await raw(cloud, "POST", "/v1/proj/cloudservers/app-big/migrate", body: body)
        #expect(first.status == 200)
        let again = await raw(cloud, "POST", "/v1/proj/cloudservers/app-big/migrate", body: body)
        #expect(again.status == 501)
        #expect(code(again) == "Ecs.0603")
        #expect(await cloud.migrationCounts() == ["app-big": 1])
    }

    @Test(arguments: [#"{"migrate": null}"#, "{}", #"{"migrate": {}}"#])
    func threeSpellingsOfThePool(body: String) async throws {
        let (cloud, client) = try setUp()
        let response = await raw(cloud, "POST", "/v1/proj/cloudservers/app-big/migrate", body: body)
        #expect(response.status == 200)
        clock.advance(3)
        let server = try await client.server("app-big")
        #expect(server.dedicatedHostID == nil)
        #expect(server.status == "SHUTOFF")
    }

    @Test func authIsRequired() async throws {
        let (cloud, _) = try setUp()
        #expect((await raw(cloud, "GET", "/v1/proj/cloudservers/app-big", token: "bad")).status == 401)
        let signer = Signer(accessKey: "AK", secretKey: "SK")
        let clock = self.clock
        let good = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "proj", credentials: .accessKey(signer),
            transport: FakeCloudTransport(cloud), now: { clock.now() })
        #expect(try await good.server("app-big").id == "app-big")
        let wrong = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "proj",
            credentials: .accessKey(Signer(accessKey: "AK", secretKey: "not-SK")), transport: FakeCloudTransport(cloud),
            now: { clock.now() })
        let refused = await status(of: { try await wrong.server("app-big") })
        #expect(refused == 401)
        // A good signature made 20 minutes off the cloud's clock is refused (replays, skewed clocks).
        let stale = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "proj", credentials: .accessKey(signer),
            transport: FakeCloudTransport(cloud), retry: RetryPolicy(maxAttempts: 1), now: { clock.now().addingTimeInterval(-20 * 60) })
        #expect(await status(of: { try await stale.server("app-big") }) == 401)
        let skewed = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "proj", credentials: .accessKey(signer),
            transport: FakeCloudTransport(cloud), retry: RetryPolicy(maxAttempts: 1), now: { clock.now().addingTimeInterval(10 * 60) })
        #expect(try await skewed.server("app-big").id == "app-big", "within 15 minutes")
    }

    @Test func listingsArePagedAsTheRealAPI() async throws {
        let (_, client) = try setUp()
        let hosts = try await client.dedicatedHosts(pageSize: 4)
        #expect(hosts.map(\.dedicated_host_id) == ["deh-src", "deh-frag-a", "deh-frag-b", "deh-full", "deh-murky", "deh-far"])
        #expect(hosts.first { $0.dedicated_host_id == "deh-frag-a" }?.available_vcpus == 20)
        let servers = try await client.servers(pageSize: 5)
        #expect(servers.count == 23)
        #expect(Set(servers.map(\.id)).count == 23)
        let detail = try await client.dedicatedHost("deh-frag-b")
        #expect(detail.instance_uuids?.count == 4)
    }
}
