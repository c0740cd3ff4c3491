// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Foundation
import Testing
import Topology

/// A transport that answers from a script and records what was sent.
actor ScriptedTransport: HTTPTransport {
    typealias Answer = @Sendable (HTTPRequest) throws -> HTTPResponse
    private var answers: [Answer]
    private(set) var sent: [HTTPRequest] = []

    init(_ answers: [Answer]) { self.answers = answers }

    nonisolated func send(_ request: HTTPRequest) async throws -> HTTPResponse { try await next(request) }

    private func next(_ request: HTTPRequest) throws -> HTTPResponse {
        sent.append(request)
        guard !answers.isEmpty else { throw CloudError.noAnswer("script exhausted") }
        return try answers.removeFirst()(request)
    }
}

final class Delays: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Double] = []
    func add(_ v: Double) { lock.withLock { values.append(v) } }
    var all: [Double] { lock.withLock { values } }
}

func json(_ status: Int, _ text: String, headers: [String: String] = [:]) -> ScriptedTransport.Answer {
    { _ in HTTPResponse(status: status, headers: headers, body: Array(text.utf8)) }
}

let serverJSON = #"""
{"server": {"id": "srv-1", "name": "web", "status": "SHUTOFF", "OS-EXT-STS:vm_state": "stopped",
 "OS-EXT-STS:task_state": null, "locked": false,
 "flavor": {"id": "c6.large.2", "name": "c6.large.2", "vcpus": "2", "ram": "4096", "disk": "0"},
 "OS-EXT-AZ:availability_zone": "eu-de-01", "os:scheduler_hints": {"dedicated_host_id": ["deh-1"], "tenancy": ["dedicate"]}}}
"""#

@Suite struct CloudClientTests {
    func client(_ transport: ScriptedTransport, delays: Delays = Delays(), credentials: Credentials = .token("tok-secret")) throws -> CloudClient {
        try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:9")!, projectID: "proj", credentials: credentials, transport: transport,
            retry: RetryPolicy(maxAttempts: 4, baseDelay: 1, maxDelay: 8), sleep: { delays.add($0) }, random: { 1 },
            now: { Date(timeIntervalSince1970: 1_704_164_645) })
    }

    /// A request that keeps failing is told to `notice` every third failed attempt; a client
    /// made `retrying` another policy gives up where that policy says.
    @Test func aRequestThatKeepsFailingIsNoticedAndRetryingChangesThePolicy() async throws {
        let lost: ScriptedTransport.Answer = { _ in throw CloudError.noAnswer("connection refused") }
        final class Lines: @unchecked Sendable {
            private let lock = NSLock()
            private var values: [String] = []
            func add(_ v: String) { lock.withLock { values.append(v) } }
            var all: [String] { lock.withLock { values } }
        }
        let transport = ScriptedTransport(Array(repeating: lost, count: 6) + [json(200, serverJSON)])
        var patient = try client(transport)
        patient = patient.retrying(RetryPolicy(maxAttempts: 7, baseDelay: 1, maxDelay: 8))
        let lines = Lines()
        patient.notice = { lines.add($0) }
        let server = try await patient.server("srv-1")
        #expect(server.id == "srv-1")
        #expect(lines.all.count == 2)
        #expect(lines.all.first?.hasPrefix("the cloud has not answered GET /v1/proj/cloudservers/srv-1 3 times (connection refused)") == true)
        #expect(lines.all.last?.contains("6 times") == true)

        let again = ScriptedTransport(Array(repeating: lost, count: 6) + [json(200, serverJSON)])
        let impatient = try client(again).retrying(RetryPolicy(maxAttempts: 2, baseDelay: 1, maxDelay: 8))
        await #expect(throws: CloudError.self) { _ = try await impatient.server("srv-1") }
        #expect(await again.sent.count == 2)

        // Patience that needs an answer: no answer gives up at `maxAttempts`, throttling waits.
        var firstReads = RetryPolicy(maxAttempts: 2, baseDelay: 1, maxDelay: 8, patience: 300)
        firstReads.patienceNeedsAnAnswer = true
        let unanswered = ScriptedTransport(Array(repeating: lost, count: 6) + [json(200, serverJSON)])
        await #expect(throws: CloudError.self) { _ = try await client(unanswered).retrying(firstReads).server("srv-1") }
        #expect(await unanswered.sent.count == 2)
        let throttled = ScriptedTransport(
            Array(repeating: json(429, #"{"error": {"code": "Common.1503", "message": "too many requests"}}"#), count: 5)
                + [json(200, serverJSON)])
        #expect(try await client(throttled).retrying(firstReads).server("srv-1").id == "srv-1")
        #expect(await throttled.sent.count == 6)
        // One answer makes the endpoint known: lost answers after it are waited through too
        // (the fault soak's apply gave up on a first read that had a 500, then drops).
        let flaky = ScriptedTransport(
            [json(500, #"{"error": {"code": "Common.0001", "message": "System exception."}}"#)] + Array(repeating: lost, count: 4)
                + [json(200, serverJSON)])
        #expect(try await client(flaky).retrying(firstReads).server("srv-1").id == "srv-1")
        #expect(await flaky.sent.count == 6)
    }

    @Test func decodesServerQuirks() async throws {
        let transport = ScriptedTransport([json(200, serverJSON)])
        let server = try await client(transport).server("srv-1")
        #expect(server.flavor.vcpus == LenientInt(2))
        #expect(server.flavor.ram == LenientInt(4096))
        #expect(server.dedicatedHostID == "deh-1")
        #expect(server.schedulerHints?.isDedicated == true)
        let sent = await transport.sent
        #expect(sent[0].url.absoluteString == "http://127.0.0.1:9/v1/proj/cloudservers/srv-1")
        #expect(sent[0].headers["X-Auth-Token"] == "tok-secret")
    }

    @Test func errorsCarryStatusCodeMessageAndRequestID() async throws {
        let transport = ScriptedTransport([json(
            404, #"{"error": {"message": "Instance not found", "code": "Ecs.0114"}}"#, headers: ["X-Request-Id": "req-7"])])
        do {
            _ = try await client(transport).server("nope")
            Issue.record("expected an error")
        } catch let error as CloudError {
            #expect(error.status == 404)
            #expect(error.code == "Ecs.0114")
            #expect(error.message == "Instance not found")
            #expect(error.requestID == "req-7")
            #expect(!error.isTransient)
        }
        let other = ScriptedTransport([json(400, #"{"error_code": "DEH.0001", "error_msg": "bad"}"#)])
        do {
            _ = try await client(other).dedicatedHost("x")
            Issue.record("expected an error")
        } catch let error as CloudError {
            #expect(error.code == "DEH.0001")
            #expect(error.message == "bad")
        }
    }

    @Test func getsRetryThrottlingAndServerErrorsHonouringRetryAfter() async throws {
        let delays = Delays()
        let transport = ScriptedTransport([
            json(429, #"{"error": {"code": "Common.1503", "message": "slow down"}}"#, headers: ["Retry-After": "3"]),
            json(202, #"{"error": {"code": "Common.0024", "message": "flow limit"}}"#),
            json(500, #"{"error": {"code": "Common.0001", "message": "boom"}}"#),
            json(200, serverJSON),
        ])
        let server = try await client(transport, delays: delays).server("srv-1")
        #expect(server.id == "srv-1")
        #expect(delays.all == [3, 2, 4])  // Retry-After, then 1·2¹ and 1·2² with jitter factor 1
        #expect(await transport.sent.count == 4)
    }

    @Test func givesUpAfterMaxAttempts() async throws {
        let transport = ScriptedTransport(Array(repeating: json(503, "{}"), count: 10))
        await #expect(throws: CloudError.self) { try await client(transport).job("j") }
        #expect(await transport.sent.count == 4)
    }

    @Test func migrateSendsTheDocumentedBodies() async throws {
        let transport = ScriptedTransport([json(200, #"{"job_id": "job-1"}"#), json(202, #"{"job_id": "job-2"}"#)])
        let c = try client(transport)
        #expect(try await c.migrate(serverID: "srv-1", to: "deh-2") == .accepted(jobID: "job-1"))
        #expect(try await c.migrate(serverID: "srv-1", to: nil) == .accepted(jobID: "job-2"))
        let sent = await transport.sent
        #expect(sent.map(\.method) == ["POST", "POST"])
        #expect(String(decoding: sent[0].body!, as: UTF8.self) == #"{"migrate": {"dedicated_host_id": "deh-2"}}"#)
        #expect(String(decoding: sent[1].body!, as: UTF8.self) == #"{"migrate": null}"#)
    }

    /// A lost answer is reconciled by reading the server before anything is sent again.
    @Test func lostMigrateAnswerIsReconciledNotResent() async throws {
        let resizing = serverJSON.replacingOccurrences(of: #""status": "SHUTOFF""#, with: #""status": "RESIZE""#)
        let transport = ScriptedTransport([
            { _ in throw CloudError.noAnswer("connection reset") },
            json(200, resizing),
        ])
        let outcome = try await client(transport).migrate(serverID: "srv-1", to: "deh-2")
        #expect(outcome == .inProgress(status: "RESIZE", taskState: nil))
        let sent = await transport.sent
        #expect(sent.map(\.method) == ["POST", "GET"])  // one POST only
    }

    /// A 500 to the POST: the action log (read before the server) shows no migrate action
    /// beyond the baseline, so the request never arrived and is sent again.
    @Test func failedPostWithNoNewActionIsSentAgain() async throws {
        let transport = ScriptedTransport([
            json(500, #"{"error": {"code": "Common.0001", "message": "boom"}}"#),
            json(200, #"{"instanceActions": [{"action": "migrate", "request_id": "req-old", "instance_uuid": "srv-1"}]}"#),
            json(200, serverJSON),  // still SHUTOFF on deh-1, idle
            json(200, #"{"job_id": "job-9"}"#),
        ])
        let delays = Delays()
        #expect(try await client(transport, delays: delays).migrate(serverID: "srv-1", to: "deh-2", baseline: 1) == .accepted(jobID: "job-9"))
        let sent = await transport.sent
        #expect(sent.map(\.method) == ["POST", "GET", "GET", "POST"])
        #expect(sent[1].url.path.hasSuffix("/v2.1/proj/servers/srv-1/os-instance-actions"))
        // The log is read only once the lost request can no longer arrive: the settle window
        // (60 s by default) after it was sent (this client's clock stands still).
        #expect(delays.all.contains(60), "\(delays.all)")
    }

    /// A lost answer where the log has a migrate action beyond the baseline and the server is idle
    /// where it was: the request arrived and failed. Nothing is sent again.
    @Test func arrivedAndFailedIsNotSentAgain() async throws {
        let transport = ScriptedTransport([
            { _ in throw CloudError.noAnswer("connection reset") },
            json(200, #"{"instanceActions": [{"action": "migrate", "request_id": "req-new", "message": "Error"}, {"action": "migrate", "request_id": "req-old"}]}"#),
            json(200, serverJSON),
        ])
        let outcome = try await client(transport).migrate(serverID: "srv-1", to: "deh-2", source: "deh-1", baseline: 1)
        #expect(outcome == .arrivedAndFailed(requestID: "req-new", message: "Error"))
        #expect(await transport.sent.map(\.method) == ["POST", "GET", "GET"])
    }

    /// A 500 without a readable baseline: the cloud cannot tell, so nothing is sent again.
    @Test func failedPostWithoutBaselineIsNotSentAgain() async throws {
        let transport = ScriptedTransport([
            json(500, #"{"error": {"code": "Common.0001", "message": "boom"}}"#),
            json(200, serverJSON),
        ])
        let c = try client(transport)
        do {
            _ = try await c.migrate(serverID: "srv-1", to: "deh-2")
            Issue.record("expected UNKNOWN_OUTCOME")
        } catch {
            #expect(error.code == "UNKNOWN_OUTCOME")
        }
        #expect(await transport.sent.map(\.method) == ["POST", "GET"])
    }

    /// The cloud cannot tell, and so nothing may be sent again, when the action log shrank (no
    /// evidence that the request never arrived) or answers 404/403 (the log is optional).
    @Test(arguments: [
        (json(200, #"{"instanceActions": []}"#), 2),
        (json(404, #"{"error": {"code": "APIGW.0101", "message": "no such API"}}"#), 0),
    ])
    func actionLogThatCannotTell(log: @escaping ScriptedTransport.Answer, baseline: Int) async throws {
        let transport = ScriptedTransport([log, json(200, serverJSON)])
        let r = try await client(transport).reconcile(serverID: "srv-1", target: "deh-2", source: "deh-1", baseline: baseline)
        guard case .cannotTell = r else {
            Issue.record("expected cannotTell, got \(r)")
            return
        }
    }

    @Test func throttledMigrateIsRetriedWithoutReadingState() async throws {
        let transport = ScriptedTransport([
            json(429, #"{"error": {"code": "Common.1503", "message": "slow"}}"#),
            json(200, #"{"job_id": "job-3"}"#),
        ])
        #expect(try await client(transport).migrate(serverID: "srv-1", to: "deh-2") == .accepted(jobID: "job-3"))
        #expect(await transport.sent.map(\.method) == ["POST", "POST"])
    }

    @Test func dedicatedHostsArePagedByMarker() async throws {
        func host(_ id: String) -> String {
            #"{"dedicated_host_id": "\#(id)", "availability_zone": "az", "state": "available", "host_properties": {"host_type": "c6"}}"#
        }
        let transport = ScriptedTransport([
            json(200, #"{"dedicated_hosts": [\#(host("a")), \#(host("b"))], "total": 3}"#),
            json(200, #"{"dedicated_hosts": [\#(host("c"))], "total": 3}"#),
        ])
        let hosts = try await client(transport).dedicatedHosts(pageSize: 2)
        #expect(hosts.map(\.dedicated_host_id) == ["a", "b", "c"])
        let sent = await transport.sent
        #expect(sent[1].url.query == "limit=2&marker=b")
    }

    @Test func akskRequestsAreSignedAndSecretsNeverShow() async throws {
        let transport = ScriptedTransport([json(200, serverJSON)])
        let signer = Signer(accessKey: "AK123", secretKey: "SK-very-secret")
        _ = try await client(transport, credentials: .accessKey(signer)).server("srv-1")
        let sent = await transport.sent
        let auth = try #require(sent[0].headers["Authorization"])
        #expect(auth.hasPrefix("SDK-HMAC-SHA256 Access=AK123, SignedHeaders=accept;host;x-sdk-date, Signature="))
        #expect(sent[0].headers["X-Sdk-Date"] == "20240102T030405Z")
        #expect(!"\(Credentials.accessKey(signer))".contains("SK-very-secret"))
        #expect(!"\(Credentials.token("tok-secret"))".contains("tok-secret"))
    }

    @Test func plainHTTPOnlyOnLoopback() {
        #expect(throws: CloudError.self) {
            try CloudClient(ecsEndpoint: URL(string: "http://ecs.example.com")!, projectID: "p", credentials: .token("t"))
        }
        #expect(throws: Never.self) {
            _ = try CloudClient(ecsEndpoint: URL(string: "https://ecs.example.com")!, projectID: "p", credentials: .token("t"))
            _ = try CloudClient(ecsEndpoint: URL(string: "http://localhost:8080")!, projectID: "p", credentials: .token("t"))
            _ = try CloudClient(ecsEndpoint: URL(string: "http://[::1]:8080")!, projectID: "p", credentials: .token("t"))
        }
    }
}

@Suite struct JobDecodingTests {
    /// A failed job carries `error_code` and `fail_reason` as fields: that is an answer, not an error.
    @Test func failedJobIsAValueNotAnError() async throws {
        let transport = ScriptedTransport([json(200, #"{"status": "FAIL", "job_id": "j", "error_code": "Ecs.0319", "fail_reason": "no room"}"#)])
        let c = try CloudClient(ecsEndpoint: URL(string: "http://127.0.0.1:9")!, projectID: "p", credentials: .token("t"), transport: transport)
        let job = try await c.job("j")
        #expect(job.isFailure)
        #expect(job.error_code == "Ecs.0319")
        #expect(job.fail_reason == "no room")
    }
}

@Suite struct LostAnswerTests {
    /// No answer at all and the server unchanged: ambiguous, so the request is not sent again.
    @Test func noAnswerAndUnchangedServerIsNotResent() async throws {
        let transport = ScriptedTransport([
            { _ in throw CloudError.noAnswer("connection reset") },
            json(200, serverJSON),
        ])
        let c = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:9")!, projectID: "proj", credentials: .token("t"), transport: transport,
            sleep: { _ in })
        do {
            _ = try await c.migrate(serverID: "srv-1", to: "deh-2")
            Issue.record("expected UNKNOWN_OUTCOME")
        } catch {
            #expect(error.code == "UNKNOWN_OUTCOME")
        }
        #expect(await transport.sent.map(\.method) == ["POST", "GET"])
    }
}

/// Plain http only to real loopback addresses: a name that merely starts with "127." resolves
/// wherever its owner likes, and the token would travel there in clear text.
@Suite struct EndpointPolicyTests {
    @Test(arguments: [
        ("http://127.0.0.1:8080", true), ("http://127.1.2.3", true), ("http://localhost:9", true), ("http://[::1]:9", true),
        ("https://ecs.example.com", true), ("http://127.evil.example", false), ("http://127.0.0.1.evil.example", false),
        ("http://127.0.0.256", false), ("http://127.0.0", false), ("http://10.0.0.1", false), ("http://ecs.example.com", false),
    ])
    func onlyLoopbackMayUsePlainHTTP(url: String, allowed: Bool) {
        let accepted = (try? EndpointPolicy.check(URL(string: url)!)) != nil
        #expect(accepted == allowed, "\(url)")
    }
}

/// The migrate body keeps the official SDK's spacing and encodes the host id: an id with a
/// quote or a backslash cannot break the JSON or add fields.
@Suite struct MigrateBodyTests {
    @Test(arguments: ["d465d0ae-1e8b-4f1c-9a2e-000000000001", #"deh", "x": "1"#, #"back\slash"#])
    func theHostIDIsEncoded(id: String) throws {
        let body = CloudClient.migrateBody(to: id)
        #expect(body.hasPrefix(#"{"migrate": {"dedicated_host_id": ""#))
        let doc = try JSON.parse(Array(body.utf8))
        guard case .object(let top) = doc, case .object(let inner)? = doc["migrate"] else {
            Issue.record("not an object: \(body)")
            return
        }
        #expect(top.count == 1 && inner.count == 1)  // no field added by the id
        #expect(doc["migrate"]?["dedicated_host_id"] == .string(id))
        #expect(CloudClient.migrateBody(to: nil) == #"{"migrate": null}"#)
    }
}

/// The wire types both the client and the fake cloud encode: the spellings the API uses survive
/// a round trip, and the IAM request names the scope as IAM expects it.
@Suite struct WireTypeTests {
    @Test func quotedNumbersStayQuoted() throws {
        let decoded = try JSONDecoder().decode([LenientInt].self, from: Data(#"["2", 4]"#.utf8))
        #expect(decoded == [LenientInt(2), LenientInt(4)])
        #expect(decoded.map(\.quoted) == [true, false])
        #expect(String(decoding: try JSONEncoder().encode(decoded), as: UTF8.self) == #"["2",4]"#)
    }

    @Test func emptyTaskStateAndJobTimesAreNullNotAbsent() throws {
        let server = WireServer(
            id: "s", name: nil, status: "SHUTOFF", vmState: "stopped", taskState: nil, locked: false,
            flavor: .init(id: "f", name: nil, vcpus: nil, ram: nil, disk: nil), availabilityZone: nil, hypervisorHost: nil,
            schedulerHints: nil)
        let text = String(decoding: try JSONEncoder().encode(server), as: UTF8.self)
        #expect(text.contains(#""OS-EXT-STS:task_state":null"#) && text.contains(#""OS-EXT-SRV-ATTR:host":null"#))
        #expect(!text.contains("metadata") && !text.contains("\"name\""))
        let job = WireJob(status: "RUNNING", job_id: "j", job_type: nil, begin_time: "t", end_time: nil, error_code: nil, fail_reason: nil, entities: nil)
        let jobText = String(decoding: try JSONEncoder().encode(job), as: UTF8.self)
        #expect(jobText.contains(#""end_time":null"#) && jobText.contains(#""fail_reason":null"#))
        #expect(try JSONDecoder().decode(WireJob.self, from: Data(jobText.utf8)) == job)
    }

    @Test(arguments: [(id: "p1" as String?, name: nil as String?), (id: nil, name: "prod")])
    func tokenRequestsScopeAsIAMExpects(scope: (id: String?, name: String?)) throws {
        let request = WireTokenRequest(user: "u", password: "pw", domain: "acme", projectID: scope.id, projectName: scope.name)
        let doc = try JSONSerialization.jsonObject(with: JSONEncoder().encode(request)) as? [String: Any]
        let auth = doc?["auth"] as? [String: Any]
        let identity = auth?["identity"] as? [String: Any]
        #expect(identity?["methods"] as? [String] == ["password"])
        let user = (identity?["password"] as? [String: Any])?["user"] as? [String: Any]
        #expect(user?["name"] as? String == "u" && user?["password"] as? String == "pw")
        #expect((user?["domain"] as? [String: Any])?["name"] as? String == "acme")
        let project = (auth?["scope"] as? [String: Any])?["project"] as? [String: Any]
        #expect(project?["id"] as? String == scope.id && project?["name"] as? String == scope.name)
        // A project named (not numbered) is looked up within the domain.
        #expect(((project?["domain"] as? [String: Any])?["name"] as? String) == (scope.name == nil ? nil : "acme"))
    }

    @Test func aTokenAnswerThatSaysLessGivesLess() throws {
        let empty = try JSONDecoder().decode(WireTokenResponse.self, from: Data(#"{"token": {}}"#.utf8))
        #expect(empty.token?.catalog == nil && empty.token?.project == nil)
        let partial = try JSONDecoder().decode(
            WireTokenResponse.self, from: Data(#"{"token": {"catalog": [{"type": "ecs", "endpoints": [{"url": "https://e", "region": "r"}]}]}}"#.utf8))
        #expect(partial.token?.catalog?.first?.endpoints?.first == .init(interface: nil, region: "r", region_id: nil, url: "https://e"))
    }
}
