// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation

/// Runs the built `dehplan` executable, as an operator would.
public enum Binary {
    /// Result of one run.
    public struct Run: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// Path of the built executable, next to the test bundle.
    public static let path: String = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dehplan"),
            Bundle.main.bundleURL.appendingPathComponent("dehplan"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("dehplan"),
            Fixtures.packageRoot.appendingPathComponent(".build/debug/dehplan"),
        ]
        for url in candidates where FileManager.default.isExecutableFile(atPath: url.path) { return url.path }
        fatalError("dehplan executable not found; looked in \(candidates.map(\.path))")
    }()

    /// Runs another tool from the package root and returns its standard output.
    public static func runTool(_ path: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = Fixtures.packageRoot
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs `dehplan` with arguments from the package root (or `directory`), with NO_COLOR set;
    /// waits for it to exit, or terminates it after `timeout` seconds (then its status is
    /// SIGTERM's, 15).
    public static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil,
                           timeout: Double? = nil) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? Fixtures.packageRoot
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        if let timeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if process.isRunning { process.terminate() } }
        }
        // Read both pipes before waiting so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            outData = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}
