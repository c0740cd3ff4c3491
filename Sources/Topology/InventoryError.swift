// SPDX-License-Identifier: GPL-3.0-or-later

/// One problem found in an inventory, located by JSON path (`servers[3].flavor`).
public struct InventoryIssue: Hashable, Sendable, CustomStringConvertible {
    /// JSON path of the offending field; empty for the document itself.
    public let path: String
    /// What is wrong, and where useful what is expected.
    public let message: String

    /// Creates an issue.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Why an inventory could not be loaded: unreadable file, JSON syntax, or content issues.
public struct InventoryError: Error, Sendable, CustomStringConvertible {
    /// The file, when loaded from one.
    public let file: String?
    /// Every problem found (content), or the one syntax/read problem.
    public let issues: [InventoryIssue]

    /// Creates an error.
    public init(file: String?, issues: [InventoryIssue]) {
        self.file = file
        self.issues = issues
    }

    /// All issues, one per line, each prefixed with the file name.
    public var description: String {
        let prefix = file.map { "\($0): " } ?? ""
        return issues.map { prefix + $0.description }.joined(separator: "\n")
    }
}
