// SPDX-License-Identifier: GPL-3.0-or-later

/// Why a server cannot move to a target (docs/DESIGN.md reason codes, plus `NUMA_LAYOUT_UNKNOWN`).
public enum ReasonCode: String, Hashable, Sendable, CaseIterable, Comparable {
    case serverNotFound = "SERVER_NOT_FOUND"
    case serverNotStopped = "SERVER_NOT_STOPPED"
    case serverLocked = "SERVER_LOCKED"
    case serverBusy = "SERVER_BUSY"
    case notADehMigration = "NOT_A_DEH_MIGRATION"
    case targetNotFound = "TARGET_NOT_FOUND"
    case targetNotAvailable = "TARGET_NOT_AVAILABLE"
    case sameHost = "SAME_HOST"
    case azMismatch = "AZ_MISMATCH"
    case flavorNotSupported = "FLAVOR_NOT_SUPPORTED"
    case antiAffinity = "ANTI_AFFINITY"
    case insufficientCapacity = "INSUFFICIENT_CAPACITY"
    case insufficientNUMACapacity = "INSUFFICIENT_NUMA_CAPACITY"
    /// Extension: the target has servers of unknown NUMA layout and the server fits under
    /// some arrangements of them but is not proven to fit under all (policy `certain`).
    case numaLayoutUnknown = "NUMA_LAYOUT_UNKNOWN"

    /// Position in evaluation order.
    public var ordinal: Int { Self.allCases.firstIndex(of: self)! }

    /// Order of evaluation, which is also the order reasons are listed in.
    public static func < (a: ReasonCode, b: ReasonCode) -> Bool { a.ordinal < b.ordinal }

    /// True for reasons about the server itself, whatever the target.
    public var isServerLevel: Bool {
        switch self {
        case .serverNotFound, .serverNotStopped, .serverLocked, .serverBusy: true
        default: false
        }
    }
}

/// One failed constraint, with an operator-readable explanation.
public struct Reason: Hashable, Sendable, CustomStringConvertible {
    /// Machine-readable code.
    public let code: ReasonCode
    /// What failed, with the numbers that show why.
    public let message: String

    /// Creates a reason.
    public init(_ code: ReasonCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
