// SPDX-License-Identifier: GPL-3.0-or-later

extension Inventory {
    /// The inventory as a JSON document in the docs/DESIGN.md format (keys in documented order).
    public func json() -> JSON {
        func nodes(_ list: [Resources]) -> JSON {
            .array(list.map { .object([("vcpus", .int($0.vcpus)), ("memory_mib", .int($0.memoryMiB))]) })
        }
        let types: [(String, JSON)] = hostTypeOrder.compactMap { name in
            guard let t = hostTypes[name] else { return nil }
            return (name, .object([("numa_nodes", nodes(t.numaNodes)), ("flavors", .array(t.flavors.map(JSON.string)))]))
        }
        let flavorPairs: [(String, JSON)] = flavorOrder.compactMap { name in
            guard let f = flavors[name] else { return nil }
            var pairs: [(String, JSON)] = [("vcpus", .int(f.resources.vcpus)), ("memory_mib", .int(f.resources.memoryMiB))]
            if f.numaNodes != 1 { pairs.append(("numa_nodes", .int(f.numaNodes))) }
            return (name, .object(pairs))
        }
        let hostItems: [JSON] = hosts.map { h in
            var pairs: [(String, JSON)] = [
                ("id", .string(h.id)), ("name", .string(h.name)), ("host_type", .string(h.hostType)),
                ("availability_zone", .string(h.availabilityZone)), ("state", .string(h.state.rawValue)),
            ]
            if let o = h.numaNodesOverride { pairs.append(("numa_nodes", nodes(o))) }
            return .object(pairs)
        }
        let serverItems: [JSON] = servers.map { s in
            var pairs: [(String, JSON)] = [
                ("id", .string(s.id)), ("name", .string(s.name)), ("flavor", .string(s.flavor)),
                ("status", .string(s.status)), ("availability_zone", .string(s.availabilityZone)),
                ("dedicated_host_id", .optionalString(s.dedicatedHostID)),
                ("numa_nodes", s.numaNodes.map { .array($0.map(JSON.int)) } ?? .null),
            ]
            if s.locked { pairs.append(("locked", .bool(true))) }
            if let t = s.taskState { pairs.append(("task_state", .string(t))) }
            return .object(pairs)
        }
        var top: [(String, JSON)] = [
            ("host_types", .object(types)), ("flavors", .object(flavorPairs)),
            ("hosts", .array(hostItems)), ("servers", .array(serverItems)),
        ]
        if !serverGroups.isEmpty {
            top.append((
                "server_groups",
                .array(serverGroups.map { g in
                    .object([
                        ("id", .string(g.id)), ("name", .string(g.name)), ("policy", .string(g.policy.rawValue)),
                        ("members", .array(g.members.map(JSON.string))),
                    ])
                })
            ))
        }
        if !notes.isEmpty { top.append(("notes", .array(notes.map(JSON.string)))) }
        return .object(top)
    }
}
