// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

/// "Does this mix of new servers fit, and if not, how many hosts must be added?"
///
/// Answered for the whole mix at once by the pattern model over host shapes
/// (`DemandPatterns`, on the shared `PatternMaster`): existing hosts grouped by type and free
/// room per node cost 0, added empty hosts of the listed types cost 1 (plus a tiny share of
/// their vCPUs), servers no addable type takes may be left unplaced at a cost above every
/// added host. Exact pricing makes its LP bound a proof of "does not fit" and of the fewest
/// hosts to add. First fit decreasing is the answer in hand; on small fleets the per-host
/// integer program (`perHostAnswer`: per host and set of nodes, how many servers of each
/// flavor) gets the time left while the count is unproven.
///
/// Hosts with servers of unknown layout offer, under the `certain` policy, the room every
/// arrangement of those servers leaves (`certainRoom`; their nodes are then ranks, not ids;
/// where the arrangements are too many, each node minus every unknown server's per-node share:
/// sound, may understate); "does not fit" and bounds on hosts to add must then also hold under one
/// arrangement of those servers (`relaxedBounds`). Under `possible` their arrangement becomes
/// part of the per-host program (fits under some arrangement), which then answers alone.
public struct DemandFit: Sendable {
    /// One demanded flavor and how many servers of it.
    public struct Item: Hashable, Sendable {
        public let flavor: String
        public let count: Int
        public init(flavor: String, count: Int) {
            self.flavor = flavor
            self.count = count
        }
    }

    /// Options of a demand fit.
    public struct Options: Sendable {
        public var zone: String?
        /// Host types that may be added; nil means every type of the inventory.
        public var addHostTypes: [String]?
        public var policy: LayoutPolicy
        public var timeLimit: Double
        /// Which model answers: `auto` (the pattern model over host shapes, then, on small
        /// fleets while unproven, the per-host program), or one of them alone (to compare).
        public enum Engine: String, Sendable { case auto, patterns, perHost = "per-host" }
        public var engine: Engine
        /// Internal: hosts with servers of unknown layout offer their room under one concrete
        /// arrangement of those servers (`worstFitRoom`), which the cloud may have made: the
        /// bound of that answer holds for "fits whatever the layouts" (see `solve`).
        var oneArrangement = false
        public init(zone: String? = nil, addHostTypes: [String]? = nil, policy: LayoutPolicy = .certain, timeLimit: Double = 30, engine: Engine = .auto) {
            self.zone = zone
            self.addHostTypes = addHostTypes
            self.policy = policy
            self.timeLimit = timeLimit
            self.engine = engine
        }
    }

    /// Servers of one flavor on one set of nodes of one host.
    public struct Slot: Hashable, Sendable {
        public let flavor: String
        public let nodes: [Int]
        public let count: Int
    }

    /// What goes on one host (existing, or added).
    public struct HostPlacement: Hashable, Sendable {
        /// The existing host's id, or nil for an added host.
        public let hostID: String?
        /// For an added host: a label such as `new-<type>-1`.
        public let newHostLabel: String?
        public let hostType: String
        public let availabilityZone: String
        public let slots: [Slot]
        /// Servers per flavor on this host.
        public var servers: [String: Int] { slots.reduce(into: [:]) { $0[$1.flavor, default: 0] += $1.count } }
        /// The id, or the label of an added host.
        public var name: String { hostID ?? newHostLabel ?? "?" }
        /// The host holds servers of unknown layout and offered the room every arrangement of
        /// them leaves: the slots' nodes are ranks (largest free node first), not node ids.
        public var nodesAreRanks = false
    }

    /// Servers of a flavor that cannot be placed even with added hosts.
    public struct Shortfall: Hashable, Sendable {
        public let flavor: String
        public let count: Int
        public let reason: String
    }

    /// The answer.
    public struct Result: Sendable {
        /// `optimal` (proven: fewest unplaced, then fewest added hosts; among those, fewest
        /// vCPUs as the pattern model found them), `feasible` (time limit: best found, with a
        /// bound) or `greedy` (first fit decreasing, nothing better found in time).
        public enum Status: String, Sendable { case optimal, feasible, greedy }
        public let status: Status
        /// True when the whole demand fits on the existing hosts: shown by the placement itself.
        public var fits: Bool { addedHosts == 0 && shortfall.isEmpty }
        /// The answer to "does it fit on the existing hosts?": `fits` (a placement shows it),
        /// `doesNotFit` (proven: no placement on the existing hosts exists) or `unknown` (none
        /// was found in the time limit, and none was ruled out).
        public enum Verdict: String, Sendable { case fits, doesNotFit = "does_not_fit", unknown }
        public var verdict: Verdict {
            if fits { return .fits }
            if addedHostsBound > 0 || (!shortfall.isEmpty && unplacedProven) { return .doesNotFit }
            return .unknown
        }
        /// Whether the number of added hosts is proven minimal (for the servers placed).
        public var addedHostsProven: Bool { addedHostsBound == addedHosts && (shortfall.isEmpty || unplacedProven) }
        public let placements: [HostPlacement]
        /// Added hosts per type, in the order of the types.
        public let added: [(hostType: String, count: Int)]
        public var addedHosts: Int { added.reduce(0) { $0 + $1.count } }
        public let addedVCPUs: Int
        /// Proven lower bound on the number of hosts to add (equal to `addedHosts` when optimal).
        public let addedHostsBound: Int
        public let shortfall: [Shortfall]
        public let zone: String?
        public let policy: LayoutPolicy
        public let seconds: Double
        public let variables: Int
        public let constraints: Int
        /// `patterns` (the configuration model over host shapes) or `per-host` (one integer
        /// program over every host and node: used when layouts are unknown under `possible`).
        public let engine: String
        /// Whether the servers left unplaced (`shortfall`) are proven the fewest possible.
        public let unplacedProven: Bool
        /// Under `certain`, when the demand was not shown to fit: the hosts in scope with
        /// servers of unknown layout, which offered the room every arrangement of those servers
        /// leaves. The bounds then hold under one arrangement the cloud may have made, so
        /// whatever the layouts (0 when the answer fits or no such host is in scope).
        public var unknownLayoutHosts: Int = 0
    }

    public let inventory: Inventory

    public init(_ inventory: Inventory) { self.inventory = inventory }

    /// Parses `FLAVOR=N,FLAVOR=N`.
    public static func parse(_ text: String, inventory: Inventory) throws(PlanError) -> [Item] {
        var items: [Item] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "=", omittingEmptySubsequences: false).map { String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()) }
            guard pieces.count == 2, !pieces[0].isEmpty, let n = Int(pieces[1]), n >= 0 else {
                throw PlanError(message: "--demand: \"\(part)\" is not FLAVOR=COUNT (e.g. --demand \"c7.large.2=10,m7.xlarge.8=4\")")
            }
            guard inventory.flavors[pieces[0]] != nil else {
                var message = "--demand: no flavor \"\(pieces[0])\" in the inventory"
                if let guess = closestMatch(to: pieces[0], in: inventory.flavorOrder) { message += "; did you mean \"\(guess)\"?" }
                throw PlanError(message: message)
            }
            if let i = items.firstIndex(where: { $0.flavor == pieces[0] }) {
                items[i] = Item(flavor: pieces[0], count: items[i].count + n)
            } else {
                items.append(Item(flavor: pieces[0], count: n))
            }
        }
        if items.isEmpty { throw PlanError(message: "--demand: empty; give FLAVOR=COUNT pairs, comma-separated") }
        return items
    }

    /// A host the demand may use, with the room it offers per node.
    struct Bin {
        let hostID: String?
        let label: String?
        let type: HostType
        let zone: String
        /// Room per node (under `certain` with unknown layouts: what every arrangement leaves,
        /// by rank; known-layout free under `possible`).
        let room: [Resources]
        /// Under `possible`: the host's usage, whose unknown servers become variables.
        let unknown: HostUsage?
        /// `room` is by rank (`certainRoom`), not by node id.
        var byRank = false
        /// With `byRank`: every arrangement's free nodes, sorted (when few enough to try more
        /// servers on each, `completeOnArrangements`).
        var states: [[Resources]]? = nil
    }

    /// Decides whether `demand` fits and, if not, the fewest hosts to add.
    public func solve(_ demand: [Item], options: Options) throws(PlanError) -> Result {
        let start = monotonicSeconds()
        if !(options.timeLimit.isFinite && options.timeLimit > 0) {
            throw PlanError(message: "--time-limit must be a positive number of seconds")
        }
        _ = try HeadroomReport.zones(of: inventory, checking: options.zone)
        let addTypes = options.addHostTypes ?? inventory.hostTypeOrder
        for name in addTypes where inventory.hostTypes[name] == nil {
            var message = "--add-host-type: no host type \"\(name)\" in the inventory"
            if let guess = closestMatch(to: name, in: inventory.hostTypeOrder) { message += "; did you mean \"\(guess)\"?" }
            throw PlanError(message: message)
        }
        let items = demand.filter { $0.count > 0 }
        if items.isEmpty {
            return Result(
                status: .optimal, placements: [], added: [], addedVCPUs: 0, addedHostsBound: 0, shortfall: [],
                zone: options.zone, policy: options.policy, seconds: monotonicSeconds() - start, variables: 0, constraints: 0,
                engine: "none", unplacedProven: true)
        }
        let flavors = items.map { inventory.flavors[$0.flavor]! }

        // Existing hosts with room for at least one demanded flavor.
        let state = PlacementState(inventory)
        var bins: [Bin] = []
        for (h, host) in inventory.hosts.enumerated()
        where host.state == .available && (options.zone == nil || host.availabilityZone == options.zone) {
            guard let type = inventory.hostTypes[host.hostType] else { continue }
            let usage = state.usage[h]
            let possible = options.policy == .possible && usage.hasUnknownLayout && !options.oneArrangement
            let room: [Resources]
            var byRank = false
            var states: [[Resources]]?
            if options.oneArrangement && usage.hasUnknownLayout {
                guard let worst = Self.worstFitRoom(usage) else { throw PlanError(message: "no arrangement") }
                room = worst
            } else if options.policy == .certain && usage.hasUnknownLayout {
                if let all = Self.certainStates(usage) {
                    (room, byRank) = (Self.roomOf(all), true)
                    if all.count <= Self.statesTried { states = all }
                } else {
                    room = usage.free(under: .certain)
                }
            } else {
                room = usage.free(under: options.policy)
            }
            guard flavors.contains(where: { type.supports($0.name) && Headroom.count($0, free: room) > 0 }) else { continue }
            bins.append(Bin(hostID: host.id, label: nil, type: type, zone: host.availabilityZone, room: room, unknown: possible ? usage : nil,
                            byRank: byRank, states: states))
        }

        // Added hosts: per type, at most what first-fit-decreasing needs for all the demand it
        // accepts on empty hosts of that type (a minimal answer never needs more of one type).
        let newZone = options.zone ?? "any"
        var newBins: [(type: HostType, count: Int)] = []
        var addableFlavors = Set<String>()  // flavors some addable type takes on an empty host
        for name in addTypes {
            let type = inventory.hostTypes[name]!
            let accepted = items.indices.filter { type.supports(flavors[$0].name) && Headroom.count(flavors[$0], free: type.numaNodes) > 0 }
            let n = Self.firstFitDecreasingHosts(accepted.map { (flavors[$0], items[$0].count) }, capacity: type.numaNodes)
            if n > 0 {
                newBins.append((type, n))
                for i in accepted { addableFlavors.insert(flavors[i].name) }
            }
            for j in 0..<n {
                bins.append(Bin(hostID: nil, label: "new-\(name)-\(j + 1)", type: type, zone: newZone, room: type.numaNodes, unknown: nil))
            }
        }

        // Every server placed greedily first: the answer in hand from the start.
        let greedy = Self.greedy(bins: bins, items: items, flavors: flavors)
        let unknownHosts = inventory.hosts.indices.filter { h in
            inventory.hosts[h].state == .available && (options.zone == nil || inventory.hosts[h].availabilityZone == options.zone)
                && state.usage[h].hasUnknownLayout
        }.count
        // Where a bound must come again from one arrangement (below), a quarter of the limit
        // is kept for it: with none left, the live 1,000-host fleet's 150 % mix had no bound.
        let relaxing = options.policy == .certain && !options.oneArrangement && unknownHosts > 0
        let deadline = start + options.timeLimit * (relaxing ? 0.75 : 1)
        var answer: Answer
        if options.engine != .perHost, !bins.contains(where: { $0.unknown != nil }),
            let patterns = DemandPatterns(bins: bins, items: items, flavors: flavors, addable: addableFlavors, newBins: newBins)
        {
            answer = patterns.solve(greedy: greedy, deadline: deadline)
            // The pattern LP can leave a gap of one host on small fleets, and its vCPU tie-break
            // is heuristic; there the per-host program (exact branch and bound) gets the time
            // left, and the better plan and the stronger bound of the two stand: when the host
            // count is unproven, or for the tie-break when the program is tiny.
            let perHost = Self.perHostVariables(bins: bins, flavors: flavors)
            if options.engine == .auto, deadline - monotonicSeconds() > 0.05,
                (answer.status != .optimal && perHost <= Self.perHostLimit) || (!answer.exact && perHost <= Self.perHostTieBreakLimit)
            {
                let exact = try perHostAnswer(bins: bins, items: items, flavors: flavors, addable: addableFlavors, newBins: newBins,
                                              greedy: (answer.slots, answer.unplaced), deadline: deadline)
                answer = Self.better(answer, exact, bins: bins)
            }
        } else {
            answer = try perHostAnswer(bins: bins, items: items, flavors: flavors, addable: addableFlavors, newBins: newBins,
                                       greedy: greedy, deadline: deadline)
        }
        if bins.contains(where: { $0.states != nil }) && (answer.unplaced.contains { $0 > 0 } || answer.slots.indices.contains { bins[$0].hostID == nil && !answer.slots[$0].isEmpty }) {
            answer = Self.completeOnArrangements(answer, bins: bins, flavors: flavors, deadline: deadline)
        }
        let status = answer.status
        let unplaced = answer.unplaced

        // Check the answer independently of the model: node capacities, distinct nodes, types.
        var placements: [HostPlacement] = []
        for (b, bin) in bins.enumerated() {
            var used = Array(repeating: Resources.zero, count: bin.room.count)
            var slots: [Slot] = []
            for slot in answer.slots[b] where slot.count > 0 {
                guard let flavor = inventory.flavors[slot.flavor], bin.type.supports(flavor.name), Set(slot.nodes).count == flavor.numaNodes,
                    slot.nodes.allSatisfy({ bin.room.indices.contains($0) })
                else {
                    throw PlanError(message: "internal error: demand placement on \(bin.hostID ?? bin.label ?? "?") breaks a constraint; please report")
                }
                for n in slot.nodes { used[n] += flavor.perNode * slot.count }
                slots.append(slot)
            }
            if b < answer.extra.count, !answer.extra[b].isEmpty {
                // Servers added on every arrangement (`completeOnArrangements`): each must hold.
                var extra: [Flavor] = []
                for slot in answer.extra[b] {
                    guard let flavor = inventory.flavors[slot.flavor], bin.type.supports(flavor.name) else {
                        throw PlanError(message: "internal error: demand placement on \(bin.hostID ?? "?") breaks a constraint; please report")
                    }
                    extra += Array(repeating: flavor, count: slot.count)
                    slots.append(slot)
                }
                guard Self.fitsEveryArrangement(extra, after: used, bin: bin) else {
                    throw PlanError(message: "internal error: demand placement on \(bin.hostID ?? "?") does not fit some arrangement of its servers of unknown layout; please report")
                }
            }
            if bin.unknown == nil {
                for n in used.indices where !bin.room[n].covers(used[n]) {
                    throw PlanError(message: "internal error: demand placement overcommits node \(n) of \(bin.hostID ?? bin.label ?? "?"); please report")
                }
            } else if let usage = bin.unknown, !Self.arrangementExists(usage, extraUse: used) {
                throw PlanError(message: "internal error: demand placement on \(bin.hostID ?? "?") leaves no arrangement of its unknown servers; please report")
            }
            if !slots.isEmpty {
                placements.append(HostPlacement(
                    hostID: bin.hostID, newHostLabel: bin.label, hostType: bin.type.name, availabilityZone: bin.zone, slots: slots,
                    nodesAreRanks: bin.byRank))
            }
        }
        for (i, item) in items.enumerated() {
            let placed = placements.reduce(0) { $0 + ($1.servers[item.flavor] ?? 0) }
            if placed + unplaced[i] != item.count {
                throw PlanError(message: "internal error: \(placed) of \(item.count) \(item.flavor) placed, \(unplaced[i]) reported unplaced; please report")
            }
        }
        var added: [(hostType: String, count: Int)] = []
        var addedVCPUs = 0
        for nb in newBins {
            let n = placements.filter { $0.hostID == nil && $0.hostType == nb.type.name }.count
            if n > 0 { added.append((nb.type.name, n)) }
            addedVCPUs += n * nb.type.numaNodes.total.vcpus
        }
        let addedCount = added.reduce(0) { $0 + $1.count }
        let bound = min(addedCount, answer.hostsBound)
        var shortfall: [Shortfall] = []
        for (i, item) in items.enumerated() where unplaced[i] > 0 {
            let why = addableFlavors.contains(item.flavor)
                ? "not placed in the time limit (the first-fit answer ran out of added hosts); a longer --time-limit may place them"
                : addTypes.isEmpty
                ? "no existing host has room left and no host type may be added"
                : "no existing host has room left and no addable host type (\(addTypes.joined(separator: ", "))) accepts it"
            shortfall.append(Shortfall(flavor: item.flavor, count: unplaced[i], reason: why))
        }
        var result = Result(
            status: status, placements: placements, added: added, addedVCPUs: addedVCPUs, addedHostsBound: bound,
            shortfall: shortfall, zone: options.zone, policy: options.policy, seconds: monotonicSeconds() - start,
            variables: answer.variables, constraints: answer.constraints, engine: answer.engine, unplacedProven: answer.unplacedProven)
        // Under `certain`, hosts with servers of unknown layout offered the room every
        // arrangement of those servers leaves (or the worst case per node): enough to show a
        // fit, not to rule one out, since under each real arrangement more may fit. With the
        // worst case per node as its bound, this model "proved" 6 servers of a flavor and a host
        // to add where headroom counted 7 fitting under every arrangement. A bound holds for
        // "fits whatever the layouts" when it holds under one arrangement the cloud may have
        // made: the servers of unknown layout put by worst fit (`worstFitRoom`), solved again.
        if relaxing, !result.fits {
            result = try relaxedBounds(result, demand: demand, options: options, deadline: start + options.timeLimit)
            result.unknownLayoutHosts = unknownHosts
        }
        return result
    }

    /// `result` (an answer under `certain` that did not fit) with its bound and proofs kept to
    /// what also holds under one arrangement of the unknown layouts (`worstFitRoom`).
    func relaxedBounds(_ result: Result, demand: [Item], options: Options, deadline: Double) throws(PlanError) -> Result {
        var relaxedOptions = options
        relaxedOptions.timeLimit = max(0.05, deadline - monotonicSeconds())
        relaxedOptions.oneArrangement = true
        // Worst fit finding no arrangement (the inventory has one) leaves no proof.
        guard let relaxed = try? solve(demand, options: relaxedOptions) else {
            return Result(
                status: result.status == .optimal ? .feasible : result.status, placements: result.placements, added: result.added,
                addedVCPUs: result.addedVCPUs, addedHostsBound: 0, shortfall: result.shortfall, zone: result.zone, policy: result.policy,
                seconds: result.seconds, variables: result.variables, constraints: result.constraints, engine: result.engine,
                unplacedProven: false)
        }
        let ours = result.shortfall.reduce(0) { $0 + $1.count }
        let theirs = relaxed.shortfall.reduce(0) { $0 + $1.count }
        // A bound on hosts holds across the two only for the same servers placed.
        let hostsBound = relaxed.fits ? 0 : theirs == ours ? min(result.addedHostsBound, relaxed.addedHostsBound) : 0
        let unplacedProven = result.unplacedProven && relaxed.unplacedProven && theirs == ours
        var status = result.status
        if status == .optimal && (hostsBound < result.addedHosts || unplacedProven != result.unplacedProven) { status = .feasible }
        return Result(
            status: status, placements: result.placements, added: result.added, addedVCPUs: result.addedVCPUs, addedHostsBound: hostsBound,
            shortfall: result.shortfall, zone: result.zone, policy: result.policy, seconds: result.seconds + relaxed.seconds,
            variables: result.variables + relaxed.variables, constraints: result.constraints + relaxed.constraints,
            engine: result.engine, unplacedProven: unplacedProven)
    }

    static func size(_ f: Flavor) -> Double { Double(f.resources.vcpus) + Double(f.resources.memoryMiB) / 4096 }

    /// Hosts of one (empty) type that first-fit-decreasing needs for these servers.
    static func firstFitDecreasingHosts(_ demand: [(Flavor, Int)], capacity: [Resources]) -> Int {
        var hosts: [[Resources]] = []
        for (flavor, count) in demand.sorted(by: { size($0.0) > size($1.0) }) {
            // Hosts only fill, so one that cannot take this flavor now never will: the scan for
            // the next server of the flavor starts where the last one stopped (linear, not
            // quadratic, in the servers: 100,000 of one flavor took 10 s before).
            var start = 0
            for _ in 0..<count {
                while start < hosts.count && Fit.fit(flavor, free: hosts[start], capacity: capacity) == nil { start += 1 }
                if start < hosts.count {
                    let fit = Fit.fit(flavor, free: hosts[start], capacity: capacity)!
                    for n in fit.nodes { hosts[start][n] -= flavor.perNode }
                } else if let fit = Fit.fit(flavor, free: capacity, capacity: capacity) {
                    var fresh = capacity
                    for n in fit.nodes { fresh[n] -= flavor.perNode }
                    hosts.append(fresh)
                }
            }
        }
        return hosts.count
    }

    /// Under `certain`, a room that every arrangement of `usage`'s servers of unknown layout
    /// leaves, up to which node is which: its k-th entry is no larger than the k-th largest
    /// free node (vCPUs, then memory) of any arrangement, so what fits in it fits whatever the
    /// layout, on nodes the cloud can find (the entries are positions, not node ids). Nodes are
    /// interchangeable for what fits, so arrangements are enumerated as sorted free vectors, one
    /// server at a time, without duplicates. Nil past `maxStates` of them (the caller then takes
    /// the worst case per node: each node minus every such server).
    /// On a host with 10 and 12 of 32 vCPUs used and an 8-vCPU server of unknown layout, the
    /// worst case per node is (14, 12) and this room (20, 12): a 16-vCPU server fits either way.
    static func certainRoom(_ usage: HostUsage, maxStates: Int = 4_096) -> [Resources]? {
        certainStates(usage, maxStates: maxStates).map(roomOf)
    }

    /// The least by rank of `states` (sorted free vectors of one host).
    static func roomOf(_ states: [[Resources]]) -> [Resources] {
        var room = states[0]
        for state in states.dropFirst() {
            for n in room.indices {
                room[n] = Resources(vcpus: min(room[n].vcpus, state[n].vcpus), memoryMiB: min(room[n].memoryMiB, state[n].memoryMiB))
            }
        }
        return room
    }

    /// Every arrangement of `usage`'s servers of unknown layout, as the host's free nodes sorted
    /// largest first (vCPUs, then memory), without duplicates; nil past `maxStates`.
    static func certainStates(_ usage: HostUsage, maxStates: Int = 4_096) -> [[Resources]]? {
        var states = [nodesInOrder(usage.freeKnown)]
        let servers = unknownServers(usage)
        for flavor in servers {
            var next: [[Resources]] = []
            var seen = Set<[Int]>()
            // The node sets made once (`nodeSubsets`): made per state, they were most of the time
            // a report spent here.
            let picks = nodeSubsets(of: usage.capacity.count, size: flavor.numaNodes)
            for state in states {
                for nodes in picks where nodes.allSatisfy({ state[$0].covers(flavor.perNode) }) {
                    var after = state
                    for n in nodes { after[n] -= flavor.perNode }
                    let canonical = nodesInOrder(after)
                    if seen.insert(flattened(canonical)).inserted { next.append(canonical) }
                    if next.count > maxStates { return nil }
                }
            }
            guard !next.isEmpty else { return nil }  // no arrangement: not a valid inventory
            states = next
        }
        return states
    }

    /// A host's free nodes in the order that makes arrangements equal up to the order of nodes
    /// one state: largest first, by vCPUs, then memory (`certainStates`, and the headroom's
    /// search, `Headroom.searchedCount`).
    static func nodesInOrder(_ free: [Resources]) -> [Resources] {
        free.sorted { ($0.vcpus, $0.memoryMiB) > ($1.vcpus, $1.memoryMiB) }
    }

    /// `free` as integers (vCPUs and memory per node), for remembering states in a set.
    static func flattened(_ free: [Resources]) -> [Int] { free.flatMap { [$0.vcpus, $0.memoryMiB] } }

    /// Arrangements kept per host for `completeOnArrangements`.
    static let statesTried = 64

    /// `answer` with servers it put on added hosts (or left unplaced) moved, largest first, onto
    /// hosts with servers of unknown layout where they fit under every arrangement of those
    /// (`Bin.states`): the room by rank is one room below all arrangements, where each
    /// arrangement may have room elsewhere (a 4-node host with a split server of unknown layout
    /// on two of its nodes leaves two nodes by rank, while small servers fit on the other two
    /// in every arrangement). Each server goes on the first node set the fit function finds in
    /// each arrangement, after the answer's own servers there (by rank); added hosts left
    /// empty go. The slots' nodes are those of the first arrangement.
    ///
    /// Bins only fill, so a host that refused a flavor is not tried for it again; stops at
    /// `deadline` with what it moved so far.
    static func completeOnArrangements(_ answer: Answer, bins: [Bin], flavors: [Flavor], deadline: Double) -> Answer {
        var out = answer
        // Per host with arrangements: each arrangement's free nodes after the answer's servers.
        var free: [Int: [[Resources]]] = [:]
        for (b, bin) in bins.enumerated() {
            guard let states = bin.states else { continue }
            var used = Array(repeating: Resources.zero, count: bin.room.count)
            for slot in answer.slots[b] {
                guard let i = flavors.firstIndex(where: { $0.name == slot.flavor }) else { continue }
                for n in slot.nodes { used[n] += flavors[i].perNode * slot.count }
            }
            free[b] = states.map { s in s.indices.map { s[$0] - used[$0] } }
        }
        // The servers to move: from added hosts, then the unplaced, largest first.
        var pending: [(item: Int, from: Int?)] = []
        for (b, bin) in bins.enumerated() where bin.hostID == nil {
            for slot in answer.slots[b] {
                guard let i = flavors.firstIndex(where: { $0.name == slot.flavor }) else { continue }
                pending += Array(repeating: (i, b), count: slot.count)
            }
        }
        for (i, n) in answer.unplaced.enumerated() where n > 0 { pending += Array(repeating: (i, nil), count: n) }
        pending.sort { size(flavors[$0.item]) != size(flavors[$1.item]) ? size(flavors[$0.item]) > size(flavors[$1.item]) : $0.item < $1.item }
        var moved = false
        let candidates = bins.indices.filter { free[$0] != nil }
        var refused = Array(repeating: Set<Int>(), count: flavors.count)  // bins that refused a flavor
        for p in pending {
            if monotonicSeconds() > deadline { break }
            let flavor = flavors[p.item]
            for b in candidates where !refused[p.item].contains(b) && bins[b].type.supports(flavor.name) {
                var fits: [NodeFit] = []
                for state in free[b]! {
                    guard let fit = Fit.fit(flavor, free: state, capacity: bins[b].type.numaNodes) else { break }
                    fits.append(fit)
                }
                guard fits.count == free[b]!.count else {
                    refused[p.item].insert(b)
                    continue
                }
                for (k, fit) in fits.enumerated() { for n in fit.nodes { free[b]![k][n] -= flavor.perNode } }
                if out.extra.isEmpty { out.extra = Array(repeating: [], count: bins.count) }
                out.extra[b].append(Slot(flavor: flavor.name, nodes: fits[0].nodes, count: 1))
                if let from = p.from {
                    if let j = out.slots[from].firstIndex(where: { $0.flavor == flavor.name }) {
                        let s = out.slots[from][j]
                        if s.count == 1 { out.slots[from].remove(at: j) } else { out.slots[from][j] = Slot(flavor: s.flavor, nodes: s.nodes, count: s.count - 1) }
                    }
                } else {
                    out.unplaced[p.item] -= 1
                }
                moved = true
                break
            }
        }
        guard moved else { return answer }
        let fits = out.unplaced.allSatisfy { $0 == 0 } && bins.indices.allSatisfy { bins[$0].hostID != nil || out.slots[$0].isEmpty }
        // Nothing added and nothing left: no answer is better. Otherwise the count is not proven.
        out.status = fits ? .optimal : answer.status == .greedy ? .greedy : .feasible
        out.exact = fits
        if fits { (out.unplacedProven, out.hostsBound) = (true, 0) }
        if !fits && out.unplaced != answer.unplaced { out.unplacedProven = false }  // fewer left than "proven"
        return out
    }

    /// Whether `extra` fits on `bin` under every arrangement of its servers of unknown layout,
    /// after `used` taken at its ranks (within the room by rank: the caller checks that): by
    /// the fit function, largest first, on each arrangement (as `completeOnArrangements` places
    /// them).
    static func fitsEveryArrangement(_ extra: [Flavor], after used: [Resources], bin: Bin) -> Bool {
        guard let states = bin.states else { return false }
        let order = extra.enumerated().sorted { a, b in
            size(a.element) != size(b.element) ? size(a.element) > size(b.element) : a.offset < b.offset
        }.map(\.element)
        for state in states {
            var free = state.indices.map { state[$0] - used[$0] }
            for flavor in order {
                guard let fit = Fit.fit(flavor, free: free, capacity: bin.type.numaNodes) else { return false }
                for n in fit.nodes { free[n] -= flavor.perNode }
            }
        }
        return true
    }

    /// The servers of unknown layout on `usage`'s host, largest first (by name among equals).
    static func unknownServers(_ usage: HostUsage) -> [Flavor] {
        usage.unknownFlavors.sorted { a, b in
            size(a.key) != size(b.key) ? size(a.key) > size(b.key) : a.key.name < b.key.name
        }.flatMap { repeatElement($0.key, count: $0.value) }
    }

    /// The free room per node of `usage` once its servers of unknown layout are put, largest
    /// first, on the nodes with the most free vCPUs (worst fit; split flavors on that many
    /// distinct nodes): one arrangement the cloud may have made. Where worst fit gets stuck (a
    /// nearly full host), the search backtracks to the next choice, up to `maxSteps` choices;
    /// nil when no arrangement is found within them.
    static func worstFitRoom(_ usage: HostUsage, maxSteps: Int = 10_000) -> [Resources]? {
        var free = usage.freeKnown
        let servers = unknownServers(usage)
        guard let nodes = worstFitArrangement(servers, free: free, maxSteps: maxSteps) else { return nil }
        for (flavor, set) in zip(servers, nodes) { for n in set { free[n] -= flavor.perNode } }
        return free
    }

    /// Nodes for each of `servers` (same order) on a host with `free` room per node, all fitting
    /// together: each server in turn, on the roomiest node sets first (worst fit, by their least
    /// free node, then their total), backtracking where one finds no place, up to `maxSteps`
    /// choices; nil when no arrangement is found within them. Also the fake cloud's, where
    /// placing servers of unknown layout one at a time leaves one without a place.
    public static func worstFitArrangement(_ servers: [Flavor], free: [Resources], maxSteps: Int) -> [[Int]]? {
        var free = free
        var chosen: [[Int]] = []
        var steps = 0
        func place(_ i: Int) -> Bool {
            guard i < servers.count else { return true }
            let flavor = servers[i]
            // Node sets, the roomiest first (by their least free node, then their total).
            let choices = nodeSubsets(of: free.count, size: flavor.numaNodes)
                .filter { $0.allSatisfy { free[$0].covers(flavor.perNode) } }
                .sorted { a, b in
                    let ka = a.map { (free[$0].vcpus, free[$0].memoryMiB) }.min { $0 < $1 }!
                    let kb = b.map { (free[$0].vcpus, free[$0].memoryMiB) }.min { $0 < $1 }!
                    if ka != kb { return ka > kb }
                    let ta = a.reduce(0) { $0 + free[$1].vcpus }, tb = b.reduce(0) { $0 + free[$1].vcpus }
                    return ta != tb ? ta > tb : a.lexicographicallyPrecedes(b)
                }
            for nodes in choices {
                steps += 1
                if steps > maxSteps { return false }
                for n in nodes { free[n] -= flavor.perNode }
                chosen.append(nodes)
                if place(i + 1) { return true }
                chosen.removeLast()
                for n in nodes { free[n] += flavor.perNode }
            }
            return false
        }
        return place(0) ? chosen : nil
    }

    /// Nodes for each of `servers` (same order) on a host with `free` room per node, all fitting
    /// together, from an integer program (per flavor, how many of its servers go on each set of
    /// nodes with room for its share: `LayoutVerdict.Arrangement`); nil where none exists or
    /// GLPK finds none within `LayoutVerdict.callBudget`. The fake cloud's last resort where
    /// `worstFitArrangement` runs out of steps: on foreign fleet 6169 (`foreign_fleets.py --seed
    /// 6161`) it left 15 servers without a layout, two on a host whose memory its 25 servers
    /// fill exactly; counted on every node, they made the adversarial fake refuse arrivals
    /// there that any arrangement admits.
    public static func someArrangement(_ servers: [Flavor], free: [Resources]) -> [[Int]]? {
        var usage = HostUsage(capacity: free)
        for flavor in servers { usage.add(flavor, nodes: nil) }
        var a = LayoutVerdict.Arrangement(usage, extra: nil)
        a.addCapacityRows()
        guard let solution = try? a.model.solve(LayoutVerdict.budgeted(LayoutVerdict.callBudget)),
            solution.status == .optimal || solution.status == .feasible
        else { return nil }
        var sets: [Flavor: [[Int]]] = [:]  // per flavor, the node sets of its servers
        for c in a.choices {
            for _ in 0..<max(0, Int(solution[c.count].rounded())) { sets[c.flavor, default: []].append(c.nodes) }
        }
        var nodes: [[Int]] = []
        for flavor in servers {
            guard let set = sets[flavor]?.popLast() else { return nil }
            nodes.append(set)
        }
        return nodes
    }

    /// Whether the unknown servers of `usage` can still be arranged with `extraUse` taken per node.
    static func arrangementExists(_ usage: HostUsage, extraUse: [Resources]) -> Bool {
        var reduced = HostUsage(capacity: zip(usage.freeKnown, extraUse).map { $0 - $1 })
        for (flavor, count) in usage.unknownFlavors { for _ in 0..<count { reduced.add(flavor, nodes: nil) } }
        if reduced.freeKnown.contains(where: { $0.vcpus < 0 || $0.memoryMiB < 0 }) { return false }
        var a = LayoutVerdict.Arrangement(reduced, extra: nil)
        a.addCapacityRows()
        return LayoutVerdict.feasible(a.model) ?? false
    }
}
