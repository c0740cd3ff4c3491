// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Topology

/// How the client proves who it is.
public enum Credentials: Sendable, CustomStringConvertible {
    /// `X-Auth-Token` (an IAM token).
    case token(String)
    /// AK/SK request signing.
    case accessKey(Signer)

    /// Never shows a secret.
    public var description: String {
        switch self {
        case .token: "token (redacted)"
        case .accessKey(let signer): signer.description
        }
    }
}

/// When and how long to wait before retrying.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// First back-off, doubled each retry up to `maxDelay`, with full jitter.
    public var baseDelay: Double
    public var maxDelay: Double
    /// Seconds to keep retrying after `maxAttempts`, counted from the first attempt (0: stop at
    /// `maxAttempts`). A long run under throttling or a flaky network waits instead of aborting.
    public var patience: Double
    /// Seconds a migrate request whose answer was lost may still reach the cloud (the request
    /// timeout: a request cut off at the client may be carried out later, and a process killed
    /// mid-request leaves one in flight). The action log is read for it only once this long
    /// has passed since it was sent; before that, "no action" proves nothing.
    public var settleWindow: Double
    /// Patience only for a cloud that answers (throttling, 5xx): a request none of whose attempts
    /// got an answer (refused, unreachable, timed out) gives up after `maxAttempts`; one that
    /// got an answer once (the endpoint is right, the network flaky) waits as usual. For the first reads
    /// of `apply`, before anything is sent: a mistyped endpoint or a network down is reported in
    /// seconds, a busy cloud is waited for.
    public var patienceNeedsAnAnswer = false

    public init(maxAttempts: Int = 6, baseDelay: Double = 0.5, maxDelay: Double = 30, patience: Double = 0, settleWindow: Double = 60) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.patience = patience
        self.settleWindow = settleWindow
    }

    /// Failed attempts in a row after which `CloudClient.notice` hears of it (and again after as
    /// many more).
    public static let noticeAfter = 3

    /// Whether to try again after `attempt` attempts that began at `started`; `answered`: some
    /// attempt got an answer.
    func allows(attempt: Int, started: Date, now: Date, answered: Bool) -> Bool {
        attempt < maxAttempts || (isPatient(answered: answered) && now.timeIntervalSince(started) < patience)
    }

    /// Whether `patience` applies to a request (under `patienceNeedsAnAnswer`, only once one of
    /// its attempts got an answer).
    func isPatient(answered: Bool) -> Bool {
        patience > 0 && (answered || !patienceNeedsAnAnswer)
    }
}

/// What became of a migrate request.
public enum MigrateOutcome: Sendable, Equatable {
    /// The cloud accepted it: poll this job.
    case accepted(jobID: String)
    /// The answer was lost, but the server shows the migration under way (job id unknown: follow
    /// the server's status instead).
    case inProgress(status: String, taskState: String?)
    /// The answer was lost, but the server is already on the target.
    case alreadyOnTarget
    /// The answer was lost; the server's action log shows the request arrived, and the server
    /// is idle and not on the target: the migration ran and failed.
    case arrivedAndFailed(requestID: String, message: String?)
}

/// What the cloud shows of a migrate request whose answer was never seen.
public enum Reconciliation: Sendable, Equatable {
    /// The server is migrating.
    case inProgress(status: String, taskState: String?)
    /// The server is idle on the target.
    case onTarget
    /// The action log has a migrate action newer than the baseline and the server is idle and
    /// not on the target: the request arrived and its migration ended without moving it.
    case arrivedAndEnded(requestID: String, message: String?)
    /// The action log has no migrate action newer than the baseline: the request never arrived.
    case notArrived
    /// The cloud cannot say (no baseline, or no action log): never send again on this.
    case cannotTell(String)
}

/// A typed client for the ECS, DeH and job endpoints dehplan needs.
public struct CloudClient: Sendable {
    public let ecsEndpoint: URL
    public let dehEndpoint: URL
    public let projectID: String
    let credentials: Credentials
    let transport: any HTTPTransport
    /// How requests are retried (and how long a lost migrate request may still arrive).
    public private(set) var retry: RetryPolicy
    let sleep: @Sendable (Double) async -> Void
    let random: @Sendable () -> Double
    let now: @Sendable () -> Date
    /// Receives one line per request and answer (method, URL, status, time, X-Request-Id);
    /// never headers or bodies, so secrets cannot leak through it.
    let trace: (@Sendable (String) -> Void)?
    /// Receives one line when a request has failed transiently `RetryPolicy.noticeAfter` times
    /// in a row, and every `noticeAfter` attempts after that: so that a cloud that does not
    /// answer (an endpoint mistyped, a network down, throttling) is seen, not a silent wait.
    public var notice: (@Sendable (String) -> Void)?

    public init(
        ecsEndpoint: URL, dehEndpoint: URL? = nil, projectID: String, credentials: Credentials,
        transport: any HTTPTransport = URLSessionTransport(), retry: RetryPolicy = RetryPolicy(),
        sleep: @escaping @Sendable (Double) async -> Void = { try? await Task.sleep(nanoseconds: UInt64($0 * 1e9)) },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
        now: @escaping @Sendable () -> Date = { Date() }, trace: (@Sendable (String) -> Void)? = nil
    ) throws(CloudError) {
        self.trace = trace
        try EndpointPolicy.check(ecsEndpoint)
        if let dehEndpoint { try EndpointPolicy.check(dehEndpoint) }
        guard !projectID.isEmpty else { throw CloudError(status: 0, code: nil, message: "missing project id") }
        self.ecsEndpoint = ecsEndpoint
        self.dehEndpoint = dehEndpoint ?? ecsEndpoint
        self.projectID = projectID
        self.credentials = credentials
        self.transport = transport
        self.retry = retry
        self.sleep = sleep
        self.random = random
        self.now = now
    }

    // MARK: Requests

    /// Builds, authenticates and sends one request (no retries).
    func send(_ method: String, base: URL, path: String, query: [(String, String)] = [], body: [UInt8]? = nil) async throws(CloudError) -> HTTPResponse {
        var headers: [String: String] = ["Accept": "application/json"]
        if body != nil { headers["Content-Type"] = "application/json;charset=UTF-8" }
        var host = base.host ?? ""
        if let port = base.port { host += ":\(port)" }
        let basePath = base.path.hasSuffix("/") ? String(base.path.dropLast()) : base.path
        var queryString = Signer.canonicalQuery(query)
        switch credentials {
        case .token(let token):
            headers["X-Auth-Token"] = token
        case .accessKey(let signer):
            let signed = signer.sign(
                Signer.Request(method: method, host: host, path: basePath + path, query: query, headers: headers, body: body),
                sdkDate: Signer.sdkDate(now()))
            headers = signed.headers
            queryString = signed.queryString
        }
        var text = "\(base.scheme ?? "https")://\(host)\(basePath)\(Self.encodePath(path))"
        if !queryString.isEmpty { text += "?\(queryString)" }
        guard let url = URL(string: text) else { throw CloudError(status: 0, code: nil, message: "cannot build a URL for \(path)") }
        let started = Date()
        do {
            let response = try await transport.send(HTTPRequest(method: method, url: url, headers: headers, body: body))
            trace?("\(method) \(url.absoluteString) -> \(response.status) in \(Int(Date().timeIntervalSince(started) * 1000)) ms"
                + (response.headers["x-request-id"].map { " (X-Request-Id \($0))" } ?? ""))
            return response
        } catch let error as CloudError {
            trace?("\(method) \(url.absoluteString) -> no answer: \(error.message)")
            throw error
        } catch {
            trace?("\(method) \(url.absoluteString) -> no answer")
            throw CloudError.noAnswer("\(method) \(path): \(error)")
        }
    }

    static func encodePath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { Signer.escape(String($0)) }.joined(separator: "/")
    }

    /// Turns a response into a value or a `CloudError` (202 with an error code is an error too).
    static func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse) throws(CloudError) -> T {
        let requestID = response.headers["x-request-id"]
        if !(200..<300).contains(response.status) || Self.errorCode(response.body) != nil {
            throw CloudError.from(status: response.status, body: response.body, requestID: requestID)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw CloudError(status: response.status, code: nil, message: "unexpected answer: \(error)", requestID: requestID)
        }
    }

    /// The code of an `{"error": {...}}` body (a 2xx answer can carry one: `Common.0024` comes as
    /// HTTP 202). A top-level `error_code` is not enough: jobs carry one as a field.
    static func errorCode(_ body: [UInt8]) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let nested = object["error"] as? [String: Any]
        else { return nil }
        return nested["code"] as? String ?? "error"
    }

    /// The wait before retry `attempt` (1-based): the server's `Retry-After` when given, else
    /// exponential back-off with full jitter.
    func delay(attempt: Int, retryAfter: String?) -> Double {
        if let value = retryAfter.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }), value >= 0 {
            return min(value, retry.maxDelay)
        }
        let ceiling = min(retry.maxDelay, retry.baseDelay * pow(2, Double(attempt - 1)))
        return ceiling * random()
    }

    /// The same client with another retry policy (`apply` reads the live inventory, before it
    /// sends anything, without the patience its run has).
    public func retrying(_ policy: RetryPolicy) -> CloudClient {
        var copy = self
        copy.retry = policy
        return copy
    }

    /// Tells `notice` that `what` keeps failing, on every `noticeAfter`-th failed attempt.
    func noticeRetry(_ what: String, attempt: Int, error: CloudError, answered: Bool, wait: Double) {
        guard let notice, attempt % RetryPolicy.noticeAfter == 0 else { return }
        notice("the cloud has not answered \(what) \(attempt) times (\(error.message)); trying again in \(String(format: "%.1f", wait)) s"
            + (retry.isPatient(answered: answered) ? ", for up to \(Int(retry.patience)) s in all" : ", \(max(0, retry.maxAttempts - attempt)) more time(s)"))
    }

    /// GET with retries of transient failures (GETs are idempotent).
    func get<T: Decodable>(_ type: T.Type, base: URL, path: String, query: [(String, String)] = []) async throws(CloudError) -> T {
        var attempt = 1
        var answered = false  // some attempt got an answer (`RetryPolicy.patienceNeedsAnAnswer`)
        let started = now()
        while true {
            var retryAfter: String?
            do {
                let response = try await send("GET", base: base, path: path, query: query)
                retryAfter = response.headers["retry-after"]
                return try Self.decode(T.self, response)
            } catch {
                answered = answered || error.status != 0
                guard error.isTransient, retry.allows(attempt: attempt, started: started, now: now(), answered: answered) else { throw error }
                let wait = delay(attempt: attempt, retryAfter: retryAfter)
                noticeRetry("GET \(path)", attempt: attempt, error: error, answered: answered, wait: wait)
                await sleep(wait)
                attempt += 1
            }
        }
    }

    // MARK: Endpoints

    /// Every item of a DeH listing paged by `limit` and `marker` (the id of the last item seen).
    func pagedByMarker<Page: Decodable, Item>(
        _ type: Page.Type, path: String, pageSize: Int, items: (Page) -> [Item], id: (Item) -> String
    ) async throws(CloudError) -> [Item] {
        var all: [Item] = []
        var marker: String?
        while true {
            var query = [("limit", String(pageSize))]
            if let marker { query.append(("marker", marker)) }
            let page = items(try await get(type, base: dehEndpoint, path: path, query: query))
            all += page
            guard page.count == pageSize, let last = page.last.map(id), last != marker else { return all }
            marker = last
        }
    }

    /// Every DeH of the project (paged by `marker`).
    public func dedicatedHosts(pageSize: Int = 100) async throws(CloudError) -> [WireDedicatedHost] {
        try await pagedByMarker(
            WireDedicatedHostList.self, path: "/v1.0/\(projectID)/dedicated-hosts", pageSize: pageSize,
            items: \.dedicated_hosts, id: \.dedicated_host_id)
    }

    /// One DeH with its `instance_uuids`.
    public func dedicatedHost(_ id: String) async throws(CloudError) -> WireDedicatedHost {
        try await get(WireDedicatedHostDetail.self, base: dehEndpoint, path: "/v1.0/\(projectID)/dedicated-hosts/\(id)").dedicated_host
    }

    /// The servers on one DeH (paged by `marker`; each server's flavor is `{"id"}` only).
    public func serversOnHost(_ id: String, pageSize: Int = 100) async throws(CloudError) -> [WireHostServer] {
        try await pagedByMarker(
            WireHostServerList.self, path: "/v1.0/\(projectID)/dedicated-hosts/\(id)/servers", pageSize: pageSize,
            items: \.servers, id: \.id)
    }

    /// One server's details.
    public func server(_ id: String) async throws(CloudError) -> WireServer {
        try await get(WireServerDetail.self, base: ecsEndpoint, path: "/v1/\(projectID)/cloudservers/\(id)").server
    }

    /// Every server of the project (paged by page number, from 1).
    public func servers(pageSize: Int = 100) async throws(CloudError) -> [WireServer] {
        var all: [WireServer] = []
        var page = 1
        while true {
            let list = try await get(
                WireServerList.self, base: ecsEndpoint, path: "/v1/\(projectID)/cloudservers/detail",
                query: [("offset", String(page)), ("limit", String(pageSize))])
            all += list.servers
            if list.servers.count < pageSize || (list.count.map { all.count >= $0 } ?? false) { return all }
            page += 1
        }
    }

    /// Every server group of the project (paged by `limit` and `page_info.next_marker`).
    public func serverGroups(pageSize: Int = 1000) async throws(CloudError) -> [WireServerGroup] {
        var all: [WireServerGroup] = []
        var marker: String?
        while true {
            var query = [("limit", String(pageSize))]
            if let marker { query.append(("marker", marker)) }
            let page = try await get(
                WireServerGroupList.self, base: ecsEndpoint, path: "/v1/\(projectID)/cloudservers/os-server-groups", query: query)
            all += page.server_groups
            guard let next = page.page_info?.next_marker, !next.isEmpty, next != marker, !page.server_groups.isEmpty else {
                return all
            }
            marker = next
        }
    }

    /// Flavors of an availability zone.
    public func flavors(availabilityZone: String) async throws(CloudError) -> [WireFlavor] {
        try await get(
            WireFlavorList.self, base: ecsEndpoint, path: "/v1/\(projectID)/cloudservers/flavors",
            query: [("availability_zone", availabilityZone)]
        ).flavors
    }

    /// One job.
    public func job(_ id: String) async throws(CloudError) -> WireJob {
        try await get(WireJob.self, base: ecsEndpoint, path: "/v1/\(projectID)/jobs/\(id)")
    }

    /// The server's migrate actions from its action log, newest first; nil when the cloud does
    /// not serve the log (404 or 403: "cannot tell", never "did not happen").
    public func migrateActions(_ serverID: String) async throws(CloudError) -> [WireInstanceAction]? {
        do {
            let list = try await get(
                WireInstanceActionList.self, base: ecsEndpoint, path: "/v2.1/\(projectID)/servers/\(serverID)/os-instance-actions")
            return list.instanceActions.filter { $0.action.lowercased() == "migrate" || $0.action.lowercased() == "resize" }
        } catch where error.status == 404 || error.status == 403 {
            return nil
        }
    }

    /// Whether a migrate request of `serverID` to `target` (nil: the pool) arrived, given the
    /// number of migrate actions its log showed before it was sent (`baseline`; nil: unknown).
    /// The log is read before the server, so a request that arrives between the two reads is
    /// seen migrating, never as ended.
    public func reconcile(serverID: String, target: String?, source: String?, baseline: Int?) async throws(CloudError) -> Reconciliation {
        let actions: [WireInstanceAction]? = baseline == nil ? nil : try await migrateActions(serverID)
        let server = try await self.server(serverID)
        let status = server.status.uppercased()
        if status == "RESIZE" || status == "MIGRATING" || server.taskState != nil {
            return .inProgress(status: server.status, taskState: server.taskState)
        }
        if server.dedicatedHostID == target && target != source && status == "SHUTOFF" { return .onTarget }
        guard let baseline else {
            return .cannotTell("the action log was not readable when the request was sent")
        }
        guard let actions else { return .cannotTell("the cloud does not serve the server's action log (os-instance-actions)") }
        if actions.count < baseline {
            return .cannotTell("the server's action log now lists fewer migrate actions (\(actions.count)) than before the request (\(baseline))")
        }
        if actions.count > baseline, let newest = actions.first {
            return .arrivedAndEnded(requestID: newest.request_id, message: newest.message)
        }
        return .notArrived
    }

    /// Cold-migrates a server to a DeH (`to`), or to the public pool (`to: nil`, body
    /// `{"migrate": null}`). The POST is not idempotent: throttled requests (429,
    /// `Common.0024`, `Common.1503`, `Ecs.0603`) were not carried out and are sent again; when
    /// the answer is lost or a 5xx, `reconcile` asks the cloud (the server's state, then its
    /// action log against `baseline`, the count of migrate actions before the first send) and
    /// the request is sent again only when the log shows it never arrived. When the cloud cannot
    /// tell, `UNKNOWN_OUTCOME` is thrown and nothing more is sent.
    /// The migrate request's body, written the way the official SDK writes it (`", "` and
    /// `": "` separators), with the host id encoded as a JSON string (never pasted in raw).
    public static func migrateBody(to target: String?) -> String {
        target.map { #"{"migrate": {"dedicated_host_id": "# + JSON.string($0).serialized(pretty: false) + "}}" } ?? #"{"migrate": null}"#
    }

    public func migrate(serverID: String, to target: String?, source: String? = nil, baseline: Int? = nil) async throws(CloudError) -> MigrateOutcome {
        let body = Array(Self.migrateBody(to: target).utf8)
        let path = "/v1/\(projectID)/cloudservers/\(serverID)/migrate"
        var attempt = 1
        var answered = false  // some attempt got an answer (`RetryPolicy.patienceNeedsAnAnswer`)
        let started = now()
        while true {
            var retryAfter: String?
            let sentAt = now()
            do {
                let response = try await send("POST", base: ecsEndpoint, path: path, body: body)
                retryAfter = response.headers["retry-after"]
                return .accepted(jobID: try Self.decode(WireJobID.self, response).job_id)
            } catch {
                answered = answered || error.status != 0
                guard error.isTransient, retry.allows(attempt: attempt, started: started, now: now(), answered: answered) else { throw error }
                let throttled = error.status == 429 || error.code == "Common.0024" || error.code == "Common.1503"
                    || error.code == "Ecs.0603"
                let wait = delay(attempt: attempt, retryAfter: retryAfter)
                noticeRetry("POST \(path)", attempt: attempt, error: error, answered: answered, wait: wait)
                await sleep(wait)
                attempt += 1
                if throttled { continue }
                // The answer was lost or the service failed: did the request take effect? Not
                // before it can no longer arrive (a log without it proves nothing until then).
                let quiet = sentAt.addingTimeInterval(retry.settleWindow).timeIntervalSince(now())
                if quiet > 0 { await sleep(quiet) }
                switch try await reconcile(serverID: serverID, target: target, source: source, baseline: baseline) {
                case .inProgress(let status, let taskState): return .inProgress(status: status, taskState: taskState)
                case .onTarget: return .alreadyOnTarget
                case .arrivedAndEnded(let request, let message): return .arrivedAndFailed(requestID: request, message: message)
                case .notArrived: continue  // the log shows none: safe to send again
                case .cannotTell(let why):
                    throw CloudError(
                        status: 0, code: "UNKNOWN_OUTCOME",
                        message: "the answer to the migrate request was lost (\(error.message)) and \(why); it was not sent again, to avoid a second migration",
                        requestID: error.requestID)
                }
            }
        }
    }
}
