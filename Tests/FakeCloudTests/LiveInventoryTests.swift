// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import FakeCloud
import Foundation
import TestSupport
import Testing
import Topology

@Suite struct LiveInventoryTests {
    /// The fragmented sample, and a client of a fake cloud seeded with it (in-process).
    func fragmentedCloud() throws -> (Inventory, CloudClient) {
        let original = try Inventory.load(path: Fixtures.sample("fragmented.json"))
        let cloud = FakeCloud(inventory: original, configuration: .init(projectID: "proj", token: "t"))
        let client = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "proj", credentials: .token("t"),
            transport: FakeCloudTransport(cloud))
        return (original, client)
    }

    /// Reading the fake cloud back gives the same hosts, types, flavors and placements, with
    /// layouts unknown (as the real API hides them), and a valid inventory.
    @Test func roundTripThroughTheAPI() async throws {
        let (original, client) = try fragmentedCloud()
        let live = try await LiveInventory.fetch(client)
        #expect(live.hosts.map(\.id) == original.hosts.map(\.id))
        #expect(live.hostTypes["c6"]?.numaNodes == original.hostTypes["c6"]?.numaNodes)
        #expect(Set(live.hostTypes["c6"]?.flavors ?? []) == Set(original.hostTypes["c6"]?.flavors ?? []))
        #expect(live.flavors["c6.8xlarge.4"]?.numaNodes == 2)
        for server in original.servers {
            let mirror = try #require(live.server(server.id))
            #expect(mirror.dedicatedHostID == server.dedicatedHostID)
            #expect(mirror.status == server.status)
            #expect(mirror.flavor == server.flavor)
            #expect(mirror.numaNodes == nil)
        }
        #expect(throws: Never.self) { _ = try Inventory.decode(live.json()) }
    }

    @Test func exactHostTypeCapacitiesOverrideTheEvenSplit() async throws {
        let (_, client) = try fragmentedCloud()
        let exact = [Resources(vcpus: 30, memoryMiB: 131072), Resources(vcpus: 34, memoryMiB: 131072)]
        let live = try await LiveInventory.fetch(client, hostTypes: ["c6": exact])
        #expect(live.hostTypes["c6"]?.numaNodes == exact)
    }
}

@Suite struct IAMTests {
    @Test func passwordAuthenticationReturnsTheSubjectToken() async throws {
        let inventory = try Inventory.load(path: Fixtures.sample("fragmented.json"))
        var configuration = FakeCloud.Configuration(projectID: "proj", token: "issued-token")
        configuration.user = "ops"
        configuration.password = "pw-secret"
        let cloud = FakeCloud(inventory: inventory, configuration: configuration)
        let iam = URL(string: "http://127.0.0.1:1/v3")!
        let token = try await IAM.token(
            endpoint: iam, user: "ops", password: "pw-secret", domain: "ops", projectID: "proj", transport: FakeCloudTransport(cloud))
        #expect(token == "issued-token")
        do {
            _ = try await IAM.token(
                endpoint: iam, user: "ops", password: "wrong", domain: "ops", projectID: "proj", transport: FakeCloudTransport(cloud))
            Issue.record("a wrong password must be refused")
        } catch {
            #expect(error.status == 401)
            #expect(!error.description.contains("wrong"))
        }
    }
}

@Suite struct ServersOnHostTests {
    @Test func serversOnAHostArePagedByMarker() async throws {
        let cloud = FakeCloud(inventory: try Inventory.load(path: Fixtures.sample("fragmented.json")), configuration: .init(projectID: "p", token: "t"))
        let client = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "p", credentials: .token("t"), transport: FakeCloudTransport(cloud))
        let servers = try await client.serversOnHost("deh-frag-a", pageSize: 4)
        #expect(servers.map(\.id) == ["a-big-0", "a-mid-0", "a-small-0", "a-big-1", "a-mid-1", "a-small-1"])
        #expect(servers[0].flavor.id == "c6.4xlarge.4")
    }
}
