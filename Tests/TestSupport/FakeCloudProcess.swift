// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation

/// `dehplan fake-cloud` running as its own process on a free loopback port, for end-to-end tests.
public final class FakeCloudProcess {
    let process = Process()
    /// The port it listens on.
    public let port: Int
    /// `http://127.0.0.1:PORT`.
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Starts `dehplan fake-cloud` with these arguments (port 0) and waits for its first line.
    public init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments = ["fake-cloud"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = Self.firstLine(of: out)
        guard let port = text.split(separator: ":").last?.split(separator: " ").first.flatMap({ Int($0) }) else {
            process.terminate()
            throw FakeCloudProcessError(message: "fake-cloud did not report a port: \(text)")
        }
        self.port = port
    }

    /// Reads a pipe until its first newline (or its end).
    public static func firstLine(of pipe: Pipe) -> String {
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// Stops the process.
    public func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    deinit { stop() }
}

struct FakeCloudProcessError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
