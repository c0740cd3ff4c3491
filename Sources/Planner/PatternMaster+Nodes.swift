// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

extension PatternMaster {
    /// The integer master over **node** patterns: the host patterns generated, taken apart into
    /// their split servers and one fill per node, may be recombined: any fill seen on a node
    /// of a host type with some room left after the split servers may go on any node of that
    /// type with the same room left. With P fills of a node the pool then offers P² two-node
    /// hosts instead of the P it generated; on fleets that tile exactly, an exact cover is a
    /// combination of fills that no single generated host pattern holds.
    ///
    /// Variables: per priced shape and split-server list seen, the hosts of that shape using
    /// it (cost: the shape's); per (host type, room left) and fill seen, how many nodes take it.
    /// Rows: demand per class (at least), hosts per shape (at most), and per (host type, room)
    /// the fills at most the nodes with that room in the hosts chosen (an unfilled node is
    /// empty). Fixed patterns (counts only) keep their whole patterns as columns. Every integer
    /// solution is a list of host patterns (nil when none was found in time).
    func recombined(_ pool: [ShapePattern], cap: Double?, target: Double, timeLimit: Double) -> [ShapePattern]? {
        guard let flavors = pricings.first?.flavors else { return nil }
        struct NodeKey: Hashable {
            let pricing: Int
            let room: Resources
        }
        struct HostKey: Hashable {
            let shape: Int
            let split: [ShapePattern.SplitServer]
        }
        func sortedSplit(_ split: [ShapePattern.SplitServer]) -> [ShapePattern.SplitServer] {
            split.sorted { $0.cls != $1.cls ? $0.cls < $1.cls : $0.nodes.lexicographicallyPrecedes($1.nodes) }
        }
        /// Room per node left by the split servers of a host of shape s.
        func left(_ s: Int, _ split: [ShapePattern.SplitServer]) -> [Resources] {
            var room = shapes[s].room
            for sp in split {
                for n in sp.nodes where n < room.count { room[n] = room[n] - flavors[sp.cls].perNode }
            }
            return room
        }
        // Kept in the order first seen, so that the model (and so the plan) does not depend on
        // hashing; the sets only say what was seen.
        var hostKeys: [HostKey] = []
        var roomLeft: [HostKey: [Resources]] = [:]
        var fills: [NodeKey: [[Int]]] = [:]
        var nodeOrder: [NodeKey] = []
        var seenFills: [NodeKey: Set<[Int]>] = [:]
        var whole: [ShapePattern] = []
        for p in pool {
            guard let pricing = shapes[p.shape].pricing, !p.countsOnly else {
                whole.append(p)
                continue
            }
            let key = HostKey(shape: p.shape, split: sortedSplit(p.split))
            if roomLeft[key] == nil {
                roomLeft[key] = left(p.shape, key.split)
                hostKeys.append(key)
            }
            let room = roomLeft[key]!
            for n in p.perNode.indices where p.perNode[n].contains(where: { $0 > 0 }) {
                let node = NodeKey(pricing: pricing, room: room[n])
                if fills[node] == nil { nodeOrder.append(node) }
                if seenFills[node, default: []].insert(p.perNode[n]).inserted { fills[node, default: []].append(p.perNode[n]) }
            }
        }
        // Fills fit any node of their key; hosts whose nodes have no fill seen stay usable empty.
        var model = Model()
        let classes = demand.count
        var cover: [[(Model.Variable, Double)]] = Array(repeating: [], count: classes)
        var perShape: [[(Model.Variable, Double)]] = Array(repeating: [], count: shapes.count)
        var costTerms: [(Model.Variable, Double)] = []
        var nodeLinks: [NodeKey: [(Model.Variable, Double)]] = [:]
        /// A whole host of shape s holding `counts`: its cost, its shape's host count, its cover.
        func hostColumn(_ s: Int, _ counts: [Int]) -> Model.Variable {
            let v = model.addVariable(kind: .integer, upper: Double(shapes[s].count), objective: shapes[s].cost)
            perShape[s].append((v, 1))
            costTerms.append((v, shapes[s].cost))
            for c in 0..<classes where counts[c] > 0 { cover[c].append((v, Double(counts[c]))) }
            return v
        }
        var hostVariables: [Model.Variable] = []
        for key in hostKeys {
            var splitCounts = Array(repeating: 0, count: classes)
            for sp in key.split { splitCounts[sp.cls] += 1 }
            let v = hostColumn(key.shape, splitCounts)
            hostVariables.append(v)
            let pricing = shapes[key.shape].pricing!
            var nodesOf: [NodeKey: Int] = [:]
            for r in roomLeft[key]! { nodesOf[NodeKey(pricing: pricing, room: r), default: 0] += 1 }
            for node in nodeOrder where nodesOf[node] != nil { nodeLinks[node, default: []].append((v, -Double(nodesOf[node]!))) }
        }
        var fillVariables: [NodeKey: [Model.Variable]] = [:]
        for node in nodeOrder {
            for fill in fills[node]! {
                let v = model.addVariable(kind: .integer)
                fillVariables[node, default: []].append(v)
                for c in 0..<classes where fill[c] > 0 { cover[c].append((v, Double(fill[c]))) }
                nodeLinks[node, default: []].append((v, 1))
            }
        }
        let wholeVariables = whole.map { hostColumn($0.shape, $0.counts) }
        for c in 0..<classes where demand[c] > 0 { model.addGreaterOrEqual(cover[c], Double(demand[c])) }
        for s in shapes.indices where !perShape[s].isEmpty { model.addLessOrEqual(perShape[s], Double(shapes[s].count)) }
        for node in nodeOrder { model.addLessOrEqual(nodeLinks[node]!, 0) }
        if let cap { model.addLessOrEqual(costTerms, cap) }
        let options = SolveOptions(timeLimit: max(0.05, timeLimit), stopWhen: { incumbent, _ in incumbent <= target + 1e-9 })
        guard let solution = try? model.solve(options), solution.hasSolution else { return nil }
        // Back to host patterns: each chosen host takes, node by node, a fill chosen for its key.
        var available: [NodeKey: [Int]] = fillVariables.mapValues { $0.map { Int(solution[$0].rounded()) } }
        var out: [ShapePattern] = []
        for (k, key) in hostKeys.enumerated() {
            let copies = Int(solution[hostVariables[k]].rounded())
            guard copies > 0 else { continue }
            let pricing = shapes[key.shape].pricing!
            let room = roomLeft[key]!
            for _ in 0..<copies {
                var p = ShapePattern.empty(shape: key.shape, nodes: room.count, classes: classes)
                for sp in key.split { p.addSplit(sp.cls, nodes: sp.nodes) }
                for n in room.indices {
                    let node = NodeKey(pricing: pricing, room: room[n])
                    guard let i = available[node]?.firstIndex(where: { $0 > 0 }) else { continue }
                    available[node]![i] -= 1
                    let fill = fills[node]![i]
                    for c in 0..<classes where fill[c] > 0 {
                        p.perNode[n][c] += fill[c]
                        p.counts[c] += fill[c]
                    }
                }
                out.append(p)
            }
        }
        for (i, p) in whole.enumerated() { out += Array(repeating: p, count: Int(solution[wholeVariables[i]].rounded())) }
        return out
    }
}
