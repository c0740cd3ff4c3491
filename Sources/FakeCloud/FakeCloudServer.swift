// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import FlyingFox
import FlyingSocks
import Foundation

/// The fake cloud over HTTP on a loopback address (FlyingFox).
public actor FakeCloudServer {
    public let cloud: FakeCloud
    let dice: FaultDice
    let host: String
    let requestedPort: UInt16
    private var server: FlyingFox.HTTPServer?
    private var task: Task<Void, any Error>?
    /// Called with one line per request answered ("GET /v1/... -> 200"); nil logs nothing.
    let log: (@Sendable (String) -> Void)?

    /// - Parameters:
    ///   - host: an IPv4 loopback address (the fake refuses anything else).
    ///   - port: 0 picks a free port.
    public init(
        cloud: FakeCloud, host: String = "127.0.0.1", port: UInt16 = 0, faults: FaultInjection = FaultInjection(),
        log: (@Sendable (String) -> Void)? = nil
    ) throws {
        guard host.hasPrefix("127.") else {
            throw CloudError(status: 0, code: nil, message: "the fake cloud listens on loopback only (127.0.0.0/8), not \(host)")
        }
        self.cloud = cloud
        self.dice = FaultDice(faults)
        self.host = host
        self.requestedPort = port
        self.log = log
    }

    /// Starts listening; returns the port.
    public func start() async throws -> UInt16 {
        let cloud = self.cloud
        let dice = self.dice
        let host = self.host
        let log = self.log
        let address = try sockaddr_in.inet(ip4: host, port: requestedPort)
        try Self.probe(address, host: host, port: requestedPort)
        let server = FlyingFox.HTTPServer(address: address, timeout: 30, logger: .disabled)
        await server.appendRoute("*") { request in
            let response = try await Self.answer(request, cloud: cloud, dice: dice, host: host)
            log?("\(request.method.rawValue) \(request.path) -> \(response.statusCode.code)")
            return response
        }
        self.server = server
        task = Task { try await server.run() }
        // The probe above has already failed fast on a busy port or a foreign address; what is
        // left is waiting for the run loop, which a busy cooperative pool (2 vCPUs, CPU-bound
        // tests beside it) can delay well past FlyingFox's default 5 s.
        try await server.waitUntilListening(timeout: 60)
        guard case .ip4(_, let port)? = await server.listeningAddress else {
            throw CloudError(status: 0, code: nil, message: "the fake cloud did not report its port")
        }
        Self.disableNagle(onListenerAt: port)
        return port
    }

    /// Binds a socket to the address and lets it go, so that a port in use or an address this
    /// machine does not have fails at once with the system's reason (FlyingFox reports it only
    /// as a timeout of `waitUntilListening`, after 5 s).
    static func probe(_ address: sockaddr_in, host: String, port: UInt16) throws {
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var addr = address
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound != 0 {
            let reason = String(cString: strerror(errno))
            throw CloudError(status: 0, code: nil, message: "cannot listen on \(host):\(port): \(reason.lowercased())")
        }
        #endif
    }

    /// FlyingFox writes a response's header and body in two writes; with Nagle's algorithm on,
    /// the body waits for the client's delayed ACK of the header (40 ms per request on Linux).
    /// Accepted sockets inherit TCP_NODELAY from the listening socket, which FlyingFox does not
    /// expose: it is found among this process's descriptors by its port.
    static func disableNagle(onListenerAt port: UInt16) {
        #if os(Linux)
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for name in fds {
            guard let fd = Int32(name) else { continue }
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
            }
            guard ok, address.sin_family == sa_family_t(AF_INET), UInt16(bigEndian: address.sin_port) == port else { continue }
            var on: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        #endif
    }

    /// Stops the server.
    public func stop() async {
        await server?.stop(timeout: 1)
        task?.cancel()
    }

    static func answer(_ request: FlyingFox.HTTPRequest, cloud: FakeCloud, dice: FaultDice, host: String) async throws -> FlyingFox.HTTPResponse {
        var headers: [String: String] = [:]
        for (key, value) in request.headers { headers[key.rawValue] = value }
        let hostHeader = request.headers[.host] ?? host
        var components = URLComponents()
        var text = "http://\(hostHeader)\(request.path)"
        if !request.query.isEmpty {
            components.queryItems = request.query.map { URLQueryItem(name: $0.name, value: $0.value) }
            text += "?" + (components.percentEncodedQuery ?? "")
        }
        guard let url = URL(string: text) else { return FlyingFox.HTTPResponse(statusCode: .badRequest) }
        let body = try await request.bodyData
        let cloudRequest = CloudAPI.HTTPRequest(
            method: request.method.rawValue, url: url, headers: headers, body: body.isEmpty ? nil : [UInt8](body))
        guard let response = await cloud.handle(cloudRequest, dice: dice) else {
            // A lost answer: claim a body, then fail while sending it, so the connection closes
            // without a complete response (the request has taken effect).
            return FlyingFox.HTTPResponse(
                statusCode: .ok, headers: [.contentType: "application/json"],
                body: HTTPBodySequence(from: BrokenBytes(), count: 64))
        }
        var out = HTTPHeaders()
        for (k, v) in response.headers { out[HTTPHeader(k)] = v }
        return FlyingFox.HTTPResponse(
            statusCode: HTTPStatusCode(response.status, phrase: "Fake"), headers: out, body: Data(response.body))
    }
}

/// A byte sequence that fails on first read: used to cut a response short.
struct BrokenBytes: AsyncBufferedSequence, Sendable {
    typealias Element = UInt8
    struct Iterator: AsyncBufferedIteratorProtocol {
        mutating func next() async throws -> UInt8? { throw CloudError.noAnswer("answer dropped by fault injection") }
        mutating func nextBuffer(suggested count: Int) async throws -> [UInt8]? {
            throw CloudError.noAnswer("answer dropped by fault injection")
        }
    }
    func makeAsyncIterator() -> Iterator { Iterator() }
}
