// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

/// Consolidation by column generation (Gilmore–Gomory) for the case where it pays most:
/// identical, empty-of-fixed-servers, single-NUMA-node hosts, every server movable, no
/// anti-affinity and no per-host or move limits, memory never binding. That is one-dimensional
/// bin packing, whose assignment model has a weak LP bound and huge symmetry.
///
/// A pattern is one host's content (how many servers of each flavor). The master LP chooses
/// patterns to cover every server; a bounded knapsack (dynamic programming over vCPUs) prices
/// new patterns until none improves the LP. The rounded-up LP value is a proven lower bound on
/// the number of hosts, usually equal to the optimum; the integer master over the generated
/// patterns (and a first-fit-decreasing plan) then usually meets it.
struct PatternConsolidation {
    let sub: SubProblem
    let capacity: Int
    /// Per class: vCPUs of one server, and how many servers.
    let sizes: [Int]
    let demand: [Int]

    /// Nil when the sub-problem is not pure bin packing.
    init?(_ sub: SubProblem, options: PlanOptions, inventory: Inventory) {
        guard options.effectiveObjective == .minHostsUsed, options.maxMoves == nil, options.maxPerHost == nil,
            !sub.mustMove, !sub.hosts.isEmpty, !sub.classes.isEmpty
        else { return nil }
        let first = sub.fixed[0].capacity
        guard first.count == 1 else { return nil }
        let typeName = inventory.hosts[sub.hosts[0]].hostType
        for h in sub.hosts.indices {
            guard sub.receives[h], sub.fixed[h].serverCount == 0, sub.fixed[h].capacity == first,
                inventory.hosts[sub.hosts[h]].hostType == typeName
            else { return nil }
        }
        guard let type = inventory.hostTypes[typeName] else { return nil }
        var memory = 0
        for cls in sub.classes {
            guard !cls.singleton, cls.flavor.numaNodes == 1, type.supports(cls.flavor.name),
                cls.origins.keys.allSatisfy({ $0.host >= 0 && $0.nodes != nil })
            else { return nil }
            memory += cls.flavor.resources.memoryMiB * cls.count
        }
        guard memory <= first[0].memoryMiB else { return nil }  // memory never binds: 1-D
        self.sub = sub
        self.capacity = first[0].vcpus
        self.sizes = sub.classes.map(\.flavor.resources.vcpus)
        self.demand = sub.classes.map(\.count)
        guard sizes.allSatisfy({ $0 <= capacity }) else { return nil }
    }

    /// A pricing-only instance (tests compare the two exact pricing methods).
    init(capacity: Int, sizes: [Int], demand: [Int]) {
        self.sub = SubProblem()
        self.capacity = capacity
        self.sizes = sizes
        self.demand = demand
    }

    struct Outcome {
        var decisions: [[Decision]]
        var value: Int
        var lowerBound: Int
        var seconds: Double
        var columns: Int
        var rows: Int
    }

    /// Best pattern for duals `price` (the pricing problem, a bounded knapsack). Dynamic
    /// programming over vCPUs when the capacity is small; depth-first branch and bound with the
    /// fractional-knapsack bound when few large servers fill a host (capacity in the thousands).
    func price(_ price: [Double], demand: [Int]) -> (value: Double, counts: [Int]) {
        let pieces = demand.indices.reduce(0) { $0 + (price[$1] > 1e-12 && demand[$1] > 0 ? 1 : 0) }
        if capacity * max(pieces, 1) <= 4_000_000 { return priceDP(price, demand: demand) }
        return priceBranchAndBound(price, demand: demand)
    }

    func priceBranchAndBound(_ price: [Double], demand: [Int]) -> (value: Double, counts: [Int]) {
        let order = demand.indices.filter { price[$0] > 1e-12 && demand[$0] > 0 }
            .sorted { price[$0] / Double(sizes[$0]) > price[$1] / Double(sizes[$1]) }
        let maxCount = order.map { min(demand[$0], capacity / sizes[$0]) }
        var best = 0.0
        var bestCounts = [Int](repeating: 0, count: demand.count)
        var current = [Int](repeating: 0, count: demand.count)
        var nodes = 0
        func bound(_ i: Int, room: Int, value: Double) -> Double {
            var v = value
            var r = room
            var j = i
            while j < order.count && r > 0 {
                let c = order[j]
                let take = min(maxCount[j], r / sizes[c])
                v += Double(take) * price[c]
                r -= take * sizes[c]
                if take < maxCount[j] {
                    v += price[c] * Double(r) / Double(sizes[c])  // fractional rest
                    return v
                }
                j += 1
            }
            return v
        }
        func dfs(_ i: Int, room: Int, value: Double) {
            nodes += 1
            if value > best + 1e-12 {
                best = value
                bestCounts = current
            }
            guard i < order.count, nodes < 2_000_000, bound(i, room: room, value: value) > best + 1e-12 else { return }
            let c = order[i]
            var k = min(maxCount[i], room / sizes[c])
            while k >= 0 {
                current[c] = k
                dfs(i + 1, room: room - k * sizes[c], value: value + Double(k) * price[c])
                k -= 1
            }
            current[c] = 0
        }
        dfs(0, room: capacity, value: 0)
        // A truncated search is not a proof that no better pattern exists: the lower bound relies
        // on exact pricing, so fall back to dynamic programming.
        if nodes >= 2_000_000 { return priceDP(price, demand: demand) }
        return (best, bestCounts)
    }

    /// Bounded knapsack by dynamic programming over vCPUs (binary splitting of counts).
    func priceDP(_ price: [Double], demand: [Int]) -> (value: Double, counts: [Int]) {
        var pieces: [(cls: Int, copies: Int)] = []
        for (c, d) in demand.enumerated() where price[c] > 1e-12 && d > 0 {
            var left = min(d, capacity / sizes[c])
            var chunk = 1
            while left > 0 {
                let take = min(chunk, left)
                pieces.append((c, take))
                left -= take
                chunk *= 2
            }
        }
        var best = [Double](repeating: 0, count: capacity + 1)
        var take = [[Bool]](repeating: [], count: pieces.count)
        for (p, piece) in pieces.enumerated() {
            let weight = sizes[piece.cls] * piece.copies
            let value = price[piece.cls] * Double(piece.copies)
            var row = [Bool](repeating: false, count: capacity + 1)
            if weight <= capacity {
                for w in stride(from: capacity, through: weight, by: -1) where best[w - weight] + value > best[w] + 1e-12 {
                    best[w] = best[w - weight] + value
                    row[w] = true
                }
            }
            take[p] = row
        }
        var counts = [Int](repeating: 0, count: demand.count)
        var w = (0...capacity).max { best[$0] < best[$1] }!
        let value = best[w]
        for p in stride(from: pieces.count - 1, through: 0, by: -1) where take[p][w] {
            counts[pieces[p].cls] += pieces[p].copies
            w -= sizes[pieces[p].cls] * pieces[p].copies
        }
        return (value, counts)
    }

    /// Patterns of a first-fit-decreasing packing (an integer solution to start from).
    func firstFitDecreasing() -> [[Int]] {
        var bins: [(load: Int, counts: [Int])] = []
        for c in sizes.indices.sorted(by: { sizes[$0] > sizes[$1] }) {
            for _ in 0..<demand[c] {
                if let b = bins.firstIndex(where: { $0.load + sizes[c] <= capacity }) {
                    bins[b].load += sizes[c]
                    bins[b].counts[c] += 1
                } else {
                    var counts = [Int](repeating: 0, count: demand.count)
                    counts[c] = 1
                    bins.append((sizes[c], counts))
                }
            }
        }
        return bins.map(\.counts)
    }

    /// The master LP over `columns` for `demand` (≥ rows), with the columns' variables.
    func master(_ columns: [[Int]], demand: [Int], integer: Bool) -> (Model, [Model.Variable]) {
        var model = Model()
        let vars = columns.map { _ in model.addVariable(kind: integer ? .integer : .continuous, lower: 0, objective: 1) }
        for c in demand.indices where demand[c] > 0 {
            let terms = columns.indices.compactMap { p in columns[p][c] > 0 ? (vars[p], Double(columns[p][c])) : nil }
            model.addGreaterOrEqual(terms, Double(demand[c]))
        }
        return (model, vars)
    }

    /// Column generation for `demand`: adds priced patterns to `columns` until no pattern has a
    /// negative reduced cost (converged) or the deadline passes. Returns the LP solution.
    func generate(_ columns: inout [[Int]], demand: [Int], deadline: Double) -> (value: Double, lambda: [Double], converged: Bool, farley: Double)? {
        while true {
            let (model, _) = master(columns, demand: demand, integer: false)
            guard let lp = try? model.solve(SolveOptions(presolve: false)), lp.status == .optimal else { return nil }
            // Duals come per row; rows exist only for classes with demand.
            var duals = [Double](repeating: 0, count: demand.count)
            var r = 0
            for c in demand.indices where demand[c] > 0 {
                duals[c] = lp.duals[r]
                r += 1
            }
            let (value, counts) = price(duals, demand: demand)
            if value <= 1 + 1e-9 { return (lp.objective!, lp.values, true, lp.objective!) }
            // Farley: no pattern is worth more than `value`, so the LP optimum is at least objective / value.
            if monotonicNow() > deadline { return (lp.objective!, lp.values, false, lp.objective! / value) }
            columns.append(counts)
        }
    }

    func solve(timeLimit: Double) -> Outcome? {
        let start = monotonicNow()
        let deadline = start + timeLimit
        let ffd = firstFitDecreasing()
        var columns: [[Int]] = Array(Set(ffd))
        for c in demand.indices {
            var single = [Int](repeating: 0, count: demand.count)
            single[c] = min(demand[c], capacity / sizes[c])
            columns.append(single)
        }
        guard let root = generate(&columns, demand: demand, deadline: start + timeLimit * 0.5) else { return nil }
        // Without convergence the LP value is not a bound, but Farley's bound is.
        let volume = Int((Double(zip(sizes, demand).reduce(0) { $0 + $1.0 * $1.1 }) / Double(capacity) - 1e-9).rounded(.up))
        let lowerBound = max(volume, Int((root.farley - 1e-6).rounded(.up)))

        var patterns = ffd
        // 1. The integer master over the generated patterns.
        if patterns.count > lowerBound {
            var (model, vars) = master(columns, demand: demand, integer: true)
            model.addLessOrEqual(vars.map { ($0, 1.0) }, Double(patterns.count - 1))
            let remaining = max(0.05, min(deadline - monotonicNow(), timeLimit * 0.25))
            if let mip = try? model.solve(SolveOptions(timeLimit: remaining)), mip.hasSolution {
                var chosen: [[Int]] = []
                for (p, v) in mip.values.enumerated() { chosen += Array(repeating: columns[p], count: Int(v.rounded())) }
                if chosen.count < patterns.count { patterns = chosen }
            }
        }
        // 2. Diving: fix a pattern the LP uses much, re-price the residual, repeat. The first dive
        //    takes the largest; later dives pick at random among the large ones, until a dive meets
        //    the lower bound or time runs out.
        var rng = SplitMix64(seed: 1)
        var attempt = 0
        while patterns.count > lowerBound && monotonicNow() < deadline && attempt < 200 {
            if let dived = dive(&columns, deadline: deadline, random: attempt == 0 ? nil : rng), dived.count < patterns.count {
                patterns = dived
            }
            _ = rng.next()
            attempt += 1
        }
        guard patterns.count <= sub.hosts.count else { return nil }
        return Outcome(
            decisions: assign(patterns), value: patterns.count, lowerBound: min(lowerBound, patterns.count),
            seconds: monotonicNow() - start, columns: columns.count, rows: demand.count)
    }

    func dive(_ columns: inout [[Int]], deadline: Double, random: SplitMix64?) -> [[Int]]? {
        var rng = random
        var residual = demand
        var chosen: [[Int]] = []
        while residual.contains(where: { $0 > 0 }) {
            guard monotonicNow() < deadline, let lp = generate(&columns, demand: residual, deadline: deadline) else { return nil }
            // The column with the largest value; take as many whole copies as the LP does (at least one).
            guard let top = lp.lambda.indices.max(by: { lp.lambda[$0] < lp.lambda[$1] }), lp.lambda[top] > 1e-9 else { return nil }
            var p = top
            if rng != nil {
                let large = lp.lambda.indices.filter { lp.lambda[$0] >= 0.5 * lp.lambda[top] }
                p = large[rng!.below(large.count)]
            }
            let copies = max(1, Int((lp.lambda[p] + 1e-6).rounded(.down)))
            for _ in 0..<copies {
                var pattern = columns[p]
                for c in pattern.indices { pattern[c] = min(pattern[c], residual[c]) }
                guard pattern.contains(where: { $0 > 0 }) else { break }
                for c in pattern.indices { residual[c] -= pattern[c] }
                chosen.append(pattern)
            }
        }
        return chosen
    }

    /// Turns patterns into decisions: drops over-coverage, then gives each pattern the host that
    /// already holds most of its servers (fewest moves).
    func assign(_ patterns: [[Int]]) -> [[Decision]] {
        var bins = patterns
        var covered = [Int](repeating: 0, count: demand.count)
        for b in bins.indices {
            for c in demand.indices {
                let keep = min(bins[b][c], demand[c] - covered[c])
                bins[b][c] = keep
                covered[c] += keep
            }
        }
        bins.removeAll { $0.allSatisfy { $0 == 0 } }
        // Servers of each class on each host.
        var onHost: [[Int: [Int]]] = sub.classes.map { cls in
            var map: [Int: [Int]] = [:]
            for (origin, servers) in cls.origins.sorted(by: { $0.key < $1.key }) { map[origin.host, default: []] += servers }
            return map
        }
        var decision: [Int: Decision] = [:]
        var freeHosts = Set(sub.hosts.indices)
        var arriving: [(cls: Int, host: Int)] = []
        for bin in bins.sorted(by: { $0.reduce(0, +) > $1.reduce(0, +) }) {
            let host = freeHosts.max { a, b in
                let sa = bin.indices.reduce(0) { $0 + min(bin[$1], onHost[$1][a]?.count ?? 0) }
                let sb = bin.indices.reduce(0) { $0 + min(bin[$1], onHost[$1][b]?.count ?? 0) }
                return (sa, -a) < (sb, -b)
            }!
            freeHosts.remove(host)
            for c in bin.indices where bin[c] > 0 {
                let here = onHost[c][host] ?? []
                let staying = min(bin[c], here.count)
                for s in here.prefix(staying) { decision[s] = .stay }
                onHost[c][host] = Array(here.dropFirst(staying))
                arriving += Array(repeating: (c, host), count: bin[c] - staying)
            }
        }
        for (c, host) in arriving {
            // Any server of the class that is not staying moves here (its host is another bin's or emptied).
            let source = onHost[c].first { !$0.value.isEmpty }!.key
            let s = onHost[c][source]!.removeLast()
            decision[s] = .host(host, [0])
        }
        return sub.classes.map { cls in cls.servers.map { decision[$0] ?? .stay } }
    }
}
