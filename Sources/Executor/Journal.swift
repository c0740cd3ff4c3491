// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
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

    public init(_ event: Event, serverID: String, target: String? = nil, jobID: String? = nil, code: String? = nil, message: String? = nil) {
        self.event = event
        self.serverID = serverID
        self.target = target
        self.jobID = jobID
        self.code = code
        self.message = message
    }

    var json: JSON {
        var pairs: [(String, JSON)] = [
            ("event", .string(event.rawValue)), ("server_id", .string(serverID)), ("to", .optionalString(target)),
        ]
        if let jobID { pairs.append(("job_id", .string(jobID))) }
        if let code { pairs.append(("code", .string(code))) }
        if let message { pairs.append(("message", .string(message))) }
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
        self.init(event, serverID: server, target: string("to"), jobID: string("job_id"), code: string("code"), message: string("message"))
    }
}

/// Append-only JSON-lines journal; every record is flushed and fsynced before `append` returns,
/// so a run killed at any point can be resumed without losing or repeating a migration.
public actor Journal {
    let path: String
    private var fd: Int32

    /// Opens (creating when missing) the journal at `path` for appending.
    public init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if fd < 0 { throw ExecutorError("cannot open the journal \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Appends one record durably.
    public func append(_ record: JournalRecord) throws {
        let line = Array((record.json.serialized(pretty: false) + "\n").utf8)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw ExecutorError("cannot write the journal \(path)") }
        guard fsync(fd) == 0 else { throw ExecutorError("cannot fsync the journal \(path)") }
    }

    /// Reads every complete record of a journal (a torn last line from a crash is ignored).
    public static func read(path: String) throws -> [JournalRecord] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { line in
            (try? JSON.parse(Array(line))).flatMap(JournalRecord.init)
        }
    }
}

/// An executor failure that stops the run (not a failed migration, which is a result).
public struct ExecutorError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
