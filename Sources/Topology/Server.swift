// SPDX-License-Identifier: GPL-3.0-or-later

/// An ECS server (instance).
public struct Server: Hashable, Sendable {
    /// Server id.
    public let id: String
    /// Display name.
    public let name: String
    /// Flavor name.
    public let flavor: String
    /// ECS status (`SHUTOFF`, `ACTIVE`, ...). Only `SHUTOFF` servers can be cold migrated.
    public let status: String
    /// Availability zone.
    public let availabilityZone: String
    /// The DeH the server is on; nil means the public resource pool.
    public let dedicatedHostID: String?
    /// NUMA node indices the server occupies on its host; nil means unknown layout.
    public let numaNodes: [Int]?
    /// Whether the server is locked (the migrate call refuses locked servers: `Ecs.0605`).
    public let locked: Bool
    /// ECS `OS-EXT-STS:task_state`; non-nil means another operation is running.
    public let taskState: String?

    /// Creates a server.
    public init(
        id: String, name: String? = nil, flavor: String, status: String = "SHUTOFF",
        availabilityZone: String, dedicatedHostID: String?, numaNodes: [Int]? = nil,
        locked: Bool = false, taskState: String? = nil
    ) {
        self.id = id
        self.name = name ?? id
        self.flavor = flavor
        self.status = status
        self.availabilityZone = availabilityZone
        self.dedicatedHostID = dedicatedHostID
        self.numaNodes = numaNodes
        self.locked = locked
        self.taskState = taskState
    }

    /// True when the server is `SHUTOFF` (case-insensitive, as the reference pollers compare).
    public var isStopped: Bool { status.uppercased() == "SHUTOFF" }

    /// A copy placed elsewhere.
    public func placed(on host: String?, numaNodes: [Int]?) -> Server {
        Server(id: id, name: name, flavor: flavor, status: status, availabilityZone: availabilityZone,
               dedicatedHostID: host, numaNodes: numaNodes, locked: locked, taskState: taskState)
    }
}

/// A server group; dehplan enforces `anti-affinity` (no two members on one host).
public struct ServerGroup: Hashable, Sendable {
    /// The policies dehplan understands.
    public enum Policy: String, Hashable, Sendable, CaseIterable {
        case antiAffinity = "anti-affinity"
    }

    /// Group id.
    public let id: String
    /// Display name.
    public let name: String
    /// Placement policy.
    public let policy: Policy
    /// Member server ids.
    public let members: [String]

    /// Creates a group.
    public init(id: String, name: String? = nil, policy: Policy = .antiAffinity, members: [String]) {
        self.id = id
        self.name = name ?? id
        self.policy = policy
        self.members = members
    }
}
