// SPDX-License-Identifier: GPL-3.0-or-later

/// Any JSON value through `Codable`, so that types whose wire format is written as a `JSON`
/// tree (the inventory, the plan) can be encoded and decoded by any `Encoder`/`Decoder` with
/// exactly the format and checks of their files.
extension JSON: Codable {
    struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: Key.self) {
            // Decoders that keep no key order (JSONDecoder) give the keys sorted here, so the
            // same input decodes the same way every time.
            self = .object(try object.allKeys.sorted { $0.stringValue < $1.stringValue }.map { ($0.stringValue, try object.decode(JSON.self, forKey: $0)) })
        } else if var array = try? decoder.unkeyedContainer() {
            var items: [JSON] = []
            while !array.isAtEnd { items.append(try array.decode(JSON.self)) }
            self = .array(items)
        } else {
            let value = try decoder.singleValueContainer()
            if value.decodeNil() {
                self = .null
            } else if let b = try? value.decode(Bool.self) {
                self = .bool(b)
            } else if let n = try? value.decode(Double.self) {
                self = .number(n)
            } else {
                self = .string(try value.decode(String.self))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var value = encoder.singleValueContainer()
            try value.encodeNil()
        case .bool(let b):
            var value = encoder.singleValueContainer()
            try value.encode(b)
        case .number(let n):
            var value = encoder.singleValueContainer()
            // Whole numbers as integers (sizes, counts), as the files write them.
            if n == n.rounded(), abs(n) < 9e15 { try value.encode(Int(n)) } else { try value.encode(n) }
        case .string(let s):
            var value = encoder.singleValueContainer()
            try value.encode(s)
        case .array(let items):
            var array = encoder.unkeyedContainer()
            for item in items { try array.encode(item) }
        case .object(let fields):
            var object = encoder.container(keyedBy: Key.self)
            for (k, v) in fields { try object.encode(v, forKey: Key(stringValue: k)) }
        }
    }
}

/// The inventory through `Codable`, in the inventory file's format (docs/INVENTORY.md):
/// decoding runs the same checks as reading a file and throws `InventoryError` with every
/// problem and its path. Key order inside `host_types` and `flavors` follows the decoder
/// (sorted by name from JSONDecoder).
extension Inventory: Codable {
    public init(from decoder: any Decoder) throws {
        self = try Inventory.decode(JSON(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try json().encode(to: encoder)
    }
}

// The inventory's element types, each in the shape it has inside an inventory file (snake_case
// keys; a flavor and a host type carry their name, which the file keeps as the map key).
// Decoded alone they are not checked against each other: decode an `Inventory` for that.

extension Resources: Codable {
    enum CodingKeys: String, CodingKey {
        case vcpus
        case memoryMiB = "memory_mib"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(vcpus: try c.decode(Int.self, forKey: .vcpus), memoryMiB: try c.decode(Int.self, forKey: .memoryMiB))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vcpus, forKey: .vcpus)
        try c.encode(memoryMiB, forKey: .memoryMiB)
    }
}

extension Flavor: Codable {
    enum CodingKeys: String, CodingKey {
        case name, vcpus
        case memoryMiB = "memory_mib"
        case numaNodes = "numa_nodes"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try c.decode(String.self, forKey: .name),
            resources: Resources(vcpus: try c.decode(Int.self, forKey: .vcpus), memoryMiB: try c.decode(Int.self, forKey: .memoryMiB)),
            numaNodes: try c.decodeIfPresent(Int.self, forKey: .numaNodes) ?? 1)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(resources.vcpus, forKey: .vcpus)
        try c.encode(resources.memoryMiB, forKey: .memoryMiB)
        try c.encode(numaNodes, forKey: .numaNodes)
    }
}

extension HostType: Codable {
    enum CodingKeys: String, CodingKey {
        case name, flavors
        case numaNodes = "numa_nodes"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), numaNodes: try c.decode([Resources].self, forKey: .numaNodes),
                  flavors: try c.decode([String].self, forKey: .flavors))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(numaNodes, forKey: .numaNodes)
        try c.encode(flavors, forKey: .flavors)
    }
}

extension HostState: Codable {}

extension Host: Codable {
    enum CodingKeys: String, CodingKey {
        case id, name, state
        case hostType = "host_type"
        case availabilityZone = "availability_zone"
        case numaNodesOverride = "numa_nodes"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(String.self, forKey: .id), name: try c.decodeIfPresent(String.self, forKey: .name),
            hostType: try c.decode(String.self, forKey: .hostType), availabilityZone: try c.decode(String.self, forKey: .availabilityZone),
            state: try c.decodeIfPresent(HostState.self, forKey: .state) ?? .available,
            numaNodesOverride: try c.decodeIfPresent([Resources].self, forKey: .numaNodesOverride))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(hostType, forKey: .hostType)
        try c.encode(availabilityZone, forKey: .availabilityZone)
        try c.encode(state, forKey: .state)
        try c.encodeIfPresent(numaNodesOverride, forKey: .numaNodesOverride)
    }
}

extension Server: Codable {
    enum CodingKeys: String, CodingKey {
        case id, name, flavor, status, locked
        case availabilityZone = "availability_zone"
        case dedicatedHostID = "dedicated_host_id"
        case numaNodes = "numa_nodes"
        case taskState = "task_state"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(String.self, forKey: .id), name: try c.decodeIfPresent(String.self, forKey: .name),
            flavor: try c.decode(String.self, forKey: .flavor), status: try c.decodeIfPresent(String.self, forKey: .status) ?? "SHUTOFF",
            availabilityZone: try c.decode(String.self, forKey: .availabilityZone),
            dedicatedHostID: try c.decodeIfPresent(String.self, forKey: .dedicatedHostID),
            numaNodes: try c.decodeIfPresent([Int].self, forKey: .numaNodes),
            locked: try c.decodeIfPresent(Bool.self, forKey: .locked) ?? false,
            taskState: try c.decodeIfPresent(String.self, forKey: .taskState))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(flavor, forKey: .flavor)
        try c.encode(status, forKey: .status)
        try c.encode(availabilityZone, forKey: .availabilityZone)
        try c.encode(dedicatedHostID, forKey: .dedicatedHostID)  // null: the public pool
        try c.encode(numaNodes, forKey: .numaNodes)  // null: unknown layout
        if locked { try c.encode(true, forKey: .locked) }
        try c.encodeIfPresent(taskState, forKey: .taskState)
    }
}

extension ServerGroup.Policy: Codable {}

extension ServerGroup: Codable {
    enum CodingKeys: String, CodingKey { case id, name, policy, members }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(String.self, forKey: .id), name: try c.decodeIfPresent(String.self, forKey: .name),
            policy: try c.decodeIfPresent(Policy.self, forKey: .policy) ?? .antiAffinity, members: try c.decode([String].self, forKey: .members))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(policy, forKey: .policy)
        try c.encode(members, forKey: .members)
    }
}
