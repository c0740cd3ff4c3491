// SPDX-License-Identifier: GPL-3.0-or-later

// A local search that empties hosts of a packing: the least filled host in use (or, draining,
// the host touched with the fewest arrivals) gives its servers to other such hosts, each by a
// move or, where none has room, by ejecting a smaller server of such a host to a third one.
// Every placement is judged by the rule pipeline on the nodes the fit function picks; the
// moves it adds can be kept from closing a cycle.

import GLPK
import Topology

extension BatchPlanner {
    /// `decisions` (a consolidation's packing in `sub`, or a drain's: below) with more hosts
    /// emptied, and how many.
    /// Hosts in use whose servers may all move are tried least filled first: their servers,
    /// largest first, go onto other hosts in use (fullest first); a server that finds no room
    /// takes the place of a smaller server of a host in use, which goes to a third host in use.
    /// A host is emptied only when all of its servers find a place; otherwise nothing of the
    /// attempt is kept. Passes repeat while they empty a host, until `deadline`; when one
    /// empties none, servers of the least filled hosts are swapped with smaller ones of fuller
    /// hosts (`swapApart`), kept only if the next pass empties a host. `swaps`: those kept.
    /// When swaps free nothing, the two least filled hosts' servers go into a pool that a tabu
    /// search empties (`emptyThroughPool`, at most `poolSteps` steps; 0: not tried).
    /// A swap is two moves that close a cycle, and the pool's steps can close cycles: both only
    /// where cycles are allowed (`acyclic` false).
    ///
    /// Each placement is judged as first-fit decreasing judges its own (`Checker.evaluateHost`
    /// on the nodes `Fit.fit` picks under the layout policy; a server going back to its own
    /// host stays on its own nodes), with the anti-affinity groups, the per-host cap on
    /// arrivals and the hosts that may not receive kept. A move is added from host u to host v
    /// only when nothing moves onto u or nothing leaves v: then no path leads back from v to u,
    /// so the moves it adds close no cycle, and a packing without cycles (first-fit
    /// decreasing's that only empties hosts) stays without them and is put in waves with no
    /// move re-routed.
    ///
    /// Drains and named moves (fewest hosts touched) the same way: the hosts touched, fewest
    /// arrivals (by size) first, give their arrivals to other hosts touched; servers left where
    /// they are or sent to the pool stay as they are, and nothing goes back to its own host.
    /// Sources only send there, so no move closes a cycle.
    ///
    /// Nil where it does not apply: other objectives, a move limit, servers coming from the
    /// pool, and wherever the cloud picks the nodes by a rule of its own, which the packing's
    /// wished nodes need not follow: under `planned`, and consolidating under `any` on the
    /// cycle-free packing (`acyclic`), whose moves the wave ordering then judges whatever nodes
    /// the cloud picks with no cycle to break (foreign fleet 26, 800 hosts, 30 % of layouts
    /// unknown, at 1 s: 404 hosts before, 342 with it). Not on the other packings under `any`
    /// (`generated_sweep.py --seed 7600` at 2 s: one fleet kept a host more, none fewer), nor
    /// under `first-fit` (four instances of five changed by a host or two, two for the worse);
    /// nor for drains under `first-fit` (a tenth of tiled 2,000 at 10 s: 390 hosts touched
    /// instead of 323) or `any`, judged in sequence afterwards (the same drain: the search's 244
    /// hosts on wished nodes came out at 334, in 12.0 s of a 10 s limit, where the plan without
    /// it has 263 in 8.5 s).
    func emptiedByLocalSearch(_ decisions: [[Decision]], sub: SubProblem, options: PlanOptions, acyclic: Bool = true, deadline: Double,
                              poolSteps: Int = HostEmptying.poolSteps)
        -> (decisions: [[Decision]], emptied: Int, swaps: Int)?
    {
        let consolidating = options.mode == .consolidate && options.effectiveObjective == .minHostsUsed && !sub.mustMove
            && (options.placement == .planned || (options.placement == .any && acyclic))
        let draining = sub.mustMove && options.effectiveObjective == .minHostsTouched && options.placement == .planned
        guard consolidating || draining, options.maxMoves == nil else { return nil }
        let all = movers(of: sub)
        guard !all.isEmpty, all.allSatisfy({ $0.origin.host >= 0 }) else { return nil }
        var search = HostEmptying(planner: self, sub: sub, options: options, movers: all, acyclic: acyclic)
        search.poolSteps = poolSteps
        var frozen = Set<Int>()  // movers the search leaves as they are (draining: not placed)
        for (k, m) in all.enumerated() {
            switch decisions[m.c][m.i] {
            case .stay:
                search.put(k, on: m.origin.host, nodes: m.origin.nodes)
                if draining {
                    // Left on its host (unplaced): it counts there, but its host is not touched.
                    search.content[m.origin.host].remove(k)
                    frozen.insert(k)
                }
            case .host(let h, let nodes):
                // A server "moved" onto its own host on other nodes is not a state this search keeps.
                guard h != m.origin.host else { return nil }
                search.put(k, on: h, nodes: nodes)
            case .pool:
                guard draining else { return nil }
                frozen.insert(k)
            }
        }
        search.journal.removeAll()
        let emptied = search.run(deadline: deadline)
        guard emptied > 0 else { return (decisions, 0, 0) }
        var out = decisions
        for (k, m) in all.enumerated() where !frozen.contains(k) {
            let spot = search.spot[k]
            out[m.c][m.i] = spot.host == m.origin.host ? .stay : .host(spot.host, spot.nodes ?? [])
        }
        return (out, emptied, search.swapsKept)
    }
}

/// The state of `emptiedByLocalSearch`: where each mover is, what each host holds, the moves
/// in and out of each host, and a journal to take an attempt back.
struct HostEmptying {
    let planner: BatchPlanner
    let sub: SubProblem
    let options: PlanOptions
    let movers: [(s: Int, c: Int, i: Int, origin: Origin)]
    let trusted: LayoutPolicy
    /// Whether moves that could close a cycle are refused.
    let acyclic: Bool
    let typeAccepts: [[Bool]]
    /// Each mover's size: vCPUs and memory, each normalised by the largest host.
    let size: [Double]
    var checker: Checker
    /// Where each mover is: local host and nodes (nil: unknown layout, only on its own host).
    var spot: [(host: Int, nodes: [Int]?)]
    /// The movers on each local host.
    var content: [Set<Int>]
    /// Movers on each host that came from another (the per-host cap counts these), and movers
    /// that left each host: the moves' graph, to keep it without new cycles.
    var arrivals: [Int]
    var outgoing: [Int]
    /// Each change of place, to take an attempt back: the mover and where it was (host -1: nowhere).
    var journal: [(k: Int, host: Int, nodes: [Int]?)] = []
    var contexts: [Int: Checker.ServerContext] = [:]
    /// Swaps (`swapApart`) kept: those after which a host was emptied.
    var swapsKept = 0
    /// The steps each attempt of the pool (`emptyThroughPool`) may take (0: no pool).
    var poolSteps = Self.poolSteps
    static let poolSteps = 500

    init(planner: BatchPlanner, sub: SubProblem, options: PlanOptions, movers: [(s: Int, c: Int, i: Int, origin: Origin)], acyclic: Bool) {
        self.acyclic = acyclic
        self.planner = planner
        self.sub = sub
        self.options = options
        self.movers = movers
        trusted = options.checkerOptions.effectivePolicy
        let checker = planner.checker(without: movers, sub: sub)
        self.checker = checker
        typeAccepts = planner.typeAccepts(sub, index: checker.index)
        let largest = BatchPlanner.largestCapacity(sub)
        size = movers.map { BatchPlanner.size(sub.classes[$0.c].flavor.resources, largest: largest) }
        spot = Array(repeating: (-1, nil), count: movers.count)
        content = Array(repeating: [], count: sub.hosts.count)
        arrivals = Array(repeating: 0, count: sub.hosts.count)
        outgoing = arrivals
    }

    /// In use (consolidating) or touched (draining: holds arrivals).
    func inUse(_ h: Int) -> Bool { !content[h].isEmpty || !sub.mustMove && sub.fixed[h].serverCount > 0 }

    /// Share of the host's vCPUs and memory in use (0 to 2).
    func fill(_ h: Int) -> Double {
        let u = checker.state.usage[sub.hosts[h]]
        let cap = u.capacity.total, used = u.usedTotal
        return Double(used.vcpus) / Double(max(cap.vcpus, 1)) + Double(used.memoryMiB) / Double(max(cap.memoryMiB, 1))
    }

    /// Movers largest by `size` first (then by index). Static: as a method called from the
    /// mutating search it copied the whole search state at every call (perf: a sixth of a 1 s
    /// plan on foreign fleet 30, which then kept a host more).
    static func largestFirst(_ ks: Set<Int>, by size: [Double]) -> [Int] {
        ks.sorted { size[$0] != size[$1] ? size[$0] > size[$1] : $0 < $1 }
    }

    func groups(_ k: Int) -> [Int] { planner.inventory.groupsOfServer[planner.inventory.servers[movers[k].s].id] ?? [] }

    /// Puts mover `k` (nowhere now) on local host `h`, on `nodes`.
    mutating func put(_ k: Int, on h: Int, nodes: [Int]?) {
        let m = movers[k]
        checker.state.add(planner.inventory.servers[m.s], flavor: sub.classes[m.c].flavor, host: sub.hosts[h], nodes: nodes, groups: groups(k))
        journal.append((k, -1, nil))
        spot[k] = (h, nodes)
        content[h].insert(k)
        if h != m.origin.host {
            arrivals[h] += 1
            outgoing[m.origin.host] += 1
        }
    }

    /// Takes mover `k` off its host.
    mutating func take(_ k: Int) {
        let m = movers[k]
        let (h, nodes) = spot[k]
        checker.state.remove(planner.inventory.servers[m.s], flavor: sub.classes[m.c].flavor, host: sub.hosts[h], nodes: nodes,
                             groups: groups(k))
        journal.append((k, h, nodes))
        spot[k] = (-1, nil)
        content[h].remove(k)
        if h != m.origin.host {
            arrivals[h] -= 1
            outgoing[m.origin.host] -= 1
        }
    }

    /// Takes back every change after journal entry `mark`.
    mutating func rollback(to mark: Int) {
        while journal.count > mark {
            let (k, host, nodes) = journal.removeLast()
            // Undo without journaling: a `put` is undone by taking, a `take` by putting back.
            if host < 0 {
                take(k)
            } else {
                put(k, on: host, nodes: nodes)
            }
            journal.removeLast()
        }
    }

    /// Whether mover `k` may go to local host `h` at all: its own host, or a host that receives
    /// and whose type takes its flavor (room and the rule pipeline are `admits`'s to judge).
    func mayGo(_ k: Int, to h: Int) -> Bool {
        h == movers[k].origin.host || sub.receives[h] && typeAccepts[movers[k].c][h]
    }

    /// The nodes on which mover `k` (nowhere now) may go on local host `h`, nil when it may not:
    /// its own host on its own nodes when they still hold it; another host that may receive it
    /// where the rule pipeline admits it on the nodes the fit function picks, and the move
    /// closes no cycle.
    mutating func admits(_ k: Int, on h: Int) -> [Int]?? {
        let m = movers[k]
        let flavor = sub.classes[m.c].flavor
        let usage = checker.state.usage[sub.hosts[h]]
        guard usage.freeTotal.covers(flavor.resources) else { return nil }
        if h == m.origin.host {
            guard !sub.mustMove else { return nil }  // draining: back home is not placed
            // As first-fit decreasing keeps a server home.
            guard checker.state.holdsHome(flavor, nodes: m.origin.nodes, groups: groups(k), host: sub.hosts[h],
                                          tookArrivals: arrivals[h] > 0, policy: trusted)
            else { return nil }
            return .some(m.origin.nodes)
        }
        guard mayGo(k, to: h), options.maxPerHost.map({ arrivals[h] < $0 }) ?? true,
            !acyclic || arrivals[m.origin.host] == 0 || outgoing[h] == 0,
            let wish = usage.fit(flavor, under: trusted)
        else { return nil }
        if contexts[k] == nil {
            var context = Checker.ServerContext(planner.inventory.servers[m.s], index: checker.index, inventory: planner.inventory)
            context.currentHost = sub.hosts[m.origin.host]
            contexts[k] = context
        }
        guard checker.admitsPacked(contexts[k]!, hostIndex: sub.hosts[h], nodes: wish.nodes, options: options.checkerOptions)
        else { return nil }
        return .some(wish.nodes)
    }

    /// Places mover `k` (nowhere now) on the first of `targets` that admits it.
    mutating func place(_ k: Int, targets: [Int], except: Int) -> Bool {
        for h in targets where h != except {
            if let nodes = admits(k, on: h) {
                put(k, on: h, nodes: nodes)
                return true
            }
        }
        return false
    }

    /// Places mover `k` (nowhere now) on one of `targets` in place of a smaller mover there,
    /// which goes to another of them. At most `tries` such exchanges are judged.
    mutating func placeByEjection(_ k: Int, targets: [Int], except: Int, tries: Int) -> Bool {
        let need = sub.classes[movers[k].c].flavor.resources
        var left = tries
        for h in targets where h != except && mayGo(k, to: h) {
            let free = checker.state.usage[sub.hosts[h]].freeTotal
            for t in Self.largestFirst(content[h], by: size) where size[t] < size[k] {
                // Room in total first: without it no node set holds the server either.
                guard (free + sub.classes[movers[t].c].flavor.resources).covers(need) else { continue }
                guard left > 0 else { return false }
                left -= 1
                let mark = journal.count
                take(t)
                if let nodes = admits(k, on: h) {
                    put(k, on: h, nodes: nodes)
                    if place(t, targets: targets, except: except) { return true }
                }
                rollback(to: mark)
            }
        }
        return false
    }

    /// Empties hosts until a pass empties none or `deadline` passes; how many it emptied. When
    /// a pass empties none, servers are swapped between hosts (`swapApart`) and kept only if
    /// the pass after them empties a host (at most 20 rounds): swaps that free no host would
    /// only add moves. When they free none, the pool (`emptyThroughPool`) tries the two least
    /// filled hosts; the search ends when it fails.
    mutating func run(deadline: Double) -> Int {
        var emptied = 0
        var swapRounds = 0
        var random = SplitMix64(seed: UInt64(movers.count))
        while monotonicSeconds() < deadline {
            let pass = emptyingPass(deadline: deadline, keepJournal: false)
            emptied += pass
            if pass > 0 { continue }
            guard !sub.mustMove, !acyclic else { break }
            if swapRounds < 20 {
                swapRounds += 1
                journal.removeAll(keepingCapacity: true)
                let swapped = swapApart(deadline: deadline)
                let freed = swapped > 0 ? emptyingPass(deadline: deadline, keepJournal: true) : 0
                if freed > 0 {
                    emptied += freed
                    swapsKept += swapped
                    journal.removeAll(keepingCapacity: true)
                    continue
                }
                rollback(to: 0)
            }
            // Then the two least filled hosts through a pool of servers (`emptyThroughPool`).
            let least = leastFilledMovable(hostsByFill())
            let freed = least.count < 2 || poolSteps == 0 ? 0 : emptyThroughPool(least[0], spare: least[1], deadline: deadline, steps: poolSteps, random: &random)
            guard freed > 0 else { break }
            journal.removeAll(keepingCapacity: true)
            emptied += freed
        }
        return emptied
    }

    /// `hosts` (fullest first) least filled first, among those whose servers may all move: the
    /// hosts a consolidation can empty.
    func leastFilledMovable(_ hosts: [Int]) -> [Int] { hosts.reversed().filter { sub.fixed[$0].serverCount == 0 } }

    /// Hosts in use, fullest first.
    func hostsByFill() -> [Int] {
        let fills = sub.hosts.indices.filter(inUse).map { (h: $0, fill: fill($0)) }
        return fills.sorted { $0.fill != $1.fill ? $0.fill > $1.fill : $0.h < $1.h }.map(\.h)
    }

    /// One pass over the candidate hosts; how many it emptied. `keepJournal`: the changes of
    /// the hosts it empties stay in the journal (to be taken back with what came before).
    mutating func emptyingPass(deadline: Double, keepJournal: Bool) -> Int {
        var emptied = 0
        let hosts = hostsByFill()
        // Least filled first, among hosts whose servers may all move; draining, the hosts
        // touched with the fewest arrivals (by size) first.
        let candidates: [Int]
        if sub.mustMove {
            var load: [Int: Double] = [:]
            for h in hosts { load[h] = content[h].reduce(0.0) { $0 + size[$1] } }
            candidates = hosts.sorted { a, b in load[a]! != load[b]! ? load[a]! < load[b]! : a < b }
        } else {
            candidates = leastFilledMovable(hosts)
        }
        var targets = hosts
        var failures = 0  // in a row: past the least filled hosts, fuller ones empty still less often
        for e in candidates {
            guard monotonicSeconds() < deadline, failures < 128 else { break }
            guard !content[e].isEmpty else { continue }
            let mark = journal.count
            let leaving = Self.largestFirst(content[e], by: size)
            for k in leaving { take(k) }
            var ok = true
            for k in leaving where !place(k, targets: targets, except: e) {
                if !placeByEjection(k, targets: targets, except: e, tries: 64) {
                    ok = false
                    break
                }
            }
            if ok {
                emptied += 1
                failures = 0
                targets.removeAll { $0 == e }
            } else {
                rollback(to: mark)
                failures += 1
            }
            if !keepJournal { journal.removeAll(keepingCapacity: true) }
        }
        return emptied
    }

    /// Swaps a server of one of the least filled hosts in use (whose servers may all move; at
    /// most 16 of them) with a smaller server of a fuller host in use, where each is admitted
    /// on the other's host: the fuller host gets fuller and the sum of the squared fills grows,
    /// so free room gathers on the hosts the next emptying pass tries first, and no sequence
    /// of swaps comes back to where it started. At most 4,096 swaps judged. Changes stay in
    /// the journal. How many swaps it made.
    mutating func swapApart(deadline: Double) -> Int {
        var made = 0
        var left = 4_096
        let hosts = hostsByFill()
        let least = leastFilledMovable(hosts).prefix(16)
        for b in least {
            for a in hosts where a != b && fill(a) >= fill(b) {
                guard monotonicSeconds() < deadline, left > 0 else { return made }
                for y in Self.largestFirst(content[b], by: size) {
                    for x in Self.largestFirst(content[a], by: size) where size[x] < size[y] {
                        guard left > 0 else { return made }
                        left -= 1
                        let mark = journal.count
                        take(x)
                        take(y)
                        if let ny = admits(y, on: a) {
                            put(y, on: a, nodes: ny)
                            if let nx = admits(x, on: b) {
                                put(x, on: b, nodes: nx)
                                made += 1
                                break
                            }
                        }
                        rollback(to: mark)
                    }
                }
            }
        }
        return made
    }
}
