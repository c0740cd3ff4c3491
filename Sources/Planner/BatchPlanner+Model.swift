// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

/// Node subsets of size k of a host with n nodes, in lexicographic order.
func nodeSubsets(of n: Int, size k: Int) -> [[Int]] {
    guard k >= 1, k <= n else { return [] }
    return n < smallNodeSubsets.count ? smallNodeSubsets[n][k] : enumeratedNodeSubsets(of: n, size: k)
}

/// `nodeSubsets` of hosts of up to 8 nodes, made once: the exact verdict asks for them per
/// flavor on every host it judges (on foreign fleet 26 at 3 s, 3 % of the run).
private let smallNodeSubsets: [[[[Int]]]] = (0...8).map { n in (0...n).map { k in enumeratedNodeSubsets(of: n, size: k) } }

private func enumeratedNodeSubsets(of n: Int, size k: Int) -> [[Int]] {
    guard k >= 1, k <= n else { return [] }
    var result: [[Int]] = []
    var current: [Int] = []
    func extend(_ start: Int) {
        if current.count == k {
            result.append(current)
            return
        }
        var i = start
        while i <= n - (k - current.count) {
            current.append(i)
            extend(i + 1)
            current.removeLast()
            i += 1
        }
    }
    extend(0)
    return result
}

/// Where a mover sits before the plan: a host (local index) and nodes (nil: unknown), or the pool.
struct Origin: Hashable, Comparable {
    let host: Int  // local host index, -1 for the pool
    let nodes: [Int]?

    static func < (a: Origin, b: Origin) -> Bool {
        if a.host != b.host { return a.host < b.host }
        return (a.nodes ?? []).lexicographicallyPrecedes(b.nodes ?? [])
    }
}

/// Movers that are interchangeable for the model: same flavor and AZ (or one server in an
/// anti-affinity group).
struct MoverClass {
    let flavor: Flavor
    let singleton: Bool
    var servers: [Int] = []
    var origins: [Origin: [Int]] = [:]
    var count: Int { servers.count }
}

/// One independent part of a plan (an availability zone, or all of them under `--max-moves`).
struct SubProblem {
    /// Inventory indices of the hosts in play.
    var hosts: [Int] = []
    /// Local index of each inventory host index.
    var local: [Int: Int] = [:]
    var classes: [MoverClass] = []
    var mustMove = false
    /// Per local host: may receive servers.
    var receives: [Bool] = []
    /// Per local host: usage of servers that stay put whatever the plan.
    var fixed: [HostUsage] = []
    /// Per local host and group: members that stay put.
    var fixedMembers: [[Int: Int]] = []
}

/// A placement decision for one mover.
enum Decision: Hashable {
    case stay
    case host(Int, [Int])  // local host index, nodes
    case pool
}

/// Objective levels of a candidate solution, in lexicographic order of importance.
struct Levels: Comparable {
    var unplaced = 0
    var pool = 0
    var primary = 0.0
    var moves = 0

    static func < (a: Levels, b: Levels) -> Bool {
        if a.unplaced != b.unplaced { return a.unplaced < b.unplaced }
        if a.pool != b.pool { return a.pool < b.pool }
        if abs(a.primary - b.primary) > 1e-9 { return a.primary < b.primary }
        return a.moves < b.moves
    }

    /// Whether a plan at these levels places every mover on hosts and keeps no more hosts than
    /// `floor` (`SubProblem.volumeFloor`): then nothing beats it.
    func meets(volumeFloor floor: Int?) -> Bool {
        floor.map { unplaced == 0 && pool == 0 && primary <= Double($0) } ?? false
    }
}

extension SubProblem {
    var totalMovers: Int { classes.reduce(0) { $0 + $1.count } }

    /// Per-node room for arrivals on a local host: capacity minus fixed usage (worst case for
    /// unknown layouts under the `certain` policy).
    func room(_ h: Int, policy: LayoutPolicy) -> [Resources] {
        fixed[h].free(under: policy)
    }

    /// How movers that stay on a host fit its room per node (`room`), consolidating.
    enum StayersInRoom {
        /// Whatever stays, on whatever nodes, fits the room.
        case fit
        /// With no arrival on the host the stayers may not fit the room; with arrivals they
        /// do (all movers staying, and nothing arriving, is the other case).
        case fitBesideArrivals
        /// Even with arrivals the stayers may not fit the room.
        case mayNotFit
    }

    /// Per local host: how movers that stay fit its room under `policy` (`StayersInRoom`).
    /// Movers that stay are never judged; arrivals are, by the worst case per node with the
    /// stayers counted. Under `certain` the room counts servers of unknown layout that cannot
    /// move on every node they might use, so movers staying beside them, where those servers
    /// are not, can need more than that room has.
    ///
    /// - `fit` where the host as it stands (every mover home) is within capacity in the worst
    ///   case, and wherever nothing of unknown layout stays put: then any movers that stay fit
    ///   the room on any nodes, and with arrivals too (each arrival was judged with them
    ///   counted on its nodes).
    /// - `fitBesideArrivals` where it is not, but the movers of known layout fit the room on
    ///   their nodes and those of unknown layout span one node each: with an arrival, those of
    ///   unknown layout fit on its node (it was judged with them counted there) and the others
    ///   where they are.
    /// - `mayNotFit` otherwise (only on hosts that may receive; `roomHoldingStayers` is a room
    ///   they fit beside arrivals).
    func stayersInRoom(policy: LayoutPolicy) -> [StayersInRoom] {
        guard policy == .certain, !mustMove else { return Array(repeating: .fit, count: hosts.count) }
        let loads = stayerLoads { receives[$0] && fixed[$0].hasUnknownLayout }
        return hosts.indices.map { h in
            // Within the worst case as it stands: servers that cannot move and every mover home.
            guard let load = loads[h],
                !fixed[h].capacity.indices.allSatisfy({ fixed[h].capacity[$0].covers(fixed[h].usedWorst(node: $0) + load.known[$0] + load.unknown) })
            else { return .fit }
            let room = self.room(h, policy: .certain)
            let apart = !load.splitUnknown && room.indices.allSatisfy { room[$0].covers(load.known[$0]) }
            return apart ? .fitBesideArrivals : .mayNotFit
        }
    }

    /// A room per node of local host `h` that holds, under `certain`, any movers staying on it
    /// beside arrivals: per node and resource the larger of the worst-case room and what its
    /// movers of known layout there and every one of unknown layout could take on it. On a node
    /// with an arrival, the arrival was judged with the stayers counted there, within the
    /// worst-case room; on the others, the stayers take no more than that sum. For bounds
    /// only: arrivals in the extra room would be refused.
    func roomHoldingStayers(_ h: Int) -> [Resources] {
        let load = stayerLoads { $0 == h }[h] ?? StayerLoad(nodes: fixed[h].capacity.count)
        return zip(room(h, policy: .certain), load.known).map { worst, stayers in
            let held = stayers + load.unknown
            return Resources(vcpus: max(worst.vcpus, held.vcpus), memoryMiB: max(worst.memoryMiB, held.memoryMiB))
        }
    }

    /// What a host's movers take if they all stay: per node those of known layout, and the
    /// share per node of all those of unknown layout (each may lie on any node).
    struct StayerLoad {
        var known: [Resources]
        var unknown = Resources.zero
        /// Some mover of unknown layout spans more than one node.
        var splitUnknown = false
        init(nodes: Int) { known = Array(repeating: .zero, count: nodes) }
    }

    /// `StayerLoad` of the local hosts `wanted` picks that hold movers (nil elsewhere), in one
    /// pass over the movers.
    func stayerLoads(_ wanted: (Int) -> Bool) -> [StayerLoad?] {
        var loads = [StayerLoad?](repeating: nil, count: hosts.count)
        for cls in classes {
            for (o, servers) in cls.origins where o.host >= 0 && wanted(o.host) {
                var load = loads[o.host] ?? StayerLoad(nodes: fixed[o.host].capacity.count)
                let share = cls.flavor.perNode * servers.count
                if let nodes = o.nodes {
                    for n in nodes { load.known[n] += share }
                } else {
                    load.unknown += share
                    if cls.flavor.numaNodes > 1 { load.splitUnknown = true }
                }
                loads[o.host] = load
            }
        }
        return loads
    }

    /// A lower bound on the hosts an evacuation must touch, from volume alone: the fewest
    /// receiving hosts whose free vCPUs (and, separately, memory) add up to what the movers
    /// need, taking the roomiest first. Host types sharpen it: servers whose flavor only one
    /// host type accepts must land on hosts of that type, and the types' host sets are
    /// disjoint, so the fewest hosts each type needs for its own servers add up. The larger of
    /// the two counts is the bound. Valid for any plan that places every mover; it needs no
    /// LP, so a plan too large for the LP relaxation still ends with a proven gap.
    ///
    /// `policy` nil: rooms are the hosts' exact free totals, which servers of unknown layout
    /// take in full wherever they lie, so the bound holds whatever those layouts are and
    /// whoever picks the nodes (under `certain` the worst case per node is counted, which can
    /// be less than the host really has free).
    func hostsTouchedVolumeBound(policy: LayoutPolicy?, inventory: Inventory) -> Int {
        let need = classes.reduce(Resources.zero) { $0 + $1.flavor.resources * $1.count }
        guard need.vcpus > 0 || need.memoryMiB > 0 else { return 0 }
        let receiving = hosts.indices.filter { receives[$0] }
        /// The fewest of `candidates` whose free room covers `amount`, roomiest first.
        func fewest(_ candidates: [Int], _ amount: Resources) -> Int {
            Self.fewestCovering(amount, with: candidates.map { h in policy.map { room(h, policy: $0).total } ?? fixed[h].freeTotal })
        }
        let overall = fewest(receiving, need)
        var byType: [String: [Int]] = [:]
        for h in receiving { byType[inventory.hosts[self.hosts[h]].hostType, default: []].append(h) }
        var ownNeed: [String: Resources] = [:]
        for cls in classes {
            let accepting = byType.keys.filter { inventory.hostTypes[$0]?.supports(cls.flavor.name) ?? false }
            if accepting.count == 1 { ownNeed[accepting[0], default: .zero] += cls.flavor.resources * cls.count }
        }
        let perType = ownNeed.reduce(0) { $0 + fewest(byType[$1.key] ?? [], $1.value) }
        return max(overall, perType)
    }

    /// A consolidation's volume bound, which a plan keeping no more hosts meets as optimal
    /// (`Levels.meets(volumeFloor:)`); nil for other objectives and where every mover must move.
    func volumeFloor(objective: PlanObjective) -> Int? {
        objective == .minHostsUsed && !mustMove ? hostsUsedVolumeBound() : nil
    }

    /// A lower bound on the hosts a consolidation keeps in use, from volume alone: hosts with
    /// servers that cannot move stay in use; what the movers need beyond those hosts' free room
    /// takes at least the fewest other hosts whose free room covers it, roomiest first, in
    /// vCPUs and, separately, memory. Totals only, so it holds whatever the NUMA layouts and
    /// whoever picks the nodes. Valid for plans that send no server to the pool.
    func hostsUsedVolumeBound() -> Int {
        var need = Resources.zero  // movers from the pool may stay there: not counted
        for cls in classes {
            for (o, servers) in cls.origins where o.host >= 0 { need += cls.flavor.resources * servers.count }
        }
        var others: [Resources] = []
        var kept = 0
        for h in hosts.indices {
            if fixed[h].serverCount > 0 {
                kept += 1
                need -= fixed[h].freeTotal.clampedAtZero
            } else {
                others.append(fixed[h].freeTotal)
            }
        }
        return kept + Self.fewestCovering(need, with: others)
    }

    /// The fewest of `free` (rooms) that add up to `amount`, roomiest first, in vCPUs and,
    /// separately, memory: the larger count (all of them when even all are not enough).
    static func fewestCovering(_ amount: Resources, with free: [Resources]) -> Int {
        func count(_ want: Int, _ value: (Resources) -> Int) -> Int {
            guard want > 0 else { return 0 }
            var sum = 0
            for (k, v) in free.map(value).sorted(by: >).enumerated() {
                sum += v
                if sum >= want { return k + 1 }
            }
            return free.count  // not enough room: every one of them would not do either
        }
        return max(count(amount.vcpus, \.vcpus), count(amount.memoryMiB, \.memoryMiB))
    }

    /// Each mover's origin, by inventory server index.
    var originOfMovers: [Int: Origin] {
        var origin: [Int: Origin] = [:]
        for cls in classes {
            for (o, servers) in cls.origins { for s in servers { origin[s] = o } }
        }
        return origin
    }

    /// Per local host, its usage once the decisions are carried out: the servers that cannot
    /// move, the movers that stay at their origin, and the arrivals.
    func usage(after decisions: [[Decision]], origins: [Int: Origin]) -> [HostUsage] {
        var usage = fixed
        for (c, cls) in classes.enumerated() {
            for (i, d) in decisions[c].enumerated() {
                switch d {
                case .stay:
                    if let o = origins[cls.servers[i]], o.host >= 0 { usage[o.host].add(cls.flavor, nodes: o.nodes) }
                case .host(let h, let nodes): usage[h].add(cls.flavor, nodes: nodes)
                case .pool: break
                }
            }
        }
        return usage
    }

    /// Evaluates decisions (one per server of each class, in class order) into objective levels.
    func levels(_ decisions: [[Decision]], objective: PlanObjective, inventory: Inventory) -> Levels {
        var levels = Levels()
        var touched = Set<Int>()
        for classDecisions in decisions {
            for d in classDecisions {
                switch d {
                case .stay:
                    if mustMove { levels.unplaced += 1 }
                case .host(let h, _):
                    levels.moves += 1
                    touched.insert(h)
                case .pool:
                    levels.moves += 1
                    levels.pool += 1
                }
            }
        }
        switch objective {
        case .minHostsTouched: levels.primary = Double(touched.count)
        case .minMoves: levels.primary = Double(levels.moves)
        case .minHostsUsed, .balance:
            let usage = usage(after: decisions, origins: originOfMovers)
            levels.primary = objective == .balance
                ? usage.highestNodeUtilisation : Double(usage.filter { $0.serverCount > 0 }.count)
        }
        return levels
    }

}

/// The GLPK model of a sub-problem: integer counts of each class arriving on (host, node set),
/// staying at each origin, or going to the pool.
struct SubModel {
    var model = Model()
    /// arrivals[c]: (local host, nodes, variable)
    var arrivals: [[(host: Int, nodes: [Int], variable: Model.Variable)]] = []
    /// stays[c]: (origin, variable)
    var stays: [[(origin: Origin, variable: Model.Variable)]] = []
    var pool: [Model.Variable?] = []
    var weights = (unplaced: 0.0, pool: 0.0, primary: 0.0, moves: 0.0)
    var maxMoves = 0

    /// - Parameter primaryCap: an upper bound on the primary objective known from a heuristic plan
    ///   that places everything (the "cap the host set at the heuristic's count").
    init(_ sub: SubProblem, options: PlanOptions, inventory: Inventory, primaryCap: Int? = nil) {
        let objective = options.effectiveObjective
        let policy = options.layoutPolicy
        let hostCount = sub.hosts.count
        let movers = sub.totalMovers
        maxMoves = movers
        let rooms = (0..<hostCount).map { sub.room($0, policy: policy) }

        // Lexicographic weights: each level outweighs everything below it.
        let movesSpan = Double(movers + 1)
        let primarySpan: Double
        switch objective {
        case .minHostsTouched, .minHostsUsed: primarySpan = Double(hostCount + 1)
        case .minMoves: primarySpan = 1
        case .balance: primarySpan = 4  // utilisation in [0, ~1], scaled below
        }
        // When every mover must move, the number of moves follows from the unplaced count: no
        // separate tie-break on moves (it would only blur the primary objective for the solver).
        let secondaryMoves = objective != .minMoves && !sub.mustMove
        weights.moves = secondaryMoves ? 1 : 0
        switch objective {
        case .balance: weights.primary = 100 * movesSpan
        case .minMoves: weights.primary = 1
        default: weights.primary = movesSpan
        }
        let primaryTop = weights.primary * primarySpan + movesSpan
        weights.pool = primaryTop
        weights.unplaced = primaryTop * movesSpan + primaryTop

        var hostArrivals: [[Model.Variable]] = Array(repeating: [], count: hostCount)
        var hostStays: [[Model.Variable]] = Array(repeating: [], count: hostCount)
        // Per (host, node, dimension) terms.
        var nodeTerms: [[[(Model.Variable, Double)]]] = sub.hosts.indices.map { h in
            Array(repeating: [], count: sub.fixed[h].capacity.count * 2)
        }
        var totalTerms: [[(Model.Variable, Double)]] = Array(repeating: [], count: hostCount * 2)
        var unknownStayHosts = Set<Int>()
        var moveTerms: [(Model.Variable, Double)] = []
        var unplacedTerms: [(Model.Variable, Double)] = []
        var groupTerms: [Int: [Int: [(Model.Variable, Double)]]] = [:]  // group -> host -> terms

        for (c, cls) in sub.classes.enumerated() {
            let flavor = cls.flavor
            let share = flavor.perNode
            let groups = cls.singleton ? (inventory.groupsOfServer[inventory.servers[cls.servers[0]].id] ?? []) : []
            let ownHost = cls.singleton ? (cls.origins.keys.first?.host ?? -1) : -1
            var conservation: [(Model.Variable, Double)] = []
            var classArrivals: [(Int, [Int], Model.Variable)] = []
            for h in 0..<hostCount where sub.receives[h] && h != ownHost {
                let host = inventory.hosts[sub.hosts[h]]
                guard inventory.hostTypes[host.hostType]?.supports(flavor.name) ?? false else { continue }
                if groups.contains(where: { (sub.fixedMembers[h][$0] ?? 0) > 0 }) { continue }
                let room = rooms[h]
                for nodes in nodeSubsets(of: room.count, size: flavor.numaNodes) {
                    var fits = Int.max
                    for n in nodes {
                        guard room[n].covers(share) else {
                            fits = 0
                            break
                        }
                        fits = min(fits, room[n].vcpus / max(share.vcpus, 1), room[n].memoryMiB / max(share.memoryMiB, 1))
                    }
                    let bound = min(fits, cls.count, options.maxPerHost ?? Int.max)
                    guard bound > 0 else { continue }
                    let v = model.addVariable(kind: .integer, lower: 0, upper: Double(bound))
                    classArrivals.append((h, nodes, v))
                    conservation.append((v, 1))
                    hostArrivals[h].append(v)
                    moveTerms.append((v, 1))
                    for n in nodes {
                        nodeTerms[h][2 * n].append((v, Double(share.vcpus)))
                        nodeTerms[h][2 * n + 1].append((v, Double(share.memoryMiB)))
                    }
                    totalTerms[2 * h].append((v, Double(flavor.resources.vcpus)))
                    totalTerms[2 * h + 1].append((v, Double(flavor.resources.memoryMiB)))
                    for g in groups { groupTerms[g, default: [:]][h, default: []].append((v, 1)) }
                }
            }
            arrivals.append(classArrivals.map { (host: $0.0, nodes: $0.1, variable: $0.2) })

            var classStays: [(origin: Origin, variable: Model.Variable)] = []
            for (origin, members) in cls.origins.sorted(by: { $0.key < $1.key }) {
                let v = model.addVariable(kind: .integer, lower: 0, upper: Double(members.count))
                classStays.append((origin, v))
                conservation.append((v, 1))
                if sub.mustMove { unplacedTerms.append((v, 1)) }
                guard origin.host >= 0 else { continue }
                let h = origin.host
                hostStays[h].append(v)
                if let nodes = origin.nodes {
                    for n in nodes {
                        nodeTerms[h][2 * n].append((v, Double(share.vcpus)))
                        nodeTerms[h][2 * n + 1].append((v, Double(share.memoryMiB)))
                    }
                } else {
                    unknownStayHosts.insert(h)
                    if policy == .certain {
                        for n in 0..<sub.fixed[h].capacity.count {
                            nodeTerms[h][2 * n].append((v, Double(share.vcpus)))
                            nodeTerms[h][2 * n + 1].append((v, Double(share.memoryMiB)))
                        }
                    }
                }
                totalTerms[2 * h].append((v, Double(flavor.resources.vcpus)))
                totalTerms[2 * h + 1].append((v, Double(flavor.resources.memoryMiB)))
                for g in groups { groupTerms[g, default: [:]][h, default: []].append((v, 1)) }
            }
            stays.append(classStays)

            var poolVariable: Model.Variable?
            let onDeH = cls.origins.filter { $0.key.host >= 0 }.reduce(0) { $0 + $1.value.count }
            if options.allowPool && onDeH > 0 {
                let v = model.addVariable(kind: .integer, lower: 0, upper: Double(onDeH))
                poolVariable = v
                conservation.append((v, 1))
                moveTerms.append((v, 1))
            }
            pool.append(poolVariable)
            model.addEqual(conservation, Double(cls.count), name: "place[\(c)]")
            if let p = poolVariable {
                // Only servers that leave a DeH can go to the pool.
                let dehStays = classStays.filter { $0.origin.host >= 0 }.map { ($0.variable, 1.0) }
                model.addLessOrEqual([(p, 1)] + dehStays, Double(onDeH), name: "poolFromDeH[\(c)]")
            }

            // Movers of a class can swap hosts only if each arrival on h can be matched to a
            // mover from another host: a_h + (o_h - s_h) <= Σ (o - s) (Hall's condition).
            // Σ over stays elsewhere = (all stays) - (stays on h): one auxiliary total per class
            // keeps each row short (summing every other host's stays made the rows quadratic in
            // the hosts: 6 million nonzeros and 800 MB at 2,500 hosts).
            if !cls.singleton {
                var onHost: [Int: Int] = [:]
                for (origin, members) in cls.origins where origin.host >= 0 { onHost[origin.host, default: 0] += members.count }
                var arrivalsOn: [Int: [Model.Variable]] = [:]
                for arrival in classArrivals { arrivalsOn[arrival.0, default: []].append(arrival.2) }
                var staysOn: [Int: [Model.Variable]] = [:]
                for stay in classStays { staysOn[stay.origin.host, default: []].append(stay.variable) }
                var allStays: Model.Variable?
                for (h, here) in onHost.sorted(by: { $0.key < $1.key }) {
                    guard let arrivalsHere = arrivalsOn[h], !arrivalsHere.isEmpty else { continue }
                    let total: Model.Variable
                    if let allStays {
                        total = allStays
                    } else {
                        total = model.addVariable(lower: 0, upper: Double(cls.count))
                        model.addEqual([(total, 1)] + classStays.map { ($0.variable, -1) }, 0, name: "stays[\(c)]")
                        allStays = total
                    }
                    var terms: [(Model.Variable, Double)] = arrivalsHere.map { ($0, 1.0) }
                    terms.append((total, 1))
                    for stay in staysOn[h] ?? [] { terms.append((stay, -1)) }
                    model.addLessOrEqual(terms, Double(cls.count - here), name: "hall[\(c),\(h)]")
                }
            }
        }

        // Activity binaries: a host in use (min-hosts-used) or receiving (min-hosts-touched).
        // Where possible they multiply the host's capacity rows (Σ share·x <= room·u), which gives
        // the LP relaxation the volume bound instead of a near-zero big-M bound.
        var activity: [Model.Variable?] = Array(repeating: nil, count: hostCount)
        var activityInCapacity = Array(repeating: false, count: hostCount)
        var constantPrimary = 0
        switch objective {
        case .minHostsTouched:
            for h in 0..<hostCount where !hostArrivals[h].isEmpty {
                activity[h] = model.addVariable(kind: .binary, objective: weights.primary)
                // Rows with arrivals only can carry the binary, whatever the layout of the
                // servers already there (their worst case is in the room already). Measured: with
                // big-M rows on hosts of unknown layout, the LP bound of a 1,000-host evacuation
                // was 1 host against an optimum of 57.
                activityInCapacity[h] = hostStays[h].isEmpty
            }
        case .minHostsUsed:
            for h in 0..<hostCount {
                if sub.fixed[h].serverCount > 0 {
                    constantPrimary += 1
                    continue
                }
                guard !(hostArrivals[h].isEmpty && hostStays[h].isEmpty) else { continue }
                activity[h] = model.addVariable(kind: .binary, objective: weights.primary)
                activityInCapacity[h] = !unknownStayHosts.contains(h)
            }
            model.objectiveConstant += Double(constantPrimary) * weights.primary
        default:
            break
        }
        for h in 0..<hostCount {
            guard let act = activity[h], !activityInCapacity[h] else { continue }
            let terms = objective == .minHostsUsed ? hostArrivals[h] + hostStays[h] : hostArrivals[h]
            model.addLessOrEqual(terms.map { ($0, 1) } + [(act, -Double(sub.totalMovers))], 0, name: "active[\(h)]")
        }
        if let cap = primaryCap {
            let terms = activity.compactMap { $0 }.map { ($0, 1.0) }
            if !terms.isEmpty { model.addLessOrEqual(terms, Double(max(0, cap - constantPrimary)), name: "heuristicCap") }
        }

        // Capacity per node and dimension. Hosts whose worst-case accounting of unknown layouts
        // could forbid today's arrangement only get those rows when something arrives.
        for h in 0..<hostCount {
            let room = rooms[h]
            let relaxable = policy == .certain && (unknownStayHosts.contains(h) || sub.fixed[h].hasUnknownLayout)
                && !hostStays[h].isEmpty
            var receivesFlag: Model.Variable?
            if relaxable && !hostArrivals[h].isEmpty {
                let r = model.addVariable(kind: .binary)
                receivesFlag = r
                model.addLessOrEqual(hostArrivals[h].map { ($0, 1) } + [(r, -Double(sub.totalMovers))], 0)
            }
            for n in 0..<room.count {
                for d in 0..<2 {
                    var terms = nodeTerms[h][2 * n + d]
                    guard !terms.isEmpty else { continue }
                    let rhs = Double(d == 0 ? room[n].vcpus : room[n].memoryMiB)
                    if relaxable {
                        guard let r = receivesFlag else { continue }  // nothing can arrive: today's layout stands
                        let big = terms.reduce(0) { $0 + $1.1 * model.upperBound(of: $1.0) } + abs(rhs)
                        terms.append((r, big))
                        model.addLessOrEqual(terms, rhs + big, name: "node[\(h),\(n),\(d)]")
                    } else if activityInCapacity[h], let act = activity[h] {
                        terms.append((act, -rhs))
                        model.addLessOrEqual(terms, 0, name: "node[\(h),\(n),\(d)]")
                    } else {
                        model.addLessOrEqual(terms, rhs, name: "node[\(h),\(n),\(d)]")
                    }
                }
            }
            if policy == .possible && (sub.fixed[h].hasUnknownLayout || unknownStayHosts.contains(h)) {
                let free = sub.fixed[h].freeTotal
                if !totalTerms[2 * h].isEmpty { model.addLessOrEqual(totalTerms[2 * h], Double(free.vcpus)) }
                if !totalTerms[2 * h + 1].isEmpty { model.addLessOrEqual(totalTerms[2 * h + 1], Double(free.memoryMiB)) }
            }
            if let cap = options.maxPerHost, !hostArrivals[h].isEmpty {
                model.addLessOrEqual(hostArrivals[h].map { ($0, 1) }, Double(cap), name: "maxPerHost[\(h)]")
            }
        }

        // Anti-affinity: at most one member of a group per host (or as many as there already are).
        // Sorted: dictionary order changes from run to run, and row order steers the solver.
        for (g, perHost) in groupTerms.sorted(by: { $0.key < $1.key }) {
            for (h, terms) in perHost.sorted(by: { $0.key < $1.key }) where terms.count > 1 {
                let already = inventory.serverGroups[g].members.filter { id in
                    guard let s = inventory.server(id), let hid = s.dedicatedHostID else { return false }
                    return hid == inventory.hosts[sub.hosts[h]].id
                }.count
                model.addLessOrEqual(terms, Double(max(1, already - (sub.fixedMembers[h][g] ?? 0))), name: "anti[\(g),\(h)]")
            }
        }

        if let cap = options.maxMoves { model.addLessOrEqual(moveTerms, Double(cap), name: "maxMoves") }

        // Objective.
        for (v, _) in moveTerms { model.setObjective(v, weights.moves + (objective == .minMoves ? weights.primary : 0)) }
        for (v, _) in unplacedTerms { model.setObjective(v, weights.unplaced) }
        for case let v? in pool { model.setObjective(v, weights.moves + weights.pool + (objective == .minMoves ? weights.primary : 0)) }
        switch objective {
        case .minHostsTouched:
            break  // activity variables above
        case .minHostsUsed:
            // Identical empty hosts: use them in order (breaks symmetry for branch-and-bound).
            var previous: (Model.Variable, String)?
            for h in 0..<hostCount {
                guard let u = activity[h], hostStays[h].isEmpty else {
                    previous = nil
                    continue
                }
                let host = inventory.hosts[sub.hosts[h]]
                let signature = "\(host.hostType)|\(host.availabilityZone)|\(sub.fixed[h].capacity)|\(sub.receives[h])"
                if let (prev, sig) = previous, sig == signature { model.addLessOrEqual([(u, 1), (prev, -1)], 0) }
                previous = (u, signature)
            }
        case .balance:
            let z = model.addVariable(kind: .continuous, lower: 0, objective: weights.primary)
            for h in 0..<hostCount {
                let fixedUse = sub.fixed[h]
                for (n, cap) in fixedUse.capacity.enumerated() {
                    let base = fixedUse.knownUsed[n] + (policy == .certain ? fixedUse.unknownShare : .zero)
                    for d in 0..<2 {
                        let c = Double(d == 0 ? cap.vcpus : cap.memoryMiB)
                        let b = Double(d == 0 ? base.vcpus : base.memoryMiB)
                        let terms = nodeTerms[h][2 * n + d].map { ($0.0, $0.1 / c) }
                        // z >= (base + Σ share·x) / cap
                        model.addLessOrEqual(terms + [(z, -1)], -b / c)
                    }
                }
            }
        case .minMoves:
            break
        }
    }
}

extension Array where Element == HostUsage {
    /// The highest share of any NUMA node's vCPUs or memory in use (servers of unknown layout
    /// counted on every node of their host, the worst case).
    public var highestNodeUtilisation: Double {
        var z = 0.0
        for u in self {
            for (n, cap) in u.capacity.enumerated() {
                // Servers of unknown layout count on every node they could be on, but no
                // arrangement fills a node beyond its size: the worst case is capped at full.
                let used = u.usedWorst(node: n)
                let v = Swift.min(Double(used.vcpus), Double(Swift.max(cap.vcpus, u.knownUsed[n].vcpus))) / Double(cap.vcpus)
                let m = Swift.min(Double(used.memoryMiB), Double(Swift.max(cap.memoryMiB, u.knownUsed[n].memoryMiB))) / Double(cap.memoryMiB)
                z = Swift.max(z, v, m)
            }
        }
        return z
    }
}

extension Inventory {
    /// The inventory after the moves (servers on their targets and nodes; pool for `to: nil`).
    public func applying(_ moves: [Move]) -> Inventory {
        replacing(servers: moves.compactMap { m in server(m.serverID)?.placed(on: m.to, numaNodes: m.numaNodes) })
    }
}
