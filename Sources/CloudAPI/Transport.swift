// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An HTTP request as the client sends it.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [String: String]
    public var body: [UInt8]?

    public init(method: String, url: URL, headers: [String: String] = [:], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// An HTTP response.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        self.body = body
    }
}

/// Sends HTTP requests. The client talks to the network only through this, so tests can
/// answer in-process and a fake cloud can run on loopback.
public protocol HTTPTransport: Sendable {
    /// Sends a request; throws `CloudError.noAnswer` when no answer arrives.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// The transport over URLSession, made safe for cancellation.
///
/// FoundationNetworking on Linux crashes the process ("Trying to access a behaviour for a task
/// that in not in the registry", SIGILL) when `URLSessionTask.cancel()` races with the task's
/// completion; the async `data(for:)` calls `cancel()` whenever the awaiting Swift task is
/// cancelled (a sibling's error in a task group, Ctrl-C). This transport never calls
/// `cancel()`: it starts a completion-handler data task and waits for its answer, and a
/// cancelled caller still waits for it (at most the request timeout). Timeouts are URLSession's
/// own (`timeoutIntervalForRequest`), which end the task through its normal completion.
public struct URLSessionTransport: HTTPTransport {
    let session: URLSession

    public init(timeout: TimeInterval = 60) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout * 2
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        session = URLSession(configuration: configuration)
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var r = URLRequest(url: request.url)
        r.httpMethod = request.method
        for (k, v) in request.headers { r.setValue(v, forHTTPHeaderField: k) }
        if let body = request.body { r.httpBody = Data(body) }
        let label = "\(request.method) \(request.url.path)"
        let session = self.session
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
            let task = session.dataTask(with: r) { data, response, error in
                if let error {
                    continuation.resume(throwing: CloudError.noAnswer("\(label): \(error.localizedDescription)"))
                    return
                }
                guard let http = response as? HTTPURLResponse else {
                    continuation.resume(throwing: CloudError.noAnswer("\(label): not an HTTP response"))
                    return
                }
                var headers: [String: String] = [:]
                for (k, v) in http.allHeaderFields {
                    if let k = k as? String, let v = v as? String { headers[k] = v }
                }
                continuation.resume(returning: HTTPResponse(status: http.statusCode, headers: headers, body: [UInt8](data ?? Data())))
            }
            task.resume()
        }
    }
}

/// Endpoint rules: `https`, except for loopback addresses (tests and the fake cloud).
public enum EndpointPolicy {
    /// Throws unless the URL is https, or http to 127.0.0.0/8, localhost or [::1], and carries
    /// no user or password (which would travel in every request and show in messages). Messages
    /// never repeat a user or password from the URL.
    public static func check(_ url: URL) throws(CloudError) {
        let shown = redacted(url)
        if url.user != nil || url.password != nil {
            throw CloudError(status: 0, code: nil, message: "endpoint \(shown) must not carry a user or password; credentials go in --token, --ak/--sk or the environment")
        }
        guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(), !host.isEmpty else {
            throw CloudError(status: 0, code: nil, message: "invalid endpoint \(shown): expected https://host[:port]")
        }
        if scheme == "https" { return }
        if scheme == "http" && isLoopback(host) { return }
        throw CloudError(
            status: 0, code: nil,
            message: "endpoint \(shown) must use https (plain http is allowed only on loopback: 127.0.0.1, localhost, [::1])")
    }

    /// The URL as text with any user and password replaced by `***`.
    public static func redacted(_ url: URL) -> String {
        guard url.user != nil || url.password != nil, var parts = URLComponents(url: url, resolvingAgainstBaseURL: false) else {
            return url.absoluteString
        }
        parts.user = nil
        parts.password = nil
        let text = parts.string ?? ""
        guard let range = text.range(of: "://") else { return "***" }
        return text.replacingCharacters(in: range, with: "://***@")
    }

    /// True for `localhost`, `::1` and a dotted-quad IPv4 address in 127.0.0.0/8, nothing else:
    /// a name like `127.evil.example` resolves wherever its owner likes.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) && (Int(part) ?? 256) <= 255
        }
    }
}
