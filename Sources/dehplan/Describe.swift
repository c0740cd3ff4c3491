// SPDX-License-Identifier: GPL-3.0-or-later

import Planner
import Topology

/// Short human descriptions shared by the text renderers.
enum Describe {
    static func server(_ server: Server, _ inventory: Inventory) -> String {
        let flavor = inventory.flavors[server.flavor]
        var size = ""
        if let f = flavor {
            size = ", \(f.resources.vcpus) vCPUs / \(f.resources.memoryMiB) MiB"
            if f.numaNodes > 1 { size += " over \(f.numaNodes) NUMA nodes" }
        }
        let location = server.dedicatedHostID.map { "on \($0)" } ?? "in the public pool"
        let nameTag = server.name == server.id ? "" : " (\(server.name))"
        return "\(server.id)\(nameTag), \(server.flavor)\(size), \(server.status), \(location)"
    }

    static func nodes(_ nodes: [Int]) -> String { nodes.map(String.init).joined(separator: ",") }

    static func leftover(_ fit: NodeFit) -> String {
        zip(fit.nodes, fit.leftover).map { "n\($0): \($1.vcpus)/\($1.memoryMiB)" }.joined(separator: "  ")
    }

    static func score(_ score: Double) -> String {
        let rounded = (score * 1000).rounded() / 1000
        var s = String(rounded)
        while s.split(separator: ".").last.map({ $0.count < 3 }) ?? false { s += "0" }
        return s
    }
}
