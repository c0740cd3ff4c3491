// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Foundation
import TestSupport
import Testing
import Topology

#if canImport(Glibc)
import Glibc
#endif

/// `dehplan apply` over real sockets (the URLSession transport) against `dehplan fake-cloud`
/// with an operator's worst day: 20 % throttling, 20 % 5xx, 15 % lost answers, 20 % failed jobs,
/// 8 moves in flight, killed once with SIGKILL and resumed. Every run ends with exit 0 or 4
/// (never a signal, never exit 1), no server gets a second migrate job while the faults last,
/// and after `--resume --retry-failed` with the faults off every planned move is on its target.
/// (Benchmarks/fault_soak.py runs the same scenario at 2,000 moves; docs/RELIABILITY.md.)
@Suite(.tags(.slow), .skippedWhenFast) struct FaultSoakE2ETests {
    @Test(arguments: [3, 4]) func applyUnderFaults(seed: Int) async throws {
        let inventoryFile = Fixtures.temporaryFile("", name: "soak-\(seed).json")
        let gen = try await Binary.runOffPool([
            "generate", "--seed", String(seed), "--hosts", "40", "--servers", "200", "--zones", "az1", "--unknown-layout", "0",
            "--shutoff", "1", "--fault", "0", "--groups", "0", "--host-types", "c6,m6", "--max-fill", "0.5", "--out", inventoryFile,
        ])
        #expect(gen.status == 0)
        let planFile = Fixtures.temporaryFile("", name: "soak-plan-\(seed).json")
        let plan = try await Binary.runOffPool([
            "plan", "--inventory", inventoryFile, "--evacuate", "deh-001", "deh-002", "deh-003", "deh-004", "deh-005", "deh-006",
            "deh-007", "deh-008", "--out", planFile, "--time-limit", "5",
        ])
        #expect(plan.status == 0 || plan.status == 3)
        guard case .array(let planned)? = try JSON.parse(String(contentsOfFile: planFile, encoding: .utf8))["moves"] else {
            Issue.record("no moves")
            return
        }
        try #require(planned.count >= 30)
        let fakeCloud = try FakeCloudProcess([
            "--inventory", inventoryFile, "--project-id", "p", "--token", "t", "--job-seconds", "0.3", "--fail-rate", "0.2",
            "--throttle-rate", "0.2", "--error-rate", "0.2", "--drop-rate", "0.15", "--seed", String(seed),
        ])
        defer { fakeCloud.stop() }
        let endpoint = fakeCloud.endpoint
        let args = ["apply", planFile, "--endpoint", endpoint, "--project-id", "p", "--token", "t", "--poll-interval", "0.2",
                    "--retry-delay", "0.05", "--max-parallel", "8", "--keep-going", "--allow-partial", "--settle-window", "1"]

        // Killed once in mid-run, then resumed to its end.
        let run = try await Binary.runAndKill(args, afterMicroseconds: UInt32(1_500_000 + seed * 300_000))
        let (reason, status) = (run.reason, run.status)
        #expect(reason == .exit || status == SIGKILL, "apply died of signal \(status)")
        let resumed = try await Binary.runOffPool(args + ["--resume"])
        #expect(resumed.status == 0 || resumed.status == 4, "exit \(resumed.status): \(resumed.stderr.suffix(800))")
        if resumed.status == 4 { #expect(resumed.stdout.contains("--resume --retry-failed")) }

        let stats = try JSON.parse(try await URLSessionGet("\(endpoint)/_fake/stats", token: "t"))
        guard case .object(let jobs)? = stats["migrations"] else {
            Issue.record("no stats")
            return
        }
        #expect(jobs.allSatisfy { $0.1 == .number(1) }, "a second migrate job under faults: \(jobs.filter { $0.1 != .number(1) })")

        // Faults off, failed moves retried.
        #expect(try await URLSessionPost(
            "\(endpoint)/_fake/faults", #"{"throttle_rate": 0, "error_rate": 0, "drop_rate": 0, "fail_rate": 0}"#, token: "t") == 200)
        let retried = try await Binary.runOffPool(args + ["--resume", "--retry-failed"])
        #expect(retried.status == 0, "\(retried.stdout.suffix(1500))\(retried.stderr.suffix(500))")
        let truth = try Inventory.decode(bytes: try await URLSessionGet("\(endpoint)/_fake/inventory", token: "t"))
        for move in planned {
            guard case .string(let id)? = move["server_id"], case .string(let to)? = move["to"] else { continue }
            #expect(truth.server(id)?.dedicatedHostID == to, "\(id) not on \(to)")
        }
        guard case .object(let landed)? = try JSON.parse(try await URLSessionGet("\(endpoint)/_fake/stats", token: "t"))["migrations_succeeded"] else {
            Issue.record("no stats")
            return
        }
        #expect(landed.allSatisfy { $0.1 == .number(1) }, "migrated twice: \(landed.filter { $0.1 != .number(1) })")
        print("FAULT-SOAK seed \(seed): \(planned.count) moves")
    }
}
