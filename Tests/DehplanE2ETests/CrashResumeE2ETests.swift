// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Foundation
import TestSupport
import Testing
import Topology

#if canImport(Glibc)
import Glibc
#endif

/// kill -9 of `dehplan apply` at 20+ random points, each followed by `--resume`, while 20 % of
/// the jobs fail: no server gets a second migrate job while the kills go on (a request whose
/// answer was never journaled is settled from the action log, never sent again), and after
/// `--resume --retry-failed` with the failures switched off every server is on its target and
/// none was migrated twice.
@Suite(.tags(.slow), .skippedWhenFast) struct CrashResumeE2ETests {
    @Test func killAtRandomPointsAndResume() async throws {
        // Fake cloud with short jobs.
        let inventoryFile = Fixtures.temporaryFile("", name: "inv.json")
        let gen = try await Binary.runOffPool([
            "generate", "--seed", "21", "--hosts", "30", "--servers", "120", "--zones", "az1", "--unknown-layout", "0",
            "--shutoff", "1", "--fault", "0", "--groups", "0", "--host-types", "c6,m6", "--max-fill", "0.4", "--out", inventoryFile,
        ])
        #expect(gen.status == 0)
        let fakeCloud = try FakeCloudProcess([
            "--inventory", inventoryFile, "--project-id", "p", "--token", "t", "--job-seconds", "1.0", "--fail-rate", "0.2", "--seed", "5",
        ])
        defer { fakeCloud.stop() }
        let port = fakeCloud.port
        let endpoint = "http://127.0.0.1:\(port)"

        let planFile = Fixtures.temporaryFile("", name: "plan.json")
        let plan = try await Binary.runOffPool(["plan", "--inventory", inventoryFile, "--evacuate", "deh-001", "deh-002", "deh-003", "deh-004",
                                   "deh-005", "deh-006", "--out", planFile, "--time-limit", "5"])
        #expect(plan.status == 0 || plan.status == 3)
        let moves = try JSON.parse(String(contentsOfFile: planFile, encoding: .utf8))
        guard case .array(let planned)? = moves["moves"] else {
            Issue.record("no moves")
            return
        }
        try #require(planned.count >= 15)

        // The settle window: a killed run's request may sit unprocessed in the fake cloud's
        // socket queue while the machine is busy (the full suite on 2 vCPUs runs this test 5x
        // slower than alone); 10 s leaves room for that. (The second job this test caught in
        // full runs came from a skip record hiding a sent request, fixed in MoveHistory.)
        // Real runs default to 60 s.
        let args = ["apply", planFile, "--endpoint", endpoint, "--project-id", "p", "--token", "t", "--poll-interval", "0.05",
                    "--max-parallel", "3", "--allow-partial", "--settle-window", "10"]
        var state: UInt64 = 12345
        var kills = 0
        var first = true
        var runs = 0
        while kills < 20 && runs < 80 {
            runs += 1
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let delay = UInt32(30_000 + Int((state >> 33) % 400_000))  // 30-430 ms
            // --resume once the journal exists, as an operator would: a run killed before it
            // opened the journal (a loaded machine starts slowly) sent nothing, and --resume
            // without a journal is refused.
            let arguments = first || !FileManager.default.fileExists(atPath: planFile + ".journal") ? args : args + ["--resume"]
            first = false
            // Started, waited for and killed on a Dispatch worker (loopback servers of other
            // tests need the cooperative pool's threads).
            let run = try await Binary.runAndKill(arguments, afterMicroseconds: delay)
            let (reason, status, killed) = (run.reason, run.status, run.killed)
            if killed { kills += 1 }
            if reason == .exit && status == 0 { break }  // finished before the kill
            if reason == .exit && status != 4 {
                Issue.record("apply ended with \(status) (expected 0, 4 or SIGKILL)")
            }
            if reason == .uncaughtSignal && status != SIGKILL {
                Issue.record("apply died of signal \(status)")
            }
            if reason == .exit && status == 2 {
                Issue.record("apply refused its input (exit 2)")
                break
            }
        }
        // One run to its end without kills: failed jobs stay failed (not retried without asking).
        let settled = try await Binary.runOffPool(args + ["--resume"])
        #expect(settled.status == 0 || settled.status == 4, "\(settled.stdout)\(settled.stderr)")
        let duringKills = try JSON.parse(try await URLSessionGet("\(endpoint)/_fake/stats", token: "t"))
        guard case .object(let jobs)? = duringKills["migrations"] else {
            Issue.record("no stats")
            return
        }
        #expect(jobs.allSatisfy { $0.1 == .number(1) }, "a second migrate job while killed and resumed: \(jobs.filter { $0.1 != .number(1) })")
        for (server, count) in jobs where count != .number(1) {
            // What each run recorded and what the cloud saw, for the record of the failure.
            let journal = (try? String(contentsOfFile: planFile + ".journal", encoding: .utf8)) ?? ""
            print("CRASH-RESUME journal of \(server):\n" + journal.split(separator: "\n").filter { $0.contains("\"\(server)\"") || $0.contains("header") || $0.contains("plan_fingerprint") }.joined(separator: "\n"))
            let log = (try? await URLSessionGet("\(endpoint)/v2.1/p/servers/\(server)/os-instance-actions", token: "t")) ?? []
            print("CRASH-RESUME action log of \(server): \(String(decoding: log, as: UTF8.self))")
        }
        #expect(duringKills["failed_jobs"] != .object([]), "the injected failures must have hit some jobs")

        // Failures off, failed moves retried: every move lands, none twice.
        #expect(try await URLSessionPost("\(endpoint)/_fake/faults", #"{"fail_rate": 0}"#, token: "t") == 200)
        let final = try await Binary.runOffPool(args + ["--resume", "--retry-failed"])
        #expect(final.status == 0, "\(final.stdout)\(final.stderr)")

        // The cloud's truth and counts.
        let truth = try Inventory.decode(bytes: try await URLSessionGet("\(endpoint)/_fake/inventory", token: "t"))
        guard case .object(let counts)? = try JSON.parse(try await URLSessionGet("\(endpoint)/_fake/stats", token: "t"))["migrations_succeeded"] else {
            Issue.record("no stats")
            return
        }
        #expect(counts.allSatisfy { $0.1 == .number(1) }, "migrated twice: \(counts.filter { $0.1 != .number(1) })")
        for move in planned {
            guard case .string(let id)? = move["server_id"], case .string(let to)? = move["to"] else { continue }
            #expect(truth.server(id)?.dedicatedHostID == to, "\(id) not on \(to)")
        }
        print("CRASH-RESUME kills: \(kills), moves: \(planned.count)")
        #expect(kills >= 15)
    }
}
