// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation

/// An integer the API sends either as a number or as a string (`flavor.vcpus: "2"`).
public struct LenientInt: Codable, Sendable, Equatable {
    public let value: Int
    /// Encoded as a string (`"2"`), as the API spells some fields; equality ignores it.
    public let quoted: Bool

    public init(_ value: Int, quoted: Bool = false) {
        self.value = value
        self.quoted = quoted
    }

    public static func == (a: LenientInt, b: LenientInt) -> Bool { a.value == b.value }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) {
            value = i
            quoted = false
        } else if let s = try? c.decode(String.self), let i = Int(s.trimmingCharacters(in: .whitespaces)) {
            value = i
            quoted = true
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an integer or a string holding one")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if quoted { try c.encode(String(value)) } else { try c.encode(value) }
    }
}

/// A Dedicated Host as the DeH API sends it.
public struct WireDedicatedHost: Codable, Sendable, Equatable {
    public struct Properties: Codable, Sendable, Equatable {
        public struct Capacity: Codable, Sendable, Equatable {
            public let flavor: String
            public init(flavor: String) { self.flavor = flavor }
        }
        public let host_type: String
        public let host_type_name: String?
        public let vcpus: Int?
        public let cores: Int?
        public let sockets: Int?
        public let memory: Int?
        public let available_instance_capacities: [Capacity]?

        public init(
            host_type: String, host_type_name: String?, vcpus: Int?, cores: Int? = nil, sockets: Int?, memory: Int?,
            available_instance_capacities: [Capacity]?
        ) {
            self.host_type = host_type
            self.host_type_name = host_type_name
            self.vcpus = vcpus
            self.cores = cores
            self.sockets = sockets
            self.memory = memory
            self.available_instance_capacities = available_instance_capacities
        }
    }

    public let dedicated_host_id: String
    public let name: String?
    public let auto_placement: String?
    public let availability_zone: String
    public let host_properties: Properties
    public let state: String
    public let project_id: String?
    public let available_vcpus: Int?
    public let available_memory: Int?
    public let instance_total: Int?
    public let instance_uuids: [String]?
    public let allocated_at: String?
    public let released_at: String?

    public init(
        dedicated_host_id: String, name: String?, auto_placement: String?, availability_zone: String, host_properties: Properties,
        state: String, project_id: String?, available_vcpus: Int?, available_memory: Int?, instance_total: Int?,
        instance_uuids: [String]?, allocated_at: String? = nil, released_at: String? = nil
    ) {
        self.dedicated_host_id = dedicated_host_id
        self.name = name
        self.auto_placement = auto_placement
        self.availability_zone = availability_zone
        self.host_properties = host_properties
        self.state = state
        self.project_id = project_id
        self.available_vcpus = available_vcpus
        self.available_memory = available_memory
        self.instance_total = instance_total
        self.instance_uuids = instance_uuids
        self.allocated_at = allocated_at
        self.released_at = released_at
    }
}

/// `GET /v1.0/{project}/dedicated-hosts`.
public struct WireDedicatedHostList: Codable, Sendable {
    public let dedicated_hosts: [WireDedicatedHost]
    public let total: Int?
    public init(dedicated_hosts: [WireDedicatedHost], total: Int?) {
        self.dedicated_hosts = dedicated_hosts
        self.total = total
    }
}

/// `GET /v1.0/{project}/dedicated-hosts/{id}`.
public struct WireDedicatedHostDetail: Codable, Sendable {
    public let dedicated_host: WireDedicatedHost
    public init(dedicated_host: WireDedicatedHost) { self.dedicated_host = dedicated_host }
}

/// An ECS server (details).
public struct WireServer: Codable, Sendable, Equatable {
    public struct Flavor: Codable, Sendable, Equatable {
        public let id: String
        public let name: String?
        public let vcpus: LenientInt?
        public let ram: LenientInt?
        public let disk: LenientInt?

        public init(id: String, name: String?, vcpus: LenientInt?, ram: LenientInt?, disk: LenientInt?) {
            self.id = id
            self.name = name
            self.vcpus = vcpus
            self.ram = ram
            self.disk = disk
        }
    }

    /// `os:scheduler_hints`: arrays of strings (`{}` for a server in the public pool).
    public struct SchedulerHints: Codable, Sendable, Equatable {
        public let dedicated_host_id: [String]?
        public let tenancy: [String]?
        public let group: [String]?

        public init(dedicated_host_id: [String]?, tenancy: [String]?, group: [String]?) {
            self.dedicated_host_id = dedicated_host_id
            self.tenancy = tenancy
            self.group = group
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func strings(_ key: CodingKeys) -> [String]? {
                if let list = try? c.decode([String].self, forKey: key) { return list }
                if let one = try? c.decode(String.self, forKey: key) { return [one] }  // tolerate a bare string
                return nil
            }
            dedicated_host_id = strings(.dedicated_host_id)
            tenancy = strings(.tenancy)
            group = strings(.group)
        }

        /// True for both documented spellings of dedicated tenancy (`dedicate`, `dedicated`).
        public var isDedicated: Bool {
            (tenancy ?? []).contains { $0 == "dedicated" || $0 == "dedicate" }
        }
    }

    public let id: String
    public let name: String?
    public let status: String
    public let vmState: String?
    public let taskState: String?
    public let locked: Bool?
    public let flavor: Flavor
    public let availabilityZone: String?
    public let hypervisorHost: String?
    public let schedulerHints: SchedulerHints?
    /// `metadata` (e.g. `charging_mode`); dehplan reads none of it.
    public let metadata: [String: String]?

    enum CodingKeys: String, CodingKey {
        case id, name, status, locked, flavor, metadata
        case vmState = "OS-EXT-STS:vm_state"
        case taskState = "OS-EXT-STS:task_state"
        case availabilityZone = "OS-EXT-AZ:availability_zone"
        case hypervisorHost = "OS-EXT-SRV-ATTR:host"
        case schedulerHints = "os:scheduler_hints"
    }

    public init(
        id: String, name: String?, status: String, vmState: String?, taskState: String?, locked: Bool?, flavor: Flavor,
        availabilityZone: String?, hypervisorHost: String?, schedulerHints: SchedulerHints?, metadata: [String: String]? = nil
    ) {
        self.id = id
        self.name = name
        self.status = status
        self.vmState = vmState
        self.taskState = taskState
        self.locked = locked
        self.flavor = flavor
        self.availabilityZone = availabilityZone
        self.hypervisorHost = hypervisorHost
        self.schedulerHints = schedulerHints
        self.metadata = metadata
    }

    /// As the API writes it: `OS-EXT-STS:task_state` and `OS-EXT-SRV-ATTR:host` are `null` when
    /// empty, not absent.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(vmState, forKey: .vmState)
        try c.encode(taskState, forKey: .taskState)
        try c.encodeIfPresent(locked, forKey: .locked)
        try c.encode(flavor, forKey: .flavor)
        try c.encodeIfPresent(availabilityZone, forKey: .availabilityZone)
        try c.encode(hypervisorHost, forKey: .hypervisorHost)
        try c.encodeIfPresent(schedulerHints, forKey: .schedulerHints)
        try c.encodeIfPresent(metadata, forKey: .metadata)
    }

    /// The DeH the server is on, from its scheduler hints; nil for the public pool.
    public var dedicatedHostID: String? { schedulerHints?.dedicated_host_id?.first }
}

/// `GET /v1/{project}/cloudservers/{id}`.
public struct WireServerDetail: Codable, Sendable {
    public let server: WireServer
    public init(server: WireServer) { self.server = server }
}

/// `GET /v1/{project}/cloudservers/detail`.
public struct WireServerList: Codable, Sendable {
    public let count: Int?
    public let servers: [WireServer]
    public init(count: Int?, servers: [WireServer]) {
        self.count = count
        self.servers = servers
    }
}

/// An asynchronous job (`GET /v1/{project}/jobs/{job_id}`).
public struct WireJob: Codable, Sendable, Equatable {
    public struct Entities: Codable, Sendable, Equatable {
        public let server_id: String?
        public let sub_jobs_total: Int?
        public let sub_jobs: [WireJob]?

        public init(server_id: String?, sub_jobs_total: Int?, sub_jobs: [WireJob]?) {
            self.server_id = server_id
            self.sub_jobs_total = sub_jobs_total
            self.sub_jobs = sub_jobs
        }
    }

    public let status: String
    public let job_id: String?
    public let job_type: String?
    public let begin_time: String?
    public let end_time: String?
    public let error_code: String?
    public let fail_reason: String?
    public let entities: Entities?

    public init(
        status: String, job_id: String?, job_type: String?, begin_time: String?, end_time: String?, error_code: String?,
        fail_reason: String?, entities: Entities?
    ) {
        self.status = status
        self.job_id = job_id
        self.job_type = job_type
        self.begin_time = begin_time
        self.end_time = end_time
        self.error_code = error_code
        self.fail_reason = fail_reason
        self.entities = entities
    }

    enum CodingKeys: String, CodingKey { case status, job_id, job_type, begin_time, end_time, error_code, fail_reason, entities }

    /// As the API writes it: times, `error_code` and `fail_reason` are `null` when not set.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(job_id, forKey: .job_id)
        try c.encodeIfPresent(job_type, forKey: .job_type)
        try c.encode(begin_time, forKey: .begin_time)
        try c.encode(end_time, forKey: .end_time)
        try c.encode(error_code, forKey: .error_code)
        try c.encode(fail_reason, forKey: .fail_reason)
        try c.encodeIfPresent(entities, forKey: .entities)
    }

    /// SUCCESS, FAIL, or still running (INIT, RUNNING, ...), compared case-insensitively.
    public var isSuccess: Bool { status.uppercased() == "SUCCESS" }
    public var isFailure: Bool { status.uppercased() == "FAIL" }
    public var isFinished: Bool { isSuccess || isFailure }
}

/// `POST .../migrate` answer.
public struct WireJobID: Codable, Sendable {
    public let job_id: String
    public init(job_id: String) { self.job_id = job_id }
}

/// The error body the ECS, DeH and IAM services answer with: `{"error": {"code", "message"}}`
/// (`CloudError.from` also reads the other spellings some services use).
public struct WireErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public let code: String
        public let message: String
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }
    public let error: Detail
    public init(code: String, message: String) { error = Detail(code: code, message: message) }
}

/// One entry of a server's action log (`GET /v2.1/{project_id}/servers/{server_id}/os-instance-actions`,
/// the Nova-compatible API of the ECS endpoint); `events` only in the single-action answer.
public struct WireInstanceAction: Codable, Sendable, Equatable {
    public struct Event: Codable, Sendable, Equatable {
        public let event: String
        public let result: String?
        public let traceback: String?
        public let start_time: String?
        public let finish_time: String?

        public init(event: String, result: String?, traceback: String? = nil, start_time: String?, finish_time: String?) {
            self.event = event
            self.result = result
            self.traceback = traceback
            self.start_time = start_time
            self.finish_time = finish_time
        }
    }

    public let action: String
    public let instance_uuid: String?
    public let message: String?
    public let project_id: String?
    public let request_id: String
    public let start_time: String?
    public let user_id: String?
    public let events: [Event]?

    public init(
        action: String, instance_uuid: String?, message: String?, project_id: String?, request_id: String, start_time: String?,
        user_id: String?, events: [Event]? = nil
    ) {
        self.action = action
        self.instance_uuid = instance_uuid
        self.message = message
        self.project_id = project_id
        self.request_id = request_id
        self.start_time = start_time
        self.user_id = user_id
        self.events = events
    }
}

/// `{"instanceActions": [...]}`, newest first.
public struct WireInstanceActionList: Codable, Sendable {
    public let instanceActions: [WireInstanceAction]
    public init(instanceActions: [WireInstanceAction]) { self.instanceActions = instanceActions }
}

/// `{"instanceAction": {...}}` with its events.
public struct WireInstanceActionDetail: Codable, Sendable {
    public let instanceAction: WireInstanceAction
    public init(instanceAction: WireInstanceAction) { self.instanceAction = instanceAction }
}

/// A flavor (`GET /v1/{project}/cloudservers/flavors`): `vcpus` a string, `ram` a number.
public struct WireFlavor: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let vcpus: LenientInt
    public let ram: LenientInt
    public let os_extra_specs: [String: String]?

    public init(id: String, name: String, vcpus: LenientInt, ram: LenientInt, os_extra_specs: [String: String]?) {
        self.id = id
        self.name = name
        self.vcpus = vcpus
        self.ram = ram
        self.os_extra_specs = os_extra_specs
    }
}

public struct WireFlavorList: Codable, Sendable {
    public let flavors: [WireFlavor]
    public init(flavors: [WireFlavor]) { self.flavors = flavors }
}

/// A server group as `GET /v1/{project}/cloudservers/os-server-groups` lists it.
public struct WireServerGroup: Codable, Sendable, Equatable {
    public let id: String
    public let name: String?
    /// `anti-affinity`, `affinity`, `soft-anti-affinity` or `soft-affinity`.
    public let policies: [String]?
    public let members: [String]?

    public init(id: String, name: String?, policies: [String]?, members: [String]?) {
        self.id = id
        self.name = name
        self.policies = policies
        self.members = members
    }
}

/// A page of server groups; `page_info.next_marker` leads to the next one.
public struct WireServerGroupList: Codable, Sendable {
    public struct PageInfo: Codable, Sendable {
        public let next_marker: String?
        public init(next_marker: String?) { self.next_marker = next_marker }
    }
    public let server_groups: [WireServerGroup]
    public let page_info: PageInfo?

    public init(server_groups: [WireServerGroup], page_info: PageInfo?) {
        self.server_groups = server_groups
        self.page_info = page_info
    }
}

/// A server as `GET /v1.0/{project}/dedicated-hosts/{id}/servers` lists it (flavor id only).
public struct WireHostServer: Codable, Sendable, Equatable {
    public struct FlavorRef: Codable, Sendable, Equatable {
        public let id: String
        public init(id: String) { self.id = id }
    }
    public let id: String
    public let name: String?
    public let status: String?
    public let flavor: FlavorRef

    public init(id: String, name: String?, status: String?, flavor: FlavorRef) {
        self.id = id
        self.name = name
        self.status = status
        self.flavor = flavor
    }
}

public struct WireHostServerList: Codable, Sendable {
    public let servers: [WireHostServer]
    public init(servers: [WireHostServer]) { self.servers = servers }
}

/// IAM `POST /v3/auth/tokens` request: password authentication scoped to a project (by id, or
/// by name within the domain).
public struct WireTokenRequest: Codable, Sendable, Equatable {
    public struct Name: Codable, Sendable, Equatable {
        public let name: String?
        public init(name: String?) { self.name = name }
    }
    public struct User: Codable, Sendable, Equatable {
        public let name: String?
        public let password: String?
        public let domain: Name?
    }
    public struct Password: Codable, Sendable, Equatable { public let user: User? }
    public struct Identity: Codable, Sendable, Equatable {
        public let methods: [String]?
        public let password: Password?
    }
    public struct Project: Codable, Sendable, Equatable {
        public let id: String?
        public let name: String?
        public let domain: Name?
    }
    public struct Scope: Codable, Sendable, Equatable { public let project: Project? }
    public struct Auth: Codable, Sendable, Equatable {
        public let identity: Identity?
        public let scope: Scope?
    }
    public let auth: Auth?

    /// A password request for `user` of `domain`, scoped to the project with this id or name.
    public init(user: String, password: String, domain: String, projectID: String?, projectName: String?) {
        auth = Auth(
            identity: Identity(methods: ["password"], password: Password(user: User(name: user, password: password, domain: Name(name: domain)))),
            scope: Scope(project: Project(id: projectID, name: projectName, domain: projectName == nil ? nil : Name(name: domain))))
    }
}

/// IAM token answer (the token itself is in the `X-Subject-Token` header): the project and the
/// service catalogue. Every field is optional: a body that says less gives less.
public struct WireTokenResponse: Codable, Sendable, Equatable {
    public struct Project: Codable, Sendable, Equatable {
        public let id: String?
        public let name: String?
        public init(id: String?, name: String?) {
            self.id = id
            self.name = name
        }
    }
    public struct Endpoint: Codable, Sendable, Equatable {
        public let interface: String?
        public let region: String?
        public let region_id: String?
        public let url: String?
        public init(interface: String?, region: String?, region_id: String?, url: String?) {
            self.interface = interface
            self.region = region
            self.region_id = region_id
            self.url = url
        }
    }
    public struct Service: Codable, Sendable, Equatable {
        public let type: String?
        public let endpoints: [Endpoint]?
        public init(type: String?, endpoints: [Endpoint]?) {
            self.type = type
            self.endpoints = endpoints
        }
    }
    public struct Token: Codable, Sendable, Equatable {
        public let methods: [String]?
        public let project: Project?
        public let catalog: [Service]?
        public init(methods: [String]?, project: Project?, catalog: [Service]?) {
            self.methods = methods
            self.project = project
            self.catalog = catalog
        }
    }
    public let token: Token?
    public init(token: Token?) { self.token = token }
}
