// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation

extension Inventory {
    /// Reads and validates an inventory file. Throws `InventoryError` listing every problem found.
    public static func load(path: String) throws(InventoryError) -> Inventory {
        let data: Data
        do {
            // "-": standard input, as operators pipe files (`... | dehplan check --inventory -`).
            data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file"
            throw InventoryError(file: path, issues: [InventoryIssue(path: "", message: reason)])
        }
        do {
            return try decode(bytes: [UInt8](data))
        } catch {
            throw InventoryError(file: path, issues: error.issues)
        }
    }

    /// Parses and validates inventory JSON.
    public static func decode(bytes: [UInt8]) throws(InventoryError) -> Inventory {
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            throw InventoryError(file: nil, issues: [InventoryIssue(path: "", message: "invalid JSON at \(error)")])
        }
        return try decode(json)
    }

    /// Validates an inventory document.
    public static func decode(_ json: JSON) throws(InventoryError) -> Inventory {
        var decoder = InventoryDecoder()
        guard let inventory = decoder.decode(json), decoder.reader.issues.isEmpty else {
            throw InventoryError(file: nil, issues: decoder.reader.issues)
        }
        return inventory
    }
}

/// Decodes and validates the inventory contract of docs/DESIGN.md.
private struct InventoryDecoder {
    var reader = JSONReader()
    /// Every server id in the file, including servers with other errors, so that one bad
    /// field does not cascade into "unknown server" errors elsewhere.
    var allServerIDs = Set<String>()
    /// The same for flavors, host types and hosts: a reference to one that the file defines
    /// with an error of its own is not reported again as unknown ("unknown flavor ...; did you
    /// mean ...?" about a flavor whose memory was the only problem).
    var allFlavorNames = Set<String>()
    var allHostTypeNames = Set<String>()
    var allHostIDs = Set<String>()

    static let topKeys = ["host_types", "flavors", "hosts", "servers", "server_groups", "notes"]
    static let hostTypeKeys = ["numa_nodes", "flavors"]
    static let nodeKeys = ["vcpus", "memory_mib"]
    static let flavorKeys = ["vcpus", "memory_mib", "numa_nodes"]
    static let hostKeys = ["id", "name", "host_type", "availability_zone", "state", "numa_nodes"]
    static let serverKeys = [
        "id", "name", "flavor", "status", "availability_zone", "dedicated_host_id", "numa_nodes", "locked", "task_state",
    ]
    static let groupKeys = ["id", "name", "policy", "members"]

    mutating func decode(_ json: JSON) -> Inventory? {
        guard case .object = json else {
            reader.fail("", "expected a JSON object with host_types, flavors, hosts and servers, got \(json.typeName)")
            return nil
        }
        reader.rejectUnknownKeys(json, at: "", allowed: Self.topKeys)
        let flavors = decodeFlavors(json["flavors"])
        let flavorByName = Dictionary(flavors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let hostTypes = decodeHostTypes(json["host_types"], flavors: flavorByName)
        let typeByName = Dictionary(hostTypes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let hosts = decodeHosts(json["hosts"], types: typeByName)
        let servers = decodeServers(json["servers"], flavors: flavorByName, hosts: hosts, types: typeByName)
        let groups = decodeGroups(json["server_groups"])
        var inventory = Inventory(
            hostTypes: hostTypes, flavors: flavors, hosts: hosts.map(\.1), servers: servers.map(\.1),
            serverGroups: groups)
        switch json["notes"] {
        case nil, .null?: break
        case .array(let items)?:
            for (i, item) in items.enumerated() {
                if case .string(let note) = item { inventory.notes.append(note) } else { reader.fail("notes[\(i)]", "expected a string") }
            }
        default: reader.fail("notes", "expected an array of strings")
        }
        if reader.issues.isEmpty { checkCapacity(inventory, hostPaths: hosts.map(\.0)) }
        return inventory
    }

    // MARK: Flavors

    mutating func decodeFlavors(_ value: JSON?) -> [Flavor] {
        guard let pairs = reader.object(value, at: "flavors") else { return [] }
        var result: [Flavor] = []
        for (name, spec) in pairs {
            allFlavorNames.insert(name)
            let path = join("flavors", name)
            guard reader.object(spec, at: path) != nil else { continue }
            reader.rejectUnknownKeys(spec, at: path, allowed: Self.flavorKeys)
            let vcpus = reader.positiveInt(spec["vcpus"], at: join(path, "vcpus"), unit: "vCPUs")
            let memory = reader.positiveInt(spec["memory_mib"], at: join(path, "memory_mib"), unit: "MiB")
            var k = 1
            if let v = spec["numa_nodes"], v != .null {
                guard let n = reader.positiveInt(v, at: join(path, "numa_nodes"), unit: "NUMA nodes") else { continue }
                k = n
            }
            guard let vcpus, let memory else { continue }
            if vcpus % k != 0 {
                reader.fail(join(path, "numa_nodes"), "\(vcpus) vCPUs do not split evenly over \(k) NUMA nodes")
                continue
            }
            if memory % k != 0 {
                reader.fail(join(path, "numa_nodes"), "\(memory) MiB do not split evenly over \(k) NUMA nodes")
                continue
            }
            result.append(Flavor(name: name, resources: Resources(vcpus: vcpus, memoryMiB: memory), numaNodes: k))
        }
        return result
    }

    // MARK: Host types

    mutating func decodeNodes(_ value: JSON?, at path: String) -> [Resources]? {
        guard let items = reader.array(value, at: path) else { return nil }
        if items.isEmpty {
            reader.fail(path, "must list at least one NUMA node")
            return nil
        }
        var nodes: [Resources] = []
        var ok = true
        for (i, item) in items.enumerated() {
            let p = "\(path)[\(i)]"
            guard reader.object(item, at: p) != nil else {
                ok = false
                continue
            }
            reader.rejectUnknownKeys(item, at: p, allowed: Self.nodeKeys)
            let v = reader.positiveInt(item["vcpus"], at: join(p, "vcpus"), unit: "vCPUs")
            let m = reader.positiveInt(item["memory_mib"], at: join(p, "memory_mib"), unit: "MiB")
            if let v, let m { nodes.append(Resources(vcpus: v, memoryMiB: m)) } else { ok = false }
        }
        return ok ? nodes : nil
    }

    mutating func decodeHostTypes(_ value: JSON?, flavors: [String: Flavor]) -> [HostType] {
        guard let pairs = reader.object(value, at: "host_types") else { return [] }
        var result: [HostType] = []
        for (name, spec) in pairs {
            allHostTypeNames.insert(name)
            let path = join("host_types", name)
            guard reader.object(spec, at: path) != nil else { continue }
            reader.rejectUnknownKeys(spec, at: path, allowed: Self.hostTypeKeys)
            let nodes = decodeNodes(spec["numa_nodes"], at: join(path, "numa_nodes"))
            var accepted: [String] = []
            if let items = reader.array(spec["flavors"], at: join(path, "flavors")) {
                var seen = Set<String>()
                for (i, item) in items.enumerated() {
                    let p = "\(join(path, "flavors"))[\(i)]"
                    guard let f = reader.string(item, at: p) else { continue }
                    if !seen.insert(f).inserted {
                        reader.fail(p, "flavor \"\(f)\" is listed twice")
                        continue
                    }
                    guard let flavor = flavors[f] else {
                        if !allFlavorNames.contains(f) { reader.fail(p, unknown("flavor", f, among: flavors.keys)) }
                        continue
                    }
                    if let nodes, flavor.numaNodes > nodes.count {
                        reader.fail(
                            p,
                            "flavor \"\(f)\" spans \(flavor.numaNodes) NUMA nodes but host type \"\(name)\" has only \(nodes.count)"
                        )
                        continue
                    }
                    accepted.append(f)
                }
            }
            if let nodes { result.append(HostType(name: name, numaNodes: nodes, flavors: accepted)) }
        }
        return result
    }

    // MARK: Hosts

    mutating func decodeHosts(_ value: JSON?, types: [String: HostType]) -> [(String, Host)] {
        guard let items = reader.array(value, at: "hosts") else { return [] }
        var result: [(String, Host)] = []
        var seen: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            let path = "hosts[\(i)]"
            guard reader.object(item, at: path) != nil else { continue }
            reader.rejectUnknownKeys(item, at: path, allowed: Self.hostKeys)
            let id = uniqueID(item, at: path, index: i, seen: &seen, kind: "host", array: "hosts")
            if let id { allHostIDs.insert(id) }
            let name = reader.string(item["name"], at: join(path, "name"), required: false)
            let typeName = reader.string(item["host_type"], at: join(path, "host_type"))
            var type: HostType?
            if let typeName {
                type = types[typeName]
                if type == nil, !allHostTypeNames.contains(typeName) {
                    reader.fail(join(path, "host_type"), unknown("host type", typeName, among: types.keys))
                }
            }
            let az = reader.string(item["availability_zone"], at: join(path, "availability_zone"))
            var state: HostState?
            if let s = reader.string(item["state"], at: join(path, "state")) {
                state = HostState(rawValue: s)
                if state == nil {
                    reader.fail(join(path, "state"), "unknown state \"\(s)\"; expected one of available, fault, released")
                }
            }
            var override: [Resources]?
            if let v = item["numa_nodes"], v != .null {
                override = decodeNodes(v, at: join(path, "numa_nodes"))
                if let o = override, let type, o.count != type.numaNodes.count {
                    reader.fail(
                        join(path, "numa_nodes"),
                        "host type \"\(type.name)\" has \(type.numaNodes.count) NUMA nodes; an override must list the same number, got \(o.count)"
                    )
                    override = nil
                }
            }
            if let id, let typeName, type != nil, let az, let state {
                result.append((path, Host(id: id, name: name, hostType: typeName, availabilityZone: az, state: state,
                                          numaNodesOverride: override)))
            }
        }
        return result
    }

    // MARK: Servers

    mutating func decodeServers(
        _ value: JSON?, flavors: [String: Flavor], hosts: [(String, Host)], types: [String: HostType]
    ) -> [(String, Server)] {
        guard let items = reader.array(value, at: "servers") else { return [] }
        let hostByID = Dictionary(hosts.map { ($0.1.id, $0.1) }, uniquingKeysWith: { a, _ in a })
        var result: [(String, Server)] = []
        var seen: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            let path = "servers[\(i)]"
            guard reader.object(item, at: path) != nil else { continue }
            reader.rejectUnknownKeys(item, at: path, allowed: Self.serverKeys)
            let id = uniqueID(item, at: path, index: i, seen: &seen, kind: "server", array: "servers")
            if let id { allServerIDs.insert(id) }
            let name = reader.string(item["name"], at: join(path, "name"), required: false)
            var flavor: Flavor?
            if let f = reader.string(item["flavor"], at: join(path, "flavor")) {
                flavor = flavors[f]
                if flavor == nil, !allFlavorNames.contains(f) { reader.fail(join(path, "flavor"), unknown("flavor", f, among: flavors.keys)) }
            }
            let status = reader.string(item["status"], at: join(path, "status"))
            let az = reader.string(item["availability_zone"], at: join(path, "availability_zone"))
            let locked = reader.bool(item["locked"], at: join(path, "locked"), default: false)
            let taskState = reader.nullableString(item["task_state"], at: join(path, "task_state"))
            guard let hostField = reader.nullableString(item["dedicated_host_id"], at: join(path, "dedicated_host_id")) else {
                continue
            }
            var host: Host?
            if let hostID = hostField {
                host = hostByID[hostID]
                if host == nil {
                    if !allHostIDs.contains(hostID) {
                        reader.fail(join(path, "dedicated_host_id"), unknown("host", hostID, among: hostByID.keys))
                    }
                    continue
                }
            }
            if let host, let az, host.availabilityZone != az {
                reader.fail(
                    join(path, "availability_zone"),
                    "server is in \"\(az)\" but its host \"\(host.id)\" is in \"\(host.availabilityZone)\"")
            }
            var layout: [Int]?
            func nodesPath() -> String { join(path, "numa_nodes") }
            if let v = item["numa_nodes"], v != .null {
                if host == nil {
                    reader.fail(nodesPath(), "a server in the public pool (dedicated_host_id null) has no NUMA layout on a DeH; remove numa_nodes or set dedicated_host_id")
                    continue
                }
                guard let entries = reader.array(v, at: nodesPath()) else { continue }
                var nodes: [Int] = []
                for (j, e) in entries.enumerated() {
                    if let n = reader.int(e, at: "\(nodesPath())[\(j)]") { nodes.append(n) }
                }
                guard nodes.count == entries.count else { continue }
                layout = nodes
            }
            if let host, let flavor, let type = types[host.hostType] {
                let nodeCount = (host.numaNodesOverride ?? type.numaNodes).count
                if flavor.numaNodes > nodeCount {
                    reader.fail(
                        join(path, "flavor"),
                        "flavor \"\(flavor.name)\" spans \(flavor.numaNodes) NUMA nodes but host \"\(host.id)\" has only \(nodeCount)")
                } else if let nodes = layout {
                    if nodes.count != flavor.numaNodes {
                        reader.fail(
                            nodesPath(),
                            "flavor \"\(flavor.name)\" spans \(flavor.numaNodes) NUMA node\(flavor.numaNodes == 1 ? "" : "s"); got \(nodes.count) (\(nodes.map(String.init).joined(separator: ", ")))"
                        )
                    }
                    for (j, n) in nodes.enumerated() where n < 0 || n >= nodeCount {
                        reader.fail("\(nodesPath())[\(j)]", "NUMA node \(n) out of range; host \"\(host.id)\" has nodes 0...\(nodeCount - 1)")
                    }
                    if Set(nodes).count != nodes.count {
                        reader.fail(nodesPath(), "lists a NUMA node more than once; a split flavor occupies distinct nodes")
                    }
                }
            }
            if let id, let flavor, let status, let az, let taskState {
                result.append((path, Server(
                    id: id, name: name, flavor: flavor.name, status: status, availabilityZone: az,
                    dedicatedHostID: host?.id, numaNodes: layout, locked: locked, taskState: taskState)))
            }
        }
        return result
    }

    // MARK: Server groups

    mutating func decodeGroups(_ value: JSON?) -> [ServerGroup] {
        guard let items = reader.array(value, at: "server_groups", required: false) else { return [] }
        let known = allServerIDs
        var result: [ServerGroup] = []
        var seen: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            let path = "server_groups[\(i)]"
            guard reader.object(item, at: path) != nil else { continue }
            reader.rejectUnknownKeys(item, at: path, allowed: Self.groupKeys)
            let id = uniqueID(item, at: path, index: i, seen: &seen, kind: "server group", array: "server_groups")
            let name = reader.string(item["name"], at: join(path, "name"), required: false)
            var policy: ServerGroup.Policy?
            if let p = reader.string(item["policy"], at: join(path, "policy")) {
                policy = ServerGroup.Policy(rawValue: p)
                if policy == nil {
                    reader.fail(join(path, "policy"), "unsupported policy \"\(p)\"; dehplan enforces \"anti-affinity\"")
                }
            }
            var members: [String] = []
            if let entries = reader.array(item["members"], at: join(path, "members")) {
                var seenMembers = Set<String>()
                for (j, e) in entries.enumerated() {
                    let p = "\(join(path, "members"))[\(j)]"
                    guard let m = reader.string(e, at: p) else { continue }
                    if !known.contains(m) {
                        reader.fail(p, unknown("server", m, among: known))
                    } else if !seenMembers.insert(m).inserted {
                        reader.fail(p, "server \"\(m)\" is listed twice")
                    } else {
                        members.append(m)
                    }
                }
            }
            if let id, let policy { result.append(ServerGroup(id: id, name: name, policy: policy, members: members)) }
        }
        return result
    }

    /// Reads `id` and reports a duplicate, naming where the id was first used.
    mutating func uniqueID(
        _ item: JSON, at path: String, index i: Int, seen: inout [String: Int], kind: String, array: String
    ) -> String? {
        guard let id = reader.string(item["id"], at: join(path, "id")) else { return nil }
        if let first = seen[id] {
            reader.fail(join(path, "id"), "duplicate \(kind) id \"\(id)\" (first used by \(array)[\(first)])")
        } else {
            seen[id] = i
        }
        return id
    }

    // MARK: Capacity

    /// Known layouts must fit their nodes, and all servers together must fit the host's total.
    mutating func checkCapacity(_ inventory: Inventory, hostPaths: [String]) {
        var perNode: [[Resources]] = inventory.hosts.map { Array(repeating: .zero, count: inventory.capacity(of: $0).count) }
        var total: [Resources] = Array(repeating: .zero, count: inventory.hosts.count)
        for server in inventory.servers {
            guard let hostID = server.dedicatedHostID, let h = inventory.hostIndex[hostID],
                let flavor = inventory.flavors[server.flavor]
            else { continue }
            total[h] += flavor.resources
            guard let nodes = server.numaNodes else { continue }
            for n in nodes where n >= 0 && n < perNode[h].count {
                perNode[h][n] += flavor.perNode
            }
        }
        /// The servers of known layout on node `n` of host `h`, in file order (only for a message).
        func onNode(_ h: Int, _ n: Int) -> [String] {
            inventory.servers.filter { $0.dedicatedHostID == inventory.hosts[h].id && $0.numaNodes?.contains(n) == true }.map(\.id)
        }
        for (h, host) in inventory.hosts.enumerated() {
            let capacity = inventory.capacity(of: host)
            for (n, used) in perNode[h].enumerated() {
                let cap = capacity[n]
                var over: [String] = []
                if used.vcpus > cap.vcpus { over.append("\(used.vcpus - cap.vcpus) vCPUs (\(used.vcpus) used of \(cap.vcpus))") }
                if used.memoryMiB > cap.memoryMiB {
                    over.append("\(used.memoryMiB - cap.memoryMiB) MiB (\(used.memoryMiB) used of \(cap.memoryMiB))")
                }
                if !over.isEmpty {
                    reader.fail(
                        hostPaths[h],
                        "host \"\(host.id)\" NUMA node \(n) is overcommitted by \(over.joined(separator: " and ")) by servers with known layout: \(list(onNode(h, n)))"
                    )
                }
            }
            let cap = capacity.total
            let used = total[h]
            if used.vcpus > cap.vcpus || used.memoryMiB > cap.memoryMiB {
                reader.fail(
                    hostPaths[h],
                    "host \"\(host.id)\" is overcommitted in total: its servers use \(used) of \(cap)")
            }
        }
    }

    func list(_ ids: [String]) -> String {
        ids.count <= 6 ? ids.joined(separator: ", ") : ids.prefix(6).joined(separator: ", ") + " and \(ids.count - 6) more"
    }

    func unknown(_ what: String, _ name: String, among candidates: some Sequence<String>) -> String {
        var message = "unknown \(what) \"\(name)\""
        if let guess = closestMatch(to: name, in: candidates) { message += "; did you mean \"\(guess)\"?" }
        return message
    }
}
