// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Topology
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C during `apply`: exit 130 with the moves in flight and the command that resumes; the
/// resumed run settles them with the cloud and sends no second request for any server.
@Suite(.tags(.slow), .skippedWhenFast) struct InterruptE2ETests {
    @Test func ctrlCSaysWhatIsInFlightAndHowToResume() async throws {
        let fakeCloud = try FakeCloudProcess([
            "--inventory", Fixtures.sample("evacuation.json"), "--project-id", "p", "--token", "t", "--job-seconds", "3",
        ])
        defer { fakeCloud.stop() }
        let endpoint = "http://127.0.0.1:\(fakeCloud.port)"
        let planFile = Fixtures.temporaryFile("", name: "plan.json")
        let plan = try await Binary.runOffPool(["plan", "--inventory", Fixtures.sample("evacuation.json"), "--evacuate", "deh-004", "--out", planFile])
        #expect(plan.status == 0, "\(plan.stderr)")
        let args = ["apply", planFile, "--endpoint", endpoint, "--project-id", "p", "--token", "t", "--poll-interval", "0.2",
                    "--yes", "--settle-window", "1"]

        // Started off the cooperative pool; SIGINT once a job has been accepted (jobs take 3 s;
        // the line comes within a tenth of a second, so that job is still running then).
        let out = Fixtures.temporaryFile("", name: "apply.out")
        let err = Fixtures.temporaryFile("", name: "apply.err")
        let status: Int32 = try await offPool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Binary.path)
            process.arguments = args
            _ = FileManager.default.createFile(atPath: out, contents: nil)
            _ = FileManager.default.createFile(atPath: err, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: out)
            process.standardError = FileHandle(forWritingAtPath: err)
            try process.run()
            // Waits for the first "accepted" line (bounded only so a broken run cannot hang CI).
            for _ in 0..<6000 where process.isRunning {
                if let text = try? String(contentsOfFile: out, encoding: .utf8), text.contains("accepted") { break }
                usleep(10_000)
            }
            kill(process.processIdentifier, SIGINT)
            process.waitUntilExit()
            return process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
        }
        let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        #expect(status == 130, "exit \(status): \(stderr)")
        #expect(stderr.contains("interrupted:"))
        #expect(stderr.contains("in flight"))
        #expect(stderr.contains("running in the cloud"), "an accepted job is named: \(stderr)")
        #expect(stderr.contains("--resume"))
        #expect(!stderr.contains("--token"), "the resume line leaves secrets out")
        // The printed command works (with the token given again).
        let line = try #require(stderr.split(separator: "\n").first { $0.hasPrefix("  dehplan apply") })
        var resume = line.trimmingCharacters(in: .whitespaces).split(separator: " ").dropFirst().map(String.init)
        resume += ["--token", "t", "--settle-window", "1"]
        let resumed = try await Binary.runOffPool(resume)
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        guard case .object(let requests)? = try JSON.parse(try await URLSessionGet("\(endpoint)/_fake/stats", token: "t"))["migrate_requests"] else {
            Issue.record("no stats")
            return
        }
        #expect(!requests.isEmpty)
        #expect(requests.allSatisfy { $0.1 == .number(1) }, "a second migrate request: \(requests.filter { $0.1 != .number(1) })")
    }
}
