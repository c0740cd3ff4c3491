// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Topology

extension Plan {
    /// Reads the moves of a plan file (DESIGN.md format). Errors name the JSON path.
    public static func moves(fromFile path: String) throws(InventoryError) -> [Move] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InventoryError(file: path, issues: [InventoryIssue(path: "", message: "cannot read the plan file")])
        }
        let json: JSON
        do {
            json = try JSON.parse([UInt8](data))
        } catch {
            throw InventoryError(file: path, issues: [InventoryIssue(path: "", message: "invalid JSON at \(error)")])
        }
        guard case .array(let items)? = json["moves"] else {
            throw InventoryError(file: path, issues: [InventoryIssue(path: "moves", message: "missing; expected an array of moves")])
        }
        var moves: [Move] = []
        var issues: [InventoryIssue] = []
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
                nodes = list.compactMap { if case .number(let n) = $0, n == n.rounded(), n >= 0 { Int(n) } else { nil } }
                if nodes?.count != list.count {
                    issues.append(InventoryIssue(path: "\(p).numa_nodes", message: "expected node indices"))
                    continue
                }
            }
            var wave = 1
            if case .number(let w)? = item["wave"] {
                guard w == w.rounded(), w >= 1 else {
                    issues.append(InventoryIssue(path: "\(p).wave", message: "expected a positive integer"))
                    continue
                }
                wave = Int(w)
            }
            moves.append(Move(serverID: server, from: from, to: to, numaNodes: nodes, wave: wave))
        }
        if !issues.isEmpty { throw InventoryError(file: path, issues: issues) }
        return moves
    }
}
