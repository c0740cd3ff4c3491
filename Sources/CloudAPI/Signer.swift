// SPDX-License-Identifier: GPL-3.0-or-later

import Crypto
import Foundation

/// AK/SK request signing, `SDK-HMAC-SHA256`, as the official Huawei Cloud / Open Telekom Cloud
/// SDKs do it. Reproduces the published signer test vectors.
public struct Signer: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The access key (sent in the clear in `Authorization`).
    public let accessKey: String
    /// The secret key (used only as the HMAC key; never printed).
    private let secretKey: [UInt8]

    /// With temporary AK/SK: the security token, sent as `X-Security-Token` and signed like
    /// every other header (never printed).
    private let securityToken: String?

    public init(accessKey: String, secretKey: String, securityToken: String? = nil) {
        self.accessKey = accessKey
        self.secretKey = Array(secretKey.utf8)
        self.securityToken = securityToken
    }

    /// Never shows the secret key or the security token.
    public var description: String {
        "Signer(access key \(accessKey), secret key redacted\(securityToken == nil ? "" : ", security token redacted"))"
    }
    public var debugDescription: String { description }

    /// A request as it will be sent.
    public struct Request: Sendable {
        public var method: String
        /// Host, with `:port` when the URL gives one.
        public var host: String
        /// Path, not percent-encoded (`/v1/abc/cloudservers/x/migrate`).
        public var path: String
        /// Query pairs; the canonical order is computed by the signer.
        public var query: [(String, String)]
        /// Headers other than Host and X-Sdk-Date.
        public var headers: [String: String]
        /// The exact body bytes (nil: none).
        public var body: [UInt8]?

        public init(
            method: String, host: String, path: String, query: [(String, String)] = [], headers: [String: String] = [:],
            body: [UInt8]? = nil
        ) {
            self.method = method
            self.host = host
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    /// The headers to add to the request (`X-Sdk-Date`, `Host`, `Authorization`) and the query
    /// string to send (the canonical one, so that what is sent is what was signed).
    public struct Signed: Sendable {
        public let headers: [String: String]
        public let queryString: String
        public let authorization: String
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func sdkDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ v: Int?) -> String { String(format: "%02d", v ?? 0) }
        return String(format: "%04d", c.year ?? 0) + two(c.month) + two(c.day) + "T" + two(c.hour) + two(c.minute) + two(c.second) + "Z"
    }

    /// Signs a request at `sdkDate` (`yyyyMMdd'T'HHmmss'Z'`).
    public func sign(_ request: Request, sdkDate: String) -> Signed {
        var headers = request.headers
        headers["X-Sdk-Date"] = sdkDate
        if let securityToken { headers["X-Security-Token"] = securityToken }
        if !headers.keys.contains(where: { $0.lowercased() == "host" }) { headers["Host"] = request.host }
        // Signed headers: every header present, lowercased and sorted, except names with '_'.
        var canonicalHeaders: [(String, String)] = []
        for (name, value) in headers where !name.contains("_") {
            canonicalHeaders.append((name.lowercased(), value.trimmingCharacters(in: .whitespaces)))
        }
        canonicalHeaders.sort { $0.0 < $1.0 }
        let signedHeaders = canonicalHeaders.map(\.0).joined(separator: ";")
        let queryString = Self.canonicalQuery(request.query)
        let canonical = [
            request.method.uppercased(),
            Self.canonicalURI(request.path),
            queryString,
            canonicalHeaders.map { "\($0.0):\($0.1)\n" }.joined(),
            signedHeaders,
            Self.hex(SHA256.hash(data: request.body ?? [])),
        ].joined(separator: "\n")
        let stringToSign = "SDK-HMAC-SHA256\n\(sdkDate)\n\(Self.hex(SHA256.hash(data: Data(canonical.utf8))))"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: SymmetricKey(data: secretKey))
        let authorization = "SDK-HMAC-SHA256 Access=\(accessKey), SignedHeaders=\(signedHeaders), Signature=\(Self.hex(mac))"
        var out = headers
        out["Authorization"] = authorization
        return Signed(headers: out, queryString: queryString, authorization: authorization)
    }

    /// Each path segment percent-encoded (only `A-Za-z0-9-_.~` left as is), always ending in `/`.
    static func canonicalURI(_ path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { escape(String($0)) }
        var uri = segments.joined(separator: "/")
        if !uri.hasSuffix("/") { uri += "/" }
        if !uri.hasPrefix("/") { uri = "/" + uri }
        return uri
    }

    /// Pairs sorted by key then value, both encoded like path segments, joined by `&`.
    static func canonicalQuery(_ pairs: [(String, String)]) -> String {
        pairs.map { (escape($0.0), escape($0.1)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
