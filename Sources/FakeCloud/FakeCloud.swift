// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Foundation
import Planner
import Topology

/// A fake ECS/DeH API seeded from an inventory, for tests and the demo.
///
/// It answers the endpoints dehplan uses, with the real paths, JSON shapes and error codes,
/// and behaves like the cloud where it matters: a cold migration whose target has enough
/// capacity in total but no NUMA node with room **fails in its job**, as the real API does,
/// decided by the planner's own fit function. Requests are handled by `handle(_:)`, so the
/// fake can run in-process (as an `HTTPTransport`) or behind an HTTP server.
public actor FakeCloud {
    /// Settings of the fake.
    public struct Configuration: Sendable {
        public var projectID: String
        /// Accepted `X-Auth-Token` (nil: tokens are refused).
        public var token: String?
        /// Accepted AK/SK pair (nil: signatures are refused).
        public var accessKey: String?
        public var secretKey: String?
        /// How long a migration job runs (INIT for the first third, RUNNING after).
        public var jobSeconds: Double
        /// IAM user and password that `POST /v3/auth/tokens` accepts (the answer is `token`).
        public var user: String?
        public var password: String?
        /// Share of migration jobs that fail for no capacity reason (injected), and the seed.
        public var failRate: Double
        public var seed: UInt64
        /// How the fake picks the NUMA nodes of an arriving server (the real cloud does not say).
        public var placement: Placement
        /// The project's name (an IAM scope by name) and the region its catalogue names.
        public var projectName = "eu-de"
        public var region = "eu-de"

        public init(
            projectID: String, token: String? = nil, accessKey: String? = nil, secretKey: String? = nil, jobSeconds: Double = 2,
            failRate: Double = 0, seed: UInt64 = 1, placement: Placement = .bestFit
        ) {
            self.placement = placement
            self.failRate = failRate
            self.seed = seed
            self.projectID = projectID
            self.token = token
            self.accessKey = accessKey
            self.secretKey = secretKey
            self.jobSeconds = jobSeconds
        }
    }

    /// How the fake cloud picks the NUMA nodes of an arriving server.
    public enum Placement: String, Sendable, CaseIterable {
        /// The tightest node set (the fit function's choice).
        case bestFit = "best-fit"
        /// The lowest-numbered node set that fits.
        case firstFit = "first-fit"
        /// The node set with the most room left.
        case spread
        /// The fitting node set that leaves the least room for one more server of the largest
        /// flavor in the inventory: the worst a cloud could do to a plan.
        case adversarial
    }

    struct Job {
        let id: String
        let serverID: String
        let target: String?
        let begin: Date
        var status: String = "INIT"
        var end: Date?
        var errorCode: String?
        var failReason: String?
    }

    private(set) var configuration: Configuration
    let now: @Sendable () -> Date
    private(set) var inventory: Inventory
    private var jobs: [String: Job] = [:]
    private var jobOrder: [String] = []
    private var migrations: [String: Int] = [:]
    private var migrateRequests: [String: Int] = [:]
    private var failedJobs: [String: Int] = [:]
    private let nodeRule: NodeRule
    private var busy: [String: String] = [:]  // server id -> job id
    /// Each server's action log, oldest first (what `os-instance-actions` lists newest first).
    private var actions: [String: [WireInstanceAction]] = [:]
    private var succeeded: [String: Int] = [:]
    private var nextJob = 1
    private var rng: SplitMix64

    /// Starts from an inventory. Servers of unknown layout get a real layout here (the fake knows
    /// the truth the public API hides), placed with the fit function.
    public init(inventory: Inventory, configuration: Configuration, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.now = now
        self.rng = SplitMix64(seed: configuration.seed ^ 0x5EED)
        switch configuration.placement {
        case .bestFit: nodeRule = .bestFit
        case .firstFit: nodeRule = .firstFit
        case .spread: nodeRule = .spread
        case .adversarial:
            let largest = inventory.flavors.values.max { a, b in
                (a.resources.vcpus, a.resources.memoryMiB, a.name) < (b.resources.vcpus, b.resources.memoryMiB, b.name)
            }
            nodeRule = largest.map { NodeRule.adversarial(against: $0) } ?? .bestFit
        }
        var state = PlacementState(Inventory(
            hostTypes: inventory.hostTypeOrder.compactMap { inventory.hostTypes[$0] },
            flavors: inventory.flavorOrder.compactMap { inventory.flavors[$0] }, hosts: inventory.hosts,
            servers: inventory.servers.filter { $0.numaNodes != nil }, serverGroups: []))
        var resolved: [Server] = []
        var unknownOn: [Int: [Server]] = [:]  // host index -> its servers of unknown layout
        for server in inventory.servers where server.numaNodes == nil {
            guard let id = server.dedicatedHostID, let h = inventory.hostIndex[id], inventory.flavors[server.flavor] != nil else { continue }
            unknownOn[h, default: []].append(server)
        }
        for h in unknownOn.keys.sorted() {
            let servers = unknownOn[h]!
            let flavors = servers.map { inventory.flavors[$0.flavor]! }
            let usage = state.usage[h]
            // One at a time by the fit function. Where that leaves one without a place (another
            // took the only node it fits on), an arrangement in which all fit, the larger and
            // those spanning more nodes searched first: such a server kept no layout, this fake
            // counted it on every node and refused every arrival on its host.
            var free = usage.freeKnown
            var nodes: [[Int]?] = flavors.map { flavor in
                guard let fit = Fit.fit(flavor, free: free, capacity: usage.capacity) else { return nil }
                for n in fit.nodes { free[n] -= flavor.perNode }
                return fit.nodes
            }
            if nodes.contains(where: { $0 == nil }) {
                let order = flavors.indices.sorted { a, b in
                    let fa = flavors[a], fb = flavors[b]
                    if fa.numaNodes != fb.numaNodes { return fa.numaNodes > fb.numaNodes }
                    return (fa.perNode.vcpus, fa.perNode.memoryMiB, b) > (fb.perNode.vcpus, fb.perNode.memoryMiB, a)
                }
                // Past its steps, an integer program (`DemandFit.someArrangement`).
                if let found = DemandFit.worstFitArrangement(order.map { flavors[$0] }, free: usage.freeKnown, maxSteps: 100_000)
                    ?? DemandFit.someArrangement(order.map { flavors[$0] }, free: usage.freeKnown)
                {
                    for (k, set) in zip(order, found) { nodes[k] = set }
                }
            }
            for (k, server) in servers.enumerated() {
                guard let chosen = nodes[k] else { continue }
                state.add(server, flavor: flavors[k], host: h, nodes: chosen, groups: [])
                resolved.append(server.placed(on: server.dedicatedHostID, numaNodes: chosen))
            }
        }
        self.inventory = inventory.replacing(servers: resolved)
    }

    // MARK: State changes

    /// Finishes every job whose time has come (called on every request).
    func advance() {
        let t = now()
        for id in jobOrder {
            guard var job = jobs[id], job.end == nil else { continue }
            let elapsed = t.timeIntervalSince(job.begin)
            if elapsed < configuration.jobSeconds / 3 { continue }
            if elapsed < configuration.jobSeconds {
                job.status = "RUNNING"
                jobs[id] = job
                continue
            }
            finish(&job, at: t)
            jobs[id] = job
        }
    }

    private func finish(_ job: inout Job, at t: Date) {
        job.end = t
        busy[job.serverID] = nil
        guard let s = inventory.serverIndex[job.serverID] else { return }
        let server = inventory.servers[s]
        var placed = server.placed(on: server.dedicatedHostID, numaNodes: server.numaNodes)
        var failure: (String, String)?
        if let target = job.target {
            let state = PlacementState(inventory)
            let h = inventory.hostIndex[target]!
            let usage = state.usage[h]
            let flavor = inventory.flavors[server.flavor]!
            if !usage.freeTotal.covers(flavor.resources) {
                failure = ("Ecs.0319", "Insufficient resources for flavor \(flavor.name) on dedicated host \(target).")
            } else if let nodes = nodeRule.choose(flavor, free: usage.freeKnown, capacity: usage.capacity) {
                // The rest of the cloud's rules (zone, host type, anti-affinity, state, the
                // chosen nodes' room) by dehplan's own rule pipeline, on the fake's true layouts.
                let verdict = Checker(inventory).check(
                    serverID: server.id, target: .host(target), options: Checker.Options(assumeStopped: true, placement: .planned),
                    arrival: Checker.Arrival(nodes: nodes))
                if let reason = verdict.reasons.first {
                    let capacity = reason.code == .insufficientCapacity || reason.code == .insufficientNUMACapacity
                    failure = (capacity ? "Ecs.0319" : "Ecs.0005", "\(reason.code.rawValue): \(reason.message)")
                } else {
                    placed = server.placed(on: target, numaNodes: nodes)
                }
            } else {
                failure = ("Ecs.0319", "Insufficient resources on a single NUMA node of dedicated host \(target): the migration does not cross NUMA nodes.")
            }
        } else {
            placed = server.placed(on: nil, numaNodes: nil)
        }
        if failure == nil, configuration.failRate > 0, Double(rng.next() >> 11) / Double(1 << 53) < configuration.failRate {
            failure = ("Common.0001", "System exception (failure injected by the fake cloud).")
            placed = server.placed(on: server.dedicatedHostID, numaNodes: server.numaNodes)
        }
        if let (code, reason) = failure {
            failedJobs[code, default: 0] += 1
            job.status = "FAIL"
            job.errorCode = code
            job.failReason = reason
        } else {
            job.status = "SUCCESS"
            succeeded[job.serverID, default: 0] += 1
        }
        // The action of this request ends as Nova records it: message "Error" on failure.
        if var log = actions[job.serverID], let i = log.lastIndex(where: { $0.request_id == "req-\(job.id)" }) {
            let a = log[i]
            let finished = ISO8601DateFormatter().string(from: t)
            log[i] = WireInstanceAction(
                action: a.action, instance_uuid: a.instance_uuid, message: failure == nil ? nil : "Error", project_id: a.project_id,
                request_id: a.request_id, start_time: a.start_time, user_id: a.user_id,
                events: [.init(event: "compute_prep_resize", result: failure == nil ? "Success" : "Error",
                               traceback: failure.map { "\($0.0): \($0.1)" }, start_time: a.start_time, finish_time: finished)])
            actions[job.serverID] = log
        }
        setServer(placed, status: "SHUTOFF", taskState: nil)
    }

    private func setServer(_ server: Server, status: String, taskState: String?) {
        let updated = Server(
            id: server.id, name: server.name, flavor: server.flavor, status: status,
            availabilityZone: server.availabilityZone, dedicatedHostID: server.dedicatedHostID, numaNodes: server.numaNodes,
            locked: server.locked, taskState: taskState)
        inventory = inventory.replacing(servers: [updated])
    }

    // MARK: Test endpoints' data

    /// Changes the share of failing jobs from now on.
    public func setFailRate(_ rate: Double) { configuration.failRate = rate }

    /// Accepted migrate requests per server.
    public func migrationCounts() -> [String: Int] { migrations }

    /// Migrations that ended on their target, per server.
    public func succeededMigrationCounts() -> [String: Int] {
        advance()
        return succeeded
    }

    /// Every migrate request received per server, accepted or refused.
    public func migrateRequestCounts() -> [String: Int] { migrateRequests }

    /// Failed migration jobs per error code.
    public func failedJobCounts() -> [String: Int] {
        advance()
        return failedJobs
    }

    /// The true current state, layouts included.
    public func currentInventory() -> Inventory {
        advance()
        return inventory
    }

    // MARK: Requests

    /// Answers one request.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        advance()
        let path = request.url.path
        if path == "/v3/auth/tokens" && request.method == "POST" { return issueToken(request) }
        // Every endpoint, the test ones included, needs the token or a signature.
        if let denial = authenticate(request) { return denial }
        if path == "/_fake/inventory" { return Self.json(200, inventory.json().serialized()) }
        if path == "/_fake/stats" {
            func counts(_ d: [String: Int]) -> JSON { .object(d.sorted { $0.key < $1.key }.map { ($0.key, JSON.int($0.value)) }) }
            return Self.json(200, JSON.object([
                ("migrations", counts(migrations)), ("migrations_succeeded", counts(succeeded)), ("migrate_requests", counts(migrateRequests)),
                ("failed_jobs", counts(failedJobs)), ("placement", .string(configuration.placement.rawValue)),
            ]).serialized())
        }
        let parts = path.split(separator: "/").map(String.init)
        let project = configuration.projectID
        let query = Self.queryItems(request.url)
        switch (request.method, parts.count) {
        case ("GET", 3) where parts[0] == "v1.0" && parts[1] == project && parts[2] == "dedicated-hosts":
            return listHosts(query)
        case ("GET", 4) where parts[0] == "v1.0" && parts[1] == project && parts[2] == "dedicated-hosts":
            guard let host = inventory.host(parts[3]) else { return Self.error(404, "DEH.0404", "dedicated host \(parts[3]) not found") }
            return Self.encode(WireDedicatedHostDetail(dedicated_host: wireHost(host, details: true)))
        case ("GET", 5) where parts[0] == "v1.0" && parts[1] == project && parts[2] == "dedicated-hosts" && parts[4] == "servers":
            guard inventory.host(parts[3]) != nil else { return Self.error(404, "DEH.0404", "dedicated host \(parts[3]) not found") }
            var servers = inventory.servers.filter { $0.dedicatedHostID == parts[3] }
            if let marker = query["marker"], let i = servers.firstIndex(where: { $0.id == marker }) { servers = Array(servers[(i + 1)...]) }
            let page = servers.prefix(max(0, Int(query["limit"] ?? "") ?? 1000))
            return Self.encode(WireHostServerList(servers: page.map {
                WireHostServer(id: $0.id, name: $0.name, status: $0.status, flavor: .init(id: $0.flavor))
            }))
        case ("GET", 4) where parts[0] == "v1" && parts[1] == project && parts[2] == "cloudservers" && parts[3] == "detail":
            return listServers(query)
        case ("GET", 4) where parts[0] == "v1" && parts[1] == project && parts[2] == "cloudservers" && parts[3] == "os-server-groups":
            return listServerGroups(query)
        case ("GET", 5) where parts[0] == "v1" && parts[1] == project && parts[2] == "cloudservers" && parts[3] == "os-server-groups":
            guard let group = inventory.serverGroups.first(where: { $0.id == parts[4] }) else {
                return Self.error(404, "Ecs.0005", "server group \(parts[4]) not found")
            }
            return Self.encode(["server_group": Self.wire(group)])
        case ("GET", 4) where parts[0] == "v1" && parts[1] == project && parts[2] == "cloudservers" && parts[3] == "flavors":
            // As the API spells it: vcpus a string, ram a number.
            let flavors = inventory.flavorOrder.compactMap { inventory.flavors[$0] }.map { f in
                WireFlavor(
                    id: f.name, name: f.name, vcpus: LenientInt(f.resources.vcpus, quoted: true), ram: LenientInt(f.resources.memoryMiB),
                    os_extra_specs: f.numaNodes > 1 ? ["hw:numa_nodes": String(f.numaNodes)] : [:])
            }
            return Self.encode(WireFlavorList(flavors: flavors))
        case ("GET", 4) where parts[0] == "v1" && parts[1] == project && parts[2] == "cloudservers":
            guard let server = inventory.server(parts[3]) else { return Self.error(404, "Ecs.0114", "Instance \(parts[3]) could not be found.") }
            return Self.encode(WireServerDetail(server: wireServer(server)))
        case ("POST", 5) where parts[0] == "v1" && parts[1] == project && parts[2] == "cloudservers" && parts[4] == "migrate":
            migrateRequests[parts[3], default: 0] += 1
            return migrate(parts[3], body: request.body ?? [])
        case ("GET", 5) where parts[0] == "v2.1" && parts[1] == project && parts[2] == "servers" && parts[4] == "os-instance-actions":
            guard inventory.server(parts[3]) != nil else { return Self.error(404, "Ecs.0114", "Instance \(parts[3]) could not be found.") }
            let list = (actions[parts[3]] ?? []).reversed().map { a in
                WireInstanceAction(
                    action: a.action, instance_uuid: a.instance_uuid, message: a.message, project_id: a.project_id,
                    request_id: a.request_id, start_time: a.start_time, user_id: a.user_id)
            }
            return Self.encode(WireInstanceActionList(instanceActions: list))
        case ("GET", 6) where parts[0] == "v2.1" && parts[1] == project && parts[2] == "servers" && parts[4] == "os-instance-actions":
            guard let action = actions[parts[3]]?.first(where: { $0.request_id == parts[5] }) else {
                return Self.error(404, "Ecs.0114", "Action \(parts[5]) not found for instance \(parts[3]).")
            }
            return Self.encode(WireInstanceActionDetail(instanceAction: action))
        case ("GET", 4) where parts[0] == "v1" && parts[1] == project && parts[2] == "jobs":
            guard let job = jobs[parts[3]] else { return Self.error(400, "Common.0011", "Query job failed: unknown job \(parts[3]).") }
            return Self.encode(wireJob(job))
        default:
            return Self.error(404, "APIGW.0101", "The API does not exist or has not been published in the environment.")
        }
    }

    func migrate(_ serverID: String, body: [UInt8]) -> HTTPResponse {
        // {"migrate": {"dedicated_host_id": X}} to a DeH; {"migrate": null}, {} or {"migrate": {}} to the pool.
        guard let doc = try? JSON.parse(body.isEmpty ? Array("{}".utf8) : body), case .object = doc else {
            return Self.error(400, "Ecs.0005", "Invalid request body.")
        }
        var target: String?
        if case .object(let fields)? = doc["migrate"], let value = fields.first(where: { $0.0 == "dedicated_host_id" })?.1 {
            guard case .string(let id) = value else { return Self.error(400, "Ecs.0005", "Invalid dedicated_host_id.") }
            target = id
        }
        guard let server = inventory.server(serverID) else { return Self.error(404, "Ecs.0114", "Instance \(serverID) could not be found.") }
        if busy[serverID] != nil { return Self.error(501, "Ecs.0603", "Other commands are being executed on the ECS. Try again later.") }
        if server.locked { return Self.error(400, "Ecs.0605", "The ECS is locked.") }
        if server.status.uppercased() != "SHUTOFF" { return Self.error(400, "Ecs.0100", "The ECS status does not meet requirements: \(server.status).") }
        if let target {
            guard let host = inventory.host(target), host.state == .available else {
                return Self.error(400, "Ecs.0005", "Invalid parameter: dedicated host \(target) does not exist or is not available.")
            }
            if server.dedicatedHostID == target { return Self.error(400, "Ecs.0221", "Cold migration from a DeH to the same DeH is not supported.") }
        } else if server.dedicatedHostID == nil {
            return Self.error(400, "Ecs.0005", "Invalid parameter: the ECS is not on a dedicated host.")
        }
        let id = String(format: "ff8080%026d", nextJob)
        nextJob += 1
        jobs[id] = Job(id: id, serverID: serverID, target: target, begin: now())
        jobOrder.append(id)
        busy[serverID] = id
        migrations[serverID, default: 0] += 1
        let started = ISO8601DateFormatter().string(from: now())
        actions[serverID, default: []].append(WireInstanceAction(
            action: "migrate", instance_uuid: serverID, message: nil, project_id: configuration.projectID, request_id: "req-\(id)",
            start_time: started, user_id: "fake-user",
            events: [.init(event: "compute_prep_resize", result: nil, start_time: started, finish_time: nil)]))
        setServer(server, status: "RESIZE", taskState: "resize_prep")
        return Self.encode(WireJobID(job_id: id))
    }

    // MARK: Listing

    func listHosts(_ query: [String: String]) -> HTTPResponse {
        var hosts = inventory.hosts
        if let marker = query["marker"], let i = hosts.firstIndex(where: { $0.id == marker }) { hosts = Array(hosts[(i + 1)...]) }
        let limit = Int(query["limit"] ?? "") ?? 1000
        let page = hosts.prefix(max(0, limit))
        return Self.encode(WireDedicatedHostList(dedicated_hosts: page.map { wireHost($0, details: false) }, total: inventory.hosts.count))
    }

    static func wire(_ group: ServerGroup) -> WireServerGroup {
        WireServerGroup(id: group.id, name: group.name, policies: [group.policy.rawValue], members: group.members)
    }

    func listServerGroups(_ query: [String: String]) -> HTTPResponse {
        var groups = inventory.serverGroups
        if let marker = query["marker"], let i = groups.firstIndex(where: { $0.id == marker }) { groups = Array(groups[(i + 1)...]) }
        let limit = max(1, min(1000, Int(query["limit"] ?? "") ?? 1000))
        let page = Array(groups.prefix(limit))
        let next = groups.count > limit ? page.last?.id : nil
        return Self.encode(WireServerGroupList(
            server_groups: page.map(Self.wire), page_info: WireServerGroupList.PageInfo(next_marker: next)))
    }

    /// Answers with a CloudAPI wire type, encoded (not written by hand), 200 unless told.
    static func encode(_ value: some Encodable, status: Int = 200) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) else {
            return json(500, #"{"error": {"code": "Common.0001", "message": "encoding failed"}}"#)
        }
        return json(status, text)
    }

    func listServers(_ query: [String: String]) -> HTTPResponse {
        let limit = max(1, min(1000, Int(query["limit"] ?? "") ?? 25))
        let page = max(1, Int(query["offset"] ?? "") ?? 1)
        let slice = inventory.servers.dropFirst((page - 1) * limit).prefix(limit)
        return Self.encode(WireServerList(count: inventory.servers.count, servers: slice.map(wireServer)))
    }

    // MARK: Wire types

    func wireHost(_ host: Topology.Host, details: Bool) -> WireDedicatedHost {
        let capacity = inventory.capacity(of: host).total
        let used = inventory.servers.filter { $0.dedicatedHostID == host.id }
        let usedTotal = used.reduce(Resources.zero) { $0 + (inventory.flavors[$1.flavor]?.resources ?? .zero) }
        let type = inventory.hostTypes[host.hostType]
        return WireDedicatedHost(
            dedicated_host_id: host.id, name: host.name, auto_placement: "off", availability_zone: host.availabilityZone,
            host_properties: .init(
                host_type: host.hostType, host_type_name: host.hostType, vcpus: capacity.vcpus, sockets: inventory.capacity(of: host).count,
                memory: capacity.memoryMiB, available_instance_capacities: (type?.flavors ?? []).map { .init(flavor: $0) }),
            state: host.state.rawValue, project_id: configuration.projectID, available_vcpus: capacity.vcpus - usedTotal.vcpus,
            available_memory: capacity.memoryMiB - usedTotal.memoryMiB, instance_total: used.count,
            instance_uuids: details ? used.map(\.id) : nil)
    }

    /// A server as the ECS API details it: flavor numbers as strings, hints as arrays, the
    /// groups in the hints.
    func wireServer(_ server: Server) -> WireServer {
        let flavor = inventory.flavors[server.flavor]
        let groups = (inventory.groupsOfServer[server.id] ?? []).map { inventory.serverGroups[$0].id }
        let host = server.dedicatedHostID
        let hints = WireServer.SchedulerHints(
            dedicated_host_id: host.map { [$0] }, tenancy: host == nil ? nil : ["dedicated"], group: groups.isEmpty ? nil : groups)
        return WireServer(
            id: server.id, name: server.name, status: server.status,
            vmState: server.status == "SHUTOFF" || server.status == "RESIZE" ? "stopped" : "active", taskState: server.taskState,
            locked: server.locked,
            flavor: .init(
                id: server.flavor, name: server.flavor, vcpus: flavor.map { LenientInt($0.resources.vcpus, quoted: true) },
                ram: flavor.map { LenientInt($0.resources.memoryMiB, quoted: true) }, disk: LenientInt(0, quoted: true)),
            availabilityZone: server.availabilityZone, hypervisorHost: host, schedulerHints: hints, metadata: ["charging_mode": "0"])
    }

    func wireJob(_ job: Job) -> WireJob {
        func time(_ d: Date?) -> String? { d.map { ISO8601DateFormatter().string(from: $0) } }
        return WireJob(
            status: job.status, job_id: job.id, job_type: "coldMigrateServer", begin_time: time(job.begin), end_time: time(job.end),
            error_code: job.errorCode, fail_reason: job.failReason, entities: .init(server_id: job.serverID, sub_jobs_total: 0, sub_jobs: []))
    }

    static func json(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: ["Content-Type": "application/json", "X-Request-Id": UUID().uuidString.lowercased()],
            body: Array(text.utf8))
    }

    static func error(_ status: Int, _ code: String, _ message: String) -> HTTPResponse {
        encode(WireErrorBody(code: code, message: message), status: status)
    }

    static func queryItems(_ url: URL) -> [String: String] {
        var items: [String: String] = [:]
        for item in URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? [] { items[item.name] = item.value ?? "" }
        return items
    }

    // MARK: Auth

    /// The host a request was sent to, as its signature covers it: the `Host` header when there
    /// is one, else the URL's host and port.
    static func host(of request: HTTPRequest) -> String? {
        if let header = request.headers.first(where: { $0.key.lowercased() == "host" }) { return header.value }
        return request.url.host.map { h in request.url.port.map { "\(h):\($0)" } ?? h }
    }

    /// IAM password authentication: 201 with `X-Subject-Token`, the project and a catalogue
    /// whose ECS and DeH endpoints are this fake (as the request reached it); 401 for a wrong
    /// user or password, 400 for a project scope (id or name) the fake does not serve.
    func issueToken(_ request: HTTPRequest) -> HTTPResponse {
        guard let auth = (try? JSONDecoder().decode(WireTokenRequest.self, from: Data(request.body ?? [])))?.auth,
            let user = auth.identity?.password?.user?.name, let password = auth.identity?.password?.user?.password,
            let token = configuration.token, user == configuration.user, password == configuration.password
        else { return Self.error(401, "IAM.0004", "The username or password is incorrect.") }
        let project = auth.scope?.project
        if let id = project?.id, id != configuration.projectID {
            return Self.error(400, "IAM.0011", "Request parameter error: no project \(id).")
        }
        if let name = project?.name, name != configuration.projectName {
            return Self.error(400, "IAM.0011", "Request parameter error: no project named \(name).")
        }
        let host = Self.host(of: request) ?? "127.0.0.1"
        func service(_ type: String, _ path: String) -> WireTokenResponse.Service {
            .init(type: type, endpoints: [.init(interface: "public", region: configuration.region, region_id: configuration.region, url: "http://\(host)\(path)")])
        }
        let body = WireTokenResponse(token: .init(
            methods: ["password"], project: .init(id: configuration.projectID, name: configuration.projectName),
            catalog: [service("ecs", "/v1/\(configuration.projectID)"), service("deh", "/v1.0/\(configuration.projectID)"), service("iam", "/v3")]))
        var response = Self.encode(body, status: 201)
        response.headers["x-subject-token"] = token
        return response
    }

    /// Nil when the request carries the configured token or a valid AK/SK signature; else a 401.
    func authenticate(_ request: HTTPRequest) -> HTTPResponse? {
        let headers = Dictionary(request.headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        if let token = headers["x-auth-token"] {
            return token == configuration.token && configuration.token != nil
                ? nil : Self.error(401, "Common.0013", "Invalid token.")
        }
        guard let authorization = headers["authorization"], let ak = configuration.accessKey, let sk = configuration.secretKey,
            let date = headers["x-sdk-date"]
        else { return Self.error(401, "APIGW.0301", "Incorrect IAM authentication information: no credentials.") }
        // SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("SDK-HMAC-SHA256 ".count).split(separator: ",") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { fields[kv[0]] = kv[1] }
        }
        guard authorization.hasPrefix("SDK-HMAC-SHA256 "), fields["Access"] == ak, let signedList = fields["SignedHeaders"] else {
            return Self.error(401, "APIGW.0301", "Incorrect IAM authentication information: unknown access key.")
        }
        // A signature is good for 15 minutes either side of the cloud's clock (replays and
        // skewed clocks are refused, as the gateway does).
        let parser = DateFormatter()
        parser.locale = Locale(identifier: "en_US_POSIX")
        parser.timeZone = TimeZone(identifier: "UTC")
        parser.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        guard let signedAt = parser.date(from: date), abs(signedAt.timeIntervalSince(now())) <= 15 * 60 else {
            return Self.error(401, "APIGW.0303", "Incorrect app authentication information: the request time (X-Sdk-Date \(date)) is more than 15 minutes from the server's.")
        }
        var signedHeaders: [String: String] = [:]
        for name in signedList.split(separator: ";").map(String.init) where name != "x-sdk-date" && name != "host" {
            signedHeaders[name] = headers[name] ?? ""
        }
        let host = Self.host(of: request) ?? ""
        let components = URLComponents(url: request.url, resolvingAgainstBaseURL: false)
        let query = (components?.percentEncodedQueryItems ?? []).map {
            ($0.name.removingPercentEncoding ?? $0.name, ($0.value ?? "").removingPercentEncoding ?? "")
        }
        let signed = Signer(accessKey: ak, secretKey: sk).sign(
            Signer.Request(
                method: request.method, host: host, path: request.url.path, query: query, headers: signedHeaders,
                body: request.body),
            sdkDate: date)
        return signed.authorization == authorization
            ? nil : Self.error(401, "APIGW.0301", "Incorrect IAM authentication information: verify aksk signature fail.")
    }
}

/// The fake cloud as an in-process transport (no sockets), with optional fault injection:
/// a dropped answer executes the request and then throws `CloudError.noAnswer`.
public struct FakeCloudTransport: HTTPTransport {
    public let cloud: FakeCloud
    let dice: FaultDice

    public init(_ cloud: FakeCloud, faults: FaultInjection = FaultInjection()) {
        self.cloud = cloud
        self.dice = FaultDice(faults)
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard let response = await cloud.handle(request, dice: dice) else {
            throw CloudError.noAnswer("\(request.method) \(request.url.path): connection closed before the answer")
        }
        return response
    }
}
