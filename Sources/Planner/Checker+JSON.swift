// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

extension Reason {
    /// `{"code", "message"}`.
    public var json: JSON { .object([("code", .string(code.rawValue)), ("message", .string(message))]) }
}

extension NodeFit {
    /// Leftover per chosen node: `[{"node", "vcpus", "memory_mib"}]`.
    public var leftoverJSON: JSON {
        .array(zip(nodes, leftover).map { node, left in
            .object([("node", .int(node)), ("vcpus", .int(left.vcpus)), ("memory_mib", .int(left.memoryMiB))])
        })
    }
}

/// Rounds a score for output (3 decimals) so JSON stays stable across platforms.
func roundedScore(_ score: Double) -> Double { (score * 1000).rounded() / 1000 }

extension MoveCheck {
    /// The `check` JSON: `{"server_id", "target", "feasible", "numa_nodes", "layout", "verdict", "leftover", "reasons"}`.
    public var json: JSON {
        .object([
            ("server_id", .string(serverID)),
            ("target", .optionalString(target.hostID)),
            ("feasible", .bool(feasible)),
            ("numa_nodes", numaNodes.map { .array($0.map(JSON.int)) } ?? .null),
            ("layout", .string(layoutKnown ? "known" : "unknown")),
            ("verdict", .string(verdict.rawValue)),
            ("leftover", fit?.leftoverJSON ?? .null),
            ("reasons", .array(reasons.map(\.json))),
        ])
    }
}

extension Checker.Candidate {
    /// One entry of `targets`.
    public var json: JSON {
        .object([
            ("dedicated_host_id", .optionalString(target.hostID)),
            ("numa_nodes", fit.map { .array($0.nodes.map(JSON.int)) } ?? .null),
            ("leftover", fit?.leftoverJSON ?? .null),
            ("score", fit.map { .number(roundedScore($0.score)) } ?? .null),
            ("layout", .string(layoutKnown ? "known" : "unknown")),
            ("verdict", .string(verdict.rawValue)),
        ])
    }
}

extension Checker.TargetList {
    /// The `targets` JSON: `{"server_id", "targets", "fitting_hosts", "rejected", "reasons"}`.
    public var json: JSON {
        .object([
            ("server_id", .string(serverID)),
            ("targets", .array(targets.map(\.json))),
            ("fitting_hosts", .int(fittingHosts)),
            ("rejected", .object(rejected.sorted { $0.key < $1.key }.map { ($0.key.rawValue, .int($0.value)) })),
            ("reasons", .array(serverReasons.map(\.json))),
        ])
    }
}
