// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Executor
import FakeCloud
import Foundation
import Planner
import TestSupport
import Testing
import Topology

/// Passes requests to the fake cloud, records their paths and lets a test change an answer.
struct RecordingTransport: HTTPTransport {
    actor Log {
        var paths: [String] = []
        func add(_ path: String) { paths.append(path) }
    }
    let inner: FakeCloudTransport
    let log = Log()
    let rewrite: @Sendable (HTTPRequest, HTTPResponse) -> HTTPResponse

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        await log.add(request.url.path)
        return rewrite(request, try await inner.send(request))
    }
}

/// The live re-check reads a target's residents from the host's server list, one request per
/// 100, and reads a resident on its own only where the list cannot stand for it; whatever the
/// list leaves out, every resident counts.
@Suite struct RecheckReadsTests {
    let clock = TestClock()

    /// How the test changes the cloud's answers about deh-full.
    enum Change: String, CaseIterable, Sendable {
        case none
        /// The server list of deh-full is empty (the details still name every resident).
        case listEmpty
        /// The details name no resident (the list still names them all).
        case detailsEmpty
        /// The list gives flavor ids that are not flavor names.
        case flavorIDs
        /// The list is refused (403).
        case listRefused
    }

    static let listPath = "/v1.0/proj/dedicated-hosts/deh-full/servers"
    static let detailsPath = "/v1.0/proj/dedicated-hosts/deh-full"

    static func rewrite(_ change: Change) -> @Sendable (HTTPRequest, HTTPResponse) -> HTTPResponse {
        { request, response in
            let path = request.url.path
            func edited(_ body: (inout [String: Any]) -> Void) -> HTTPResponse {
                guard var json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] else {
                    return response
                }
                body(&json)
                let data = try! JSONSerialization.data(withJSONObject: json)
                return HTTPResponse(status: response.status, headers: response.headers, body: Array(data))
            }
            switch change {
            case .none: return response
            case .listEmpty where path == listPath:
                return edited { $0["servers"] = [Any]() }
            case .detailsEmpty where path == detailsPath:
                return edited { json in
                    var host = json["dedicated_host"] as! [String: Any]
                    host["instance_uuids"] = [String]()
                    json["dedicated_host"] = host
                }
            case .flavorIDs where path == listPath:
                return edited { json in
                    json["servers"] = (json["servers"] as! [[String: Any]]).map { s in
                        var s = s
                        s["flavor"] = ["id": "0c2f-\(s["id"]!)"]
                        return s
                    }
                }
            case .listRefused where path == listPath:
                let body = #"{"error": {"code": "Pdp.0001", "message": "policy does not allow the action"}}"#
                return HTTPResponse(status: 403, headers: ["Content-Type": "application/json"], body: Array(body.utf8))
            default: return response
            }
        }
    }

    func run(_ move: Move, change: Change) async throws -> (MoveResult, [String], FakeCloud) {
        let inventory = try Inventory.load(path: Fixtures.sample("fragmented.json"))
        let clock = self.clock
        let cloud = FakeCloud(
            inventory: inventory, configuration: .init(projectID: "proj", token: "t", jobSeconds: 6), now: { clock.now() })
        let transport = RecordingTransport(inner: FakeCloudTransport(cloud), rewrite: Self.rewrite(change))
        let client = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "proj", credentials: .token("t"),
            transport: transport, retry: RetryPolicy(maxAttempts: 3), sleep: { _ in })
        let applier = Applier(
            client: client, inventory: inventory, journal: try Journal(path: Fixtures.temporaryFile("", name: "j.jsonl")),
            options: ApplyOptions(maxParallel: 2, jobTimeout: 600, pollInterval: 1),
            sleep: { clock.advance($0) }, clock: { clock.now() })
        let results = try await applier.apply([move])
        return (results[0], await transport.log.paths, cloud)
    }

    static let residents = ["f-big-0", "f-mid-0", "f-x-0", "f-big-1", "f-mid-1", "f-x-1"]

    /// app-big does not fit on the full host whichever way the residents are read; it would on
    /// an empty one, so a resident dropped by any reading turns the refusal into a migration.
    @Test(arguments: Change.allCases)
    func everyResidentCountsHoweverItIsRead(_ change: Change) async throws {
        let move = Move(serverID: "app-big", from: "deh-src", to: "deh-full", numaNodes: [0], wave: 1)
        let (result, paths, cloud) = try await run(move, change: change)
        #expect(result.status == .failed)
        #expect(["INSUFFICIENT_NUMA_CAPACITY", "INSUFFICIENT_CAPACITY"].contains(result.code ?? ""), "\(result.code ?? "nil")")
        #expect(await cloud.migrateRequestCounts().isEmpty)
        let readAlone = Self.residents.filter { paths.contains("/v1/proj/cloudservers/\($0)") }
        switch change {
        case .none, .detailsEmpty:
            #expect(paths.filter { $0 == Self.listPath }.count == 1)
            #expect(readAlone.isEmpty)
        case .listEmpty, .flavorIDs, .listRefused:
            #expect(readAlone == Self.residents)
        }
    }

    /// The same reading on a move the cloud carries out: one list request, no resident read.
    @Test func aMoveThatFitsReadsTheListOnce() async throws {
        let move = Move(serverID: "app-big", from: "deh-src", to: "deh-frag-b", numaNodes: [0], wave: 1)
        let (result, paths, cloud) = try await run(move, change: .none)
        #expect(result.status == .succeeded, "\(result.code ?? "") \(result.message ?? "")")
        #expect(await cloud.currentInventory().server("app-big")?.dedicatedHostID == "deh-frag-b")
        #expect(paths.filter { $0 == "/v1.0/proj/dedicated-hosts/deh-frag-b/servers" }.count == 1)
        for id in ["b-big-0", "b-mid-1a", "b-mid-1b", "b-x-1"] { #expect(!paths.contains("/v1/proj/cloudservers/\(id)")) }
    }

    /// A mover in an anti-affinity group needs its neighbours' groups, which the list does not
    /// show: they are read one by one, and the group is kept.
    @Test func aMoverInAGroupReadsResidentsAlone() async throws {
        let move = Move(serverID: "web-small", from: "deh-src", to: "deh-frag-b", numaNodes: [0], wave: 1)
        let (result, paths, _) = try await run(move, change: .none)
        #expect(result.code == "ANTI_AFFINITY")
        #expect(!paths.contains("/v1.0/proj/dedicated-hosts/deh-frag-b/servers"))
        #expect(paths.contains("/v1/proj/cloudservers/b-x-1"))
    }
}
