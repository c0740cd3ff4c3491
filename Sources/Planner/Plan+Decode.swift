// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Topology

extension Plan {
    /// Reads the moves of a plan file (docs/DESIGN.md format). Errors name the JSON path.
    public static func moves(fromFile path: String) throws(InventoryError) -> [Move] {
        try moves(in: readJSON(path), file: path)
    }

    static func readJSON(_ path: String) throws(InventoryError) -> JSON {
        guard let data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: path) else {
            throw InventoryError(file: path, issues: [InventoryIssue(path: "", message: "cannot read the plan file")])
        }
        do {
            return try JSON.parse([UInt8](data))
        } catch {
            throw InventoryError(file: path, issues: [InventoryIssue(path: "", message: "invalid JSON at \(error)")])
        }
    }

    /// Reads a whole plan file: status, objective, moves, unplaced servers and notes (solver
    /// statistics are kept when present). Errors name the JSON path.
    public static func load(fromFile path: String) throws(InventoryError) -> Plan {
        try decode(readJSON(path), file: path)
    }

    /// A plan from its JSON (the plan file's format), checked like a plan file; errors name the
    /// JSON path.
    public static func decode(_ json: JSON, file path: String = "plan") throws(InventoryError) -> Plan {
        let moves = try moves(in: json, file: path)
        var issues: [InventoryIssue] = []
        var status = Status.feasible
        if case .string(let s)? = json["status"], let parsed = Status(rawValue: s) {
            status = parsed
        } else {
            issues.append(InventoryIssue(path: "status", message: "expected \"optimal\", \"feasible\", \"partial\" or \"infeasible\""))
        }
        var placement = CloudPlacement.planned  // plans from before the field were made that way
        if let field = json["cloud_placement"] {
            if case .string(let m)? = field["model"], let parsed = CloudPlacement(rawValue: m) {
                placement = parsed
            } else {
                issues.append(InventoryIssue(
                    path: "cloud_placement.model",
                    message: "expected one of \(CloudPlacement.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))"))
            }
        }
        func number(_ v: JSON?) -> Double? { if case .number(let n)? = v, n.isFinite { n } else { nil } }
        // Solver statistics are for people: out-of-range values read as 0 rather than trap.
        func count(_ v: JSON?) -> Int {
            guard let n = number(v), n >= 0, n <= 1e15 else { return 0 }
            return Int(n)
        }
        var name = "", value = 0.0
        let objective = json["objective"]
        if case .string(let n)? = objective?["name"] { name = n } else { issues.append(InventoryIssue(path: "objective.name", message: "expected a string")) }
        if let v = number(objective?["value"]) { value = v } else { issues.append(InventoryIssue(path: "objective.value", message: "expected a number")) }
        var unplaced: [Unplaced] = []
        if case .array(let items)? = json["unplaced"] {
            for (i, item) in items.enumerated() {
                guard case .string(let id)? = item["server_id"] else {
                    issues.append(InventoryIssue(path: "unplaced[\(i)].server_id", message: "expected a string"))
                    continue
                }
                var reasons: [Reason] = []
                if case .array(let list)? = item["reasons"] {
                    for r in list {
                        if case .string(let c)? = r["code"], let code = ReasonCode(rawValue: c) {
                            var message = ""
                            if case .string(let m)? = r["message"] { message = m }
                            reasons.append(Reason(code, message))
                        }
                    }
                }
                unplaced.append(Unplaced(serverID: id, reasons: reasons))
            }
        }
        var notes: [String] = []
        if case .array(let list)? = json["notes"] { for case .string(let n) in list { notes.append(n) } }
        var topology: Inventory?
        if let t = json["topology"], t != .null {
            do {
                topology = try Inventory.decode(t)
            } catch {
                issues += error.issues.map { InventoryIssue(path: "topology." + $0.path, message: $0.message) }
            }
        }
        var fingerprint: String?
        if case .string(let f)? = json["inventory_fingerprint"] { fingerprint = f }
        // The plan's own topology names every server it moves and every host it touches: ids
        // it does not know were not planned here.
        if let topology {
            for (i, m) in moves.enumerated() {
                if let server = topology.server(m.serverID) {
                    if server.dedicatedHostID != m.from {
                        issues.append(InventoryIssue(
                            path: "moves[\(i)].from",
                            message: "\(m.serverID) is on \(server.dedicatedHostID ?? "the pool") in the plan's topology, not \(m.from ?? "the pool")"))
                    }
                } else {
                    issues.append(InventoryIssue(path: "moves[\(i)].server_id", message: "server \(m.serverID) is not in the plan's topology"))
                }
                if let to = m.to, topology.host(to) == nil {
                    issues.append(InventoryIssue(path: "moves[\(i)].to", message: "host \(to) is not in the plan's topology"))
                }
            }
        }
        if !issues.isEmpty { throw InventoryError(file: path, issues: issues) }
        let solver = json["solver"]
        return Plan(
            status: status, objectiveName: name, objectiveValue: value, objectiveBound: number(objective?["bound"]),
            moves: moves, unplaced: unplaced, solverSeconds: number(solver?["seconds"]) ?? 0,
            variables: count(solver?["variables"]), constraints: count(solver?["constraints"]),
            subproblems: count(solver?["subproblems"]), notes: notes, placement: placement,
            topology: topology, fingerprint: fingerprint)
    }

    static func moves(in json: JSON, file path: String) throws(InventoryError) -> [Move] {
        guard case .array(let items)? = json["moves"] else {
            throw InventoryError(file: path, issues: [InventoryIssue(path: "moves", message: "missing; expected an array of moves")])
        }
        var moves: [Move] = []
        var issues: [InventoryIssue] = []
        var seen: [String: Int] = [:]
        func string(_ v: JSON?) -> String?? {
            switch v {
            case .string(let s)?: return .some(s)
            case .null?, nil: return .some(nil)
            default: return nil
            }
        }
        for (i, item) in items.enumerated() {
            let p = "moves[\(i)]"
            guard case .string(let server)? = item["server_id"] else {
                issues.append(InventoryIssue(path: "\(p).server_id", message: "missing; expected a string"))
                continue
            }
            guard let from = string(item["from"]) else {
                issues.append(InventoryIssue(path: "\(p).from", message: "expected a string or null"))
                continue
            }
            guard let to = string(item["to"]) else {
                issues.append(InventoryIssue(path: "\(p).to", message: "expected a string or null"))
                continue
            }
            var nodes: [Int]?
            if case .array(let list)? = item["numa_nodes"] {
                nodes = list.compactMap { if case .number(let n) = $0, n == n.rounded(), n >= 0, n < 1024 { Int(n) } else { nil } }
                if nodes?.count != list.count || Set(nodes ?? []).count != list.count {
                    issues.append(InventoryIssue(path: "\(p).numa_nodes", message: "expected distinct node indices from 0 to 1023"))
                    continue
                }
            }
            var wave = 1
            if case .number(let w)? = item["wave"] {
                guard w == w.rounded(), w >= 1, w <= 1_000_000 else {
                    issues.append(InventoryIssue(path: "\(p).wave", message: "expected a whole number from 1 to 1000000"))
                    continue
                }
                wave = Int(w)
            } else if let w = item["wave"], w != .null {
                issues.append(InventoryIssue(path: "\(p).wave", message: "expected a whole number from 1 to 1000000"))
                continue
            }
            if from == nil && to == nil {
                issues.append(InventoryIssue(path: p, message: "pool to pool: a cold migration moves a server to or from a Dedicated Host"))
                continue
            }
            if from != nil && from == to {
                issues.append(InventoryIssue(path: "\(p).to", message: "same as from (\(to!)): the API refuses a same-host migration"))
                continue
            }
            if let first = seen[server] {
                issues.append(InventoryIssue(path: "\(p).server_id", message: "\(server) already moves in moves[\(first)]; a server moves at most once per plan"))
                continue
            }
            seen[server] = i
            moves.append(Move(serverID: server, from: from, to: to, numaNodes: nodes, wave: wave))
        }
        if !issues.isEmpty { throw InventoryError(file: path, issues: issues) }
        return moves
    }
}
