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
    /// On resume, try failed, timed-out and unknown-outcome moves again (after the cloud has
    /// shown that their earlier request is no longer running).
    public var retryFailed: Bool

    public init(maxParallel: Int = 4, keepGoing: Bool = false, jobTimeout: Double = 3600, pollInterval: Double = 5, retryFailed: Bool = false) {
        self.maxParallel = maxParallel
        self.keepGoing = keepGoing
        self.jobTimeout = jobTimeout
        self.pollInterval = pollInterval
        self.retryFailed = retryFailed
    }
}

/// The outcome of one move.
public struct MoveResult: Sendable, Equatable {
    public enum Status: String, Sendable { case succeeded, failed, skipped }
    public let serverID: String
    public let target: String?
    public let status: Status
    /// The cloud's code (`Ecs.xxxx`) or dehplan's reason code; never empty when not succeeded.
    public let code: String?
    public let message: String?
    /// The job of the last request, when the cloud gave one.
    public var jobID: String?

    public init(serverID: String, target: String?, status: Status, code: String?, message: String?, jobID: String? = nil) {
        self.serverID = serverID
        self.target = target
        self.status = status
        self.code = code
        self.message = message
        self.jobID = jobID
    }
}

/// What the journal of earlier runs says about one server.
struct MoveHistory: Sendable {
    var last: JournalRecord
    /// A migrate request was sent (a `sending` record), and its action-log baseline.
    var sent = false
    var actionsBefore: Int?
    /// The job of the last accepted request.
    var jobID: String?
    /// When the last request was sent (the `sending` record's time), when known.
    var sentAt: Date?

    static func of(_ records: [JournalRecord]) -> [String: MoveHistory] {
        var out: [String: MoveHistory] = [:]
        for record in records {
            var h = out[record.serverID] ?? MoveHistory(last: record)
            // A move skipped after its request went out (a later run stopped before starting
            // it) is still that request's move: the skip must not hide it, or the next run sees
            // an unsent move and sends a second request while the first may have arrived.
            if record.event == .skipped && h.sent {
                out[record.serverID] = h
                continue
            }
            h.last = record
            switch record.event {
            case .sending:
                h.sent = true
                h.actionsBefore = record.actionsBefore
                h.jobID = nil
                h.sentAt = record.at.flatMap { Journal.date(from: $0) }
            case .accepted:
                h.jobID = record.jobID ?? h.jobID
            default:
                break
            }
            out[record.serverID] = h
        }
        return out
    }
}

/// What `apply` reports while it runs (for progress displays).
public enum ApplyEvent: Sendable {
    /// A wave begins with this many moves to run.
    case wave(number: Int, moves: Int)
    case started(serverID: String)
    /// The migrate request is about to go out (its `sending` record is journaled).
    case sent(serverID: String)
    /// The cloud accepted it with this job.
    case accepted(serverID: String, jobID: String)
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
        let history = MoveHistory.of(previous)
        var last: [String: JournalRecord] = [:]
        for (id, h) in history { last[id] = h.last }
        var results: [String: MoveResult] = [:]
        var failedSources = Set<String>()
        // Targets of failed moves: later waves' moves to them are held back, so that a retry
        // runs in the plan's order (the plan is proven safe in that order only).
        var failedTargets = Set<String>()
        var stop = false
        /// Records a move that is not attempted; it neither leaves its source nor arrives.
        func skip(_ move: Move, _ why: String) async throws {
            try await journal.append(JournalRecord(.skipped, serverID: move.serverID, target: move.to, message: why))
            results[move.serverID] = MoveResult(serverID: move.serverID, target: move.to, status: .skipped, code: nil, message: why)
            if let from = move.from { failedSources.insert(from) }
            if let to = move.to { failedTargets.insert(to) }
        }
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
                let afterFailure = move.to.map { failedTargets.contains($0) } ?? false
                if stop || dependsOnFailure || afterFailure {
                    try await skip(move, stop ? "an earlier migration failed or the live state drifted (use --keep-going to continue with independent moves)"
                        : dependsOnFailure ? "it needs room that a failed migration was to free on \(move.to ?? "pool")"
                        : "an earlier wave's migration to \(move.to ?? "pool") failed; the plan is safe only in its order, so this one waits for --resume --retry-failed")
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
            if !runnable.isEmpty { events?(.wave(number: wave, moves: runnable.count)) }
            // Every runnable move of the wave counts as a possible concurrent arrival on its target
            // until it has ended.
            await board.begin(runnable)
            // Up to maxParallel moves of this wave in flight; each that ends makes room for the
            // next (a slow move holds one slot, not the whole batch). Tasks never throw a cloud
            // error (faults are waited out per move), so no move is ever cancelled because of
            // another; a journal error ends the run once the moves in flight have ended.
            var journalError: (any Error)?
            var notStarted: [Move] = []
            await withTaskGroup(of: (Move, Result<MoveResult, any Error>).self) { group in
                var queue = runnable[...]
                var inFlight = 0
                func launch() {
                    while inFlight < max(1, options.maxParallel), let move = queue.popFirst() {
                        let previousHistory = history[move.serverID]
                        inFlight += 1
                        group.addTask {
                            self.events?(.started(serverID: move.serverID))
                            do {
                                let r = try await self.run(move, history: previousHistory)
                                if r.status != .succeeded { await self.board.end(move.serverID) }
                                self.events?(.finished(r))
                                return (move, .success(r))
                            } catch {
                                return (move, .failure(error))
                            }
                        }
                    }
                }
                launch()
                while let (move, outcome) = await group.next() {
                    inFlight -= 1
                    switch outcome {
                    case .failure(let error):
                        journalError = journalError ?? error
                    case .success(let r):
                        results[r.serverID] = r
                        progress("\(r.status.rawValue): \(r.serverID) -> \(r.target ?? "pool")\(r.message.map { " (\($0))" } ?? "")")
                        if r.status == .failed {
                            if let from = move.from { failedSources.insert(from) }
                            if let to = move.to { failedTargets.insert(to) }
                            if !options.keepGoing { stop = true }
                        }
                    }
                    // After a failure (without --keep-going) or a journal error, nothing new starts.
                    if stop || journalError != nil {
                        notStarted += queue
                        queue = []
                    }
                    launch()
                }
            }
            if let journalError { throw journalError }
            for move in notStarted {
                await board.end(move.serverID)
                try await skip(move, "an earlier migration failed (use --keep-going to continue with independent moves)")
            }
        }
        return order.compactMap { results[$0] }
    }

    /// The first move of a wave that the live re-check would refuse now (moves already sent
    /// in an earlier run are left to the resume logic).
    func driftBefore(_ wave: [Move], previous: [String: JournalRecord]) async throws -> (move: Move, code: String, message: String)? {
        let checked = wave.enumerated().filter { previous[$0.element.serverID] == nil || previous[$0.element.serverID]?.event == .skipped }
        let deadline = clock().addingTimeInterval(options.jobTimeout)
        // Re-checked up to maxParallel at a time; the first problem in wave order is reported.
        var problems: [Int: (code: String, message: String)] = [:]
        await withTaskGroup(of: (Int, (code: String, message: String)?).self) { group in
            var queue = checked[...]
            var inFlight = 0
            func launch() {
                while inFlight < max(1, options.maxParallel), let (i, move) = queue.popFirst() {
                    inFlight += 1
                    let others = wave.filter { $0.to == move.to && $0.serverID != move.serverID }.map(\.serverID)
                    group.addTask { (i, await self.recheck(move, concurrent: move.to == nil ? [] : others, deadline: deadline)) }
                }
            }
            launch()
            while let (i, problem) = await group.next() {
                inFlight -= 1
                if let problem { problems[i] = problem }
                launch()
            }
        }
        guard let first = problems.keys.min(), let problem = problems[first] else { return nil }
        return (wave[first], problem.code, problem.message)
    }

    // MARK: One move

    /// One move, never throwing for the cloud's sake: transient faults are waited out until
    /// --job-timeout; only a journal that cannot be written throws.
    func run(_ move: Move, history: MoveHistory?) async throws -> MoveResult {
        let deadline = clock().addingTimeInterval(options.jobTimeout)
        let result = recorder(move)
        if let history {
            switch history.last.event {
            case .succeeded:
                return MoveResult(serverID: move.serverID, target: move.to, status: .succeeded, code: nil, message: "done in an earlier run")
            case .failed where !options.retryFailed:
                return MoveResult(
                    serverID: move.serverID, target: move.to, status: .failed, code: history.last.code ?? "FAILED",
                    message: (history.last.message ?? "failed") + " (in an earlier run; --resume --retry-failed tries it again)")
            case .skipped:
                break
            case .accepted, .sending, .inProgress, .failed:
                if let settled = try await settle(move, history: history, deadline: deadline, result: result) { return settled }
            }
        }
        return try await fresh(move, deadline: deadline, result: result)
    }

    typealias Record = (MoveResult.Status, String?, String?, String?) async throws -> MoveResult

    /// Journals a move's final state and makes its result.
    func recorder(_ move: Move) -> Record {
        { status, code, message, job in
            let event: JournalRecord.Event = status == .succeeded ? .succeeded : status == .failed ? .failed : .skipped
            try await journal.append(JournalRecord(event, serverID: move.serverID, target: move.to, jobID: job, code: code, message: message))
            return MoveResult(serverID: move.serverID, target: move.to, status: status, code: code, message: message, jobID: job)
        }
    }

    /// What became of the request an earlier run sent: followed to its end when it still runs,
    /// done when the server is on its target, nil when a new request may be sent (the cloud
    /// shows the earlier one never arrived, or ended and --retry-failed asks for another).
    /// Nothing is sent while the cloud cannot tell.
    func settle(_ move: Move, history: MoveHistory, deadline: Date, result: Record, mayRetry: Bool? = nil) async throws -> MoveResult? {
        let mayRetry = mayRetry ?? options.retryFailed
        if !history.sent && history.last.event == .failed { return nil }  // refused before sending: nothing to settle
        if let job = history.jobID {
            switch await patiently(until: deadline, { () async throws(CloudError) -> WireJob in try await client.job(job) }) {
            case .value(let state) where !state.isSuccess && !state.isFailure:
                return try await follow(move, job: job, deadline: deadline, result: result)
            case .value, .refused:
                break  // ended, or forgotten by the cloud: the server's state says the rest
            case .timedOut(let error):
                return try await result(.failed, "TIMEOUT", "cannot read job \(job) within --job-timeout: \(error.message)", job)
            }
        }
        // A request never answered may still be on its way: the log is read once it no longer can
        // be (the client's settle window, the same that its own lost answers wait out).
        if history.sent, history.jobID == nil, history.last.event == .sending, let sentAt = history.sentAt {
            let quiet = min(sentAt.addingTimeInterval(client.retry.settleWindow), deadline).timeIntervalSince(clock())
            if quiet > 0 {
                progress("\(move.serverID): an earlier migrate request was never answered; waiting \(Int(quiet.rounded(.up))) s until it can no longer arrive")
                await sleep(quiet)
            }
        }
        let reconciled = await patiently(until: deadline) { () async throws(CloudError) -> Reconciliation in
            try await client.reconcile(serverID: move.serverID, target: move.to, source: move.from, baseline: history.actionsBefore)
        }
        switch reconciled {
        case .value(.inProgress):
            return try await waitForServer(move, deadline: deadline, result: result)
        case .value(.onTarget):
            return try await result(.succeeded, nil, "found on its target after an interrupted run", history.jobID)
        case .value(.notArrived):
            return nil
        case .value(.arrivedAndEnded(let request, let message)):
            if mayRetry { return nil }
            if history.last.event == .failed {
                return MoveResult(
                    serverID: move.serverID, target: move.to, status: .failed, code: history.last.code ?? "JOB_FAILED",
                    message: history.last.message, jobID: history.jobID)
            }
            return try await result(
                .failed, "JOB_FAILED",
                "the migrate request \(request) arrived and ended without moving the server\(message.map { " (\($0))" } ?? ""); --resume --retry-failed sends it again",
                history.jobID)
        case .value(.cannotTell(let why)):
            return try await result(
                .failed, "UNKNOWN_OUTCOME",
                "an earlier run sent the migrate request and its answer was never recorded; \(why), so it is not sent again: look at the server in the console, then remove its lines from the journal to send it anew",
                history.jobID)
        case .refused(let error):
            return try await result(.failed, Self.code(error), error.message, history.jobID)
        case .timedOut(let error):
            return try await result(.failed, "TIMEOUT", "the cloud did not answer within --job-timeout: \(error.message)", history.jobID)
        }
    }

    /// A new request: live re-check, action-log baseline, `sending`, POST, then follow it.
    /// Throttling and lost answers are waited out (re-checking before every new POST) until
    /// `deadline`.
    func fresh(_ move: Move, deadline: Date, result: Record) async throws -> MoveResult {
        var wait = options.pollInterval
        while true {
            // A plan applied again (say, with a new journal) finds its servers already in place.
            let current = await patiently(until: deadline) { () async throws(CloudError) -> WireServer in
                try await client.server(move.serverID)
            }
            if case .value(let server) = current, move.to != move.from, server.dedicatedHostID == move.to, !isBusy(server) {
                return try await result(.succeeded, nil, "already on its target", nil)
            }
            // Live re-check with the same rules as `check` (on the server just read).
            let concurrent = move.to == nil ? [] : await board.others(to: move.to!, than: move.serverID)
            if let problem = await recheck(move, concurrent: concurrent, deadline: deadline, server: current) {
                return try await result(.failed, problem.code, problem.message, nil)
            }
            // How many migrate actions the server's log shows now: a lost answer is judged against it.
            var baseline: Int?
            if case .value(let actions) = await patiently(until: deadline, { () async throws(CloudError) -> [WireInstanceAction]? in
                try await client.migrateActions(move.serverID)
            }) {
                baseline = actions?.count
            }
            try await journal.append(JournalRecord(.sending, serverID: move.serverID, target: move.to, actionsBefore: baseline))
            events?(.sent(serverID: move.serverID))
            let sentAt = clock()
            let outcome: MigrateOutcome
            do {
                outcome = try await client.migrate(serverID: move.serverID, to: move.to, source: move.from, baseline: baseline)
            } catch {
                if error.code == "UNKNOWN_OUTCOME" { return try await result(.failed, "UNKNOWN_OUTCOME", error.message, nil) }
                guard error.isTransient else { return try await result(.failed, Self.code(error), error.message, nil) }
                // Even a throttling answer may come from the client's reading of the server after
                // a lost answer, so every transient error is settled against the baseline before
                // anything else is sent (never a second request while one may have arrived).
                do {
                    let sent = MoveHistory(
                        last: JournalRecord(.sending, serverID: move.serverID, target: move.to, actionsBefore: baseline), sent: true,
                        actionsBefore: baseline, sentAt: sentAt)
                    if let settled = try await settle(move, history: sent, deadline: deadline, result: result, mayRetry: false) {
                        return settled
                    }
                }
                // Still throttled, or answers lost while the log showed the request never arrived.
                if clock() >= deadline {
                    return try await result(.failed, "TIMEOUT", "the cloud kept refusing or losing the request for --job-timeout: \(error.message)", nil)
                }
                await sleep(min(wait, max(0, deadline.timeIntervalSince(clock()))))
                wait = min(wait * 2, min(30, options.pollInterval * 8))
                continue
            }
            switch outcome {
            case .accepted(let job):
                try await journal.append(JournalRecord(.accepted, serverID: move.serverID, target: move.to, jobID: job))
                events?(.accepted(serverID: move.serverID, jobID: job))
                return try await follow(move, job: job, deadline: deadline, result: result)
            case .inProgress:
                try await journal.append(JournalRecord(.inProgress, serverID: move.serverID, target: move.to))
                return try await waitForServer(move, deadline: deadline, result: result)
            case .alreadyOnTarget:
                return try await result(.succeeded, nil, nil, nil)
            case .arrivedAndFailed(let request, let message):
                return try await result(
                    .failed, "JOB_FAILED",
                    "the answer was lost; the migrate request \(request) arrived and ended without moving the server\(message.map { " (\($0))" } ?? ""); --resume --retry-failed sends it again",
                    nil)
            }
        }
    }

    /// A code for a final refusal: the cloud's own, else `HTTP <status>`.
    static func code(_ error: CloudError) -> String {
        if let code = error.code, !code.isEmpty { return code }
        return error.status == 404 ? "NOT_FOUND" : "HTTP \(error.status)"
    }

    func isBusy(_ server: WireServer) -> Bool {
        let status = server.status.uppercased()
        return status == "RESIZE" || status == "MIGRATING" || server.taskState != nil
    }

    /// The outcome of a read that waits out transient faults.
    enum Patience<T: Sendable>: Sendable {
        case value(T)
        /// A definitive error answer (4xx but throttling).
        case refused(CloudError)
        /// Transient faults until the deadline.
        case timedOut(CloudError)
    }

    /// Runs `body` until it answers, waiting out transient faults (429, 5xx, lost answers) with
    /// back-off until `deadline`.
    func patiently<T: Sendable>(until deadline: Date, _ body: () async throws(CloudError) -> T) async -> Patience<T> {
        var wait = options.pollInterval
        while true {
            do {
                return .value(try await body())
            } catch {
                guard error.isTransient else { return .refused(error) }
                if clock() >= deadline { return .timedOut(error) }
                await sleep(min(wait, max(0, deadline.timeIntervalSince(clock()))))
                wait = min(wait * 2, min(30, options.pollInterval * 8))
            }
        }
    }

    /// Polls the job until it ends, then confirms where the server is. A job the cloud no
    /// longer knows is followed through the server's state.
    func follow(_ move: Move, job: String, deadline: Date, result: Record) async throws -> MoveResult {
        var status = "INIT"
        return try await poll(until: deadline, timeoutMessage: { "job \(job) still \(status) after \(Int(options.jobTimeout)) s" }, job: job, result: result) {
            switch await patiently(until: deadline, { () async throws(CloudError) -> WireJob in try await client.job(job) }) {
            case .value(let state):
                status = state.status
                if state.isSuccess { return try await confirm(move, deadline: deadline, job: job, result: result) }
                if state.isFailure {
                    return try await result(.failed, state.error_code ?? "JOB_FAILED", state.fail_reason ?? "job \(job) failed", job)
                }
                return nil
            case .refused:
                return try await waitForServer(move, deadline: deadline, job: job, result: result)
            case .timedOut:
                return nil  // poll reports the timeout
            }
        }
    }

    /// Waits until the server is idle again (job id unknown), then confirms where it is.
    func waitForServer(_ move: Move, deadline: Date, job: String? = nil, result: Record) async throws -> MoveResult {
        try await poll(until: deadline, timeoutMessage: { "server still migrating after \(Int(options.jobTimeout)) s" }, job: job, result: result) {
            switch await patiently(until: deadline, { () async throws(CloudError) -> WireServer in try await client.server(move.serverID) }) {
            case .value(let server):
                if isBusy(server) { return nil }
                return try await confirm(move, deadline: deadline, job: job, result: result)
            case .refused(let error):
                return try await result(.failed, Self.code(error), error.message, job)
            case .timedOut:
                return nil
            }
        }
    }

    /// Runs `step` until it returns an outcome, waiting between tries (from `pollInterval`, growing
    /// 1.5 times up to 8 times it); past `deadline` the move fails with TIMEOUT.
    func poll(
        until deadline: Date, timeoutMessage: () -> String, job: String?, result: Record, _ step: () async throws -> MoveResult?
    ) async throws -> MoveResult {
        var interval = options.pollInterval
        while true {
            if let outcome = try await step() { return outcome }
            if clock() >= deadline { return try await result(.failed, "TIMEOUT", timeoutMessage(), job) }
            await sleep(min(interval, max(0, deadline.timeIntervalSince(clock()))))
            interval = min(interval * 1.5, options.pollInterval * 8)
        }
    }

    func confirm(_ move: Move, deadline: Date, job: String?, result: Record) async throws -> MoveResult {
        switch await patiently(until: deadline, { () async throws(CloudError) -> WireServer in try await client.server(move.serverID) }) {
        case .value(let server):
            if server.dedicatedHostID == move.to { return try await result(.succeeded, nil, nil, job) }
            if job == nil {
                // Followed through the server's state (the answer with the job id was lost): the
                // migration ran and ended where it started.
                return try await result(
                    .failed, "JOB_FAILED",
                    "the migration ended without moving the server (it is on \(server.dedicatedHostID ?? "the pool")); the job id was never received, so its error code is unknown; --resume --retry-failed sends it again",
                    nil)
            }
            return try await result(.failed, "NOT_ON_TARGET", "job \(job!) ended in SUCCESS but the server is on \(server.dedicatedHostID ?? "the pool")", job)
        case .refused(let error):
            return try await result(.failed, Self.code(error), error.message, job)
        case .timedOut(let error):
            return try await result(.failed, "TIMEOUT", "the job ended but the server could not be read within --job-timeout: \(error.message)", job)
        }
    }

    /// The live re-check, by the same rule pipeline as `check` (`Checker`): a snapshot of the
    /// live server and target (every resident as the API shows it now) is checked under the
    /// plan's placement model. Under `any` the target's residents count with the layout the
    /// plan's topology knows for them (unknown for everything else, and for every arrival),
    /// and the other moves of the same wave to the same target, landed or not, count as
    /// concurrent arrivals (`ArrivalBoard`). The plan's topology (host types, node overrides) is used when it
    /// has one; a target whose live type or size disagrees with it is refused.
    /// `server`: the mover as just read (with its fault, if the read failed), to read it once.
    func recheck(_ move: Move, concurrent: [String] = [], deadline: Date, server read0: Patience<WireServer>? = nil) async -> (code: String, message: String)? {
        func read<T: Sendable>(_ body: () async throws(CloudError) -> T, notFound: ReasonCode, done: Patience<T>? = nil) async -> Result<T, Refusal> {
            let outcome: Patience<T>
            if let done { outcome = done } else { outcome = await patiently(until: deadline, body) }
            switch outcome {
            case .value(let v): return .success(v)
            case .refused(let error):
                return .failure(Refusal(code: error.status == 404 ? notFound.rawValue : Self.code(error), message: error.message))
            case .timedOut(let error):
                return .failure(Refusal(code: "TIMEOUT", message: "the live re-check could not read the cloud within --job-timeout: \(error.message)"))
            }
        }
        let server: WireServer
        switch await read({ () async throws(CloudError) -> WireServer in try await client.server(move.serverID) }, notFound: .serverNotFound, done: read0) {
        case .success(let s): server = s
        case .failure(let r): return (r.code, r.message)
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
            switch await read({ () async throws(CloudError) -> WireDedicatedHost in try await client.dedicatedHost(target) }, notFound: .targetNotFound) {
            case .success(let h): host = h
            case .failure(let r): return (r.code, r.message)
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
            // The host's server list names residents and their flavors in one request per 100
            // (a flavor id that is a flavor of the plan's topology is taken as its name). A
            // resident it leaves out (the details' `instance_uuids` name it), whose flavor id the
            // topology does not know, or whose anti-affinity groups matter (the mover is in a
            // group; the list does not show groups) is read on its own, as is every resident
            // when the list is refused. Residents are the union of both: none is ever dropped.
            var listed: [String: WireHostServer] = [:]
            var listedOrder: [String] = []
            if moverGroups.isEmpty {
                switch await read({ () async throws(CloudError) -> [WireHostServer] in try await client.serversOnHost(target) }, notFound: .targetNotFound) {
                case .success(let list):
                    for s in list where reference.flavors[s.flavor.id] != nil && listed[s.id] == nil {
                        listed[s.id] = s
                        listedOrder.append(s.id)
                    }
                case .failure(let r) where r.code == "TIMEOUT": return (r.code, r.message)
                case .failure: break  // refused: every resident is read on its own below
                }
            }
            // Arrivals of the same wave count as concurrent whether they have landed yet or not.
            let wave = Set(concurrent)
            let uuids = host.instance_uuids ?? []
            let named = Set(uuids)
            let residents = (uuids + listedOrder.filter { !named.contains($0) }).filter { $0 != move.serverID && !wave.contains($0) }
            for id in residents {
                // A layout is known only for a server the plan saw on this very host.
                let known = reference.server(id).flatMap { $0.dedicatedHostID == target ? $0.numaNodes : nil }
                if let entry = listed[id] {
                    servers.append(Server(
                        id: id, flavor: entry.flavor.id, status: entry.status ?? "", availabilityZone: host.availability_zone,
                        dedicatedHostID: target, numaNodes: known))
                    continue
                }
                let resident: WireServer
                switch await read({ () async throws(CloudError) -> WireServer in try await client.server(id) }, notFound: .serverNotFound) {
                case .success(let r): resident = r
                case .failure(let r): return (r.code, "reading \(id) on \(target): \(r.message)")
                }
                let name = resident.flavor.name ?? resident.flavor.id
                guard reference.flavors[name] != nil else {
                    return ("TOPOLOGY_MISMATCH", "\(id) on \(target) has flavor \(name), which the plan's topology does not define; its room cannot be checked")
                }
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

/// Why the live re-check could not read what it needed.
struct Refusal: Error {
    let code: String
    let message: String
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
