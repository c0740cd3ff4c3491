// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing
import Topology

/// End-to-end: `dehplan fake-cloud` on loopback, read back with `dehplan inventory`.
@Suite struct CloudE2ETests {
    @Test func inventoryFromTheFakeCloud() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments = ["fake-cloud", "--inventory", Fixtures.sample("fragmented.json"), "--project-id", "proj", "--token", "tok"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        // The first line names the port.
        var line = Data()
        let handle = out.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        let port = try #require(text.split(separator: ":").last?.split(separator: " ").first.flatMap { Int($0) }, "\(text)")

        let file = Fixtures.temporaryFile("", name: "live.json")
        let run = try Binary.run([
            "inventory", "--endpoint", "http://127.0.0.1:\(port)", "--project-id", "proj", "--token", "tok", "--out", file,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stderr.contains("tok "))  // the token is never echoed
        let live = try Inventory.load(path: file)
        #expect(live.hosts.count == 6)
        #expect(live.servers.count == 23)
        #expect(live.servers.allSatisfy { $0.numaNodes == nil })

        let denied = try Binary.run(["inventory", "--endpoint", "http://127.0.0.1:\(port)", "--project-id", "proj", "--token", "wrong"])
        #expect(denied.status == 1)
        #expect(denied.stderr.contains("401"))
        #expect(!denied.stderr.contains("wrong"))
    }

    @Test func plainHTTPToARemoteHostIsRefused() throws {
        let run = try Binary.run(["inventory", "--endpoint", "http://ecs.example.com", "--project-id", "p", "--token", "t"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("must use https"))
    }
}
