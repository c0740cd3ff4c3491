// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

extension BatchPlanner {
    /// The movers of a sub-problem: inventory index, class, position in the class, origin.
    func movers(of sub: SubProblem) -> [(s: Int, c: Int, i: Int, origin: Origin)] {
        var out: [(s: Int, c: Int, i: Int, origin: Origin)] = []
        for (c, cls) in sub.classes.enumerated() {
            var position: [Int: Int] = [:]
            for (i, s) in cls.servers.enumerated() { position[s] = i }
            for origin in cls.origins.keys.sorted() {
                for s in cls.origins[origin]! { out.append((s, c, position[s]!, origin)) }
            }
        }
        return out
    }

    /// The planner's checker (built once: index and state) with `movers` taken off their hosts:
    /// the state every repacking of a sub-problem starts from.
    func checker(without movers: [(s: Int, c: Int, i: Int, origin: Origin)], sub: SubProblem) -> Checker {
        var checker = self.checker
        for m in movers where m.origin.host >= 0 {
            let server = inventory.servers[m.s]
            checker.state.remove(server, flavor: sub.classes[m.c].flavor, host: sub.hosts[m.origin.host], nodes: m.origin.nodes,
                                 groups: inventory.groupsOfServer[server.id] ?? [])
        }
        return checker
    }

    /// The same packing with as many servers as possible left where they are.
    ///
    /// A packing fills hosts, but which of two equal hosts receives which contents is free:
    /// hosts of one *shape* (same type, zone and node sizes, receiving, with no servers that
    /// stay put whatever the plan) can swap contents. Each host's contents (its *bin*) is
    /// mapped onto a host of its shape, and the nodes within a host permuted where they are
    /// equal, so that the most servers end on the host and nodes they are on now (a maximum
    /// weight assignment per shape: exact up to `exactLimit` hosts, greedy by weight above).
    /// Fewer moves also means fewer moves that wait on each other in cycles, which wave
    /// ordering can only break by sending servers to hosts that then stay in use.
    ///
    /// The result is judged by the rule pipeline (`Checker.evaluateHost`) on every arrival;
    /// nil when it refuses one, or when nothing changes.
    func keepingServersHome(_ decisions: [[Decision]], sub: SubProblem, options: PlanOptions, exactLimit: Int = 300) -> [[Decision]]? {
        let all = movers(of: sub)
        struct Entry { let m: Int; let nodes: [Int] }
        var bins = Array(repeating: [Entry](), count: sub.hosts.count)
        var pinned = Array(repeating: false, count: sub.hosts.count)
        for (k, m) in all.enumerated() {
            switch decisions[m.c][m.i] {
            case .stay:
                guard m.origin.host >= 0 else { continue }
                if let nodes = m.origin.nodes { bins[m.origin.host].append(Entry(m: k, nodes: nodes)) } else { pinned[m.origin.host] = true }
            case .host(let h, let nodes): bins[h].append(Entry(m: k, nodes: nodes))
            case .pool: continue
            }
        }
        struct Shape: Hashable { let type: String, zone: String, nodes: [Resources] }
        var groups: [Shape: [Int]] = [:]
        for h in sub.hosts.indices where !pinned[h] && sub.receives[h] && sub.fixed[h].serverCount == 0 {
            let host = inventory.hosts[sub.hosts[h]]
            groups[Shape(type: host.hostType, zone: host.availabilityZone, nodes: sub.fixed[h].capacity), default: []].append(h)
        }
        var out = decisions
        var changed = false
        for shape in groups.keys.sorted(by: { ($0.type, $0.zone) < ($1.type, $1.zone) }) {
            let hosts = groups[shape]!.sorted()
            guard hosts.count > 1 else { continue }
            let perms = nodePermutations(shape.nodes)
            var position: [Int: Int] = [:]
            for (p, h) in hosts.enumerated() { position[h] = p }
            // weight[(bin, host)][perm]: servers that stay if bin goes to host with its nodes
            // permuted, less `conflict` for each that would land on its own host's other nodes.
            let conflict = 1 << 20
            var weight: [Int: [Int: [Int]]] = [:]
            for (b, h) in hosts.enumerated() {
                for e in bins[h] {
                    let origin = all[e.m].origin
                    guard origin.host >= 0, let o = position[origin.host], let on = origin.nodes else { continue }
                    let want = on.sorted()
                    for (p, perm) in perms.enumerated() {
                        // On its own host but other nodes: not a move the cloud makes (SAME_HOST).
                        weight[b, default: [:]][o, default: Array(repeating: 0, count: perms.count)][p] +=
                            e.nodes.map({ perm[$0] }).sorted() == want ? 1 : -conflict
                    }
                }
            }
            // No server of these bins could stay home on any of these hosts (where layouts are
            // unknown, none can): nothing to gain, and the assignment of 300 hosts took 0.1 s.
            guard !weight.isEmpty else { continue }
            let n = hosts.count
            guard let assigned = assignBins(n, hosts: n, exactLimit: exactLimit, edges: { b in
                (weight[b] ?? [:]).map { o, ws in
                    let p = ws.indices.max { (ws[$0], -$0) < (ws[$1], -$1) }!
                    return (o: o, w: ws[p], perm: p)
                }
            }) else { return nil }
            for b in 0..<n {
                let (o, p) = assigned[b]
                let perm = perms[p]
                let to = hosts[o]
                if o != b || perm != perms[0] { changed = true }
                for e in bins[hosts[b]] {
                    let m = all[e.m]
                    let nodes = e.nodes.map { perm[$0] }.sorted()
                    if m.origin.host == to, let on = m.origin.nodes, on.sorted() == nodes {
                        out[m.c][m.i] = .stay
                    } else {
                        out[m.c][m.i] = .host(to, nodes)
                    }
                }
            }
        }
        guard changed, out != decisions, admitted(out, sub: sub, options: options, movers: all) else { return nil }
        return out
    }

    /// Whether the rule pipeline admits every arrival of `decisions` in its final state.
    func admitted(_ decisions: [[Decision]], sub: SubProblem, options: PlanOptions, movers all: [(s: Int, c: Int, i: Int, origin: Origin)]) -> Bool {
        var arrivals = Array(repeating: 0, count: sub.hosts.count)
        let moving = all.filter { if case .stay = decisions[$0.c][$0.i] { return false } else { return true } }
        var checker = checker(without: moving, sub: sub)
        for m in moving {
            guard case .host(let h, let nodes) = decisions[m.c][m.i] else { continue }
            let server = inventory.servers[m.s]
            arrivals[h] += 1
            if let cap = options.maxPerHost, arrivals[h] > cap { return false }
            var context = Checker.ServerContext(server, index: checker.index, inventory: inventory)
            context.currentHost = m.origin.host >= 0 ? sub.hosts[m.origin.host] : -1
            guard checker.admitsPacked(context, hostIndex: sub.hosts[h], nodes: nodes, options: options.checkerOptions) else { return false }
            checker.state.add(server, flavor: sub.classes[m.c].flavor, host: sub.hosts[h], nodes: nodes,
                              groups: inventory.groupsOfServer[server.id] ?? [])
        }
        return true
    }
}

/// Each of `bins` bins (a host's contents) onto a distinct one of `hosts` host positions
/// (bins <= hosts), with one of its node permutations, so that the summed weight is greatest:
/// exact (Hungarian) up to `exactLimit` hosts, greedy by weight above, the bins left over onto
/// the first free host they may go to. `edges(b)`: the bin's weights where they are not 0, as
/// (host position, weight, permutation index); a negative weight is a pairing to avoid. Nil when
/// a bin can only go where its weight is negative.
func assignBins(
    _ bins: Int, hosts n: Int, exactLimit: Int, kinds: [Int]? = nil, edges: (Int) -> [(o: Int, w: Int, perm: Int)]
) -> [(o: Int, perm: Int)]? {
    // Bins of one kind are interchangeable: their edges are asked for once (a pattern plan of
    // 2,000 hosts has a few dozen distinct patterns, and its edges reach most of 8,000 hosts).
    let kindOf = kinds ?? Array(0..<bins)
    var firstOf: [Int: Int] = [:]
    for b in 0..<bins where firstOf[kindOf[b]] == nil { firstOf[kindOf[b]] = b }
    var listed: [Int: [Int: (w: Int, perm: Int)]] = [:]
    for (k, b) in firstOf { listed[k] = Dictionary(edges(b).map { ($0.o, (w: $0.w, perm: $0.perm)) }, uniquingKeysWith: { a, _ in a }) }
    func weight(_ b: Int, _ o: Int) -> (w: Int, perm: Int) { listed[kindOf[b]]![o] ?? (0, 0) }
    var assigned = Array(repeating: -1, count: bins)
    if n <= exactLimit {
        var w = Array(repeating: Array(repeating: 0, count: n), count: n)
        for b in 0..<bins { for (o, e) in listed[kindOf[b]]! { w[b][o] = e.w } }
        let result = maxWeightAssignment(w)
        for b in 0..<bins { assigned[b] = result[b] }
    } else {
        // Greedy by weight: the heaviest (kind, host) pairs first, each taking the lowest bin of
        // its kind still unassigned.
        var waiting: [Int: [Int]] = [:]
        for b in stride(from: bins - 1, through: 0, by: -1) { waiting[kindOf[b], default: []].append(b) }
        let heavy = listed.flatMap { k, l in l.map { (k: k, o: $0.key, w: $0.value.w) } }.filter { $0.w > 0 }
            .sorted { ($0.w, $1.k, $1.o) > ($1.w, $0.k, $0.o) }
        var taken = Array(repeating: false, count: n)
        for e in heavy where !taken[e.o] {
            guard let b = waiting[e.k]?.popLast() else { continue }
            assigned[b] = e.o
            taken[e.o] = true
        }
        var free = (0..<n).filter { !taken[$0] }
        for b in 0..<bins where assigned[b] < 0 {
            guard let k = free.firstIndex(where: { weight(b, $0).w >= 0 }) else { return nil }
            assigned[b] = free.remove(at: k)
        }
    }
    var out: [(o: Int, perm: Int)] = []
    for b in 0..<bins {
        let e = weight(b, assigned[b])
        guard e.w >= 0 else { return nil }
        out.append((assigned[b], e.perm))
    }
    return out
}

/// The node permutations a host's contents may take: all of them where the nodes are equal
/// (up to 4 nodes), else the identity only.
func nodePermutations(_ nodes: [Resources]) -> [[Int]] {
    nodes.count <= 4 && nodes.allSatisfy({ $0 == nodes[0] }) ? permutations(nodes.count) : [Array(0..<nodes.count)]
}

/// All permutations of `0..<k`, the identity first.
func permutations(_ k: Int) -> [[Int]] {
    var out: [[Int]] = []
    var current: [Int] = []
    var used = Array(repeating: false, count: k)
    func extend() {
        if current.count == k {
            out.append(current)
            return
        }
        for x in 0..<k where !used[x] {
            used[x] = true
            current.append(x)
            extend()
            current.removeLast()
            used[x] = false
        }
    }
    extend()
    return out
}

/// A maximum weight perfect assignment of rows to columns of the square matrix `w`
/// (Hungarian method with potentials, O(n³)): `result[row]` is the row's column.
///
/// The costs (weights negated) are one array read a row at a time, and the work arrays are
/// raw buffers: with an array of rows, bounds checks and the row lookup in the inner loop,
/// the assignment of first-fit decreasing's packings onto hosts (`keepingServersHome`, up to
/// 300 hosts per shape) took 12 % of a 3 s consolidation of foreign fleet 26.
func maxWeightAssignment(_ w: [[Int]]) -> [Int] {
    let n = w.count
    guard n > 0 else { return [] }
    let inf = Int.max / 4
    let cost = UnsafeMutablePointer<Int>.allocate(capacity: n * n)
    defer { cost.deallocate() }
    for i in 0..<n {
        for j in 0..<n { (cost + i * n + j).initialize(to: -w[i][j]) }
    }
    func buffer(_ value: Int) -> UnsafeMutablePointer<Int> {
        let b = UnsafeMutablePointer<Int>.allocate(capacity: n + 1)
        b.initialize(repeating: value, count: n + 1)
        return b
    }
    let u = buffer(0), v = buffer(0), p = buffer(0), way = buffer(0), minv = buffer(inf)
    let used = UnsafeMutablePointer<Bool>.allocate(capacity: n + 1)
    used.initialize(repeating: false, count: n + 1)
    defer {
        for b in [u, v, p, way, minv] { b.deallocate() }
        used.deallocate()
    }
    for i in 1...n {
        p[0] = i
        var j0 = 0
        for j in 0...n {
            minv[j] = inf
            used[j] = false
        }
        repeat {
            used[j0] = true
            let i0 = p[j0]
            let row = cost + (i0 - 1) * n  // column j at row[j - 1]
            let ui0 = u[i0]
            var delta = inf, j1 = 0
            for j in 1...n where !used[j] {
                let cur = row[j - 1] - ui0 - v[j]
                if cur < minv[j] {
                    minv[j] = cur
                    way[j] = j0
                }
                if minv[j] < delta {
                    delta = minv[j]
                    j1 = j
                }
            }
            for j in 0...n {
                if used[j] {
                    u[p[j]] += delta
                    v[j] -= delta
                } else {
                    minv[j] -= delta
                }
            }
            j0 = j1
        } while p[j0] != 0
        repeat {
            let j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
        } while j0 != 0
    }
    var result = Array(repeating: 0, count: n)
    for j in 1...n { result[p[j] - 1] = j - 1 }
    return result
}
