// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

extension Headroom {
    /// Node expansions one search of `searchedCount` may make (counted, so counts stay the same
    /// on every machine). Past them the search gives what it has proven. Each takes up to
    /// C(8, 4) = 70 children on an 8-node host: on foreign fleet 2029 (above) the hosts' first
    /// pass took 3.2 s with 300, 12.5 s with 2,000, where the programs after it prove more in
    /// that time.
    static let searchBudget = 300

    /// The budget of a count asked on its own, and of the counts a report still has in doubt
    /// after every host had `searchBudget`.
    static let refinedSearchBudget = searchBudget * 10

    /// The fewest (`worst` true: what fits under every arrangement) or the most (some
    /// arrangement takes that many) servers of `flavor` that fit on `usage` over the
    /// arrangements of its servers of unknown layout, by depth-first branch and bound over
    /// those servers, largest first, each on k distinct nodes with room for it (nodes taken as
    /// interchangeable: arrangements equal up to the order of nodes are searched once).
    ///
    /// Bounds. Placing servers only takes room, so the count on the room left so far bounds
    /// every completion from above (`worst` false prunes with it). From below: a server whose
    /// per-node share is u takes at most r = max over vCPUs and memory of ⌈u / s⌉ per-node
    /// shares s of `flavor` off each node it lands on (⌊(f − u)/s⌋ ≥ ⌊f/s⌋ − ⌈u/s⌉), so the
    /// servers still to place take at most D = Σ k_j·r_j off Σ_n min(c_n, t), and t servers
    /// fit under every completion when Σ_n min(c_n, t) − D ≥ k·t (the closed form of
    /// `count(k:shares:)`, each node's share count c_n falling by at most what lands on it).
    /// That bound only grows down the tree.
    ///
    /// `exact` false: the budget ran out; the count is then proven (`worst`: at least that many
    /// fit under every arrangement, the bound at the root; else: the most found, which one
    /// arrangement takes), and `ceiling` (`worst` only) is the fewest seen on an arrangement,
    /// above which the true count cannot be. Nil when no arrangement of those servers fits the
    /// host at all (an inventory over its capacity).
    static func searchedCount(_ flavor: Flavor, on usage: HostUsage, worst: Bool, budget: Int = searchBudget)
        -> (count: Int, exact: Bool, ceiling: Int)?
    {
        let share = flavor.perNode
        let k = flavor.numaNodes
        let servers = DemandFit.unknownServers(usage)
        let nodes = usage.capacity.count
        guard k >= 1, k <= nodes else { return (0, true, 0) }
        func shares(_ state: [Resources]) -> [Int] { state.map { Fit.shares(of: share, in: $0) } }
        func countOn(_ state: [Resources]) -> Int { count(k: k, shares: shares(state)) }
        // Per-node shares a server can take off a node, and what the servers from depth d on take.
        func ceilDiv(_ a: Int, _ b: Int) -> Int { b > 0 ? (max(a, 0) + b - 1) / b : 0 }
        let damage = servers.map { f in
            f.numaNodes * max(ceilDiv(f.perNode.vcpus, share.vcpus), ceilDiv(f.perNode.memoryMiB, share.memoryMiB))
        }
        var still = [Int](repeating: 0, count: servers.count + 1)
        // What they bring in each dimension (units on all their nodes), and their pieces (one per node).
        var unitsFrom = [(vcpus: Int, memory: Int)](repeating: (0, 0), count: servers.count + 1)
        var piecesFrom = [Int](repeating: 0, count: servers.count + 1)
        for d in stride(from: servers.count - 1, through: 0, by: -1) {
            still[d] = still[d + 1] + damage[d]
            let f = servers[d]
            unitsFrom[d] = (unitsFrom[d + 1].vcpus + f.numaNodes * f.perNode.vcpus,
                            unitsFrom[d + 1].memory + f.numaNodes * f.perNode.memoryMiB)
            piecesFrom[d] = piecesFrom[d + 1] + f.numaNodes
        }
        // The same servers measured in shares, not rounded per server: what lands on node n
        // takes at most ⌈W_n − σ_n⌉ shares off it, where W_n sums max(u_vCPUs / s_vCPUs, u_memory
        // / s_memory) over the servers there and σ_n is the node's room past its last whole share
        // (in shares, in the dimension that binds). Summed: at most W + Σ_n (1 − σ_n).
        func ratio(_ a: Int, _ b: Int) -> Double { b > 0 ? Double(max(a, 0)) / Double(b) : 0 }
        let weight = servers.map { f in Double(f.numaNodes) * max(ratio(f.perNode.vcpus, share.vcpus), ratio(f.perNode.memoryMiB, share.memoryMiB)) }
        var weightFrom = [Double](repeating: 0, count: servers.count + 1)
        for d in stride(from: servers.count - 1, through: 0, by: -1) { weightFrom[d] = weightFrom[d + 1] + weight[d] }
        func byWeight(_ state: [Resources], shares c: [Int], depth: Int) -> Int {
            var slack = 0.0
            for (n, free) in state.enumerated() {
                let past = min(share.vcpus > 0 ? ratio(free.vcpus - c[n] * share.vcpus, share.vcpus) : .infinity,
                               share.memoryMiB > 0 ? ratio(free.memoryMiB - c[n] * share.memoryMiB, share.memoryMiB) : .infinity)
                slack += 1 - min(max(past, 0), 1)
            }
            // Rounded up with a margin: the bound must not fall short by a rounding error.
            return Int((weightFrom[depth] + slack) * (1 + 1e-12) + 1e-9) + 1
        }
        // Each dimension apart: c_n falls below the node's whole shares q_n in a dimension only
        // once what lands there eats the x_n = q_n − c_n shares it has past c_n, and then by
        // ⌈U / s⌉ − x_n at most for U units there (⌈U / s⌉ ≤ (U + s − 1) / s). Taking m_n =
        // min(c_n, t) shares off a node costs at least m_n·s + τ_n units, τ_n = x_n·s − (s − 1);
        // the most the servers' units can take, as a fractional knapsack over the nodes (the
        // linear relaxation), bounds what they take in that dimension, and the sum over both
        // bounds what they take (a node loses what its worse dimension loses). Nodes with no
        // shares past c_n (τ_n < 0) lose up to −τ_n / s < 1 more to the first piece landing there.
        func byDimension(_ state: [Resources], shares c: [Int], depth: Int, t: Int, vcpus: Bool) -> Double {
            let s = vcpus ? share.vcpus : share.memoryMiB
            guard s > 0 else { return 0 }
            var units = Double(vcpus ? unitsFrom[depth].vcpus : unitsFrom[depth].memory)
            var offers: [(perShare: Double, shares: Double)] = []
            var bonuses: [Double] = []
            for n in state.indices {
                let m = min(max(c[n], 0), t)
                guard m > 0 else { continue }
                let x = max(vcpus ? state[n].vcpus : state[n].memoryMiB, 0) / s - c[n]
                let tau = x * s - (s - 1)
                if tau >= 0 {
                    offers.append((Double(s) + Double(tau) / Double(m), Double(m)))
                } else {
                    bonuses.append(min(Double(m), Double(-tau) / Double(s)))
                    offers.append((Double(s), Double(m)))
                }
            }
            var taken = bonuses.sorted(by: >).prefix(piecesFrom[depth]).reduce(0, +)
            offers.sort { $0.perShare < $1.perShare }
            for offer in offers {
                guard units > 0 else { break }
                let shares = min(offer.shares, units / offer.perShare)
                taken += shares
                units -= shares * offer.perShare
            }
            return taken
        }
        /// Whether t servers of the flavor fit under every completion from `state` at `depth`.
        func provenAtLeast(_ state: [Resources], shares c: [Int], depth: Int, t: Int, weighted: Int? = nil) -> Bool {
            let have = c.reduce(0) { $0 + min(max($1, 0), t) }
            guard have >= k * t else { return false }
            guard depth < servers.count else { return true }
            let split = byDimension(state, shares: c, depth: depth, t: t, vcpus: true)
                + byDimension(state, shares: c, depth: depth, t: t, vcpus: false)
            let off = min(still[depth], weighted ?? byWeight(state, shares: c, depth: depth), Int((split + 1e-6).rounded(.down)))
            return have - off >= k * t
        }
        func floorOn(_ state: [Resources], depth: Int) -> Int {
            let c = shares(state)
            let most = c.reduce(0) { $0 + max($1, 0) } / k
            let weighted = depth < servers.count ? byWeight(state, shares: c, depth: depth) : 0
            for t in stride(from: most, through: 1, by: -1) where provenAtLeast(state, shares: c, depth: depth, t: t, weighted: weighted) {
                return t
            }
            return 0
        }
        struct Key: Hashable { let depth: Int, v: [Int] }
        func key(_ v: [Resources], _ depth: Int) -> Key { Key(depth: depth, v: DemandFit.flattened(v)) }

        let root = DemandFit.nodesInOrder(usage.freeKnown)
        let rootFloor = floorOn(root, depth: 0)
        let rootCeiling = countOn(root)
        var best: Int? = nil  // the fewest (or most) on a complete arrangement so far
        var seen = Set<Key>()
        var spent = 0
        var outOfBudget = false
        func done() -> Bool {
            guard let best else { return false }
            return worst ? best <= rootFloor : best >= rootCeiling
        }
        func visit(_ state: [Resources], depth: Int) {
            if outOfBudget || done() { return }
            if depth == servers.count {
                let c = countOn(state)
                best = best.map { worst ? min($0, c) : max($0, c) } ?? c
                return
            }
            // Pruned where no completion can beat the best so far.
            if let best {
                if worst, provenAtLeast(state, shares: shares(state), depth: depth, t: best) { return }
                if !worst, countOn(state) <= best { return }
            }
            guard seen.insert(key(state, depth)).inserted else { return }
            spent += 1
            if spent > budget {
                outOfBudget = true
                return
            }
            let f = servers[depth]
            let p = f.perNode
            let picks = nodeSubsets(of: nodes, size: f.numaNodes)
            var children: [(state: [Resources], order: (Int, Int))] = []
            var kids = Set<[Int]>()
            for pick in picks where pick.allSatisfy({ state[$0].covers(p) }) {
                var after = state
                for n in pick { after[n] -= p }
                after = DemandFit.nodesInOrder(after)
                guard kids.insert(DemandFit.flattened(after)).inserted else { continue }
                let c = shares(after)
                let total = c.reduce(0) { $0 + max($1, 0) }
                let n = count(k: k, shares: c)
                children.append((after, worst ? (n, total) : (-n, -total)))
            }
            // The most promising first: the fewest (most) servers of the flavor left room for.
            children.sort { $0.order < $1.order }
            for child in children { visit(child.state, depth: depth + 1) }
        }
        visit(root, depth: 0)
        guard let best else {
            // No arrangement found: either none exists, or the budget ran out first.
            return outOfBudget ? (worst ? (rootFloor, false, rootCeiling) : (0, false, rootCeiling)) : nil
        }
        if !outOfBudget || done() { return (best, true, best) }
        return worst ? (rootFloor, false, best) : (best, false, rootCeiling)
    }
}
