// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

/// What one host of a given shape receives in a pattern: per NUMA node, how many servers of
/// each one-node class, and each split server with the nodes it spans.
struct ShapePattern: Hashable {
    let shape: Int
    /// Per node, per class: one-node servers.
    var perNode: [[Int]]
    /// Split servers: class and nodes (ascending).
    var split: [SplitServer]
    /// Per class: servers in the pattern.
    var counts: [Int]

    struct SplitServer: Hashable {
        let cls: Int
        let nodes: [Int]
    }

    /// Counts only, no nodes: movers staying on their host, wherever they are
    /// (`ShapePatterns.Shape.stay`).
    var countsOnly: Bool { perNode.isEmpty && split.isEmpty }

    static func empty(shape: Int, nodes: Int, classes: Int) -> ShapePattern {
        ShapePattern(shape: shape, perNode: Array(repeating: Array(repeating: 0, count: classes), count: nodes), split: [],
                     counts: Array(repeating: 0, count: classes))
    }

    mutating func addOneNode(_ cls: Int, node: Int) {
        perNode[node][cls] += 1
        counts[cls] += 1
    }

    /// The pattern without the servers beyond `demand` (split servers and the fullest nodes'
    /// servers go first).
    func trimmed(to demand: [Int]) -> ShapePattern {
        guard counts.indices.contains(where: { counts[$0] > demand[$0] }) else { return self }
        var p = self
        for c in p.counts.indices where p.counts[c] > demand[c] {
            var extra = p.counts[c] - demand[c]
            while extra > 0, let k = p.split.lastIndex(where: { $0.cls == c }) {
                p.split.remove(at: k)
                extra -= 1
            }
            while extra > 0, let n = p.perNode.indices.max(by: { p.perNode[$0][c] < p.perNode[$1][c] }), p.perNode[n][c] > 0 {
                p.perNode[n][c] -= 1
                extra -= 1
            }
            p.counts[c] = demand[c]
        }
        return p
    }

    /// Keeps at most `need[c]` servers of each class c (split servers first, then one-node ones
    /// node by node) and lowers `need` by what it keeps.
    mutating func keep(upTo need: inout [Int]) {
        if countsOnly {
            for c in counts.indices {
                counts[c] = min(counts[c], need[c])
                need[c] -= counts[c]
            }
            return
        }
        var kept: [SplitServer] = []
        for sp in split {
            if need[sp.cls] > 0 {
                kept.append(sp)
                need[sp.cls] -= 1
            } else {
                counts[sp.cls] -= 1
            }
        }
        split = kept
        for n in perNode.indices {
            for c in perNode[n].indices where perNode[n][c] > 0 {
                let keep = min(perNode[n][c], need[c])
                counts[c] -= perNode[n][c] - keep
                perNode[n][c] = keep
                need[c] -= keep
            }
        }
    }

    mutating func addSplit(_ cls: Int, nodes: [Int]) {
        split.append(SplitServer(cls: cls, nodes: nodes.sorted()))
        counts[cls] += 1
    }
}

/// The pricing problem of one host type for the pattern master: given a price per class, the
/// content of one host (per node, within vCPUs and memory of every node) worth the most. It is
/// a multi-node, two-resource knapsack, solved exactly:
///
/// - one-node servers: a two-dimensional unbounded knapsack by dynamic programming over a grid
///   of vCPUs and memory per node (in units of the greatest common divisor of the servers'
///   per-node shares, so the grid is small: 24 × 36 cells for a 48 vCPU / 144 GiB node);
/// - split servers: every way to place them is enumerated once per shape (for a server over k
///   of n nodes, how many touch each node: t servers can be laid out when the per-node counts
///   add up to k·t and none exceeds t), and for each the nodes' leftover room is filled by the
///   table. Shapes where that enumeration would exceed `comboLimit` leave split classes out.
///
/// Counts are capped by the demand per node, not per host: a pattern may hold more servers of a
/// class than there are (the master trims them); the patterns priced are a superset of the
/// useful ones, so a pricing that finds nothing proves the LP optimal, and its Lagrangian bound
/// holds.
struct ShapePricing {
    /// Class flavors (all classes of the sub-problem).
    let flavors: [Flavor]
    /// One-node classes this host type accepts.
    let oneNode: [Int]
    /// Split classes this host type accepts.
    let splitClasses: [Int]
    let unitV: Int
    let unitM: Int
    /// Grid size per node, in units.
    let gridV: Int
    let gridM: Int
    /// Per one-node class: share in units.
    let sizeV: [Int]
    let sizeM: [Int]

    static let gridLimit = 600_000

    /// Nil when the grid would be too large.
    init?(flavors: [Flavor], accepted: [Int], largestNode: Resources) {
        self.flavors = flavors
        oneNode = accepted.filter { flavors[$0].numaNodes == 1 }
        splitClasses = accepted.filter { flavors[$0].numaNodes > 1 }
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        var uv = 0, um = 0
        for c in accepted {
            uv = gcd(uv, flavors[c].perNode.vcpus)
            um = gcd(um, flavors[c].perNode.memoryMiB)
        }
        unitV = max(1, uv)
        unitM = max(1, um)
        gridV = largestNode.vcpus / unitV
        gridM = largestNode.memoryMiB / unitM
        guard (gridV + 1) * (gridM + 1) <= Self.gridLimit else { return nil }
        sizeV = flavors.map { $0.perNode.vcpus / max(1, uv) }
        sizeM = flavors.map { $0.perNode.memoryMiB / max(1, um) }
    }

    func units(_ r: Resources) -> (v: Int, m: Int) {
        (min(gridV, max(0, r.vcpus) / unitV), min(gridM, max(0, r.memoryMiB) / unitM))
    }

    /// The one-node table for `price`: best value within each (vCPUs, memory) of a node, with
    /// at most `limit[c]` servers of class c on the node (a bounded knapsack: each class's
    /// count split into pieces of 1, 2, 4, ... servers, taken at most once), and per piece the
    /// cells it improved (a bit each), to read contents back.
    struct Table {
        let gridM: Int
        var best: [Double]
        let pieces: [(cls: Int, copies: Int, v: Int, m: Int)]
        /// Piece p improved cell (v, m): bit m & 63 of word p × `words` + v × `rowWords` + m >> 6
        /// (`took`).
        var improved: [UInt64]
        let words: Int
        let rowWords: Int
        func value(_ v: Int, _ m: Int) -> Double { best[v * (gridM + 1) + m] }
        func took(_ p: Int, v: Int, m: Int) -> Bool {
            improved[p * words + v * rowWords + m >> 6] & (1 << UInt64(m & 63)) != 0
        }
    }

    func table(_ price: [Double], limit: [Int]) -> Table {
        let w = gridM + 1
        let cells = (gridV + 1) * w
        let rowWords = (w + 63) / 64
        let words = (gridV + 1) * rowWords
        var pieces: [(cls: Int, copies: Int, v: Int, m: Int)] = []
        for c in oneNode where price[c] > 1e-12 && limit[c] > 0 {
            let fit = min(sizeV[c] > 0 ? gridV / sizeV[c] : Int.max / 4, sizeM[c] > 0 ? gridM / sizeM[c] : Int.max / 4)
            var left = min(limit[c], fit)
            var chunk = 1
            while left > 0 {
                let take = min(chunk, left)
                pieces.append((c, take, sizeV[c] * take, sizeM[c] * take))
                left -= take
                chunk *= 2
            }
        }
        var best = [Double](repeating: 0, count: cells)
        var improved = [UInt64](repeating: 0, count: pieces.count * words)
        // The pricing of every round: on 300 servers of unique sizes (300 pieces over 101 × 101
        // cells) it was half of a consolidation's time with a [Bool] per piece, checked
        // subscripts and a branch per cell (6.6 ms a table; 2.1 ms this way, in a stand-alone
        // timing of the two). Rows are visited from the top so that each piece is taken at most
        // once. A piece that uses vCPUs reads only lower rows, so a row's cells do not depend
        // on each other: eight at a time, with the eight bits of `improved` set at once.
        let gridV = gridV, gridM = gridM
        let weights = SIMD8<UInt64>(1, 2, 4, 8, 16, 32, 64, 128)
        let tolerance = 1e-12  // a cell improves by more than this, on both paths
        let tolerances = SIMD8<Double>(repeating: tolerance)
        best.withUnsafeMutableBufferPointer { best in
            improved.withUnsafeMutableBufferPointer { bits in
                guard let cellsStart = best.baseAddress else { return }
                let raw = UnsafeMutableRawPointer(cellsStart)
                let cellBytes = MemoryLayout<Double>.stride
                /// One cell the plain way: piece value `value` from cell `source` into `cell`.
                func relax(_ cell: Int, from source: Int, value: Double, bit: Int) {
                    let candidate = best[source] + value
                    if candidate > best[cell] + tolerance {
                        best[cell] = candidate
                        bits[bit >> 6] |= 1 << UInt64(bit & 63)
                    }
                }
                for (p, piece) in pieces.enumerated() {
                    let value = price[piece.cls] * Double(piece.copies)
                    let values = SIMD8<Double>(repeating: value)
                    var v = gridV
                    while v >= piece.v {
                        let row = v * w
                        let from = (v - piece.v) * w - piece.m  // cell k of the row reads from + k
                        let rowBits = (p * words + v * rowWords) * 64  // bit of cell m: rowBits + m
                        if piece.v == 0 {
                            // Reads its own row: from the right, a cell at a time.
                            var k = gridM
                            while k >= piece.m {
                                relax(row + k, from: from + k, value: value, bit: rowBits + k)
                                k -= 1
                            }
                        } else {
                            var k = piece.m
                            while k + 8 <= w {
                                let candidate = raw.loadUnaligned(fromByteOffset: (from + k) * cellBytes, as: SIMD8<Double>.self) + values
                                let old = raw.loadUnaligned(fromByteOffset: (row + k) * cellBytes, as: SIMD8<Double>.self)
                                let better = candidate .> old + tolerances
                                if any(better) {
                                    raw.storeBytes(of: old.replacing(with: candidate, where: better), toByteOffset: (row + k) * cellBytes,
                                                   as: SIMD8<Double>.self)
                                    let eight = SIMD8<UInt64>(repeating: 0).replacing(with: weights, where: better).wrappedSum()
                                    let bit = rowBits + k
                                    bits[bit >> 6] |= eight << UInt64(bit & 63)
                                    // The eight bits may run into the next word (still in this row).
                                    if bit & 63 > 56 { bits[bit >> 6 + 1] |= eight >> UInt64(64 - bit & 63) }
                                }
                                k += 8
                            }
                            while k <= gridM {
                                relax(row + k, from: from + k, value: value, bit: rowBits + k)
                                k += 1
                            }
                        }
                        v -= 1
                    }
                }
            }
        }
        return Table(gridM: gridM, best: best, pieces: pieces, improved: improved, words: words, rowWords: rowWords)
    }

    /// The one-node servers the table puts in a node of (v, m) units.
    func read(_ t: Table, v: Int, m: Int) -> [Int] {
        var out: [Int] = []
        var (v, m) = (v, m)
        for p in stride(from: t.pieces.count - 1, through: 0, by: -1) where t.took(p, v: v, m: m) {
            out += Array(repeating: t.pieces[p].cls, count: t.pieces[p].copies)
            v -= t.pieces[p].v
            m -= t.pieces[p].m
        }
        return out
    }

    /// One way to place split servers on a shape: their layout and each node's room left.
    struct Combo {
        var servers: [ShapePattern.SplitServer]
        var left: [Resources]
    }

    /// Every placement of split servers on nodes of `room` (up to `limit`; nil beyond), the
    /// empty one first. Nil also once `deadline` (`monotonicSeconds()`) has passed.
    func combos(room: [Resources], limit: Int = 20_000, deadline: Double? = nil) -> [Combo]? {
        let classes = splitClasses.filter { flavors[$0].numaNodes <= room.count }
        if let deadline, !classes.isEmpty, monotonicSeconds() > deadline { return nil }
        // Each class's layouts with the others absent are layouts of the room: where one class
        // alone has more than `limit`, so has the room, and none is built. Counted without
        // building, they decide in microseconds what building took 0.08 s to find at the first
        // limit and 3-7 ms at the next (foreign fleet 2036, seed 2027: 4-node hosts, three
        // two-node flavors of 1-2 vCPUs per node; every room overflowed, 0.19 s of each zone's
        // 3 s plan before any model, twice).
        if classes.contains(where: { Self.layoutCount(of: flavors[$0], room: room, above: limit) > limit }) { return nil }
        var out: [Combo] = []
        var overflow = false
        func go(_ i: Int, _ current: Combo) {
            guard !overflow else { return }
            if i == classes.count {
                out.append(current)
                if out.count > limit || (out.count % 256 == 0 && deadline.map { monotonicSeconds() > $0 } ?? false) { overflow = true }
                return
            }
            let c = classes[i]
            let k = flavors[c].numaNodes
            let share = flavors[c].perNode
            Self.layouts(cap: Self.caps(share, current.left), k: k) { h in
                let t = h.reduce(0, +) / k
                var next = current
                var degree = h
                for _ in 0..<t {
                    let nodes = degree.indices.sorted { (degree[$0], -$0) > (degree[$1], -$1) }.prefix(k).sorted()
                    for x in nodes { degree[x] -= 1 }
                    next.servers.append(ShapePattern.SplitServer(cls: c, nodes: nodes))
                }
                for x in room.indices { next.left[x] = next.left[x] - share * h[x] }
                go(i + 1, next)
                return !overflow
            }
        }
        go(0, Combo(servers: [], left: room))
        return overflow ? nil : out
    }

    /// Every per-node count vector of servers of a `k`-node flavor on nodes that hold at most
    /// `cap` of its shares each (`caps`): a multiple of `k` in all, none above the servers'
    /// count (each server on `k` distinct nodes), in lexicographic order. `visit` gets each (the
    /// array is reused) and returns false to stop.
    ///
    /// A prefix (sum S, maximum M) is extended only while a completion can still meet
    /// k max <= sum (`completes`). Filling each later node to min(cap, X) for a final maximum X,
    /// that needs k X <= S + sum(min(cap, X)); at X = M it fails only where fewer than k - 1
    /// later nodes have a cap above M (as S >= M), and then a larger X gains less than it
    /// costs: X = M decides. Without this, four-node hosts with four-node flavors of one or two
    /// vCPUs per node enumerated all of up to 37^4 vectors to keep one in 37^3: 88 % of a 2.9 s
    /// run of `plan --time-limit 1` on foreign fleet 30, before any model.
    static func layouts(cap: [Int], k: Int, _ visit: ([Int]) -> Bool) {
        var h = Array(repeating: 0, count: cap.count)
        var going = true
        func vectors(_ n: Int, sum: Int, max m: Int) {
            guard going else { return }
            if n == cap.count {
                if sum % k == 0 && m <= sum / k { going = visit(h) }
                return
            }
            for value in 0...max(0, cap[n]) {
                guard completes(cap, k, after: n, sum: sum + value, max: max(m, value)) else { continue }
                h[n] = value
                vectors(n + 1, sum: sum + value, max: max(m, value))
            }
            h[n] = 0
        }
        vectors(0, sum: 0, max: 0)
    }

    /// Per node of `room`, how many per-node shares `share` it holds (64 at most).
    static func caps(_ share: Resources, _ room: [Resources]) -> [Int] {
        room.map { r in
            min(share.vcpus > 0 ? r.vcpus / share.vcpus : Int.max / 4, share.memoryMiB > 0 ? r.memoryMiB / share.memoryMiB : Int.max / 4, 64)
        }
    }

    /// Whether per-node counts of a `k`-node flavor whose first `n + 1` nodes sum to `sum` with
    /// maximum `m` can still be completed (nodes after `n` at most `cap`) so that `k` times the
    /// maximum is at most the sum (`layouts`' pruning; see there).
    static func completes(_ cap: [Int], _ k: Int, after n: Int, sum: Int, max m: Int) -> Bool {
        var total = sum
        for j in (n + 1)..<cap.count { total += min(cap[j], m) }
        return k * m <= total
    }

    /// How many layouts of servers of `flavor` alone `room` has (`combos`' per-node counts: at
    /// most what each node holds, 64 at most, a multiple of the nodes it spans in all, none
    /// above the servers' count), counted up to `above + 1` at most.
    static func layoutCount(of flavor: Flavor, room: [Resources], above limit: Int) -> Int {
        let k = flavor.numaNodes, share = flavor.perNode
        guard k >= 1 else { return 0 }
        var count = 0
        layouts(cap: caps(share, room), k: k) { _ in
            count += 1
            return count <= limit
        }
        return count
    }

    /// The best pattern for a shape of `room` per node at `price`, with its value.
    func best(shape: Int, room: [Resources], combos: [Combo], table t: Table, price: [Double]) -> (value: Double, pattern: ShapePattern) {
        var bestValue = -1.0
        var bestCombo = 0
        for (i, combo) in combos.enumerated() {
            var value = 0.0
            for s in combo.servers { value += price[s.cls] }
            for r in combo.left {
                let u = units(r)
                value += t.value(u.v, u.m)
            }
            if value > bestValue + 1e-12 {
                bestValue = value
                bestCombo = i
            }
        }
        var pattern = ShapePattern.empty(shape: shape, nodes: room.count, classes: flavors.count)
        let combo = combos[bestCombo]
        for s in combo.servers { pattern.addSplit(s.cls, nodes: s.nodes) }
        for (n, r) in combo.left.enumerated() {
            let u = units(r)
            for c in read(t, v: u.v, m: u.m) { pattern.addOneNode(c, node: n) }
        }
        return (bestValue, pattern)
    }
}
