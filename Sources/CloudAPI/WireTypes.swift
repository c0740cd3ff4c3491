// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation

/// An integer the API sends either as a number or as a string (`flavor.vcpus: "2"`).
public struct LenientInt: Codable, Sendable, Equatable {
    public let value: Int

    public init(_ value: Int) { self.value = value }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) {
            value = i
        } else if let s = try? c.decode(String.self), let i = Int(s.trimmingCharacters(in: .whitespaces)) {
            value = i
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an integer or a string holding one")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

/// A Dedicated Host as the DeH API sends it.
public struct WireDedicatedHost: Codable, Sendable, Equatable {
    public struct Properties: Codable, Sendable, Equatable {
        public struct Capacity: Codable, Sendable, Equatable { public let flavor: String }
        public let host_type: String
        public let host_type_name: String?
        public let vcpus: Int?
        public let cores: Int?
        public let sockets: Int?
        public let memory: Int?
        public let available_instance_capacities: [Capacity]?
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
}

/// `GET /v1.0/{project}/dedicated-hosts`.
public struct WireDedicatedHostList: Codable, Sendable {
    public let dedicated_hosts: [WireDedicatedHost]
    public let total: Int?
}

/// `GET /v1.0/{project}/dedicated-hosts/{id}`.
public struct WireDedicatedHostDetail: Codable, Sendable {
    public let dedicated_host: WireDedicatedHost
}

/// An ECS server (details).
public struct WireServer: Codable, Sendable, Equatable {
    public struct Flavor: Codable, Sendable, Equatable {
        public let id: String
        public let name: String?
        public let vcpus: LenientInt?
        public let ram: LenientInt?
        public let disk: LenientInt?
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

    enum CodingKeys: String, CodingKey {
        case id, name, status, locked, flavor
        case vmState = "OS-EXT-STS:vm_state"
        case taskState = "OS-EXT-STS:task_state"
        case availabilityZone = "OS-EXT-AZ:availability_zone"
        case hypervisorHost = "OS-EXT-SRV-ATTR:host"
        case schedulerHints = "os:scheduler_hints"
    }

    /// The DeH the server is on, from its scheduler hints; nil for the public pool.
    public var dedicatedHostID: String? { schedulerHints?.dedicated_host_id?.first }
}

/// `GET /v1/{project}/cloudservers/{id}`.
public struct WireServerDetail: Codable, Sendable { public let server: WireServer }

/// `GET /v1/{project}/cloudservers/detail`.
public struct WireServerList: Codable, Sendable {
    public let count: Int?
    public let servers: [WireServer]
}

/// An asynchronous job (`GET /v1/{project}/jobs/{job_id}`).
public struct WireJob: Codable, Sendable, Equatable {
    public struct Entities: Codable, Sendable, Equatable {
        public let server_id: String?
        public let sub_jobs_total: Int?
        public let sub_jobs: [WireJob]?
    }

    public let status: String
    public let job_id: String?
    public let job_type: String?
    public let begin_time: String?
    public let end_time: String?
    public let error_code: String?
    public let fail_reason: String?
    public let entities: Entities?

    /// SUCCESS, FAIL, or still running (INIT, RUNNING, ...), compared case-insensitively.
    public var isSuccess: Bool { status.uppercased() == "SUCCESS" }
    public var isFailure: Bool { status.uppercased() == "FAIL" }
    public var isFinished: Bool { isSuccess || isFailure }
}

/// `POST .../migrate` answer.
public struct WireJobID: Codable, Sendable { public let job_id: String }

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
}

public struct WireFlavorList: Codable, Sendable { public let flavors: [WireFlavor] }

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
    public struct FlavorRef: Codable, Sendable, Equatable { public let id: String }
    public let id: String
    public let name: String?
    public let status: String?
    public let flavor: FlavorRef
}

public struct WireHostServerList: Codable, Sendable { public let servers: [WireHostServer] }
