// SPDX-License-Identifier: GPL-3.0-or-later

// The greedy plan: empty the least loaded hosts onto hosts in use, all or nothing.

import GLPK
import Topology

extension BatchPlanner {
    /// Sends every unit of `demand` from some supply with `forbidden(i, j)` false (max-flow with
    /// breadth-first augmenting paths). Returns flow[i][j], or nil when demand cannot be met.
    func matchAvoidingOwnHost(supply: [Int], demand: [Int], forbidden: (Int, Int) -> Bool) -> [[Int]]? {
        let m = supply.count
        let n = demand.count
        var flow = Array(repeating: Array(repeating: 0, count: n), count: m)
        var left = supply
        var need = demand
        let allowed = (0..<m).map { i in (0..<n).map { j in !forbidden(i, j) } }
        while let j0 = need.indices.first(where: { need[$0] > 0 }) {
            // BFS over demands: from j0 backwards through supplies. A path j0 <- i0 (allowed), and
            // i0 may be "full" but can free a unit by moving one of its flows i0 -> j1 ... until a
            // supply with spare units is found.
            var prevOfSupply = Array(repeating: -1, count: m)  // demand index that reached supply i
            var prevOfDemand = Array(repeating: -2, count: n)  // supply index that reached demand j
            prevOfDemand[j0] = -1
            var queue = [j0]
            var end: Int?
            var head = 0
            search: while head < queue.count {
                let j = queue[head]
                head += 1
                for i in 0..<m where allowed[i][j] && prevOfSupply[i] == -1 {
                    prevOfSupply[i] = j
                    if left[i] > 0 {
                        end = i
                        break search
                    }
                    // i is exhausted: it can serve j if one of its current units moves to j2.
                    for j2 in 0..<n where flow[i][j2] > 0 && prevOfDemand[j2] == -2 {
                        prevOfDemand[j2] = i
                        queue.append(j2)
                    }
                }
            }
            guard var i = end else { return nil }
            left[i] -= 1
            // Walk back: i serves j = prevOfSupply[i]; if j was reached from supply k, k gives up a unit of j.
            while true {
                let j = prevOfSupply[i]
                flow[i][j] += 1
                let k = prevOfDemand[j]
                if k == -1 {
                    need[j] -= 1
                    break
                }
                flow[k][j] -= 1
                i = k
            }
        }
        return flow
    }

    /// A valid plan built with the fit function: first-fit-decreasing for forced moves, host
    /// emptying for consolidation, no moves for rebalancing.
    func greedy(_ sub: SubProblem, options: PlanOptions, deadline: Double? = nil) -> [[Decision]] {
        greedyPlan(sub, options: options, deadline: deadline).decisions
    }

    /// `greedy`, and its waves where it made them (draining hosts or moving named servers under
    /// `any`, without caps on moves per wave; nil elsewhere).
    func greedyPlan(_ sub: SubProblem, options: PlanOptions, deadline: Double? = nil) -> (decisions: [[Decision]], waves: [Move]?) {
        var decisions = sub.classes.map { Array(repeating: Decision.stay, count: $0.count) }
        // Every candidate is judged by the rule pipeline (`Checker.evaluateHost`) on a placement
        // state that follows the greedy's own moves; the nodes it asks for are those the fit
        // function picks on the room the layout policy trusts (the worst case per node for
        // servers of unknown layout, as in the models).
        var checker = self.checker  // the planner's, as it stands: built once (index and state)
        let checkerOptions = options.checkerOptions
        let trusted = checkerOptions.effectivePolicy
        var arrivals = Array(repeating: 0, count: sub.hosts.count)
        var moves = 0
        var where_: [Int: (cls: Int, i: Int, origin: Origin)] = [:]
        var context: [Int: Checker.ServerContext] = [:]
        for (c, cls) in sub.classes.enumerated() {
            var position: [Int: Int] = [:]
            for (i, s) in cls.servers.enumerated() { position[s] = i }
            for (origin, servers) in cls.origins {
                for s in servers {
                    where_[s] = (c, position[s]!, origin)
                    var ctx = Checker.ServerContext(inventory.servers[s], index: checker.index, inventory: inventory)
                    ctx.currentHost = origin.host >= 0 ? sub.hosts[origin.host] : -1
                    context[s] = ctx
                }
            }
        }
        // The same usage per local host, kept alongside for the scan over every host (reading
        // through the checker for each of them costs twice the whole plan at 10,000 hosts).
        var local = sub.hosts.map { checker.state.usage[$0] }
        func usage(_ h: Int) -> HostUsage { local[h] }
        let objective = options.effectiveObjective

        /// Hosts with room for `s` on the nodes the layout policy trusts, and those nodes (the
        /// wish); the option filters (receiving hosts, per-host cap, hosts in use) apply here,
        /// the move rules in `accepted`.
        // Hosts whose type the pipeline's index says refuses a class are not scanned (the
        // pipeline would refuse them anyway; this only saves the scan).
        let typeAccepts = typeAccepts(sub, index: checker.index)
        func candidates(_ s: Int, avoiding: Set<Int> = [], also excluded: Int = -1, onlyInUse: Bool = false, among: [Int]? = nil)
            -> [(h: Int, fit: NodeFit)]
        {
            var out: [(Int, NodeFit)] = []
            for h in among ?? Array(sub.hosts.indices) {
                if let fit = candidate(s, h, avoiding: avoiding, also: excluded, onlyInUse: onlyInUse) { out.append((h, fit)) }
            }
            return out
        }
        /// Whether local host `h` passes the option filters for `s` and has room for it: the wish.
        func candidate(_ s: Int, _ h: Int, avoiding: Set<Int> = [], also excluded: Int = -1, onlyInUse: Bool = false) -> NodeFit? {
            let (c, _, origin) = where_[s]!
            guard sub.receives[h] && typeAccepts[c][h] && h != origin.host && h != excluded else { return nil }
            if onlyInUse && usage(h).serverCount == 0 { return nil }
            if avoiding.contains(h) { return nil }
            if let cap = options.maxPerHost, arrivals[h] >= cap { return nil }
            return usage(h).fit(sub.classes[c].flavor, under: trusted)
        }
        // Moving named servers or draining hosts where the cloud picks the nodes: every arrival
        // is judged as the plan will run it (`SequencedArrivals`: with its host's latest wave or
        // after it, whatever nodes the cloud picks), and the plan comes in those waves. Judged
        // on the wished nodes instead, the plan for a tenth of 10,000 hosts (483 hosts touched)
        // had 112 moves re-routed by the wave ordering that followed: 520 hosts.
        var sequenced: SequencedArrivals?
        if options.placement == .any, sub.mustMove {
            sequenced = SequencedArrivals(heuristicReplay(options))
        }
        /// Whether the rule pipeline accepts `s` on local host `h` on the wished nodes. Under
        /// `sequenced`, on the nodes the cloud picks, and `s` is then placed there (`apply`
        /// follows).
        func accepted(_ s: Int, _ h: Int, _ wish: NodeFit) -> Bool {
            if sequenced != nil { return sequenced!.place(s, on: sub.hosts[h]).placed }
            return checker.admitsPacked(context[s]!, hostIndex: sub.hosts[h], nodes: wish.nodes, options: checkerOptions)
        }
        /// The best of `found` by `better` that the rule pipeline accepts (checked best first,
        /// so the pipeline runs on few candidates).
        func best(_ s: Int, _ found: [(h: Int, fit: NodeFit)], by better: ((h: Int, fit: NodeFit), (h: Int, fit: NodeFit)) -> Bool) -> (h: Int, fit: NodeFit)? {
            var rest = found
            while let top = rest.indices.max(by: { better(rest[$1], rest[$0]) }) {
                if accepted(s, rest[top].h, rest[top].fit) { return rest[top] }
                rest.swapAt(top, rest.count - 1)
                rest.removeLast()
            }
            return nil
        }
        func apply(_ s: Int, to h: Int, nodes: [Int]) {
            let (c, i, origin) = where_[s]!
            let server = inventory.servers[s]
            let flavor = sub.classes[c].flavor
            let groups = inventory.groupsOfServer[server.id] ?? []
            if origin.host >= 0 { checker.state.remove(server, flavor: flavor, host: sub.hosts[origin.host], nodes: origin.nodes, groups: groups) }
            checker.state.add(server, flavor: flavor, host: sub.hosts[h], nodes: nodes, groups: groups)
            if origin.host >= 0 { local[origin.host].remove(flavor, nodes: origin.nodes) }
            local[h].add(flavor, nodes: nodes)
            context[s]!.currentHost = sub.hosts[h]
            arrivals[h] += 1
            moves += 1
            decisions[c][i] = .host(h, nodes)
        }
        func undo(_ s: Int, from h: Int, nodes: [Int]) {
            let (c, i, origin) = where_[s]!
            let server = inventory.servers[s]
            let flavor = sub.classes[c].flavor
            let groups = inventory.groupsOfServer[server.id] ?? []
            checker.state.remove(server, flavor: flavor, host: sub.hosts[h], nodes: nodes, groups: groups)
            if origin.host >= 0 { checker.state.add(server, flavor: flavor, host: sub.hosts[origin.host], nodes: origin.nodes, groups: groups) }
            local[h].remove(flavor, nodes: nodes)
            if origin.host >= 0 { local[origin.host].add(flavor, nodes: origin.nodes) }
            context[s]!.currentHost = origin.host >= 0 ? sub.hosts[origin.host] : -1
            arrivals[h] -= 1
            moves -= 1
            decisions[c][i] = .stay
        }
        let budget = options.maxMoves ?? Int.max
        func size(_ s: Int) -> Double {
            let f = sub.classes[where_[s]!.cls].flavor.resources
            return Double(f.vcpus) * 4096 + Double(f.memoryMiB)
        }

        /// Free share of a host's vCPUs and memory, each normalised by its capacity.
        func roomLeft(_ h: Int) -> Double { usage(h).roomLeft }

        switch options.mode {
        case .evacuate, .servers:
            var touched: [Int] = []  // ascending, the order the scan over every host met them in
            // Judged in sequence, servers that span more NUMA nodes come first: a one-node server
            // landed first may take a node they need (`SequencedArrivals.comesFirst`).
            let order = where_.keys.sorted { a, b in
                if sequenced != nil, let first = SequencedArrivals.comesFirst(sub.classes[where_[a]!.cls].flavor, sub.classes[where_[b]!.cls].flavor) {
                    return first
                }
                return (size(a), b) > (size(b), a)
            }
            // When draining hosts, the hosts that receive lose no server, so those not yet touched
            // keep their room: ranked once, most room left first, for opening targets.
            // Scanning every host for every server took 15 s of a 5 s limit when draining a
            // tenth of 10,000 hosts (4,305 servers); the touched hosts are few.
            var untouchedByRoom: [Int]?
            if objective == .minHostsTouched, case .evacuate = options.mode { untouchedByRoom = receivingByRoom(sub) }
            var opened = 0  // the hosts of `untouchedByRoom` before this position are all touched
            for s in order {
                guard moves < budget else { break }
                var pick: (h: Int, fit: NodeFit)?
                if objective == .minHostsTouched {
                    pick = best(s, candidates(s, among: touched), by: { $0.fit.score > $1.fit.score })
                    // Opening another target: take the one with the most room left, so that it
                    // absorbs as many of the following servers as possible (the tightest fit
                    // would fill at once and open yet another host). A touched host has just
                    // refused `s` or has no room for it, and refuses it again.
                    if pick == nil, let ranked = untouchedByRoom {
                        for h in ranked[opened...] where !sortedContains(touched, h) {
                            if let fit = candidate(s, h), accepted(s, h, fit) {
                                pick = (h, fit)
                                break
                            }
                        }
                    } else if pick == nil {
                        pick = best(s, candidates(s), by: { (roomLeft($0.h), -$0.h) > (roomLeft($1.h), -$1.h) })
                    }
                } else {
                    pick = best(s, candidates(s), by: { ($0.fit.score, -$0.h) > ($1.fit.score, -$1.h) })
                }
                if let pick {
                    apply(s, to: pick.h, nodes: pick.fit.nodes)
                    if !sortedContains(touched, pick.h) { touched.insert(pick.h, at: lowerBound(touched, pick.h)) }
                    if let ranked = untouchedByRoom {
                        while opened < ranked.count, sortedContains(touched, ranked[opened]) { opened += 1 }
                    }
                }
            }
            if options.allowPool {
                for s in order where moves < budget {
                    let (c, i, _) = where_[s]!
                    if decisions[c][i] == .stay && inventory.servers[s].dedicatedHostID != nil {
                        decisions[c][i] = .pool
                        moves += 1
                    }
                }
            }
        case .consolidate where objective == .minHostsUsed || objective == .minHostsTouched:
            // Empty the least loaded hosts first, onto hosts that stay in use.
            var emptied = Set<Int>()
            let onHost = Dictionary(grouping: where_.keys.filter { where_[$0]!.origin.host >= 0 }, by: { where_[$0]!.origin.host })
            let order = onHost.keys.filter { sub.fixed[$0].serverCount == 0 }
                .sorted { (usage($0).usedTotal.vcpus, $0) < (usage($1).usedTotal.vcpus, $1) }
            for e in order {
                if let deadline, monotonicSeconds() > deadline { break }  // the hosts emptied so far stand
                let servers = onHost[e]!.sorted { (size($0), $1) > (size($1), $0) }
                guard moves + servers.count <= budget else { continue }
                var done: [(Int, Int, [Int])] = []
                var ok = true
                for s in servers {
                    let inUse = candidates(s, avoiding: emptied, also: e, onlyInUse: true)
                    guard let pick = best(s, inUse, by: { ($0.fit.score, -$0.h) > ($1.fit.score, -$1.h) }) else {
                        ok = false
                        break
                    }
                    apply(s, to: pick.h, nodes: pick.fit.nodes)
                    done.append((s, pick.h, pick.fit.nodes))
                }
                if ok {
                    emptied.insert(e)
                } else {
                    for (s, h, nodes) in done.reversed() { undo(s, from: h, nodes: nodes) }
                }
            }
        default:
            break  // no moves is a valid plan
        }
        // Caps on moves per wave are the wave ordering's to keep.
        guard let sequenced, options.maxParallel == nil, options.maxPerHostParallel == nil else { return (decisions, nil) }
        return (decisions, sequenced.numbered(self.moves(of: decisions, in: sub), inventory: inventory))
    }
}

extension BatchPlanner {
    /// The sub-problem's hosts that may receive, most room left first (`HostUsage.roomLeft`,
    /// ties by local index), as they stand before any move: the order in which drains open
    /// targets (the greedy plan, `sequencedDrain`).
    func receivingByRoom(_ sub: SubProblem) -> [Int] {
        sub.hosts.indices.filter { sub.receives[$0] }.map { ($0, checker.state.usage[sub.hosts[$0]].roomLeft) }
            .sorted { ($0.1, -$0.0) > ($1.1, -$1.0) }.map(\.0)
    }
}

/// Where `x` is, or goes to keep it ascending, in the ascending array `a`.
private func lowerBound(_ a: [Int], _ x: Int) -> Int {
    var (lo, hi) = (0, a.count)
    while lo < hi {
        let mid = (lo + hi) / 2
        if a[mid] < x { lo = mid + 1 } else { hi = mid }
    }
    return lo
}

private func sortedContains(_ a: [Int], _ x: Int) -> Bool {
    let at = lowerBound(a, x)
    return at < a.count && a[at] == x
}
