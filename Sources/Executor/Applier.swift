// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Foundation
import Planner
import Topology

/// Options of `apply`.
public struct ApplyOptions: Sendable {
    /// Moves in flight at once (within a wave).
    public var maxParallel: Int
    /// Go on after a failure with the moves that do not depend on it.
    public var keepGoing: Bool
    /// Give up waiting for one job after this many seconds.
    public var jobTimeout: Double
    /// First wait between job polls; it grows 1.5 times per poll up to 8 times this.
    public var pollInterval: Double

    public init(maxParallel: Int = 4, keepGoing: Bool = false, jobTimeout: Double = 3600, pollInterval: Double = 5) {
        self.maxParallel = maxParallel
        self.keepGoing = keepGoing
        self.jobTimeout = jobTimeout
        self.pollInterval = pollInterval
    }
}

/// The outcome of one move.
public struct MoveResult: Sendable, Equatable {
    public enum Status: String, Sendable { case succeeded, failed, skipped }
    public let serverID: String
    public let target: String?
    public let status: Status
    public let code: String?
    public let message: String?
}

/// What `apply` reports while it runs (for progress displays).
public enum ApplyEvent: Sendable {
    case started(serverID: String)
    case finished(MoveResult)
}

/// Carries out a plan against the cloud: live re-check, migrate, poll, confirm, journal.
public struct Applier: Sendable {
    let client: CloudClient
    let inventory: Inventory
    /// The placement model the live re-check enforces.
    let placement: CloudPlacement
    /// What the plan was made on (host types, node overrides, known layouts), if it says.
    let topology: Inventory?
    /// Who is still to arrive on which host in the current wave.
    let board = ArrivalBoard()
    let journal: Journal
    let options: ApplyOptions
    let sleep: @Sendable (Double) async -> Void
    let clock: @Sendable () -> Date
    let progress: @Sendable (String) -> Void
    let events: (@Sendable (ApplyEvent) -> Void)?

    public init(
        client: CloudClient, inventory: Inventory, journal: Journal, options: ApplyOptions = ApplyOptions(),
        sleep: @escaping @Sendable (Double) async -> Void = { try? await Task.sleep(nanoseconds: UInt64($0 * 1e9)) },
        clock: @escaping @Sendable () -> Date = { Date() }, progress: @escaping @Sendable (String) -> Void = { _ in },
        events: (@Sendable (ApplyEvent) -> Void)? = nil, placement: CloudPlacement = .any, topology: Inventory? = nil
    ) {
        self.placement = placement
        self.topology = topology
        self.events = events
        self.client = client
        self.inventory = inventory
        self.journal = journal
        self.options = options
        self.sleep = sleep
        self.clock = clock
        self.progress = progress
    }

    /// Runs the moves wave by wave. `previous` is the journal of an interrupted run (resume):
    /// finished moves are not repeated, accepted jobs are polled, uncertain ones reconciled.
    ///
    /// Before every wave after the first, all its moves are re-checked against the live state
    /// (what the earlier waves did, and whatever else changed): if one is no longer safe under
    /// the placement model, the run stops before the wave, naming the move and why; with
    /// `replan`, the moves not yet done are planned again from live state instead and the run
    /// goes on with the new plan.
    public func apply(
        _ moves: [Move], previous: [JournalRecord] = [], replan: (@Sendable ([Move]) async throws -> [Move])? = nil
    ) async throws -> [MoveResult] {
        var last: [String: JournalRecord] = [:]
        for record in previous { last[record.serverID] = record }
        var results: [String: MoveResult] = [:]
        var failedSources = Set<String>()
        var stop = false
        var remaining = moves
        var order = moves.map(\.serverID)
        var firstWave = true
        var replans = 0
        while let wave = remaining.map(\.wave).min() {
            let group = remaining.filter { $0.wave == wave }
            remaining.removeAll { $0.wave == wave }
            var runnable: [Move] = []
            for move in group {
                let dependsOnFailure = move.to.map { failedSources.contains($0) } ?? false
                if stop || dependsOnFailure {
                    let why = stop ? "an earlier migration failed or the live state drifted (use --keep-going to continue with independent moves)"
                        : "it needs room that a failed migration was to free on \(move.to ?? "pool")"
                    try await journal.append(JournalRecord(.skipped, serverID: move.serverID, target: move.to, message: why))
                    results[move.serverID] = MoveResult(serverID: move.serverID, target: move.to, status: .skipped, code: nil, message: why)
                    if let from = move.from { failedSources.insert(from) }  // it will not leave either
                } else {
                    runnable.append(move)
                }
            }
            if !firstWave, let drift = try await driftBefore(runnable, previous: last) {
                progress("before wave \(wave): \(drift.move.serverID) -> \(drift.move.to ?? "pool") is no longer safe: \(drift.code): \(drift.message)")
                // At most three re-plans: a re-plan that the live state refuses again would loop.
                if let replan, replans < 3 {
                    replans += 1
                    let pending = runnable + remaining
                    let fresh = try await replan(pending)
                    progress("re-planned \(pending.count) move(s) from live state: \(fresh.count) move(s) in \(Set(fresh.map(\.wave)).count) wave(s)")
                    let base = wave - 1
                    remaining = fresh.map { m in
                        Move(serverID: m.serverID, from: m.from, to: m.to, numaNodes: m.numaNodes, wave: base + m.wave)
                    }
                    for m in fresh where !order.contains(m.serverID) { order.append(m.serverID) }
                    for m in pending where !fresh.contains(where: { $0.serverID == m.serverID }) {
                        let why = "dropped by the re-plan: no safe target from live state"
                        try await journal.append(JournalRecord(.skipped, serverID: m.serverID, target: m.to, message: why))
                        results[m.serverID] = MoveResult(serverID: m.serverID, target: m.to, status: .skipped, code: nil, message: why)
                    }
                    continue
                }
                let message = "before wave \(wave): \(drift.message) (the live state no longer matches the plan; re-plan, or apply with --replan)"
                try await journal.append(JournalRecord(.failed, serverID: drift.move.serverID, target: drift.move.to, code: drift.code, message: message))
                results[drift.move.serverID] = MoveResult(
                    serverID: drift.move.serverID, target: drift.move.to, status: .failed, code: drift.code, message: message)
                stop = true
                remaining = runnable.filter { $0.serverID != drift.move.serverID } + remaining
                continue
            }
            firstWave = false
            // Every runnable move of the wave counts as a possible concurrent arrival on its target
            // until it has ended.
            await board.begin(runnable)
            // Up to maxParallel moves of this wave at once.
            var index = 0
            while index < runnable.count {
                let batch = Array(runnable[index..<min(runnable.count, index + max(1, options.maxParallel))])
                index += batch.count
                let outcomes = try await withThrowingTaskGroup(of: MoveResult.self) { group in
                    for move in batch {
                        let previousRecord = last[move.serverID]
                        group.addTask {
                            self.events?(.started(serverID: move.serverID))
                            let r = try await self.run(move, previous: previousRecord)
                            if r.status != .succeeded { await self.board.end(move.serverID) }
                            self.events?(.finished(r))
                            return r
                        }
                    }
                    var collected: [MoveResult] = []
                    for try await r in group { collected.append(r) }
                    return collected
                }
                for r in outcomes {
                    results[r.serverID] = r
                    progress("\(r.status.rawValue): \(r.serverID) -> \(r.target ?? "pool")\(r.message.map { " (\($0))" } ?? "")")
                    if r.status == .failed {
                        if let from = runnable.first(where: { $0.serverID == r.serverID })?.from { failedSources.insert(from) }
                        if !options.keepGoing { stop = true }
                    }
                }
            }
        }
        return order.compactMap { results[$0] }
    }

    /// The first move of a wave that the live re-check would refuse now (moves already sent
    /// in an earlier run are left to the resume logic).
    func driftBefore(_ wave: [Move], previous: [String: JournalRecord]) async throws -> (move: Move, code: String, message: String)? {
        for move in wave where previous[move.serverID] == nil || previous[move.serverID]?.event == .skipped {
            let others = wave.filter { $0.to == move.to && $0.serverID != move.serverID }.map(\.serverID)
            if let problem = try await recheck(move, concurrent: move.to == nil ? [] : others) {
                return (move, problem.code, problem.message)
            }
        }
        return nil
    }

    // MARK: One move

    func run(_ move: Move, previous: JournalRecord?) async throws -> MoveResult {
        func result(_ status: MoveResult.Status, _ code: String?, _ message: String?) async throws -> MoveResult {
            let event: JournalRecord.Event = status == .succeeded ? .succeeded : status == .failed ? .failed : .skipped
            try await journal.append(JournalRecord(event, serverID: move.serverID, target: move.to, code: code, message: message))
            return MoveResult(serverID: move.serverID, target: move.to, status: status, code: code, message: message)
        }
        // Resume: finished moves are not repeated.
        if let previous {
            switch previous.event {
            case .succeeded:
                return MoveResult(serverID: move.serverID, target: move.to, status: .succeeded, code: nil, message: "done in an earlier run")
            case .failed:
                return MoveResult(serverID: move.serverID, target: move.to, status: .failed, code: previous.code, message: previous.message)
            case .accepted:
                if let job = previous.jobID { return try await follow(move, job: job, result: result) }
            case .sending, .inProgress:
                // The request may or may not have reached the cloud: look before sending anything.
                let server = try await client.server(move.serverID)
                if isBusy(server) {
                    return try await waitForServer(move, result: result)
                }
                if server.dedicatedHostID == move.to && server.dedicatedHostID != move.from {
                    return try await result(.succeeded, nil, "found on its target after an interrupted run")
                }
            case .skipped:
                break
            }
        }
        // A plan applied again (say, with a new journal) finds its servers already in place.
        if let current = try? await client.server(move.serverID), move.to != move.from, current.dedicatedHostID == move.to,
            !isBusy(current)
        {
            return try await result(.succeeded, nil, "already on its target")
        }
        // Live re-check with the same rules as `check`.
        let concurrent = move.to == nil ? [] : await board.others(to: move.to!, than: move.serverID)
        if let problem = try await recheck(move, concurrent: concurrent) {
            return try await result(.failed, problem.code, problem.message)
        }
        try await journal.append(JournalRecord(.sending, serverID: move.serverID, target: move.to))
        let outcome: MigrateOutcome
        do {
            outcome = try await client.migrate(serverID: move.serverID, to: move.to)
        } catch {
            return try await result(.failed, error.code, error.message)
        }
        switch outcome {
        case .accepted(let job):
            try await journal.append(JournalRecord(.accepted, serverID: move.serverID, target: move.to, jobID: job))
            return try await follow(move, job: job, result: result)
        case .inProgress:
            try await journal.append(JournalRecord(.inProgress, serverID: move.serverID, target: move.to))
            return try await waitForServer(move, result: result)
        case .alreadyOnTarget:
            return try await result(.succeeded, nil, nil)
        }
    }

    func isBusy(_ server: WireServer) -> Bool {
        let status = server.status.uppercased()
        return status == "RESIZE" || status == "MIGRATING" || server.taskState != nil
    }

    typealias Record = (MoveResult.Status, String?, String?) async throws -> MoveResult

    /// Polls the job until it ends, then confirms where the server is.
    func follow(_ move: Move, job: String, result: Record) async throws -> MoveResult {
        var status = "INIT"
        return try await poll(timeoutMessage: { "job \(job) still \(status) after \(Int(options.jobTimeout)) s" }, result: result) {
            let state: WireJob
            do throws(CloudError) {
                state = try await client.job(job)
            } catch {
                return try await result(.failed, error.code, "cannot read job \(job): \(error.message)")
            }
            status = state.status
            if state.isSuccess { return try await confirm(move, result: result) }
            if state.isFailure { return try await result(.failed, state.error_code, state.fail_reason ?? "job \(job) failed") }
            return nil
        }
    }

    /// Waits until the server is idle again (job id unknown), then confirms where it is.
    func waitForServer(_ move: Move, result: Record) async throws -> MoveResult {
        try await poll(timeoutMessage: { "server still migrating after \(Int(options.jobTimeout)) s" }, result: result) {
            isBusy(try await client.server(move.serverID)) ? nil : try await confirm(move, result: result)
        }
    }

    /// Runs `step` until it returns an outcome, waiting between tries (from `pollInterval`, growing
    /// 1.5 times up to 8 times it); past `jobTimeout` the move fails with TIMEOUT.
    func poll(
        timeoutMessage: () -> String, result: Record, _ step: () async throws -> MoveResult?
    ) async throws -> MoveResult {
        let start = clock()
        var interval = options.pollInterval
        while true {
            if let outcome = try await step() { return outcome }
            if clock().timeIntervalSince(start) > options.jobTimeout { return try await result(.failed, "TIMEOUT", timeoutMessage()) }
            await sleep(interval)
            interval = min(interval * 1.5, options.pollInterval * 8)
        }
    }

    func confirm(_ move: Move, result: Record) async throws -> MoveResult {
        let server = try await client.server(move.serverID)
        if server.dedicatedHostID == move.to { return try await result(.succeeded, nil, nil) }
        return try await result(.failed, "NOT_ON_TARGET", "the job ended but the server is on \(server.dedicatedHostID ?? "the pool")")
    }

    /// The live re-check, by the same rule pipeline as `check` (`Checker`): a snapshot of the
    /// live server and target (every resident as the API shows it now) is checked under the
    /// plan's placement model. Under `any` the target's residents count with the layout the
    /// plan's topology knows for them (unknown for everything else, and for every arrival),
    /// and the other moves of the same wave to the same target, landed or not, count as
    /// concurrent arrivals (`ArrivalBoard`). The plan's topology (host types, node overrides) is used when it
    /// has one; a target whose live type or size disagrees with it is refused.
    func recheck(_ move: Move, concurrent: [String] = []) async throws -> (code: String, message: String)? {
        let server: WireServer
        do {
            server = try await client.server(move.serverID)
        } catch {
            return (error.status == 404 ? ReasonCode.serverNotFound.rawValue : (error.code ?? "HTTP \(error.status)"), error.message)
        }
        if server.dedicatedHostID != move.from {
            return ("MOVED", "server is on \(server.dedicatedHostID ?? "the pool"), the plan expected \(move.from ?? "the pool")")
        }
        let reference = topology ?? inventory
        let flavorName = server.flavor.name ?? server.flavor.id
        let zone = server.availabilityZone ?? inventory.server(move.serverID)?.availabilityZone ?? ""
        let live = Server(
            id: server.id, flavor: flavorName, status: server.status, availabilityZone: zone,
            dedicatedHostID: server.dedicatedHostID, locked: server.locked ?? false, taskState: server.taskState)
        var hosts: [Topology.Host] = []
        var servers = [live]
        var groups: [ServerGroup] = []
        var concurrentFlavors: [Flavor: Int] = [:]
        if let source = move.from, let known = reference.host(source) ?? inventory.host(source), source != move.to {
            hosts.append(known)
        }
        if let target = move.to {
            let host: WireDedicatedHost
            do {
                host = try await client.dedicatedHost(target)
            } catch {
                return (error.status == 404 ? ReasonCode.targetNotFound.rawValue : (error.code ?? "HTTP \(error.status)"), error.message)
            }
            guard let planned = reference.host(target) ?? inventory.host(target) else {
                return (ReasonCode.targetNotFound.rawValue, "host \(target) is neither in the plan's topology nor in the live inventory")
            }
            if let mismatch = Self.topologyMismatch(planned, in: reference, live: host) { return ("TOPOLOGY_MISMATCH", mismatch) }
            hosts.append(Topology.Host(
                id: planned.id, name: planned.name, hostType: planned.hostType, availabilityZone: host.availability_zone,
                state: HostState(rawValue: host.state) ?? .fault, numaNodesOverride: planned.numaNodesOverride))
            let moverGroups = Set(server.schedulerHints?.group ?? [])
            var members: [String: [String]] = [:]
            // Arrivals of the same wave count as concurrent whether they have landed yet or not.
            let wave = Set(concurrent)
            let residents = (host.instance_uuids ?? []).filter { $0 != move.serverID && !wave.contains($0) }
            for id in residents {
                let resident = try await client.server(id)
                let name = resident.flavor.name ?? resident.flavor.id
                guard reference.flavors[name] != nil else {
                    return ("TOPOLOGY_MISMATCH", "\(id) on \(target) has flavor \(name), which the plan's topology does not define; its room cannot be checked")
                }
                // A layout is known only for a server the plan saw on this very host.
                let known = reference.server(id).flatMap { $0.dedicatedHostID == target ? $0.numaNodes : nil }
                servers.append(Server(
                    id: id, flavor: name, status: resident.status, availabilityZone: resident.availabilityZone ?? host.availability_zone,
                    dedicatedHostID: target, numaNodes: known))
                for g in resident.schedulerHints?.group ?? [] where moverGroups.contains(g) { members[g, default: []].append(id) }
            }
            groups = members.sorted { $0.key < $1.key }.map { ServerGroup(id: $0.key, members: [move.serverID] + $0.value) }
            // Same-wave arrivals are not in the snapshot: their room counts as concurrent, and
            // their anti-affinity is checked here.
            let moverGroupIDs = Set((reference.groupsOfServer[move.serverID] ?? []).map { reference.serverGroups[$0].id })
                .union(moverGroups)
            for id in concurrent {
                let theirs = (reference.groupsOfServer[id] ?? []).map { reference.serverGroups[$0].id }
                if let shared = theirs.first(where: moverGroupIDs.contains) {
                    return (ReasonCode.antiAffinity.rawValue, "anti-affinity group \(shared): \(id) arrives on \(target) in the same wave")
                }
                guard let other = reference.server(id) ?? inventory.server(id), let f = reference.flavors[other.flavor] else { continue }
                concurrentFlavors[f, default: 0] += 1
            }
        }
        let snapshot = Inventory(
            hostTypes: reference.hostTypeOrder.compactMap { reference.hostTypes[$0] },
            flavors: reference.flavorOrder.compactMap { reference.flavors[$0] }, hosts: hosts, servers: servers, serverGroups: groups)
        let options = placement == .any
            ? Checker.Options(placement: .any)
            : Checker.Options(layoutPolicy: .possible, placement: .planned)  // the operator accepted the layout risk
        let target: MoveTarget = move.to.map { .host($0) } ?? .pool
        let verdict = Checker(snapshot).check(
            serverID: move.serverID, target: target, options: options, arrival: Checker.Arrival(concurrent: concurrentFlavors))
        guard let first = verdict.reasons.first else { return nil }
        return (first.code.rawValue, first.message + " (live, cloud placement \(placement.rawValue))")
    }

    /// Why a live host does not match the host the plan was made for (nil: it matches).
    static func topologyMismatch(_ planned: Topology.Host, in reference: Inventory, live: WireDedicatedHost) -> String? {
        let props = live.host_properties
        if props.host_type != planned.hostType {
            return "host \(planned.id) is of type \(props.host_type) in the cloud, \(planned.hostType) in the plan"
        }
        let capacity = reference.capacity(of: planned)
        let total = capacity.total
        if let v = props.vcpus, v != total.vcpus {
            return "host \(planned.id) has \(v) vCPUs in the cloud, \(total.vcpus) in the plan"
        }
        if let m = props.memory, m != total.memoryMiB {
            return "host \(planned.id) has \(m) MiB in the cloud, \(total.memoryMiB) MiB in the plan"
        }
        if let sockets = props.sockets, sockets != capacity.count {
            return "host \(planned.id) has \(sockets) NUMA nodes (sockets) in the cloud, \(capacity.count) in the plan"
        }
        return nil
    }
}

/// The moves of the current wave, per target, but those that failed or were skipped: the
/// concurrent arrivals of the live re-check under `any`. A move of the wave that has already
/// landed stays on the board, so every move of a wave is checked against the same set of
/// concurrent arrivals as the plan checked it against (any subset of them, anywhere), never a
/// different one whose verdict a solver might not reach.
actor ArrivalBoard {
    private var pending: [String: String] = [:]  // server -> target

    func begin(_ moves: [Move]) {
        pending = [:]
        for m in moves { if let to = m.to { pending[m.serverID] = to } }
    }

    func end(_ serverID: String) { pending[serverID] = nil }

    func others(to target: String, than serverID: String) -> [String] {
        pending.filter { $0.value == target && $0.key != serverID }.map(\.key).sorted()
    }
}
