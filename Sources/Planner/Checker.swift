// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

/// Where a server should go: a Dedicated Host, or the public resource pool.
public enum MoveTarget: Hashable, Sendable, CustomStringConvertible {
    case host(String)
    case pool

    /// The DeH id, or nil for the pool.
    public var hostID: String? {
        if case .host(let id) = self { return id }
        return nil
    }

    public var description: String { hostID ?? "pool" }
}

/// Which targets count as fitting when servers on them have unknown NUMA layout.
public enum LayoutPolicy: String, Hashable, Sendable, CaseIterable {
    /// Only targets where the server fits under every arrangement of the unknown servers.
    case certain
    /// Also targets where it fits under some arrangement (the migration may still fail).
    case possible
}

/// How sure a NUMA fit is.
public enum FitVerdict: String, Hashable, Sendable {
    /// Fits whatever the layout of the host's servers of unknown layout.
    case certain
    /// Fits under some arrangement of the servers of unknown layout, not under all.
    case possible
    /// Does not fit.
    case impossible
}

/// The outcome of checking one server against one target.
public struct MoveCheck: Hashable, Sendable {
    /// The server checked.
    public let serverID: String
    /// The target checked.
    public let target: MoveTarget
    /// True when every constraint passes (under the layout policy).
    public let feasible: Bool
    /// Nodes the server would occupy on the target (nil for the pool or when it does not fit).
    public let numaNodes: [Int]?
    /// The fit on the target's nodes, when there is one.
    public let fit: NodeFit?
    /// `known` when every server on the target has a known layout, else `unknown`.
    public let layoutKnown: Bool
    /// How sure the NUMA fit is (certain for the pool).
    public let verdict: FitVerdict
    /// Every failing constraint, in evaluation order.
    public let reasons: [Reason]
}

/// Answers "will this move succeed?" (`check`) and "where can this server go?" (`targets`)
/// for one inventory, with the one fit function.
public struct Checker: Sendable {
    /// The inventory being checked.
    public let inventory: Inventory
    /// Its per-host usage (plan replay moves servers in it).
    public internal(set) var state: PlacementState
    /// Interned ids so that scanning thousands of hosts compares integers, not strings.
    let index: InventoryIndex

    /// Prepares the inventory's per-host usage.
    public init(_ inventory: Inventory) {
        self.init(inventory, state: PlacementState(inventory))
    }

    /// Checks against a given usage (e.g. the state after some planned moves).
    public init(_ inventory: Inventory, state: PlacementState) {
        self.inventory = inventory
        self.state = state
        self.index = InventoryIndex(inventory)
    }

    /// Options that change what is checked.
    public struct Options: Hashable, Sendable {
        /// Which fits count when layouts are unknown.
        public var layoutPolicy: LayoutPolicy
        /// Treat the server as `SHUTOFF`, unlocked and idle (planning a move before stopping it).
        public var assumeStopped: Bool
        /// What the cloud is assumed to do with the NUMA nodes of arrivals. Under `any` only
        /// certain fits count, whatever `layoutPolicy` says.
        public var placement: CloudPlacement
        /// Where the search over arrangements of the exact verdict (`LayoutVerdict`) runs past its
        /// budget, answer "not sure" (a refusal under `certain`) instead of solving its integer
        /// programs. For heuristics that judge one arrival on many hosts and may refuse a host
        /// for nothing: on foreign fleet 26 (`Benchmarks/foreign_fleets.py`), one arrival's
        /// integer programs took 0.135 s of a 1 s limit. Never for a plan's checks.
        var searchedVerdictsOnly = false
        /// The budget of that search in steps (`LayoutVerdict.searchBudget`; tests lower it).
        var verdictSearchBudget = LayoutVerdict.searchBudget
        /// Where set, counts the searches that run past that budget under `searchedVerdictsOnly`
        /// (a heuristic lowers its budget once they cost it too much). Not compared or hashed.
        var ranOutLedger = RanOutLedger.none

        /// Creates options.
        public init(layoutPolicy: LayoutPolicy = .certain, assumeStopped: Bool = false, placement: CloudPlacement = .any) {
            self.layoutPolicy = layoutPolicy
            self.assumeStopped = assumeStopped
            self.placement = placement
        }

        /// The layout policy in force: `certain` under `any`.
        var effectivePolicy: LayoutPolicy { placement == .any ? .certain : layoutPolicy }
    }

    /// What is known about one arrival beyond the server and the target: the nodes it is
    /// planned or predicted on (checked as given, for `planned` and the deterministic policies),
    /// and the other servers that may arrive on the target at the same time (for `any`).
    public struct Arrival: Hashable, Sendable {
        /// The nodes the move must land on (nil: wherever it fits).
        public var nodes: [Int]?
        /// Flavors (with counts) of other moves of the same wave to the same target not yet there.
        public var concurrent: [Flavor: Int]

        /// Creates an arrival context.
        public init(nodes: [Int]? = nil, concurrent: [Flavor: Int] = [:]) {
            self.nodes = nodes
            self.concurrent = concurrent
        }
    }

    // MARK: check

    /// Evaluates every constraint of a cold migration of `serverID` to `target`.
    public func check(
        serverID: String, target: MoveTarget, options: Options = Options(), arrival: Arrival = Arrival()
    ) -> MoveCheck {
        guard let server = inventory.server(serverID) else {
            var message = "no server \"\(serverID)\" in the inventory"
            if let guess = closestMatch(to: serverID, in: inventory.servers.lazy.map(\.id)) {
                message += "; did you mean \"\(guess)\"?"
            }
            return MoveCheck(
                serverID: serverID, target: target, feasible: false, numaNodes: nil, fit: nil, layoutKnown: true,
                verdict: .impossible, reasons: [Reason(.serverNotFound, message)])
        }
        var reasons = serverReasons(server, options: options)
        guard case .host(let hostID) = target else {
            if server.dedicatedHostID == nil {
                reasons.append(Reason(
                    .notADehMigration,
                    "server \"\(server.id)\" is already in the public pool; cold migration moves servers to or from a Dedicated Host"))
            }
            return MoveCheck(
                serverID: serverID, target: .pool, feasible: reasons.isEmpty, numaNodes: nil, fit: nil,
                layoutKnown: true, verdict: reasons.isEmpty ? .certain : .impossible, reasons: reasons)
        }
        guard let h = inventory.hostIndex[hostID] else {
            var message = "no Dedicated Host \"\(hostID)\" in the inventory"
            if let guess = closestMatch(to: hostID, in: inventory.hosts.lazy.map(\.id)) {
                message += "; did you mean \"\(guess)\"?"
            }
            reasons.append(Reason(.targetNotFound, message))
            return MoveCheck(
                serverID: serverID, target: target, feasible: false, numaNodes: nil, fit: nil, layoutKnown: true,
                verdict: .impossible, reasons: reasons)
        }
        var sink = ExplainingSink()
        let outcome = evaluateHost(
            ServerContext(server, index: index, inventory: inventory), hostIndex: h, options: options, arrival: arrival, sink: &sink)
        reasons += sink.reasons
        return MoveCheck(
            serverID: serverID, target: target, feasible: reasons.isEmpty, numaNodes: outcome.fit?.nodes,
            fit: outcome.fit, layoutKnown: !state.usage[h].hasUnknownLayout, verdict: outcome.verdict,
            reasons: reasons)
    }

    /// Reasons about the server itself: not stopped, locked, busy.
    func serverReasons(_ server: Server, options: Options) -> [Reason] {
        guard !options.assumeStopped else { return [] }
        var reasons: [Reason] = []
        if !server.isStopped {
            reasons.append(Reason(
                .serverNotStopped,
                "server \"\(server.id)\" is \(server.status); only SHUTOFF servers can be cold migrated (stop it first)"))
        }
        if server.locked {
            reasons.append(Reason(.serverLocked, "server \"\(server.id)\" is locked (the API answers Ecs.0605); unlock it first"))
        }
        if let task = server.taskState {
            reasons.append(Reason(
                .serverBusy, "server \"\(server.id)\" has task_state \"\(task)\"; wait until no other operation runs (Ecs.0603)"))
        }
        return reasons
    }

    /// What `evaluateHost` needs to know about the server, computed once per server.
    struct ServerContext {
        let server: Server
        let flavor: Flavor?
        let flavorIndex: Int
        let zoneIndex: Int
        let groups: [Int]
        /// Index of the host the server is on, or -1 for the pool (plan replay moves it).
        var currentHost: Int

        init(_ server: Server, index: InventoryIndex, inventory: Inventory) {
            self.currentHost = index.serverHost[server.id] ?? -1
            self.server = server
            self.flavor = inventory.flavors[server.flavor]
            self.flavorIndex = index.flavorIndex[server.flavor] ?? -1
            self.zoneIndex = index.zoneIndex[server.availabilityZone] ?? -1
            self.groups = inventory.groupsOfServer[server.id] ?? []
        }
    }

    /// Whether a packing may put `context`'s server on host `h` on `nodes`: the rule pipeline
    /// finds nothing against it and a fit there, a certain one unless the layout policy is
    /// `possible`. The admission test of first-fit decreasing, the greedy plan, the local
    /// search and the check of assigned packings.
    func admitsPacked(_ context: ServerContext, hostIndex h: Int, nodes: [Int], options: Options) -> Bool {
        var sink = FirstCodeSink()
        let judged = evaluateHost(context, hostIndex: h, options: options, arrival: Arrival(nodes: nodes), sink: &sink)
        return sink.first == nil && judged.fit != nil && (judged.verdict == .certain || options.effectivePolicy == .possible)
    }

    /// Every target-side constraint of moving a server onto host `h`, reported into `sink`
    /// in evaluation order. The sink decides whether to go on after the first failure, so
    /// `check` (all reasons, with messages) and `targets` (first code only, no strings) run
    /// the same constraint code.
    func evaluateHost<Sink: ReasonSink>(
        _ context: ServerContext, hostIndex h: Int, options: Options, arrival: Arrival = Arrival(), sink: inout Sink
    ) -> (fit: NodeFit?, verdict: FitVerdict) {
        let server = context.server
        var host: Host { inventory.hosts[h] }  // read only for messages: no copy per scanned host
        guard let flavor = context.flavor else {
            sink.add(.flavorNotSupported, "flavor \"\(server.flavor)\" is not defined")
            return (nil, .impossible)
        }
        if index.hostState[h] != .available {
            sink.add(.targetNotAvailable, "host \"\(host.id)\" is \(host.state.rawValue); only available hosts accept servers")
            if sink.done { return (nil, .impossible) }
        }
        let sameHost = context.currentHost == h
        if sameHost {
            sink.add(.sameHost, "server \"\(server.id)\" is already on \"\(host.id)\"; the API refuses a same-host migration (Ecs.0221)")
            if sink.done { return (nil, .impossible) }
        }
        if index.hostZone[h] != context.zoneIndex {
            sink.add(.azMismatch,
                "server is in \(server.availabilityZone), host \"\(host.id)\" in \(host.availabilityZone); cold migration stays within one availability zone")
            if sink.done { return (nil, .impossible) }
        }
        if context.flavorIndex < 0 || !index.typeAccepts[index.hostType[h]][context.flavorIndex] {
            sink.add(.flavorNotSupported, {
                let type = inventory.hostTypes[host.hostType]
                return "host type \"\(host.hostType)\" of \"\(host.id)\" does not accept flavor \"\(flavor.name)\" (accepts: \((type?.flavors ?? []).joined(separator: ", ")))"
            }())
            if sink.done { return (nil, .impossible) }
        }
        for g in context.groups {
            let onHost = state.groupMembersOnHost[g][h] ?? 0
            if onHost - (sameHost ? 1 : 0) > 0 {
                let group = inventory.serverGroups[g]
                sink.add(.antiAffinity, {
                    let others = group.members.filter { $0 != server.id && inventory.server($0)?.dedicatedHostID == host.id }
                    return "anti-affinity group \"\(group.id)\" already has \(others.joined(separator: ", ")) on \"\(host.id)\""
                }())
                if sink.done { return (nil, .impossible) }
            }
        }
        if sameHost { return (nil, .impossible) }
        let usage = state.usage[h]
        switch Fit.evaluate(flavor, free: usage.freeKnown, capacity: usage.capacity, freeTotal: usage.freeTotal) {
        case .failure(.insufficientTotal(let free, let demand)):
            sink.add(.insufficientCapacity,
                "flavor \"\(flavor.name)\" needs \(demand); host \"\(host.id)\" has only \(free) free in total")
            return (nil, .impossible)
        case .failure(.tooFewNodes(let needed, let has)):
            sink.add(.insufficientNUMACapacity,
                "flavor \"\(flavor.name)\" spans \(needed) NUMA nodes; host \"\(host.id)\" has \(has)")
            return (nil, .impossible)
        case .failure(.insufficientNUMA(let eligible, let needed, let share)):
            sink.add(.insufficientNUMACapacity, {
                let free = usage.freeKnown.enumerated().map { "node \($0.offset): \($0.element)" }.joined(separator: ", ")
                let want = needed == 1
                    ? "no single NUMA node has \(share) free"
                    : "fewer than \(needed) NUMA nodes have \(share) free each (\(eligible.isEmpty ? "none" : "only node \(eligible.map(String.init).joined(separator: ", "))"))"
                let unknown = usage.hasUnknownLayout ? " (before \(usage.unknownCount) server(s) of unknown layout)" : ""
                return "host \"\(host.id)\" has \(usage.freeTotal) free in total, but \(want): \(free)\(unknown)"
            }())
            return (nil, .impossible)
        case .success(let optimistic):
            let policy = options.effectivePolicy
            if let planned = arrival.nodes {
                // Planned or predicted nodes: the fit function, shown only those nodes, must find them.
                let free = usage.free(under: policy)
                let visible = free.indices.map { planned.contains($0) ? free[$0] : Resources(vcpus: -1, memoryMiB: -1) }
                if planned.count == flavor.numaNodes, Set(planned).count == planned.count,
                    case .success(let fit) = Fit.evaluate(flavor, free: visible, capacity: usage.capacity, freeTotal: usage.freeTotal),
                    fit.nodes == planned.sorted()
                {
                    return (fit, usage.hasUnknownLayout && policy == .possible ? .possible : .certain)
                }
                sink.add(.insufficientNUMACapacity,
                    "flavor \"\(flavor.name)\" does not fit on NUMA node(s) \(planned) of host \"\(host.id)\" (free: \(free.enumerated().map { "node \($0.offset): \($0.element)" }.joined(separator: ", ")))")
                return (nil, .impossible)
            }
            let concurrent = arrival.concurrent
            if !usage.hasUnknownLayout && concurrent.isEmpty { return (optimistic, .certain) }
            if concurrent.isEmpty, let sure = Fit.fit(flavor, free: usage.freeWorst, capacity: usage.capacity) { return (sure, .certain) }
            // Exact verdict: search the arrangements of the servers of unknown layout (and of any
            // subset of the concurrent arrivals) with GLPK.
            let others = concurrent.values.reduce(0, +)
            let unknownText = "\(usage.unknownCount) server(s) of unknown NUMA layout" + (others > 0 ? " and \(others) concurrent arrival(s) of the same wave" : "")
            switch LayoutVerdict.verdict(flavor, on: usage, concurrent: concurrent, options: options) {
            case .certain:
                return (optimistic, .certain)
            case .impossible:
                sink.add(.insufficientNUMACapacity,
                    "host \"\(host.id)\" has \(usage.freeTotal) free in total, but no arrangement of its \(usage.unknownCount) server(s) of unknown NUMA layout leaves \(flavor.numaNodes) node(s) with \(flavor.perNode) free")
                return (nil, .impossible)
            case .possible:
                if policy == .certain {
                    let hint = options.placement == .any
                        ? "the cloud picks the nodes, so the migration could fail with Ecs.0319 (`dehplan inventory --host-types` or an inventory with known layouts may show it is safe)"
                        : "use --layout-policy possible to accept that risk"
                    sink.add(.numaLayoutUnknown,
                        "host \"\(host.id)\" has \(unknownText); \"\(server.id)\" fits under some arrangements of them, not all: \(hint)")
                }
                return (optimistic, .possible)
            }
        }
    }

    // MARK: targets

    /// One candidate target.
    public struct Candidate: Hashable, Sendable {
        /// The target (a host, or the pool last).
        public let target: MoveTarget
        /// The fit on the host's nodes (nil for the pool).
        public let fit: NodeFit?
        /// `known` when every server on the host has a known layout.
        public let layoutKnown: Bool
        /// How sure the fit is.
        public let verdict: FitVerdict
    }

    /// All targets of one server, best first, and why the other hosts were rejected.
    public struct TargetList: Hashable, Sendable {
        /// The server.
        public let serverID: String
        /// Fitting targets, best first (the pool last, when the server is on a DeH).
        public let targets: [Candidate]
        /// Number of fitting DeHs before `limit` was applied.
        public let fittingHosts: Int
        /// Rejected hosts counted by their first failing reason.
        public let rejected: [ReasonCode: Int]
        /// Reasons that rule out every target (server not found, not stopped, ...).
        public let serverReasons: [Reason]
    }

    /// Lists every DeH `serverID` can move to, best fit first, then the pool when the server is on a DeH.
    public func targets(serverID: String, limit: Int? = nil, options: Options = Options()) -> TargetList {
        guard let server = inventory.server(serverID) else {
            let check = check(serverID: serverID, target: .pool, options: options)
            return TargetList(serverID: serverID, targets: [], fittingHosts: 0, rejected: [:], serverReasons: check.reasons)
        }
        let blockers = serverReasons(server, options: options)
        let context = ServerContext(server, index: index, inventory: inventory)
        var found: [(host: Int, fit: NodeFit, verdict: FitVerdict)] = []
        var rejectedCounts = [Int](repeating: 0, count: ReasonCode.allCases.count)
        for h in inventory.hosts.indices {
            var sink = FirstCodeSink()
            let outcome = evaluateHost(context, hostIndex: h, options: options, sink: &sink)
            if let first = sink.first {
                rejectedCounts[first.ordinal] += 1
            } else if let fit = outcome.fit {
                found.append((h, fit, outcome.verdict))
            }
        }
        // Sort plain keys, not candidates: comparing structs that hold arrays costs a
        // retain/release per comparison, which dominated the scan.
        var keys = found.indices.map { i in
            (certain: found[i].verdict == .certain, score: found[i].fit.score, rank: index.hostIDRank[found[i].host], i: i)
        }
        keys.sort { a, b in
            if a.certain != b.certain { return a.certain }
            if a.score != b.score { return a.score > b.score }
            return a.rank < b.rank
        }
        var fitting: [Candidate] = keys.map { key in
            let f = found[key.i]
            return Candidate(
                target: .host(inventory.hosts[f.host].id), fit: f.fit, layoutKnown: !state.usage[f.host].hasUnknownLayout,
                verdict: f.verdict)
        }
        var rejected: [ReasonCode: Int] = [:]
        for (i, code) in ReasonCode.allCases.enumerated() where rejectedCounts[i] > 0 { rejected[code] = rejectedCounts[i] }
        let count = fitting.count
        if let limit, limit < fitting.count { fitting.removeLast(fitting.count - limit) }
        if !blockers.isEmpty { fitting = [] }
        if blockers.isEmpty && server.dedicatedHostID != nil {
            fitting.append(Candidate(target: .pool, fit: nil, layoutKnown: true, verdict: .certain))
        }
        return TargetList(
            serverID: serverID, targets: fitting, fittingHosts: blockers.isEmpty ? count : 0, rejected: rejected,
            serverReasons: blockers)
    }
}

/// Receives the reasons `evaluateHost` finds.
protocol ReasonSink {
    /// True when no further reason is wanted.
    var done: Bool { get }
    /// True when no reason was added.
    var isEmpty: Bool { get }
    mutating func add(_ code: ReasonCode, _ message: @autoclosure () -> String)
}

/// Collects every reason with its message (for `check`).
struct ExplainingSink: ReasonSink {
    var reasons: [Reason] = []
    var done: Bool { false }
    var isEmpty: Bool { reasons.isEmpty }
    mutating func add(_ code: ReasonCode, _ message: @autoclosure () -> String) {
        reasons.append(Reason(code, message()))
    }
}

/// Keeps only the first failing code and stops there, building no strings (for `targets`).
struct FirstCodeSink: ReasonSink {
    var first: ReasonCode?
    var done: Bool { first != nil }
    var isEmpty: Bool { first == nil }
    mutating func add(_ code: ReasonCode, _ message: @autoclosure () -> String) {
        if first == nil { first = code }
    }
}

/// Integer ids for hosts' types, zones and states, and for flavors.
struct InventoryIndex: Sendable {
    let flavorIndex: [String: Int]
    let zoneIndex: [String: Int]
    let hostType: [Int]
    let hostZone: [Int]
    let hostState: [HostState]
    /// typeAccepts[type][flavor]
    let typeAccepts: [[Bool]]
    /// Host index of each server on a DeH.
    let serverHost: [String: Int]
    /// Position of each host's id in sorted order (for id tie-breaks without string comparisons).
    let hostIDRank: [Int]

    init(_ inventory: Inventory) {
        let flavors = inventory.flavorOrder
        var flavorIndex: [String: Int] = [:]
        for (i, f) in flavors.enumerated() { flavorIndex[f] = i }
        var typeIndex: [String: Int] = [:]
        var accepts: [[Bool]] = []
        for (t, name) in inventory.hostTypeOrder.enumerated() {
            typeIndex[name] = t
            let type = inventory.hostTypes[name]!
            accepts.append(flavors.map { type.supports($0) })
        }
        var zoneIndex: [String: Int] = [:]
        var hostZone: [Int] = []
        for host in inventory.hosts {
            if zoneIndex[host.availabilityZone] == nil { zoneIndex[host.availabilityZone] = zoneIndex.count }
            hostZone.append(zoneIndex[host.availabilityZone]!)
        }
        var serverHost: [String: Int] = [:]
        for s in inventory.servers {
            if let id = s.dedicatedHostID, let h = inventory.hostIndex[id] { serverHost[s.id] = h }
        }
        self.flavorIndex = flavorIndex
        self.zoneIndex = zoneIndex
        self.hostType = inventory.hosts.map { typeIndex[$0.hostType] ?? 0 }
        self.hostZone = hostZone
        self.hostState = inventory.hosts.map(\.state)
        self.typeAccepts = accepts
        self.serverHost = serverHost
        var rank = [Int](repeating: 0, count: inventory.hosts.count)
        for (r, h) in inventory.hosts.indices.sorted(by: { inventory.hosts[$0].id < inventory.hosts[$1].id }).enumerated() {
            rank[h] = r
        }
        self.hostIDRank = rank
    }
}
