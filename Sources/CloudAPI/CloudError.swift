// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation

/// An error answer of the cloud API, or a transport failure.
public struct CloudError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP status (0 when no answer arrived).
    public let status: Int
    /// The API's error code (`Ecs.0100`, `Common.1503`, ...), when it gave one.
    public let code: String?
    /// The API's message, or what went wrong on the way.
    public let message: String
    /// The `X-Request-Id` response header, for support tickets.
    public let requestID: String?

    public init(status: Int, code: String?, message: String, requestID: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
    }

    /// No answer: connection refused or reset, timeout. The request may or may not have taken effect.
    public static func noAnswer(_ message: String) -> CloudError { CloudError(status: 0, code: nil, message: message) }

    /// True for failures worth retrying: 429, `Common.0024` (flow limit, even with HTTP 202), 5xx,
    /// `Ecs.0603` (another operation runs) and lost answers.
    public var isTransient: Bool {
        status == 0 || status == 429 || status >= 500 || code == "Common.0024" || code == "Ecs.0603" || code == "Common.1503"
    }

    public var description: String {
        var parts = ["HTTP \(status)"]
        if let code { parts.append(code) }
        parts.append(message)
        if let requestID { parts.append("(X-Request-Id \(requestID))") }
        return parts.joined(separator: " ")
    }

    /// What an operator can do about it, when there is something to say.
    public var nextStep: String? {
        switch (status, code) {
        case (0, _): return "check --endpoint (and --deh-endpoint) and that it is reachable from here; a lost answer on POST is reconciled by `apply --resume`"
        case (401, _): return "check the credentials: --token (or OS_AUTH_TOKEN) may have expired; with --ak/--sk check the keys and this machine's clock (signatures carry the time)"
        case (403, _): return "the credentials lack permission for this project or operation: check --project-id and the user's IAM policies"
        case (404, _): return "check --project-id and that the endpoint is for the region the resource is in"
        case (429, _), (_, "Common.0024"): return "the API throttles: wait and retry, or lower --max-parallel"
        case (_, "Ecs.0605"): return "the server is locked: unlock it first"
        case (_, "Ecs.0603"): return "another operation runs on the server: wait until it finishes"
        case (500..., _): return "the service failed; retry later (quote the X-Request-Id to support)"
        default: return nil
        }
    }

    /// Decodes the error shapes the services use: `{"error": {"code", "message"}}`,
    /// `{"error_code", "error_msg"}` or `{"code", "message"}` at the top level.
    static func from(status: Int, body: [UInt8], requestID: String?) -> CloudError {
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        var code: String?
        var message: String?
        if let nested = object?["error"] as? [String: Any] {
            code = nested["code"] as? String
            message = nested["message"] as? String
        }
        code = code ?? object?["error_code"] as? String ?? object?["code"] as? String
        message = message ?? object?["error_msg"] as? String ?? object?["message"] as? String
        let text = message ?? String(decoding: body.prefix(300), as: UTF8.self)
        return CloudError(status: status, code: code, message: text.isEmpty ? "no message" : text, requestID: requestID)
    }
}

