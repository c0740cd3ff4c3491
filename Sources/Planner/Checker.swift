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
    /// Fits if the servers of unknown layout are arranged favourably; not proven for every arrangement.
    case uncertain
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
    /// Its per-host usage.
    public let state: PlacementState

    /// Prepares the inventory's per-host usage.
    public init(_ inventory: Inventory) {
        self.inventory = inventory
        self.state = PlacementState(inventory)
    }

    /// Options that change what is checked.
    public struct Options: Hashable, Sendable {
        /// Which fits count when layouts are unknown.
        public var layoutPolicy: LayoutPolicy
        /// Treat the server as `SHUTOFF`, unlocked and idle (planning a move before stopping it).
        public var assumeStopped: Bool

        /// Creates options.
        public init(layoutPolicy: LayoutPolicy = .certain, assumeStopped: Bool = false) {
            self.layoutPolicy = layoutPolicy
            self.assumeStopped = assumeStopped
        }
    }

    // MARK: check

    /// Evaluates every constraint of a cold migration of `serverID` to `target`.
    public func check(serverID: String, target: MoveTarget, options: Options = Options()) -> MoveCheck {
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
        let outcome = evaluateHost(server, hostIndex: h, options: options, explain: true)
        reasons += outcome.reasons
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

    struct HostOutcome {
        var reasons: [Reason]
        var codes: [ReasonCode]
        var fit: NodeFit?
        var verdict: FitVerdict
    }

    /// Every target-side constraint of moving `server` onto host `h`. With `explain` false,
    /// only codes are collected (no message strings), for scanning thousands of hosts.
    func evaluateHost(_ server: Server, hostIndex h: Int, options: Options, explain: Bool) -> HostOutcome {
        let host = inventory.hosts[h]
        var out = HostOutcome(reasons: [], codes: [], fit: nil, verdict: .impossible)
        func add(_ code: ReasonCode, _ message: @autoclosure () -> String) {
            out.codes.append(code)
            if explain { out.reasons.append(Reason(code, message())) }
        }
        guard let flavor = inventory.flavors[server.flavor], let type = inventory.hostTypes[host.hostType] else {
            add(.flavorNotSupported, "flavor \"\(server.flavor)\" or host type \"\(host.hostType)\" is not defined")
            return out
        }
        if host.state != .available {
            add(.targetNotAvailable, "host \"\(host.id)\" is \(host.state.rawValue); only available hosts accept servers")
        }
        let sameHost = server.dedicatedHostID == host.id
        if sameHost {
            add(.sameHost, "server \"\(server.id)\" is already on \"\(host.id)\"; the API refuses a same-host migration (Ecs.0221)")
        }
        if server.availabilityZone != host.availabilityZone {
            add(.azMismatch,
                "server is in \(server.availabilityZone), host \"\(host.id)\" in \(host.availabilityZone); cold migration stays within one availability zone")
        }
        if !type.supports(flavor.name) {
            add(.flavorNotSupported,
                "host type \"\(type.name)\" of \"\(host.id)\" does not accept flavor \"\(flavor.name)\" (accepts: \(type.flavors.joined(separator: ", ")))")
        }
        if let groups = inventory.groupsOfServer[server.id] {
            for g in groups {
                let onHost = state.groupMembersOnHost[g][h] ?? 0
                let selfHere = sameHost ? 1 : 0
                if onHost - selfHere > 0 {
                    let group = inventory.serverGroups[g]
                    add(.antiAffinity, {
                        let others = group.members.filter { $0 != server.id && inventory.server($0)?.dedicatedHostID == host.id }
                        return "anti-affinity group \"\(group.id)\" already has \(others.joined(separator: ", ")) on \"\(host.id)\""
                    }())
                }
            }
        }
        if sameHost { return out }
        let usage = state.usage[h]
        switch Fit.evaluate(flavor, free: usage.freeKnown, capacity: usage.capacity, freeTotal: usage.freeTotal) {
        case .failure(.insufficientTotal(let free, let demand)):
            add(.insufficientCapacity,
                "flavor \"\(flavor.name)\" needs \(demand); host \"\(host.id)\" has only \(free) free in total")
        case .failure(.tooFewNodes(let needed, let has)):
            add(.insufficientNUMACapacity,
                "flavor \"\(flavor.name)\" spans \(needed) NUMA nodes; host \"\(host.id)\" has \(has)")
        case .failure(.insufficientNUMA(let eligible, let needed, let share)):
            add(.insufficientNUMACapacity, {
                let free = usage.freeKnown.enumerated().map { "node \($0.offset): \($0.element)" }.joined(separator: ", ")
                let want = needed == 1
                    ? "no single NUMA node has \(share) free"
                    : "fewer than \(needed) NUMA nodes have \(share) free each (\(eligible.isEmpty ? "none" : "only node \(eligible.map(String.init).joined(separator: ", "))"))"
                let unknown = usage.hasUnknownLayout ? " (before \(usage.unknownCount) server(s) of unknown layout)" : ""
                return "host \"\(host.id)\" has \(usage.freeTotal) free in total, but \(want): \(free)\(unknown)"
            }())
        case .success(let optimistic):
            if !usage.hasUnknownLayout {
                out.fit = optimistic
                out.verdict = .certain
            } else if let sure = Fit.fit(flavor, free: usage.freeWorst, capacity: usage.capacity) {
                out.fit = sure
                out.verdict = .certain
            } else {
                out.fit = optimistic
                out.verdict = .uncertain
                if options.layoutPolicy == .certain {
                    add(.numaLayoutUnknown,
                        "host \"\(host.id)\" has \(usage.unknownCount) server(s) of unknown NUMA layout; \"\(server.id)\" fits on node(s) \(optimistic.nodes.map(String.init).joined(separator: ", ")) only if they are arranged favourably (use --layout-policy possible to accept that risk)")
                }
            }
        }
        return out
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
        var fitting: [Candidate] = []
        var rejected: [ReasonCode: Int] = [:]
        for h in inventory.hosts.indices {
            let outcome = evaluateHost(server, hostIndex: h, options: options, explain: false)
            if let first = outcome.codes.first {
                rejected[first, default: 0] += 1
            } else if let fit = outcome.fit {
                fitting.append(Candidate(
                    target: .host(inventory.hosts[h].id), fit: fit, layoutKnown: !state.usage[h].hasUnknownLayout,
                    verdict: outcome.verdict))
            }
        }
        fitting.sort { a, b in
            if a.verdict != b.verdict { return a.verdict == .certain }
            if a.fit!.score != b.fit!.score { return a.fit!.score > b.fit!.score }
            return a.target.hostID! < b.target.hostID!
        }
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
