// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Foundation
import TestSupport
import Testing
import Topology

/// End-to-end: `dehplan fake-cloud` on loopback, read back with `dehplan inventory`.
@Suite struct CloudE2ETests {
    @Test func inventoryFromTheFakeCloud() throws {
        let fakeCloud = try FakeCloudProcess(["--inventory", Fixtures.sample("fragmented.json"), "--project-id", "proj", "--token", "tok"])
        defer { fakeCloud.stop() }
        let port = fakeCloud.port

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

    /// A password in an endpoint URL is refused and never repeated; the endpoint is checked
    /// before IAM is asked for a token (the password never leaves for a refused endpoint).
    @Test func endpointsAreCheckedBeforeAnyCredentialIsUsed() throws {
        let withPassword = try Binary.run(["inventory", "--endpoint", "https://ops:hunter2secret@ecs.example.com", "--project-id", "p", "--token", "t"])
        #expect(withPassword.status == 2)
        #expect(withPassword.stderr.contains("must not carry a user or password"))
        #expect(!withPassword.stderr.contains("hunter2secret") && !withPassword.stdout.contains("hunter2secret"))
        // Nothing listens on 127.0.0.1:9: had IAM been asked first, this would be an IAM failure (exit 1).
        let iamFirst = try Binary.run(
            ["inventory", "--endpoint", "http://ecs.example.com", "--project-id", "p", "--iam-endpoint", "http://127.0.0.1:9", "--user", "ops"],
            environment: ["OS_PASSWORD": "pw-secret"])
        #expect(iamFirst.status == 2, "\(iamFirst.stderr)")
        #expect(iamFirst.stderr.contains("--endpoint") && iamFirst.stderr.contains("must use https"))
        #expect(!iamFirst.stderr.contains("IAM authentication"))
    }

    @Test func plainHTTPToARemoteHostIsRefused() throws {
        let run = try Binary.run(["inventory", "--endpoint", "http://ecs.example.com", "--project-id", "p", "--token", "t"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("must use https"))
    }
}

@Suite struct ApplyE2ETests {
    @Test func demoRunsTheWholeFlow() throws {
        let run = try Binary.run(["demo"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("INSUFFICIENT_NUMA_CAPACITY"))
        #expect(run.stdout.contains("job FAIL: Ecs.0319 Insufficient resources on a single NUMA node"))
        #expect(run.stdout.contains("8 of 8 migrations succeeded"))
    }

    @Test func planThenApplyThenResumeAgainstTheFakeCloud() async throws {
        let fakeCloud = try FakeCloudProcess(["--inventory", Fixtures.sample("evacuation.json"), "--project-id", "proj", "--token", "tok", "--job-seconds", "0.3"])
        defer { fakeCloud.stop() }
        let port = fakeCloud.port
        let endpoint = "http://127.0.0.1:\(port)"
        let planFile = Fixtures.temporaryFile("", name: "plan.json")
        let plan = try Binary.run(["plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-004", "--out", planFile])
        #expect(plan.status == 0)

        let dry = try Binary.run(["apply", planFile, "--endpoint", endpoint, "--project-id", "proj", "--token", "tok", "--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("POST \(endpoint)/v1/proj/cloudservers/srv-0009/migrate {\"migrate\": {\"dedicated_host_id\": "))

        let apply = try Binary.run([
            "apply", planFile, "--endpoint", endpoint, "--project-id", "proj", "--token", "tok", "--poll-interval", "0.1",
        ])
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("8 of 8 migrations succeeded"))
        // Progress as it happens: a header per wave, each move sent and accepted with its job,
        // elapsed time on every line; the summary names the hosts emptied.
        #expect(apply.stdout.contains("] == wave 1: 8 move(s)"), "\(apply.stdout)")
        #expect(apply.stdout.contains("] srv-0009: sent"))
        #expect(apply.stdout.contains("] srv-0009: accepted (job "))
        #expect(apply.stdout.contains("1 host(s) emptied (deh-004)"))
        // A running count ends every line of a move that ended: the first says 1 of 8, the last 8.
        let ended = apply.stdout.split(separator: "\n").filter { $0.contains("] succeeded: ") }
        #expect(ended.count == 8)
        #expect(ended.first?.contains("[1/8 done, 0 failed, ") == true, "\(ended)")
        #expect(ended.last?.hasSuffix("[8/8 done, 0 failed, 0 running]") == true, "\(ended)")

        #expect(!apply.stdout.contains("\u{1B}[K"))  // not a terminal: plain lines, no live progress line

        let again = try Binary.run(["apply", planFile, "--endpoint", endpoint, "--project-id", "proj", "--token", "tok"])
        #expect(again.status == 2)
        #expect(again.stderr.contains("--resume"))

        let resumed = try Binary.run([
            "apply", planFile, "--endpoint", endpoint, "--project-id", "proj", "--token", "tok", "--resume", "--format", "json",
        ])
        #expect(resumed.status == 0)
        // JSON: results carry where from and in which wave; progress comes as JSON lines on
        // standard error.
        let resumedDoc = try JSON.parse(resumed.stdout)
        guard case .array(let rows)? = resumedDoc["results"] else {
            Issue.record("no results")
            return
        }
        #expect(rows.allSatisfy { $0["from"] == .string("deh-004") && $0["wave"] == .number(1) })
        #expect(resumedDoc["hosts_emptied"] == .array([.string("deh-004")]))
        let progress = resumed.stderr.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
        #expect(progress.filter { $0["event"] == .string("finished") }.count == 8, "\(resumed.stderr)")
        #expect(progress.contains { $0["event"] == .string("wave") })
        let stats = try await URLSessionGet("\(endpoint)/_fake/stats")
        let counts = try JSON.parse(stats)
        guard case .object(let perServer)? = counts["migrations"] else {
            Issue.record("no stats")
            return
        }
        #expect(perServer.count == 8)
        #expect(perServer.allSatisfy { $0.1 == .number(1) })  // nothing sent twice

        // On a terminal (util-linux `script` provides one) apply keeps one live progress line.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/script") {
            let journal = Fixtures.temporaryFile("", name: "tty.journal")
            try? FileManager.default.removeItem(atPath: journal)
            // Without --yes apply asks first; at the end of input it sends nothing.
            let asking = ([Binary.path, "apply", planFile, "--endpoint", endpoint, "--project-id", "proj", "--token", "tok",
                           "--journal", journal + ".asked"]).joined(separator: " ")
            let asked = try Binary.runTool("/usr/bin/script", ["-qc", asking, "/dev/null"])
            #expect(asked.contains("About to migrate 8 server(s) in 1 wave(s)"), "\(asked)")
            #expect(asked.contains("Proceed? [y/N]"))
            #expect(asked.contains("aborted: nothing was sent"))
            // Asked before the journal is even opened: no run was started.
            #expect(!FileManager.default.fileExists(atPath: journal + ".asked"))
            let command = ([Binary.path, "apply", planFile, "--endpoint", endpoint, "--project-id", "proj", "--token", "tok",
                            "--journal", journal, "--poll-interval", "0.1", "--yes"]).joined(separator: " ")
            let tty = try Binary.runTool("/usr/bin/script", ["-qc", command, "/dev/null"])
            #expect(tty.contains("[8/8] 8 done, 0 failed, 0 running"), "\(tty)")
        }
    }
}

/// The README's own example of the documented failure, through the real path: a plan that
/// moves app-big to deh-frag-a (20 vCPUs free in total, 10 per node) is refused by apply's
/// live re-check before any request, with the same code as `check`; the cloud sees no
/// migrate call.
@Suite struct UnsafeMoveE2ETests {
    @Test func applyRefusesTheAppBigMoveBeforeAnyRequest() async throws {
        let fakeCloud = try FakeCloudProcess([
            "--inventory", Fixtures.sample("fragmented.json"), "--project-id", "proj", "--token", "tok", "--job-seconds", "0.2",
            "--placement", "adversarial",
        ])
        defer { fakeCloud.stop() }
        let endpoint = "http://127.0.0.1:\(fakeCloud.port)"
        // A real plan of dehplan's, whose topology covers deh-frag-a (web-small goes there), with
        // app-big's move pointed at deh-frag-a by hand.
        let planFile = Fixtures.temporaryFile("", name: "app-big.json")
        let made = try Binary.run([
            "plan", "--inventory", "samples/fragmented.json", "--servers", "app-big,web-small", "--assume-stopped",
            "--out", planFile, "-q",
        ])
        #expect(made.status == 0, "\(made.stderr)")
        let text = try String(contentsOfFile: planFile, encoding: .utf8)
        let edited = text.replacingOccurrences(of: #""to": "deh-frag-b""#, with: #""to": "deh-frag-a""#)
        #expect(edited != text)
        try edited.write(toFile: planFile, atomically: true, encoding: .utf8)

        let check = try Binary.run(["check", "--inventory", "samples/fragmented.json", "--server", "app-big", "--to", "deh-frag-a"])
        #expect(check.stdout.contains("INSUFFICIENT_NUMA_CAPACITY"))
        let apply = try Binary.run([
            "apply", planFile, "--endpoint", endpoint, "--project-id", "proj", "--token", "tok", "--poll-interval", "0.05",
            "--journal", Fixtures.temporaryFile("", name: "app-big.journal"),
        ])
        #expect(apply.status == 4, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("INSUFFICIENT_NUMA_CAPACITY"))
        let stats = try JSON.parse(try await URLSessionGet("\(endpoint)/_fake/stats"))
        #expect(stats["migrate_requests"]?["app-big"] == nil, "the cloud saw app-big's migrate request")
        #expect(stats["failed_jobs"] == .object([]))
    }
}

/// A plain GET (for the fake cloud's test endpoints).
/// A GET with the fake cloud's token (every endpoint of the fake needs it).
func URLSessionGet(_ url: String, token: String = "tok") async throws -> [UInt8] {
    try await URLSessionTransport().send(CloudAPI.HTTPRequest(method: "GET", url: URL(string: url)!, headers: ["X-Auth-Token": token])).body
}

/// A POST of a JSON body with the fake cloud's token.
func URLSessionPost(_ url: String, _ body: String, token: String = "tok") async throws -> Int {
    try await URLSessionTransport().send(CloudAPI.HTTPRequest(
        method: "POST", url: URL(string: url)!, headers: ["X-Auth-Token": token, "Content-Type": "application/json"],
        body: Array(body.utf8))).status
}

@Suite struct VerboseAndPasswordE2ETests {
    /// `--verbose` traces every request, and no credential (SK, token, password) appears in any output.
    @Test func tracesNeverShowSecrets() throws {
        let fakeCloud = try FakeCloudProcess(["--inventory", Fixtures.sample("fragmented.json"), "--project-id", "proj", "--ak", "AKVISIBLE", "--sk", "SK-must-not-leak", "--token", "TOKEN-must-not-leak", "--user", "ops", "--password", "PW-must-not-leak"])
        defer { fakeCloud.stop() }
        let port = fakeCloud.port
        let endpoint = "http://127.0.0.1:\(port)"
        let secrets = ["SK-must-not-leak", "TOKEN-must-not-leak", "PW-must-not-leak"]

        let aksk = try Binary.run(["inventory", "--endpoint", endpoint, "--project-id", "proj", "--ak", "AKVISIBLE",
                                   "--sk", "SK-must-not-leak", "--verbose"])
        #expect(aksk.status == 0, "\(aksk.stderr)")
        #expect(aksk.stderr.contains("trace: GET \(endpoint)/v1.0/proj/dedicated-hosts"))
        let password = try Binary.run(
            ["inventory", "--endpoint", endpoint, "--project-id", "proj", "--iam-endpoint", "\(endpoint)/v3", "--user", "ops", "--verbose"],
            environment: ["OS_PASSWORD": "PW-must-not-leak"])
        #expect(password.status == 0, "\(password.stderr)")
        let wrong = try Binary.run(
            ["inventory", "--endpoint", endpoint, "--project-id", "proj", "--iam-endpoint", "\(endpoint)/v3", "--user", "ops", "--verbose"],
            environment: ["OS_PASSWORD": "TOKEN-must-not-leak"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("IAM authentication"))
        let badSignature = try Binary.run(["inventory", "--endpoint", endpoint, "--project-id", "proj", "--ak", "AKVISIBLE",
                                           "--sk", "SK-must-not-leak-x", "--verbose"])
        #expect(badSignature.status == 1)
        for run in [aksk, password, wrong, badSignature] {
            for secret in secrets {
                #expect(!run.stdout.contains(secret) && !run.stderr.contains(secret), "\(secret) leaked")
            }
        }
    }
}
