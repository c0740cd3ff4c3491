// SPDX-License-Identifier: GPL-3.0-or-later

import Dispatch
import GLPK
import Synchronization
import Topology

/// Exact counts of how many more servers of one flavor fit on a host.
///
/// On nodes of known free capacity the count has a closed form: node n takes
/// c_n = ⌊min(free vCPUs / share vCPUs, free memory / share memory)⌋ per-node shares, and t
/// servers spanning k distinct nodes fit exactly when Σ_n min(c_n, t) ≥ k·t (each server uses
/// a node at most once, so a node contributes at most t shares; the condition is also
/// sufficient, by always taking the k nodes with the most shares left, which is what the fit
/// function does for split flavors). With servers of unknown layout, the count depends on their
/// arrangement: `possible` is the most over all arrangements, `certain` the fewest. Both come
/// from enumerating the arrangements (nodes taken as interchangeable) where they are at most
/// `maxStates`; past that, from integer programs with a counted budget (one for the most, a
/// bisection for the fewest), and a count they cannot make exact says so (`Counted.exact`).
public enum Headroom {
    /// Branch-and-cut callbacks each integer program of a count may take (counted, so counts are
    /// the same on every machine). They run only on hosts whose arrangements are too many to
    /// enumerate; a program that runs out leaves the count proven so far (`Counted.exact`
    /// false). Ten times below the verdicts' budget: a count asks one program and a bisection's
    /// worth (about log2 of the count) per flavor and host.
    static let callBudget = 2_000

    /// Arrangements enumerated per host before the search (`searchedCount`) and the integer
    /// programs take over. It was 32,768, eight times the demand fit's, because GLPK's branch
    /// and cut is weak on hosts of many equal nodes (it ran out of budget on 8-node hosts with
    /// four servers of unknown layout, where the enumeration is exact); the search now answers
    /// those. Enumerations that end past the limit are work thrown away: on foreign fleet 2029
    /// (seed 2027, 800 hosts, every layout unknown, some of 8 nodes) `capacity` spent 12.6 s
    /// before any program with 32,768, 3.2 s with 4,096.
    public static let maxStates = 4_096

    /// Branching of the counts' integer programs. On 8-node hosts like those above, with the same
    /// budget, pseudo-costs proved more than GLPK's default Driebeck-Tomlin (3,297 servers of a
    /// flavor on 138 hosts against 2,947, 23.9 s against 26.0 s), and most-fractional 2,962.
    static let branching: SolveOptions.Branching = .pseudoCost

    /// How many servers of a flavor spanning `k` nodes fit when node n has room for `shares[n]`
    /// per-node shares: the largest t with Σ min(shares[n], t) ≥ k·t.
    public static func count(k: Int, shares: [Int]) -> Int {
        guard k >= 1, k <= shares.count else { return 0 }
        var lo = 0
        var hi = shares.reduce(0) { $0 + max($1, 0) } / k
        while lo < hi {  // Σ min(c, t) - k·t is concave and 0 at t = 0: the feasible t form 0...T
            let t = (lo + hi + 1) / 2
            if shares.reduce(0, { $0 + min(max($1, 0), t) }) >= k * t { lo = t } else { hi = t - 1 }
        }
        return lo
    }

    /// How many servers of `flavor` fit on nodes with this much free each.
    public static func count(_ flavor: Flavor, free: [Resources]) -> Int {
        let share = flavor.perNode
        return count(k: flavor.numaNodes, shares: free.map { Fit.shares(of: share, in: $0) })
    }

    /// How many more servers of `flavor` fit on a host with this usage, when that is known
    /// exactly (`counted(_:on:policy:)` gives the proven part otherwise). Without servers of
    /// unknown layout it is exact and the policy does not matter; with them, `certain` counts
    /// what fits under every arrangement and `possible` what fits under the best one. Nil when
    /// the count could not be made exact.
    public static func count(_ flavor: Flavor, on usage: HostUsage, policy: LayoutPolicy) -> Int? {
        let counted = counted(flavor, on: usage, policy: policy)
        return counted.exact ? counted.count : nil
    }

    /// A host's count and whether it is exact; when it is not, the count is proven and the
    /// true one may be larger (under `certain`: that many fit under every arrangement; under
    /// `possible`: some arrangement takes that many).
    public struct Counted: Hashable, Sendable {
        public let count: Int
        public let exact: Bool
    }

    /// The count of `count(_:on:policy:)` with its exactness. Nodes are interchangeable for
    /// what fits, so the arrangements of the servers of unknown layout are enumerated as sorted
    /// free vectors without duplicates (`DemandFit.certainStates`, up to `maxStates`) and the
    /// closed form is taken on each: the fewest under `certain`, the most under `possible`.
    /// Past `maxStates`, integer programs answer within a counted budget each; one that runs
    /// out leaves the count proven so far. (An 8-node host with a dozen servers of unknown
    /// layout took GLPK 0.7-3 s per flavor without a budget; a 300-host inventory of them kept
    /// `capacity` and `report` busy for more than 18 minutes.)
    public static func counted(_ flavor: Flavor, on usage: HostUsage, policy: LayoutPolicy, maxStates: Int = Headroom.maxStates) -> Counted {
        if !usage.hasUnknownLayout { return Counted(count: count(flavor, free: usage.freeKnown), exact: true) }
        return counted(flavor, on: usage, policy: policy, states: DemandFit.certainStates(usage, maxStates: maxStates))
    }

    /// `counted(_:on:policy:maxStates:)` with the host's arrangements already enumerated (nil:
    /// too many), for asking about several flavors.
    static func counted(_ flavor: Flavor, on usage: HostUsage, policy: LayoutPolicy, states: [[Resources]]?,
                        deadline: Double = .infinity, searchBudget: Int = Headroom.refinedSearchBudget) -> Counted
    {
        if !usage.hasUnknownLayout { return Counted(count: count(flavor, free: usage.freeKnown), exact: true) }
        if let states {
            let counts = states.map { count(flavor, free: $0) }
            return Counted(count: (policy == .possible ? counts.max() : counts.min()) ?? 0, exact: true)
        }
        // Past the enumeration, a branch and bound over the arrangements (`searchedCount`), then,
        // where its budget ran out, integer programs. No arrangement gives more than the room
        // the known layouts leave.
        let searched = searchedCount(flavor, on: usage, worst: policy == .certain, budget: searchBudget)
        if let searched, searched.exact { return Counted(count: searched.count, exact: true) }
        let ceiling = min(count(flavor, free: usage.freeKnown), searched?.ceiling ?? .max)
        // The most under any arrangement is at least what the search's arrangement leaves, so
        // under `certain` it is asked only where the search found no arrangement.
        let late = monotonicSeconds() > deadline
        let best = late || (policy == .certain && searched != nil) ? nil : possibleCount(flavor, on: usage)
        if policy == .possible {
            let found = max(best?.count ?? 0, searched?.count ?? 0)
            return Counted(count: found, exact: best?.exact == true && best!.count >= found)
        }
        // The worst case per node (every unknown server's share on every node) is a lower bound,
        // and so is the search's.
        let most = best?.exact == true ? min(best!.count, ceiling) : ceiling
        var fits = min(max(count(flavor, free: usage.freeWorst), searched?.count ?? 0), most)
        var fails = most + 1  // smallest count known not to fit under some arrangement
        var exact = true
        while fails - fits > 1 {
            // Past `deadline` no more programs: the count proven so far stands.
            if monotonicSeconds() > deadline {
                exact = false
                break
            }
            let t = (fits + fails) / 2
            switch arrangementBlocks(usage, flavor: flavor, count: t) {
            case true?: fails = t
            case false?: fits = t
            case nil:  // out of budget: t is in doubt, smaller counts may still be proven
                fails = t
                exact = false
            }
        }
        return Counted(count: fits, exact: exact)
    }

    /// The most servers of `flavor` that fit under any arrangement of the unknown servers (0
    /// when no arrangement exists at all), exact when the integer program was solved to
    /// optimality within `callBudget` callbacks, else the best found; nil when
    /// the solver failed or found nothing in budget.
    static func possibleCount(_ flavor: Flavor, on usage: HostUsage) -> Counted? {
        var a = LayoutVerdict.Arrangement(usage, extra: nil)
        let share = flavor.perNode
        let limit = Double(count(flavor, free: usage.freeKnown))
        a.model.direction = .maximize
        for nodes in nodeSubsets(of: a.room.count, size: flavor.numaNodes) where nodes.allSatisfy({ a.room[$0].covers(share) }) {
            let x = a.model.addVariable(kind: .integer, lower: 0, upper: limit, objective: 1)
            for n in nodes {
                a.terms[2 * n].append((x, Double(share.vcpus)))
                a.terms[2 * n + 1].append((x, Double(share.memoryMiB)))
            }
        }
        a.addCapacityRows()
        guard let solution = try? a.model.solve(LayoutVerdict.budgeted(callBudget, branching: branching)) else { return nil }
        switch solution.status {
        case .optimal: return Counted(count: Int((solution.objective ?? 0).rounded()), exact: !solution.cancelled)
        case .feasible: return Counted(count: Int((solution.objective ?? 0).rounded()), exact: false)
        case .infeasible: return solution.cancelled ? nil : Counted(count: 0, exact: true)
        default: return nil
        }
    }

    /// Whether some arrangement of the unknown servers leaves room for fewer than `t` servers
    /// of `flavor` (nil when the solver fails).
    ///
    /// Per node, d_n ≥ min(c_n, t) where c_n is the node's share count under the arrangement:
    /// one of d_n ≥ t, ⌊free vCPUs / share⌋ ≤ d_n (use + share·d_n ≥ room − share + 1), or the
    /// same for memory must hold; the arrangement blocks t when Σ d_n ≤ k·t − 1.
    static func arrangementBlocks(_ usage: HostUsage, flavor: Flavor, count t: Int) -> Bool? {
        var a = LayoutVerdict.Arrangement(usage, extra: nil)
        let share = flavor.perNode
        var total: [(Model.Variable, Double)] = []
        for n in a.room.indices {
            let d = a.model.addVariable(kind: .integer, lower: 0, upper: Double(t))
            total.append((d, 1))
            let byCount = a.model.addVariable(kind: .binary)
            a.model.addGreaterOrEqual([(d, 1), (byCount, -Double(t))], 0)
            var either = [(byCount, 1.0)]
            for (dimension, need, room) in [(0, share.vcpus, a.room[n].vcpus), (1, share.memoryMiB, a.room[n].memoryMiB)] {
                let z = a.model.addVariable(kind: .binary)
                either.append((z, 1))
                a.model.addGreaterOrEqual(a.terms[2 * n + dimension] + [(d, Double(need)), (z, -Double(room - need + 1))], 0)
            }
            a.model.addGreaterOrEqual(either, 1)
        }
        a.model.addLessOrEqual(total, Double(flavor.numaNodes * t - 1))
        a.addCapacityRows()
        return LayoutVerdict.feasible(a.model, budget: callBudget, branching: branching)
    }
}

/// One row of a headroom report: a flavor in an availability zone.
public struct HeadroomRow: Hashable, Sendable {
    public let flavor: String
    public let availabilityZone: String
    /// Additional servers that fit now, NUMA-aware (exact; under the layout policy).
    public let count: Int
    /// Σ over the same hosts of ⌊min(free vCPUs / vCPUs, free memory / memory)⌋ from totals alone.
    public let naiveCount: Int
    /// Hosts considered: available, in the zone, of a type that accepts the flavor.
    public let hosts: Int
    /// Hosts that take at least one more server of the flavor.
    public let hostsWithRoom: Int
    /// Hosts with servers of unknown layout among the considered ones.
    public let hostsWithUnknownLayout: Int
    /// Whether `count` is exact. When false, `count` is proven (that many fit) and the true
    /// count may be larger: a host's arrangements of servers of unknown layout were too many to
    /// enumerate and its integer programs ran out of budget.
    public let exact: Bool

    /// `naive_count - count`: servers the totals promise that NUMA fragmentation rules out.
    public var fragmentationLoss: Int { naiveCount - count }

    /// `count` as shown to people: `≥N` where it is not exact (at least that many fit).
    public var countShown: String { (exact ? "" : "≥") + String(count) }
    /// `fragmentationLoss` as shown to people: `≤N` where the count is not exact.
    public var lossShown: String { (exact ? "" : "≤") + String(fragmentationLoss) }
}

/// Per-flavor, per-zone headroom of an inventory.
public struct HeadroomReport: Sendable {
    public let rows: [HeadroomRow]
    public let layoutPolicy: LayoutPolicy

    /// Computes the headroom of every requested flavor (all by default) in every zone with
    /// hosts (or just `zone`). Throws on unknown flavor or zone names.
    public init(
        _ inventory: Inventory, zone: String? = nil, flavors: [String] = [], policy: LayoutPolicy = .certain,
        timeLimit: Double? = nil
    ) throws(PlanError) {
        let deadline = timeLimit.map { monotonicSeconds() + max($0, 0) } ?? .infinity
        let zones = try Self.zones(of: inventory, checking: zone)
        var wanted = inventory.flavorOrder
        if !flavors.isEmpty {
            wanted = []
            for name in flavors where !wanted.contains(name) {
                guard inventory.flavors[name] != nil else {
                    var message = "--flavor: no flavor \"\(name)\" in the inventory"
                    if let guess = closestMatch(to: name, in: inventory.flavorOrder) { message += "; did you mean \"\(guess)\"?" }
                    throw PlanError(message: message)
                }
                wanted.append(name)
            }
        }
        let state = PlacementState(inventory)
        // Hosts with servers of unknown layout need their arrangements enumerated (or past that,
        // searched, and then small integer programs): per distinct usage, its arrangements once
        // and every flavor asked of it, on all cores first (each GLPK solve lives on one thread).
        var flavorsOf: [HostUsage: [Flavor]] = [:]
        var usages: [HostUsage] = []
        for z in zones where zone == nil || z == zone {
            for name in wanted {
                let flavor = inventory.flavors[name]!
                for (h, host) in inventory.hosts.enumerated()
                where host.availabilityZone == z && host.state == .available && state.usage[h].hasUnknownLayout
                    && inventory.hostTypes[host.hostType]?.supports(name) == true
                {
                    let usage = state.usage[h]
                    if flavorsOf[usage] == nil { usages.append(usage) }
                    if flavorsOf[usage]?.contains(flavor) != true { flavorsOf[usage, default: []].append(flavor) }
                }
            }
        }
        let distinct = usages
        let asked = distinct.map { flavorsOf[$0]! }
        let solved = Results(asked.map { Array(repeating: Headroom.Counted(count: 0, exact: false), count: $0.count) })
        // First every host without integer programs (enumerated, or searched within a counted
        // budget), then, for the counts still in doubt, a search with ten times the budget and
        // the programs, until `timeLimit`: past it a count stays what is proven (`exact`
        // false), and past it in the first pass, the worst case per node. Done host by host in
        // one pass with no limit, the programs kept `capacity` busy 5 min 14 s on foreign fleet
        // 2029 (seed 2027, 800 hosts, every layout unknown, some of 8 nodes). There the search
        // proves more per second than the programs: at 9 s, flavor f0 in zone z1 at least
        // 3,298 servers with the search's budget 300 and the programs after it; 3,423 in
        // 12.7 s with 1,500 and no program.
        DispatchQueue.concurrentPerform(iterations: distinct.count) { i in
            let states = DemandFit.certainStates(distinct[i], maxStates: Headroom.maxStates)
            let late = states == nil && monotonicSeconds() > deadline
            solved.set(i, asked[i].map { flavor in
                late ? Headroom.Counted(count: Headroom.count(flavor, free: distinct[i].freeWorst), exact: false)
                    : Headroom.counted(flavor, on: distinct[i], policy: policy, states: states, deadline: -.infinity,
                                       searchBudget: Headroom.searchBudget)
            })
        }
        let doubtful = distinct.indices.filter { i in solved.value(i).contains { !$0.exact } }
        // Each host in doubt gets an equal part of the time left when it starts (what one leaves
        // goes to those after it): in host order to the end, the first zone's hosts took the
        // time, and on fleet 2029 at 30 s the second zone's f0, f2 and f10 counted less than
        // with no limit at all.
        let started = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: doubtful.count) { j in
            let i = doubtful[j]
            let ahead = started.withLock { n in
                defer { n += 1 }
                return doubtful.count - n
            }
            let now = monotonicSeconds()
            guard now < deadline else { return }
            let own = deadline == .infinity ? deadline : now + (deadline - now) / Double(ahead)
            let before = solved.value(i)
            solved.set(i, zip(asked[i], before).map { flavor, counted in
                counted.exact ? counted
                    : Headroom.counted(flavor, on: distinct[i], policy: policy, states: nil, deadline: own)
            })
        }
        var cache: [CacheKey: Headroom.Counted] = [:]
        for (i, usage) in distinct.enumerated() {
            for (flavor, counted) in zip(asked[i], solved.value(i)) { cache[CacheKey(usage: usage, flavor: flavor)] = counted }
        }
        var rows: [HeadroomRow] = []
        for z in zones where zone == nil || z == zone {
            for name in wanted {
                let flavor = inventory.flavors[name]!
                var count = 0, naive = 0, hosts = 0, withRoom = 0, unknown = 0, exact = true
                for (h, host) in inventory.hosts.enumerated()
                where host.availabilityZone == z && host.state == .available
                    && inventory.hostTypes[host.hostType]?.supports(name) == true
                {
                    let usage = state.usage[h]
                    hosts += 1
                    if usage.hasUnknownLayout { unknown += 1 }
                    let key = CacheKey(usage: usage, flavor: flavor)
                    let n: Int
                    if let cached = cache[key] {
                        n = cached.count
                        exact = exact && cached.exact
                    } else {
                        n = Headroom.count(flavor, free: usage.freeKnown)  // known layouts: closed form
                        cache[key] = Headroom.Counted(count: n, exact: true)
                    }
                    count += n
                    if n > 0 { withRoom += 1 }
                    let free = usage.freeTotal
                    naive += max(0, min(free.vcpus / max(flavor.resources.vcpus, 1), free.memoryMiB / max(flavor.resources.memoryMiB, 1)))
                }
                rows.append(HeadroomRow(
                    flavor: name, availabilityZone: z, count: count, naiveCount: naive, hosts: hosts,
                    hostsWithRoom: withRoom, hostsWithUnknownLayout: unknown, exact: exact))
            }
        }
        self.rows = rows
        self.layoutPolicy = policy
    }

    /// Counts written from several threads, one slot each.
    private final class Results: Sendable {
        let slots: Mutex<[[Headroom.Counted]]>
        init(_ initial: [[Headroom.Counted]]) { slots = Mutex(initial) }
        func set(_ i: Int, _ value: [Headroom.Counted]) { slots.withLock { $0[i] = value } }
        func value(_ i: Int) -> [Headroom.Counted] { slots.withLock { $0[i] } }
    }

    /// The inventory's availability zones, sorted; throws when `zone` (from --az) is not one of them.
    static func zones(of inventory: Inventory, checking zone: String?) throws(PlanError) -> [String] {
        let zones = Array(Set(inventory.hosts.map(\.availabilityZone))).sorted()
        if let zone, !zones.contains(zone) {
            var message = "--az: no host in availability zone \"\(zone)\" (zones: \(zones.joined(separator: ", ")))"
            if let guess = closestMatch(to: zone, in: zones) { message += "; did you mean \"\(guess)\"?" }
            throw PlanError(message: message)
        }
        return zones
    }

    private struct CacheKey: Hashable, Sendable {
        let usage: HostUsage
        let flavor: Flavor
    }
}
