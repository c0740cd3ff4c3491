// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Planner
import Topology

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of the apply journal.
public struct JournalRecord: Sendable, Equatable {
    /// What happened.
    public enum Event: String, Sendable {
        /// The live re-check passed; the migrate request is about to be sent.
        case sending
        /// The cloud accepted the request (job id known).
        case accepted
        /// The answer was lost but the server shows the migration under way (job id unknown).
        case inProgress = "in_progress"
        /// The migration finished on its target.
        case succeeded
        /// The migration failed (job FAIL, refused, timed out, or the re-check failed).
        case failed
        /// Not attempted because an earlier failure stopped the run or it depends on a failed move.
        case skipped
    }

    public let event: Event
    public let serverID: String
    public var target: String?
    public var jobID: String?
    public var code: String?
    public var message: String?
    /// On `sending`: how many migrate actions the server's action log showed before the request
    /// was sent (nil: the log could not be read). A later reader compares with it to learn
    /// whether the request arrived.
    public var actionsBefore: Int?
    /// When the record was written (ISO 8601, UTC); set by `Journal.append`.
    public var at: String?

    public init(
        _ event: Event, serverID: String, target: String? = nil, jobID: String? = nil, code: String? = nil, message: String? = nil,
        actionsBefore: Int? = nil
    ) {
        self.event = event
        self.serverID = serverID
        self.target = target
        self.jobID = jobID
        self.code = code
        self.message = message
        self.actionsBefore = actionsBefore
    }

    var json: JSON {
        var pairs: [(String, JSON)] = [
            ("event", .string(event.rawValue)), ("server_id", .string(serverID)), ("to", .optionalString(target)),
        ]
        if let jobID { pairs.append(("job_id", .string(jobID))) }
        if let code { pairs.append(("code", .string(code))) }
        if let message { pairs.append(("message", .string(message))) }
        if let actionsBefore { pairs.append(("actions_before", .int(actionsBefore))) }
        if let at { pairs.append(("at", .string(at))) }
        return .object(pairs)
    }

    init?(_ json: JSON) {
        guard case .string(let e)? = json["event"], let event = Event(rawValue: e), case .string(let server)? = json["server_id"] else {
            return nil
        }
        func string(_ key: String) -> String? {
            if case .string(let s)? = json[key] { return s }
            return nil
        }
        var actions: Int?
        if case .number(let n)? = json["actions_before"], n >= 0, n < 1e9 { actions = Int(n) }
        self.init(
            event, serverID: server, target: string("to"), jobID: string("job_id"), code: string("code"), message: string("message"),
            actionsBefore: actions)
        at = string("at")
    }
}

/// The first line of a journal: which plan it belongs to and where it ran.
public struct JournalHeader: Sendable, Equatable {
    /// `Journal.fingerprint(of:)` of the plan's moves.
    public let planFingerprint: String
    public let endpoint: String
    public let projectID: String
    public let version: String
    public var startedAt: String
    public var pid: Int32

    public init(planFingerprint: String, endpoint: String, projectID: String, version: String, startedAt: String = Journal.timestamp(Date()),
                pid: Int32 = getpid()) {
        self.planFingerprint = planFingerprint
        self.endpoint = endpoint
        self.projectID = projectID
        self.version = version
        self.startedAt = startedAt
        self.pid = pid
    }

    var json: JSON {
        .object([
            ("event", .string("header")), ("plan_fingerprint", .string(planFingerprint)), ("endpoint", .string(endpoint)),
            ("project_id", .string(projectID)), ("dehplan_version", .string(version)), ("started_at", .string(startedAt)),
            ("pid", .int(Int(pid))),
        ])
    }

    init?(_ json: JSON) {
        guard case .string("header")? = json["event"], case .string(let fingerprint)? = json["plan_fingerprint"] else { return nil }
        func string(_ key: String) -> String {
            if case .string(let s)? = json[key] { return s }
            return ""
        }
        var pid: Int32 = 0
        if case .number(let n)? = json["pid"], n >= 0, n < 1e9 { pid = Int32(n) }
        self.init(
            planFingerprint: fingerprint, endpoint: string("endpoint"), projectID: string("project_id"), version: string("dehplan_version"),
            startedAt: string("started_at"), pid: pid)
    }
}

/// What a journal file holds.
public struct JournalContents: Sendable {
    /// The run headers, first one first (a resumed run appends its own).
    public var headers: [JournalHeader] = []
    public var records: [JournalRecord] = []
    /// 1-based numbers of complete lines that are not journal records (reported, skipped).
    public var garbage: [Int] = []
    /// Bytes of a torn last line (a crash in mid-write), 0 when the file ends cleanly.
    public var tornBytes = 0
}

/// Append-only JSON-lines journal; every record is flushed and fsynced before `append` returns,
/// so a run killed at any point can be resumed without losing or repeating a migration.
///
/// Opening takes an exclusive lock on `PATH.lock` (which holds the owner's pid) for as long as
/// the journal is open: a second `apply` on the same journal is refused, naming that pid.
public actor Journal {
    let path: String
    private var fd: Int32
    private var lockFD: Int32
    /// Bytes of a torn last line cut off when the journal was opened (0: none).
    public nonisolated let repairedBytes: Int

    /// Opens (creating when missing) the journal at `path` for appending, after taking its lock.
    /// A torn last line (a crash in mid-write) is cut off first.
    public init(path: String) throws {
        self.path = path
        let lockPath = path + ".lock"
        let lockFD = open(lockPath, O_RDWR | O_CREAT, 0o644)
        self.lockFD = lockFD
        if lockFD < 0 { throw ExecutorError("cannot open the journal lock \(lockPath): \(String(cString: strerror(errno)))") }
        // A Journal of this same process that is being released (an actor's deinit runs a moment
        // after its last use, on another thread) is waited for, up to 2 s; another process's
        // lock is reported at once.
        var attempts = 0
        while flock(lockFD, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            let ours = holder.isEmpty || holder == String(getpid())
            attempts += 1
            if !ours || attempts > 40 {
                close(lockFD)
                throw JournalLocked(path: path, pid: Int32(holder) ?? 0)
            }
            usleep(50_000)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(lockFD, 0)
        _ = pid.withUnsafeBytes { pwrite(lockFD, $0.baseAddress, $0.count, 0) }
        let torn = (try? Self.read(path: path))?.tornBytes ?? 0
        repairedBytes = torn
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        self.fd = fd
        if fd < 0 {
            close(lockFD)
            throw ExecutorError("cannot open the journal \(path): \(String(cString: strerror(errno)))")
        }
        if torn > 0, let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int {
            _ = ftruncate(fd, off_t(size - torn))
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if lockFD >= 0 {
            _ = ftruncate(lockFD, 0)
            close(lockFD)  // releases the lock
        }
    }

    /// Appends the header of a run.
    public func append(_ header: JournalHeader) throws {
        try writeLine(header.json)
    }

    /// Appends one record durably, stamped with the time.
    public func append(_ record: JournalRecord) throws {
        var record = record
        record.at = Self.timestamp(Date())
        try writeLine(record.json)
    }

    private func writeLine(_ json: JSON) throws {
        let line = Array((json.serialized(pretty: false) + "\n").utf8)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw ExecutorError("cannot write the journal \(path)") }
        guard fsync(fd) == 0 else { throw ExecutorError("cannot fsync the journal \(path)") }
    }

    /// Reads a journal: headers, records, lines that are neither, and a torn last line.
    public static func read(path: String) throws -> JournalContents {
        var contents = JournalContents()
        guard let data = FileManager.default.contents(atPath: path) else { return contents }
        let bytes = [UInt8](data)
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if let last = lines.last {
            if last.isEmpty {
                lines.removeLast()
            } else {
                // No newline at the end: the write of this line never finished.
                contents.tornBytes = last.count
                lines.removeLast()
            }
        }
        for (n, line) in lines.enumerated() {
            if line.isEmpty { continue }
            guard let json = try? JSON.parse(Array(line)) else {
                contents.garbage.append(n + 1)
                continue
            }
            if let header = JournalHeader(json) {
                contents.headers.append(header)
            } else if let record = JournalRecord(json) {
                contents.records.append(record)
            } else {
                contents.garbage.append(n + 1)
            }
        }
        return contents
    }

    /// A stable fingerprint of a plan's moves (server, from, to, wave), for the journal header.
    public static func fingerprint(of moves: [Move]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for m in moves.sorted(by: { $0.serverID < $1.serverID }) {
            for byte in "\(m.serverID)|\(m.from ?? "-")|\(m.to ?? "-")|\(m.wave)\n".utf8 {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
        }
        return String(hash, radix: 16)
    }

    /// ISO 8601 in UTC with milliseconds.
    public static func timestamp(_ date: Date) -> String { timestampFormat().string(from: date) }

    /// The date of a `timestamp`, nil when it is not one.
    public static func date(from text: String) -> Date? { timestampFormat().date(from: text) }

    private static func timestampFormat() -> ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}

/// Another process holds the journal's lock.
public struct JournalLocked: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let pid: Int32
    public var description: String {
        "the journal \(path) is in use by another dehplan apply (pid \(pid == 0 ? "unknown" : String(pid))); wait for it to finish or stop it"
    }
}

/// An executor failure that stops the run (not a failed migration, which is a result).
public struct ExecutorError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
