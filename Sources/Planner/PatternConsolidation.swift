// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

/// Consolidation by column generation (Gilmore–Gomory) for the case where it pays most:
/// identical, empty-of-fixed-servers, single-NUMA-node hosts, every server movable, no
/// anti-affinity and no per-host or move limits, memory never binding. That is one-dimensional
/// bin packing, whose assignment model has a weak LP bound and huge symmetry.
///
/// A pattern is one host's content (how many servers of each flavor). The master LP chooses
/// patterns to cover every server; a bounded knapsack (a short branch and bound, then dynamic
/// programming over vCPUs) prices new patterns until none improves the LP. The master stays
/// loaded in GLPK (`LiveLP`) and is re-solved from its last basis; swap columns (dual-optimal
/// inequalities) and smoothed duals keep generation from tailing off. The rounded-up LP value is
/// a proven lower bound on the number of hosts, usually equal to the optimum; the integer master
/// over the generated patterns, or a dive (fix a pattern, re-price the rest), then usually
/// meets it.
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

    /// Patterns that price above 1 for some duals, best first, and the best value seen.
    struct Priced {
        /// Best pattern value found; with exact pricing, the maximum over all patterns.
        var best: Double
        /// Improving patterns (value above 1), best first.
        var patterns: [[Int]]
    }

    /// Best pattern for duals `price` (the pricing problem, a bounded knapsack) by branch and
    /// bound, falling back to dynamic programming when that search grows too large: the exact
    /// reference for the quick pricing's search (`PricingTests`).
    func priceBranchAndBound(_ price: [Double], demand: [Int]) -> (value: Double, counts: [Int]) {
        let found = searchPatterns(price, demand: demand, nodeLimit: 2_000_000, keep: 1, above: 0)
        // A truncated search is no proof that no better pattern exists.
        guard found.complete else { return priceDP(price, demand: demand) }
        return (found.best, found.patterns.first ?? [Int](repeating: 0, count: demand.count))
    }

    /// Depth-first branch and bound over classes in decreasing price per vCPU, with the
    /// fractional-knapsack bound. Keeps the `keep` best patterns worth more than `above`;
    /// `complete` is false when it stopped at `nodeLimit` (then `best` is only the best found).
    func searchPatterns(_ price: [Double], demand: [Int], nodeLimit: Int, keep: Int, above: Double)
        -> (best: Double, patterns: [[Int]], complete: Bool)
    {
        let order = demand.indices.filter { price[$0] > 1e-12 && demand[$0] > 0 }
            .sorted { price[$0] / Double(sizes[$0]) > price[$1] / Double(sizes[$1]) }
        let maxCount = order.map { min(demand[$0], capacity / sizes[$0]) }
        var best = 0.0
        var kept: [(value: Double, counts: [Int])] = []
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
        /// The value a pattern must beat to be kept.
        var bar: Double { kept.count < keep ? max(above, 0) : max(above, kept[kept.count - 1].value) }
        func dfs(_ i: Int, room: Int, value: Double) {
            nodes += 1
            if value > best + 1e-12 { best = value }
            if value > bar + 1e-12 {
                let at = kept.firstIndex { $0.value < value } ?? kept.count
                kept.insert((value, current), at: at)
                if kept.count > keep { kept.removeLast() }
            }
            guard i < order.count, nodes < nodeLimit, bound(i, room: room, value: value) > min(best, bar) + 1e-12 else { return }
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
        return (best, kept.map(\.counts), nodes < nodeLimit)
    }

    /// Bounded knapsack by dynamic programming over vCPUs (binary splitting of counts).
    func priceDP(_ price: [Double], demand: [Int]) -> (value: Double, counts: [Int]) {
        let table = knapsackTable(price, demand: demand)
        return (table.value(capacity), table.pattern(capacity))
    }

    /// Exact pricing returning up to `keep` patterns worth more than `above`: the optimum and
    /// the optima of every smaller weight at which the best value steps up (distinct weights,
    /// so distinct patterns).
    func priceExact(_ price: [Double], demand: [Int], keep: Int, above: Double) -> Priced {
        let table = knapsackTable(price, demand: demand)
        var patterns: [[Int]] = []
        var w = capacity
        while w > 0 && patterns.count < keep && table.value(w) > above {
            if table.value(w) > table.value(w - 1) + 1e-12 { patterns.append(table.pattern(w)) }
            w -= 1
        }
        return Priced(best: table.value(capacity), patterns: patterns)
    }

    /// Fast pricing: branch and bound cut off after `nodes` nodes. Its patterns all improve,
    /// but finding none proves nothing.
    func priceQuick(_ price: [Double], demand: [Int], keep: Int, above: Double, nodes: Int) -> Priced {
        let found = searchPatterns(price, demand: demand, nodeLimit: nodes, keep: keep, above: above)
        return Priced(best: found.best, patterns: found.patterns)
    }

    /// The 0-1 knapsack table over pieces (binary splitting of each class's count): best value at
    /// each weight, and for each piece the weights it improved, to read patterns back.
    struct KnapsackTable {
        let capacity: Int
        let pieces: [(cls: Int, copies: Int, weight: Int)]
        let classes: Int
        let best: [Double]
        let words: Int
        let improved: [UInt64]

        func value(_ w: Int) -> Double { best[w] }

        /// The pattern whose value `value(w)` is (its weight is at most w).
        func pattern(_ weight: Int) -> [Int] {
            var counts = [Int](repeating: 0, count: classes)
            var w = weight
            for p in stride(from: pieces.count - 1, through: 0, by: -1)
            where improved[p * words + w >> 6] & (1 << UInt64(w & 63)) != 0 {
                counts[pieces[p].cls] += pieces[p].copies
                w -= pieces[p].weight
            }
            return counts
        }
    }

    func knapsackTable(_ price: [Double], demand: [Int]) -> KnapsackTable {
        var pieces: [(cls: Int, copies: Int, weight: Int)] = []
        for (c, d) in demand.enumerated() where price[c] > 1e-12 && d > 0 {
            var left = min(d, capacity / sizes[c])
            var chunk = 1
            while left > 0 {
                let take = min(chunk, left)
                pieces.append((c, take, sizes[c] * take))
                left -= take
                chunk *= 2
            }
        }
        let words = (capacity + 64) / 64
        var best = [Double](repeating: 0, count: capacity + 1)
        var improved = [UInt64](repeating: 0, count: max(1, pieces.count * words))
        best.withUnsafeMutableBufferPointer { b in
            improved.withUnsafeMutableBufferPointer { bits in
                for (p, piece) in pieces.enumerated() where piece.weight <= capacity {
                    let value = price[piece.cls] * Double(piece.copies)
                    let base = p * words
                    var w = capacity
                    while w >= piece.weight {
                        let candidate = b[w - piece.weight] + value
                        if candidate > b[w] + 1e-12 {
                            b[w] = candidate
                            bits[base + w >> 6] |= 1 << UInt64(w & 63)
                        }
                        w -= 1
                    }
                }
            }
        }
        return KnapsackTable(capacity: capacity, pieces: pieces, classes: demand.count, best: best, words: words,
                             improved: improved)
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

    /// Classes from the largest server to the smallest (ties by class index).
    var bySize: [Int] { sizes.indices.sorted { (sizes[$0], -$0) > (sizes[$1], -$1) } }

    /// Puts the servers of `demand` into the slots of `patterns`: a slot meant for a class may
    /// take a server of any class no larger (what the dual-optimal swap columns of the master
    /// allow). Largest servers first, each into a slot of its own class if one is free, else
    /// one of the same size or the smallest larger one: this places as many servers as any
    /// assignment can. Returns each pattern's actual content and the servers left over.
    func realize(_ patterns: [[Int]], demand: [Int]) -> (bins: [[Int]], left: [Int]) {
        let order = bySize
        var free: [[Int]] = Array(repeating: [], count: sizes.count)  // per class: bins with a free slot (one entry per slot)
        for (b, pattern) in patterns.enumerated() {
            for c in pattern.indices where pattern[c] > 0 { free[c] += Array(repeating: b, count: pattern[c]) }
        }
        var bins = patterns.map { _ in [Int](repeating: 0, count: sizes.count) }
        var left = demand
        for c in order {
            // Own class first, then the others of the same size, then larger ones from the nearest up.
            let larger = order.filter { $0 != c && sizes[$0] >= sizes[c] }.sorted { (sizes[$0], $0) < (sizes[$1], $1) }
            let candidates = [c] + larger
            while left[c] > 0 {
                guard let k = candidates.first(where: { !free[$0].isEmpty }) else { break }
                bins[free[k].removeLast()][c] += 1
                left[c] -= 1
            }
        }
        return (bins.filter { $0.contains { $0 > 0 } }, left)
    }

    /// The restricted master LP: one column per pattern, plus one zero-cost swap column per pair
    /// of classes adjacent in size (cover a smaller server with a larger one's slot). The swaps
    /// are dual-optimal inequalities for bin packing (duals ordered by size): they leave the LP
    /// optimum unchanged and cut column generation's iterations. Rows: one per class.
    struct Master {
        var rows: [Model.Constraint] = []
        var patternVariables: [Model.Variable] = []
        var patterns: [[Int]] = []
        var known: Set<[Int]> = []
    }

    func initialMaster(_ columns: [[Int]]) -> (Model, Master) {
        var model = Model()
        var master = Master()
        let order = bySize
        var swaps: [Int: [(Model.Variable, Double)]] = [:]
        for (rank, c) in order.enumerated() where rank + 1 < order.count {
            let y = model.addVariable(lower: 0, objective: 0)
            swaps[c, default: []].append((y, -1))
            swaps[order[rank + 1], default: []].append((y, 1))
        }
        for columns in columns where master.known.insert(columns).inserted {
            master.patterns.append(columns)
            master.patternVariables.append(model.addVariable(kind: .integer, lower: 0, objective: 1))
        }
        for c in sizes.indices {
            let terms = master.patterns.indices.compactMap { p in
                master.patterns[p][c] > 0 ? (master.patternVariables[p], Double(master.patterns[p][c])) : nil
            }
            master.rows.append(model.addGreaterOrEqual(terms + (swaps[c] ?? []), Double(demand[c])))
        }
        return (model, master)
    }

    func add(_ pattern: [Int], to master: inout Master, in lp: LiveLP) throws(GLPKError) -> Bool {
        guard master.known.insert(pattern).inserted else { return false }
        let terms = pattern.indices.compactMap { c in pattern[c] > 0 ? (master.rows[c], Double(pattern[c])) : nil }
        master.patternVariables.append(try lp.addVariable(kind: .integer, objective: 1, terms: terms))
        master.patterns.append(pattern)
        return true
    }

    struct Relaxation {
        /// LP value of each pattern of the master.
        var lambda: [Double]
        /// A proven lower bound on the LP optimum (the value itself once converged; Farley's
        /// bound otherwise). Nil when pricing was never exact.
        var bound: Double?
    }

    /// Column generation for `demand` on the live master, until no pattern prices above 1 or
    /// the deadline passes. Each round prices quickly first (branch and bound cut short); only
    /// when that finds nothing, and only when `exact`, does it price exactly. Exact pricing uses
    /// Wentges smoothing: it prices at a mix of the master's duals and the best duals seen so
    /// far (by the bound they give), which damps the duals' oscillation that makes column
    /// generation tail off, and falls back to the master's duals when the mix finds no
    /// improving pattern. Each exact pricing gives a Farley bound; generation stops early once
    /// that bound rounds up to `enough` (nothing better can be proven by going on).
    func generate(_ lp: LiveLP, _ master: inout Master, demand: [Int], deadline: Double, exact: Bool,
                  enough: Int? = nil) throws(GLPKError) -> Relaxation? {
        var center: [Double]?
        var bound: Double?
        let alpha = 0.5  // weight of the best duals (0.5 and 0.7 measured alike on the BPPLIB sweep)
        while true {
            let left = deadline - monotonicSeconds()
            guard left > 0 else { return nil }
            let solution = try lp.solve(timeLimit: left)
            guard solution.status == .optimal, let value = solution.objective else { return nil }
            let duals = master.rows.map { solution.duals[$0.index] }
            let lambda = master.patternVariables.map { solution[$0] }
            func relaxation(converged: Bool) -> Relaxation {
                Relaxation(lambda: lambda, bound: converged ? value : bound)
            }
            let quick = priceQuick(duals, demand: demand, keep: 8, above: 1 + 1e-9, nodes: 5_000)
            var added = 0
            if monotonicSeconds() < deadline {
                for pattern in quick.patterns where try add(pattern, to: &master, in: lp) { added += 1 }
            }
            if added > 0 { continue }
            // Quick pricing finding nothing proves nothing: no bound without exact pricing.
            if !exact { return relaxation(converged: false) }
            // Exact pricing at the smoothed duals, then (mispricing) at the master's own.
            for mix in center == nil || alpha == 0 ? [0.0] : [alpha, 0] {
                let point = mix == 0 ? duals : zip(center!, duals).map { mix * $0 + (1 - mix) * $1 }
                let priced = priceExact(point, demand: demand, keep: 8, above: mix == 0 ? 1 + 1e-9 : 0)
                // Farley: scaled by 1 / best, `point` is dual feasible for every pattern (and the
                // swap columns, which it satisfies already), so its objective bounds the LP.
                let farley = zip(point, demand).reduce(0) { $0 + $1.0 * Double($1.1) } / max(1, priced.best)
                if bound == nil || farley > bound! {
                    bound = farley
                    center = point
                }
                if mix == 0 && priced.best <= 1 + 1e-9 { return relaxation(converged: true) }
                for pattern in priced.patterns {
                    // Only patterns that improve the master's LP are worth adding.
                    let worth = pattern.indices.reduce(0.0) { $0 + Double(pattern[$1]) * duals[$1] }
                    if worth > 1 + 1e-9, try add(pattern, to: &master, in: lp) { added += 1 }
                }
                if added > 0 { break }
            }
            // The bound cannot round up any higher than the LP value does: stop here.
            let rounded = Int((bound! - 1e-6).rounded(.up))
            if rounded >= Int((value - 1e-6).rounded(.up)) || enough.map({ rounded >= $0 }) == true {
                return relaxation(converged: false)
            }
            if added == 0 || monotonicSeconds() > deadline { return relaxation(converged: false) }
        }
    }

    func solve(timeLimit: Double) -> Outcome? {
        let start = monotonicSeconds()
        let ffd = firstFitDecreasing()
        var columns: [[Int]] = ffd
        for c in demand.indices {
            var single = [Int](repeating: 0, count: demand.count)
            single[c] = min(demand[c], capacity / sizes[c])
            columns.append(single)
        }
        let (model, initial) = initialMaster(columns)
        let volume = Int((Double(zip(sizes, demand).reduce(0) { $0 + $1.0 * $1.1 }) / Double(capacity) - 1e-9).rounded(.up))
        var lowerBound = volume
        var bins = ffd
        var master = initial
        do {
            try model.withLiveLP { lp throws(GLPKError) in
                try search(lp, &master, &bins, &lowerBound, start: start, timeLimit: timeLimit)
            }
        } catch {
            // A GLPK failure ends the search; the packing and bound found until then still hold.
        }
        guard bins.count <= sub.hosts.count else { return nil }
        return Outcome(
            decisions: assign(bins), value: bins.count, lowerBound: min(lowerBound, bins.count),
            seconds: monotonicSeconds() - start, columns: master.patterns.count, rows: demand.count)
    }

    /// The search on the live master: root column generation (the bound), the integer master
    /// over the patterns found, then dives until a packing meets the bound or time runs out.
    func search(_ lp: LiveLP, _ master: inout Master, _ bins: inout [[Int]], _ lowerBound: inout Int,
                start: Double, timeLimit: Double) throws(GLPKError) {
        let deadline = start + timeLimit
        // 1. The root LP, to convergence if time allows: its rounded-up value is the bound.
        if let root = try generate(lp, &master, demand: demand, deadline: start + timeLimit * 0.5, exact: true,
                                   enough: bins.count),
            let bound = root.bound
        {
            lowerBound = max(lowerBound, Int((bound - 1e-6).rounded(.up)))
        }
        // 2. The integer master over the patterns generated so far.
        if bins.count > lowerBound {
            integerMaster(lp, master, &bins, timeLimit: min(deadline - monotonicSeconds(), timeLimit * 0.25))
        }
        // 3. Diving: fix a pattern the LP uses much, re-price the residual, repeat. The first
        //    dive takes the largest; later dives pick at random among the large ones.
        // 4. After 30 dives (or 40 % of the limit), the integer master again, over every pattern
        //    the dives priced too: those fill the residuals the LP leaves, which the root's
        //    patterns do not. Then dives again until the deadline. Hard28 BPP60 (160 items, LP
        //    bound 63): 64 after 200 dives and at every limit before; with the master after the
        //    dives, 63.
        var rng = SplitMix64(seed: 1)
        var attempt = 0
        var masterAgain = true
        while bins.count > lowerBound && monotonicSeconds() < deadline && attempt < 200 {
            if masterAgain && (attempt == 30 || monotonicSeconds() > start + timeLimit * 0.4) {
                masterAgain = false
                integerMaster(lp, master, &bins, timeLimit: min(deadline - monotonicSeconds(), timeLimit * 0.25))
                continue
            }
            if let dived = try dive(lp, &master, deadline: deadline, random: attempt == 0 ? nil : rng),
                dived.count < bins.count
            {
                bins = dived
            }
            _ = rng.next()
            attempt += 1
        }
    }

    /// The integer master over the patterns generated so far (swap columns stay continuous: any
    /// integer choice of patterns they complete is realizable), asked for fewer bins than
    /// `bins`, which it replaces when it finds such a packing within `timeLimit`.
    func integerMaster(_ lp: LiveLP, _ master: Master, _ bins: inout [[Int]], timeLimit: Double) {
        var model = lp.model
        model.addLessOrEqual(master.patternVariables.map { ($0, 1.0) }, Double(bins.count - 1))
        guard let mip = try? model.solve(SolveOptions(timeLimit: max(0.05, timeLimit))), mip.hasSolution else { return }
        var chosen: [[Int]] = []
        for (p, v) in master.patternVariables.enumerated() {
            chosen += Array(repeating: master.patterns[p], count: Int(mip[v].rounded()))
        }
        let realized = realize(chosen, demand: demand)
        if realized.left.allSatisfy({ $0 == 0 }) && realized.bins.count < bins.count { bins = realized.bins }
    }

    /// One dive: repeatedly takes a pattern the LP uses much (as many whole copies as the LP
    /// does, at least one), lowers the demand it covers, and re-prices the residual. Returns the
    /// bins, or nil when time ran out. Restores the master's demand before returning.
    func dive(_ lp: LiveLP, _ master: inout Master, deadline: Double, random: SplitMix64?) throws(GLPKError) -> [[Int]]? {
        var rng = random
        var chosen: [[Int]] = []
        var residual = demand
        defer {
            for c in demand.indices { try? lp.setBounds(master.rows[c], lower: Double(demand[c]), upper: nil) }
        }
        while residual.contains(where: { $0 > 0 }) {
            for c in demand.indices { try lp.setBounds(master.rows[c], lower: Double(residual[c]), upper: nil) }
            guard let relaxation = try generate(lp, &master, demand: residual, deadline: deadline, exact: false) else { return nil }
            let lambda = relaxation.lambda
            guard let top = lambda.indices.max(by: { lambda[$0] < lambda[$1] }), lambda[top] > 1e-9 else { return nil }
            var p = top
            if rng != nil {
                let large = lambda.indices.filter { lambda[$0] >= 0.5 * lambda[top] }
                p = large[rng!.below(large.count)]
            }
            let copies = max(1, Int((lambda[p] + 1e-6).rounded(.down)))
            chosen += Array(repeating: master.patterns[p], count: copies)
            let realized = realize(chosen, demand: demand)
            guard realized.left != residual else { break }  // the pattern covers nothing left
            residual = realized.left
        }
        let realized = realize(chosen, demand: demand)
        guard realized.left.allSatisfy({ $0 == 0 }) else { return nil }
        return realized.bins
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
        for bin in bins.sorted(by: { a, b in
            let sa = a.reduce(0, +), sb = b.reduce(0, +)
            return sa != sb ? sa > sb : a.lexicographicallyPrecedes(b)
        }) {
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
            // The lowest host index with one left: never dictionary order, which Swift seeds
            // per process (the same inventory gave a different plan in every run).
            let source = onHost[c].filter { !$0.value.isEmpty }.keys.min()!
            let s = onHost[c][source]!.removeLast()
            decision[s] = .host(host, [0])
        }
        return sub.classes.map { cls in cls.servers.map { decision[$0] ?? .stay } }
    }
}
