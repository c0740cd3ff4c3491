// SPDX-License-Identifier: GPL-3.0-or-later

/// An error from building or solving a GLPK model.
///
/// API-stable: new failure kinds become new static members, not new enum cases.
public struct GLPKError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidModel
        case invalidOptions
        case solverFailure
        case fatal
    }

    private let code: Code
    /// What went wrong, in words an operator can act on.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The model refers to a variable that does not exist, has NaN coefficients, or inverted bounds.
    public static func invalidModel(_ message: String) -> GLPKError { GLPKError(.invalidModel, message) }
    /// A solve option is out of range (negative time limit, gap outside 0...1, ...).
    public static func invalidOptions(_ message: String) -> GLPKError { GLPKError(.invalidOptions, message) }
    /// GLPK returned an error code it documents (singular basis, numerical trouble, ...).
    public static func solverFailure(_ message: String) -> GLPKError { GLPKError(.solverFailure, message) }
    /// GLPK hit a fatal internal error; the error hook turned its abort() into this error.
    public static func fatal(_ message: String) -> GLPKError { GLPKError(.fatal, message) }

    /// True for errors GLPK itself raised as fatal (caught by the error hook).
    public var isFatal: Bool { code == .fatal }

    public var description: String { message }

    public static func == (lhs: GLPKError, rhs: GLPKError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
