// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import CloudAPI
import Executor
import Foundation
import GLPK
import Planner
import Topology

/// `dehplan apply`: carry out a plan against the cloud.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Carry out a plan: live re-check, migrate, poll the job, confirm; journaled and resumable.",
        discussion: """
            Per move: a live re-check by the same rules as `check` (server still SHUTOFF, unlocked, idle and on its source; target available, of the type and size the plan was made for; same availability zone; flavor accepted; anti-affinity; and the NUMA fit under --cloud-placement: with any, the default, the move must fit whatever nodes the cloud picked for the servers there and picks for the other moves of the same wave, using the layouts the plan's topology knows), then POST migrate, then the job is polled until SUCCESS or FAIL, then the server is confirmed on its target. Waves run in order, up to --max-parallel moves at once. The first failure stops the run unless --keep-going, which skips only moves that need room the failed one was to free.

            Every step is appended to the journal (JSON lines, fsynced). After an interruption, even kill -9, run again with --resume: finished moves are not repeated, accepted jobs are followed, and a request whose answer was never recorded is reconciled from the server's state before anything is sent again.

            Ctrl-C stops at once: it lists the requests in flight (the cloud goes on with them) and prints the --resume command line, which settles them with the cloud before sending anything. Progress lines are written as they happen, also into a pipe or file.

            Exit 0 when every move succeeded, 4 when one failed, 130 on Ctrl-C, 2 on invalid input, 1 on other errors.
            """
    )

    @Argument(help: ArgumentHelp("Plan file written by `dehplan plan --out`.", valueName: "plan"))
    var plan: String

    @OptionGroup var cloud: CloudOptions

    @Option(help: ArgumentHelp("Journal file (default: PLAN.journal).", valueName: "file")) var journal: String?
    @Flag(help: "Finish an interrupted run recorded in the journal (the journal must exist and belong to this plan).") var resume = false
    @Flag(help: "With --resume: try failed, timed-out and unknown-outcome moves again, once the cloud shows their earlier request is no longer running (implies --resume).")
    var retryFailed = false
    @Flag(help: "Print the requests that would be sent; change nothing.") var dryRun = false
    @Option(parsing: .unconditional, help: "Moves in flight at once.") var maxParallel: Int = 4
    @Flag(help: "Go on with independent moves after a failure.") var keepGoing = false
    @Option(parsing: .unconditional, help: "Seconds to wait for one job.") var jobTimeout: Double = 3600
    @Option(parsing: .unconditional, help: "First seconds between job polls (grows to 8 times this).") var pollInterval: Double = 5
    @Option(name: [.customShort("f"), .long], help: "Output format: text or json (schema in docs/JSON.md).") var format: OutputFormat = .text
    @Option(name: .long, help: cloudPlacementHelp) var cloudPlacement: CloudPlacement = .any
    @Flag(help: "Carry out a partial plan (one that leaves some servers unplaced).") var allowPartial = false
    @Flag(help: "When a wave is no longer safe on the live state (drift), plan the remaining moves again from live state instead of stopping.")
    var replan = false
    @Flag(name: [.short, .long], help: "Do not ask before sending (apply asks only when standard input is a terminal).")
    var yes = false
    @OptionGroup var verbosity: VerbosityOptions

    /// On a terminal, before anything is sent: one screen of what is about to happen, and a
    /// question (standard error, so that standard output stays the result). Anything but
    /// "y"/"yes", or the end of input, ends the run with nothing sent (exit 1).
    func confirm(_ moves: [Move], client: CloudClient) throws {
        let waves = Set(moves.map(\.wave)).count
        let sources = Set(moves.compactMap(\.from)), targets = Set(moves.compactMap(\.to))
        var lines = [
            "About to migrate \(moves.count) server(s) in \(waves) wave(s), from \(sources.count) host(s) to \(targets.count) host(s)\(moves.contains { $0.to == nil } ? " and the public pool" : ""),",
            "on \(client.ecsEndpoint.absoluteString) (project \(client.projectID)), \(resume || retryFailed ? "resuming the journal" : "as a new run"):",
        ]
        for move in moves.sorted(by: { ($0.wave, $0.serverID) < ($1.wave, $1.serverID) }).prefix(12) {
            lines.append("  wave \(move.wave): \(move.serverID)  \(move.from ?? "pool") -> \(move.to ?? "pool")")
        }
        if moves.count > 12 { lines.append("  ... and \(moves.count - 12) more (all of them: --dry-run)") }
        lines.append("Proceed? [y/N] ")
        FileHandle.standardError.write(Data(lines.joined(separator: "\n").utf8))
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        guard answer == "y" || answer == "yes" else {
            throw CLIError.runtime("\naborted: nothing was sent (pass --yes to skip this question)")
        }
    }

    func validate() throws {
        if maxParallel < 1 { throw ValidationError("--max-parallel must be at least 1") }
        if !(jobTimeout > 0) || !(pollInterval > 0) { throw ValidationError("--job-timeout and --poll-interval must be positive") }
    }

    func run() async throws {
        let loaded: Plan
        do {
            loaded = try Plan.load(fromFile: plan)
        } catch {
            throw CLIError.invalidInput("error: invalid plan\n" + error.description)
        }
        let moves = loaded.moves
        let console = verbosity.console
        if loaded.status == .partial || (loaded.status == .infeasible && !loaded.unplaced.isEmpty), !allowPartial {
            throw CLIError.invalidInput(
                "error: the plan \(plan) is \(loaded.status.rawValue.uppercased()): \(loaded.unplaced.count) server(s) unplaced (\(loaded.unplaced.prefix(3).map(\.serverID).joined(separator: ", "))); pass --allow-partial to carry out the moves it has")
        }
        if loaded.placement != cloudPlacement && cloudPlacement == .any {
            console.info("note: the plan was made under --cloud-placement \(loaded.placement.rawValue); the live re-check enforces any, so moves that are safe only under \(loaded.placement.rawValue) are refused before sending")
        }
        let client = try await cloud.client(trace: verbosity.verbose, patient: true, quiet: verbosity.quiet)
        if dryRun {
            var requests: [JSON] = []
            for move in moves.sorted(by: { ($0.wave, $0.serverID) < ($1.wave, $1.serverID) }) {
                let body = CloudClient.migrateBody(to: move.to)
                let url = "\(client.ecsEndpoint.absoluteString)/v1/\(client.projectID)/cloudservers/\(move.serverID)/migrate"
                if format == .text { console.result("wave \(move.wave): POST \(url) \(body)") }
                requests.append(.object([
                    ("wave", .int(move.wave)), ("method", .string("POST")), ("url", .string(url)), ("body", .string(body)),
                ]))
            }
            if format == .json { console.result(JSON.object([("dry_run", .bool(true)), ("requests", .array(requests))]).serialized()) }
            return
        }
        if !yes && isatty(STDIN_FILENO) != 0 { try confirm(moves, client: client) }
        let journalPath = journal ?? plan + ".journal"
        let resuming = resume || retryFailed
        let planFingerprint = Journal.fingerprint(of: moves)
        if resuming && !FileManager.default.fileExists(atPath: journalPath) {
            throw CLIError.invalidInput(
                "error: --resume: there is no journal \(journalPath); an interrupted run of \(plan) writes it there unless --journal named another file")
        }
        // The lock first: a second apply on this journal stops here, before reading anything.
        let journalFile: Journal
        do {
            journalFile = try Journal(path: journalPath)
        } catch let locked as JournalLocked {
            throw CLIError.invalidInput("error: \(locked.description)")
        }
        let contents = try Journal.read(path: journalPath)
        if journalFile.repairedBytes > 0 {
            console.info("warning: the journal \(journalPath) ended in a torn line (\(journalFile.repairedBytes) bytes, a crash in mid-write); it was cut off")
        }
        if !contents.garbage.isEmpty {
            console.info("warning: the journal \(journalPath) has lines that are not journal records (line \(contents.garbage.prefix(10).map(String.init).joined(separator: ", "))); they were skipped")
        }
        if !contents.records.isEmpty && !resuming {
            throw CLIError.invalidInput("error: the journal \(journalPath) already records a run; pass --resume to finish it, or remove it to start over")
        }
        if resuming {
            if let header = contents.headers.first {
                if header.planFingerprint != planFingerprint {
                    throw CLIError.invalidInput(
                        "error: the journal \(journalPath) records a run of another plan (plan fingerprint \(header.planFingerprint); \(plan) has \(planFingerprint)); resume with that plan's journal, or start this plan with a new --journal")
                }
                if header.projectID != client.projectID {
                    throw CLIError.invalidInput(
                        "error: the journal \(journalPath) records a run in project \(header.projectID), not \(client.projectID)")
                }
            } else {
                // A journal from before headers: it must at least agree with the plan's moves.
                let planned = Dictionary(moves.map { ($0.serverID, $0.to) }, uniquingKeysWith: { a, _ in a })
                if let stray = contents.records.first(where: { record in planned[record.serverID].map { $0 != record.target } ?? true }) {
                    throw CLIError.invalidInput(
                        "error: the journal \(journalPath) records \(stray.serverID) -> \(stray.target ?? "pool"), which is not a move of \(plan); it belongs to another plan")
                }
            }
        }
        try await journalFile.append(JournalHeader(
            planFingerprint: planFingerprint, endpoint: client.ecsEndpoint.absoluteString, projectID: client.projectID,
            version: Dehplan.version))
        let previous = contents.records
        let inventory: Inventory
        do {
            // The run's patience (5 minutes a request) only while the cloud answers (throttling,
            // 5xx): nothing has been sent yet, and an endpoint that does not answer at all
            // (mistyped, a network down) is reported in seconds.
            var first = client.retry
            first.patienceNeedsAnAnswer = true
            inventory = try await LiveInventory.fetch(client.retrying(first))
        } catch {
            throw cloudFailure("reading the live inventory from \(client.ecsEndpoint.absoluteString) failed", error)
        }
        let quiet = format == .json || verbosity.quiet
        // On a terminal: one live line (done/total, running, failed, elapsed); elsewhere plain lines.
        let live = !quiet && isatty(STDOUT_FILENO) != 0
        // What is in flight and how many moves have ended: for Ctrl-C, the live line, and the
        // running count that ends each "succeeded:/failed:" line.
        let inFlight = InFlight(moves: moves)
        let tracker = ProgressLine(inFlight)
        let started = monotonicSeconds()
        let stamp: @Sendable () -> String = { String(format: "[%6.1f s]", monotonicSeconds() - started) }
        // Progress lines go out as they happen, also into a pipe or file (`| tee apply.log`),
        // where standard output is otherwise block-buffered until the end: fflush(nil) after each.
        let plain: @Sendable (String) -> Void = { line in
            if !quiet && !live {
                inFlight.printLine(line, stamp: stamp)
            }
        }
        var events: (@Sendable (ApplyEvent) -> Void)?
        if live {
            events = { @Sendable event in tracker.update(event) }
        } else if format == .json && !verbosity.quiet {
            // JSON lines on standard error (standard output stays the one result document).
            events = { @Sendable event in
                let line = ApplyProgress.json(event, elapsed: monotonicSeconds() - started).serialized(pretty: false) + "\n"
                FileHandle.standardError.write(Data(line.utf8))
            }
        } else if !quiet {
            events = { @Sendable event in
                if let text = ApplyProgress.text(event) {
                    print("\(stamp()) \(text)")
                    fflush(nil)
                }
            }
        }
        // Ctrl-C: say what is in flight and how to resume, then exit 130. Stopping at once is
        // safe: every request is journaled before it goes out, and --resume settles unanswered
        // ones with the cloud before sending anything.
        let shown = events
        events = { @Sendable event in
            inFlight.update(event)
            shown?(event)
        }
        let resumeLine = ApplyCommandLine.resume(CommandLine.arguments, journal: journalPath, retryFailed: false)
        let interrupt = Interrupt.install {
            if live { tracker.finish() }
            FileHandle.standardError.write(Data((inFlight.report(journal: journalPath, resume: resumeLine) + "\n").utf8))
            Foundation.exit(ExitStatus.interrupted)
        }
        defer { interrupt.cancel() }
        let applier = Applier(
            client: client, inventory: inventory, journal: journalFile,
            options: ApplyOptions(
                maxParallel: maxParallel, keepGoing: keepGoing, jobTimeout: jobTimeout, pollInterval: pollInterval, retryFailed: retryFailed),
            progress: plain, events: events, placement: cloudPlacement, topology: loaded.topology)
        let placement = cloudPlacement
        let topology = loaded.topology
        var replanner: (@Sendable ([Move]) async throws -> [Move])?
        if replan {
            replanner = { @Sendable pending in
                try await Self.replan(pending, client: client, topology: topology, placement: placement)
            }
        }
        let results = try await applier.apply(moves, previous: previous, replan: replanner)
        if live { tracker.finish() }
        let failed = results.filter { $0.status == .failed }
        let planned = Dictionary(moves.map { ($0.serverID, $0) }, uniquingKeysWith: { a, _ in a })
        let emptied = ApplyProgress.emptied(results: results, moves: planned, inventory: inventory)
        switch format {
        case .json:
            console.result(JSON.object([
                ("results", .array(results.map { r in
                    .object([
                        ("server_id", .string(r.serverID)), ("from", .optionalString(planned[r.serverID]?.from)),
                        ("to", .optionalString(r.target)), ("wave", planned[r.serverID].map { .int($0.wave) } ?? .null),
                        ("status", .string(r.status.rawValue)),
                        ("code", .optionalString(r.code)), ("message", .optionalString(r.message)),
                        ("job_id", .optionalString(r.jobID)),
                    ])
                })),
                ("hosts_emptied", .array(emptied.map { .string($0) })),
                ("journal", .string(journalPath)),
            ]).serialized())
        case .text:
            let style = console.style
            let done = results.filter { $0.status == .succeeded }.count
            var table = TextTable(["WAVE", "SERVER", "FROM", "TO", "STATUS", "JOB", "CODE", "MESSAGE"])
            for r in results.sorted(by: { ((planned[$0.serverID]?.wave ?? 0), $0.serverID) < ((planned[$1.serverID]?.wave ?? 0), $1.serverID) }) {
                table.add([planned[r.serverID].map { String($0.wave) } ?? "", r.serverID, planned[r.serverID]?.from ?? "pool",
                           r.target ?? "pool", r.status.rawValue, r.jobID ?? "", r.code ?? "", r.message ?? ""])
            }
            table.colour = { column, text in
                guard column == 4 else { return nil }
                return text == "succeeded" ? .good : (text == "failed" ? .bad : .warn)
            }
            if !results.isEmpty { console.result(table.render(style: style)) }
            var codes: [String: Int] = [:]
            for r in failed { codes[r.code ?? "FAILED", default: 0] += 1 }
            let why = codes.isEmpty ? "" : " (" + codes.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", ") + ")"
            let summary = "\(done) of \(moves.count) migrations succeeded, \(failed.count) failed\(why), \(results.count - done - failed.count) skipped, \(emptied.count) host(s) emptied\(emptied.isEmpty ? "" : " (" + emptied.prefix(8).joined(separator: ", ") + (emptied.count > 8 ? ", ..." : "") + ")"); journal \(journalPath)"
            console.result(failed.isEmpty ? style.good(summary) : style.bad(summary))
            if !failed.isEmpty {
                console.result("Next: fix the cause above, then retry the failed moves (finished ones are not repeated, unfinished requests are settled with the cloud first):")
                console.result("  " + ApplyCommandLine.resume(CommandLine.arguments, journal: journalPath))
            }
        }
        if !failed.isEmpty { throw CLIError(code: ExitStatus.applyFailed, message: "") }
    }
}

extension ApplyCommand {
    /// Plans `pending` again from the live state (with what the topology knows): the same
    /// servers, under the same placement model, never back onto a host they are leaving.
    static func replan(_ pending: [Move], client: CloudClient, topology: Inventory?, placement: CloudPlacement) async throws -> [Move] {
        let live: Inventory
        do {
            live = try await LiveInventory.fetch(client)
        } catch {
            throw CLIError.runtime("error: re-planning: reading the live inventory failed: \(error.message)")
        }
        let merged = merge(live: live, topology: topology)
        let options = PlanOptions(
            mode: .servers(pending.map(\.serverID)), exclude: Set(pending.compactMap(\.from)), timeLimit: 10, placement: placement)
        do {
            return try BatchPlanner(merged).plan(options).moves
        } catch {
            throw CLIError.runtime("error: re-planning failed: \(error.message)")
        }
    }

    /// The live inventory with what the plan's topology knows: host types and node overrides,
    /// and the NUMA layout of every server still on the host the plan saw it on.
    static func merge(live: Inventory, topology: Inventory?) -> Inventory {
        guard let topology else { return live }
        let types = live.hostTypeOrder.compactMap { name in topology.hostTypes[name] ?? live.hostTypes[name] }
        let hosts = live.hosts.map { h in
            topology.host(h.id).map {
                Topology.Host(id: h.id, name: h.name, hostType: h.hostType, availabilityZone: h.availabilityZone, state: h.state,
                              numaNodesOverride: $0.numaNodesOverride)
            } ?? h
        }
        let servers = live.servers.map { s in
            guard let known = topology.server(s.id), known.dedicatedHostID == s.dedicatedHostID, let nodes = known.numaNodes else { return s }
            return s.placed(on: s.dedicatedHostID, numaNodes: nodes)
        }
        return Inventory(
            hostTypes: types, flavors: live.flavorOrder.compactMap { live.flavors[$0] }, hosts: hosts, servers: servers,
            serverGroups: live.serverGroups)
    }
}

/// How `apply` tells what happens while it runs (off a terminal; on one, `ProgressLine`).
enum ApplyProgress {
    static func text(_ event: ApplyEvent) -> String? {
        switch event {
        case .wave(let n, let k): "== wave \(n): \(k) move(s)"
        case .started: nil
        case .sent(let s): "\(s): sent"
        case .accepted(let s, let job): "\(s): accepted (job \(job)), running"
        case .finished: nil  // the applier's own line says how it ended
        }
    }

    static func json(_ event: ApplyEvent, elapsed: Double) -> JSON {
        let t: (String, JSON) = ("elapsed_s", .number((elapsed * 10).rounded() / 10))
        switch event {
        case .wave(let n, let k): return .object([("event", .string("wave")), ("wave", .int(n)), ("moves", .int(k)), t])
        case .started(let s): return .object([("event", .string("started")), ("server_id", .string(s)), t])
        case .sent(let s): return .object([("event", .string("sent")), ("server_id", .string(s)), t])
        case .accepted(let s, let job):
            return .object([("event", .string("accepted")), ("server_id", .string(s)), ("job_id", .string(job)), t])
        case .finished(let r):
            return .object([
                ("event", .string("finished")), ("server_id", .string(r.serverID)), ("status", .string(r.status.rawValue)),
                ("code", .optionalString(r.code)), ("job_id", .optionalString(r.jobID)), t,
            ])
        }
    }

    /// Source hosts left empty: every server of theirs (in the live inventory read at the
    /// start) left with a migration that succeeded, and none arrived. A host that both sends
    /// and receives is in use at the end: counted as emptied, the adversarial apply of a
    /// consolidation of 800 hosts into 285 reported 703 hosts emptied.
    static func emptied(results: [MoveResult], moves: [String: Move], inventory: Inventory) -> [String] {
        let succeeded = results.filter { $0.status == .succeeded }
        let gone = Set(succeeded.map(\.serverID))
        let sources = Set(succeeded.compactMap { moves[$0.serverID]?.from })
        let targets = Set(succeeded.compactMap(\.target))
        return sources.subtracting(targets).sorted().filter { host in
            inventory.servers.allSatisfy { $0.dedicatedHostID != host || gone.contains($0.id) }
        }
    }
}

/// The live progress line of `apply` on a terminal, drawn from the counts `InFlight` keeps.
final class ProgressLine: @unchecked Sendable {
    // @unchecked: the line is drawn under `lock` only, so lines never interleave.
    private let lock = NSLock()
    private let start = monotonicSeconds()
    private let counts: InFlight

    init(_ counts: InFlight) { self.counts = counts }

    func update(_ event: ApplyEvent) {
        switch event {
        case .wave, .sent, .accepted: return
        case .started, .finished: break
        }
        lock.withLock {
            let c = counts.counts()
            let elapsed = Int(monotonicSeconds() - start)
            let line = "\r\u{1B}[K[\(c.ended)/\(c.total)] \(c.succeeded) done, \(c.ended - c.succeeded) failed, \(c.running) running, \(elapsed) s"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }

    func finish() { FileHandle.standardOutput.write(Data("\n".utf8)) }
}

/// What `apply` has in flight, for the message on Ctrl-C.
final class InFlight: @unchecked Sendable {
    // @unchecked: every field is read and written under `lock` only.
    private let lock = NSLock()
    private let targets: [String: String?]
    private let total: Int
    private var state: [String: String] = [:]  // server -> what is known of its request
    private var order: [String] = []
    private var done = 0
    private var failed = 0
    private var ended = 0  // every finished move, skipped ones too
    /// Moves whose "succeeded:" and "failed:" lines are printed: the running count that ends
    /// those lines counts in the order they go out.
    private var printedDone = 0
    private var printedFailed = 0

    init(moves: [Move]) {
        targets = Dictionary(moves.map { ($0.serverID, $0.to) }, uniquingKeysWith: { a, _ in a })
        total = moves.count
    }

    func update(_ event: ApplyEvent) {
        lock.withLock {
            switch event {
            case .wave: return
            case .started(let s):
                state[s] = "live re-check, nothing sent yet"
                order.append(s)
            case .sent(let s): state[s] = "migrate request sent, no answer recorded yet"
            case .accepted(let s, let job): state[s] = "accepted as job \(job), running in the cloud"
            case .finished(let r):
                state[r.serverID] = nil
                order.removeAll { $0 == r.serverID }
                ended += 1
                if r.status == .succeeded { done += 1 } else if r.status == .failed { failed += 1 }
            }
        }
    }

    /// Moves finished (any way), succeeded, in flight, of all.
    func counts() -> (ended: Int, succeeded: Int, running: Int, total: Int) {
        lock.withLock { (ended, done, order.count, total) }
    }

    /// Prints a progress line, one at a time; a line that ends a move (it starts with
    /// "succeeded:", "failed:" or "skipped:") ends with the running count, e.g. `[3/8 done, 1
    /// failed, 2 running]`. The count is taken in the order the lines are printed, so it only
    /// grows down the output: taken when each move ended, two moves ending together were printed
    /// "8/8" before "7/8"; taken at printing time without the order, both read "8/8".
    func printLine(_ line: String, stamp: () -> String, output: (String) -> Void = { print($0); fflush(nil) }) {
        lock.withLock {
            var text = "\(stamp()) \(line)"
            if ["succeeded:", "failed:", "skipped:"].contains(where: { line.hasPrefix($0) }) {
                if line.hasPrefix("succeeded:") { printedDone += 1 } else if line.hasPrefix("failed:") { printedFailed += 1 }
                text += " [\(printedDone)/\(total) done, \(printedFailed) failed, \(order.count) running]"
            }
            output(text)
        }
    }

    /// The lines printed on Ctrl-C.
    func report(journal: String, resume: String) -> String {
        lock.withLock {
            let sent = order.filter { state[$0]?.hasPrefix("live") == false }
            var lines = ["", "interrupted: \(done) of \(total) migrations done, \(failed) failed; \(sent.count) request(s) in flight (the cloud goes on with them):"]
            for s in order {
                let target = (targets[s] ?? nil) ?? "pool"
                lines.append("  \(s) -> \(target): \(state[s] ?? "")")
            }
            lines.append("Every step is in the journal \(journal). Resume with (credentials as in this run):")
            lines.append("  \(resume)")
            lines.append("It asks the cloud how the requests in flight ended before it sends anything; finished moves are not repeated.")
            return lines.joined(separator: "\n")
        }
    }
}

/// SIGINT turned into a handler call on a Dispatch queue (the default action would end the
/// process without a word).
struct Interrupt {
    let source: any DispatchSourceSignal

    static func install(_ handler: @escaping @Sendable () -> Void) -> Interrupt {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
        return Interrupt(source: source)
    }

    func cancel() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
