// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing
import Topology

/// Errors say what went wrong, where, and what to do next; unknown ids get a suggestion.
@Suite struct ErrorsE2ETests {
    /// (arguments, exit status, texts the error must contain)
    static let cases: [([String], Int32, [String])] = [
        (["check", "--inventory", "missing.json", "--server", "a", "--to", "b"], 2, ["missing.json", "no such file", "next: check the path"]),
        (["targets", "--inventory", "Tests/DehplanE2ETests/golden/plan-evacuate.json", "--server", "x"], 2,
         ["plan-evacuate.json: host_types: missing", "next: fix the fields listed", "docs/INVENTORY.md"]),
        (["check", "--inventory", "samples/fragmented.json", "--server", "app-bg", "--to", "deh-frag-b"], 2, ["--server", "did you mean \"app-big\""]),
        (["check", "--inventory", "samples/fragmented.json", "--server", "app-big", "--to", "deh-frag-c"], 2, ["--to", "did you mean \"deh-frag-"]),
        (["targets", "--inventory", "samples/fragmented.json", "--server", "web-smal"], 2, ["--server", "did you mean \"web-small\""]),
        (["chek", "--inventory", "samples/fragmented.json"], 2, ["unknown command 'chek'", "did you mean 'check'?"]),
        (["check", "--inventory", "samples/fragmented.json", "--server", "app-big", "--too", "deh-frag-b"], 2,
         ["unknown option '--too'", "did you mean '--to'?"]),
        (["plan", "--inventory", "samples/fragmented.json", "--consolidat"], 2, ["unknown option '--consolidat'", "'--consolidate'"]),
        (["plan", "--inventory", "samples/fragmented.json", "--evacuate", "deh-scr"], 2, ["--evacuate", "did you mean \"deh-src\""]),
        (["plan", "--inventory", "samples/fragmented.json", "--servers", "app-bigg"], 2, ["--servers", "did you mean \"app-big\""]),
        (["plan", "--inventory", "samples/fragmented.json", "--consolidate", "--exclude", "deh-ful"], 2, ["--exclude", "did you mean \"deh-full\""]),
        (["plan", "--inventory", "samples/fragmented.json"], 2, ["choose exactly one mode"]),
        (["capacity", "--inventory", "samples/fragmented.json", "--demand", "c6.larg.2=3"], 2, ["did you mean \"c6.large.2\""]),
        (["apply", "missing-plan.json", "--endpoint", "http://127.0.0.1:9", "--project-id", "p", "--token", "t"], 2, ["invalid plan", "missing-plan.json"]),
        (["inventory", "--endpoint", "http://127.0.0.1:9", "--project-id", "p", "--token", "t"], 1,
         ["http://127.0.0.1:9", "next: check --endpoint"]),
        (["inventory", "--endpoint", "http://127.0.0.1:9", "--project-id", "p"], 2, ["no credentials", "--token", "--ak"]),
        (["inventory", "--endpoint", "http://example.com", "--project-id", "p", "--token", "t"], 2, ["https"]),
        // A negative number is the option's value, judged by its own rule (it was taken for a
        // missing value: "Missing value for '--time-limit <s>'").
        (["plan", "--inventory", "samples/fragmented.json", "--consolidate", "--time-limit", "-1"], 2,
         ["--time-limit must be a positive number of seconds"]),
        (["plan", "--inventory", "samples/fragmented.json", "--consolidate", "--max-moves", "-5"], 2, ["--max-moves must be at least 0, got -5"]),
        (["capacity", "--inventory", "samples/fragmented.json", "--time-limit", "-3"], 2, ["--time-limit must be a positive number of seconds"]),
        (["apply", "missing-plan.json", "--endpoint", "http://127.0.0.1:9", "--project-id", "p", "--token", "t", "--job-timeout", "-1"], 2,
         ["--job-timeout and --poll-interval must be positive"]),
    ]

    @Test(arguments: 0..<cases.count)
    func errorTeaches(index: Int) throws {
        let (arguments, status, texts) = Self.cases[index]
        let run = try Binary.run(arguments)
        #expect(run.status == status, "\(arguments): exit \(run.status): \(run.stderr)")
        let said = run.stdout + run.stderr
        for text in texts { #expect(said.contains(text), "\(arguments): no \"\(text)\" in: \(said)") }
    }
}

/// Plan files that used to crash `apply --dry-run` and `report` (numbers beyond Int) or pass
/// unnoticed (duplicate moves, pool to pool, from = to) are invalid input: exit 2 with the
/// JSON path, before anything is sent.
@Suite struct BadPlanE2ETests {
    static let move = #"{"server_id": "app-big", "from": "deh-src", "to": "deh-frag-b", "numa_nodes": [0], "wave": 1}"#
    /// (moves array text, JSON path the error names, words it says)
    static let cases: [(String, String, String)] = [
        (#"[{"server_id": "app-big", "from": "deh-src", "to": "deh-frag-b", "numa_nodes": [0], "wave": 1e30}]"#, "moves[0].wave", "whole number"),
        (#"[{"server_id": "app-big", "from": "deh-src", "to": "deh-frag-b", "numa_nodes": [1e19], "wave": 1}]"#, "moves[0].numa_nodes", "node indices"),
        (#"[{"server_id": "app-big", "from": null, "to": null, "numa_nodes": null, "wave": 1}]"#, "moves[0]", "pool to pool"),
        (#"[{"server_id": "app-big", "from": "deh-src", "to": "deh-src", "numa_nodes": [0], "wave": 1}]"#, "moves[0].to", "same as from"),
        ("[\(move), \(move)]", "moves[1].server_id", "already moves"),
    ]

    @Test(arguments: 0..<cases.count)
    func badPlanExitsTwo(index: Int) throws {
        let (moves, path, words) = Self.cases[index]
        let plan = Fixtures.temporaryFile(
            #"{"status": "optimal", "objective": {"name": "min-moves", "value": 1, "bound": 1, "gap": 0}, "moves": \#(moves), "unplaced": [], "solver": {"engine": "glpk", "seconds": 0, "variables": 1e30, "constraints": 1, "subproblems": 1}, "notes": []}"#,
            name: "bad-plan-\(index).json")
        for arguments in [
            ["apply", plan, "--endpoint", "http://127.0.0.1:9", "--project-id", "p", "--token", "t", "--dry-run"],
            ["report", "--inventory", "samples/fragmented.json", "--plan", plan, "--out", "-"],
        ] {
            let run = try Binary.run(arguments)
            #expect(run.status == 2, "\(arguments[0]): exit \(run.status): \(run.stderr)")
            #expect(run.stderr.contains(path), "\(arguments[0]): \(run.stderr)")
            #expect(run.stderr.contains(words), "\(arguments[0]): \(run.stderr)")
        }
    }

    /// A plan names only servers and hosts of its own topology: a move edited to an unknown
    /// server or host is refused by `apply --dry-run` and `report` with the JSON path.
    @Test(arguments: [("server_id", "ghost-server", "moves[0].server_id"), ("to", "ghost-host", "moves[0].to")])
    func unknownIdsInAPlanExitTwo(field: String, value: String, path: String) throws {
        let planFile = Fixtures.temporaryFile("", name: "ids-\(field).json")
        let made = try Binary.run(["plan", "--inventory", "samples/fragmented.json", "--servers", "app-big", "--out", planFile, "--quiet"])
        #expect(made.status == 0)
        var doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: planFile))) as? [String: Any])
        var moves = try #require(doc["moves"] as? [[String: Any]])
        moves[0][field] = value
        doc["moves"] = moves
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: planFile))
        for arguments in [
            ["apply", planFile, "--endpoint", "http://127.0.0.1:9", "--project-id", "p", "--token", "t", "--dry-run"],
            ["report", "--inventory", "samples/fragmented.json", "--plan", planFile, "--out", "-"],
        ] {
            let run = try Binary.run(arguments)
            #expect(run.status == 2, "\(arguments[0]): exit \(run.status): \(run.stderr)")
            #expect(run.stderr.contains(path) && run.stderr.contains(value), "\(arguments[0]): \(run.stderr)")
        }
    }
}

/// Tools that must say what went wrong at once, and say when they did less than asked.
@Suite struct SaysSoE2ETests {
    /// An endpoint that does not answer fails `apply` before anything is sent, in seconds, not
    /// after the run's patience (5 minutes a request), and a line on standard error says the
    /// cloud is not answering while it retries.
    @Test func applyOnAnEndpointThatDoesNotAnswerFailsFast() throws {
        let plan = Fixtures.temporaryFile("", name: "unanswered-plan.json")
        let made = try Binary.run([
            "plan", "--inventory", Fixtures.sample("fragmented.json"), "--servers", "app-big", "--time-limit", "5",
            "--format", "json", "--out", plan,
        ])
        #expect(made.status == 0, "\(made.stderr)")
        let run = try Binary.run([
            "apply", plan, "--endpoint", "http://127.0.0.1:1", "--project-id", "p", "--token", "t", "--yes",
            "--retry-delay", "0.01", "--journal", Fixtures.temporaryFile("", name: "unanswered.jsonl"),
        ], timeout: 60)
        #expect(run.status == 1, "\(run.status) \(run.stderr)")
        #expect(run.stderr.contains("error: reading the live inventory from http://127.0.0.1:1 failed"), "\(run.stderr)")
        #expect(run.stderr.contains("warning: the cloud has not answered GET /v1.0/p/dedicated-hosts 3 times"), "\(run.stderr)")
    }

    /// A fake cloud on a port in use fails at once with the system's reason (it waited 5 s for
    /// a "SocketError.timeout" before).
    @Test func fakeCloudOnABusyPortSaysAddressInUse() throws {
        let first = try FakeCloudProcess(["--inventory", "samples/fragmented.json", "--project-id", "p", "--token", "t"])
        defer { first.stop() }
        let second = try Binary.run(["fake-cloud", "--inventory", "samples/fragmented.json", "--project-id", "p", "--token", "t",
                                     "--port", String(first.port)])
        #expect(second.status == 1)
        #expect(second.stderr.contains("cannot listen on 127.0.0.1:\(first.port): address already in use"), "\(second.stderr)")
    }

    /// `generate` says when the hosts had no room for every server asked for.
    @Test func generateSaysWhenItWroteFewerServers() throws {
        let out = Fixtures.temporaryFile("", name: "small.json")
        let run = try Binary.run(["generate", "--hosts", "2", "--servers", "500", "--max-fill", "0.3", "--out", out])
        #expect(run.status == 0)
        let written = try Inventory.load(path: out).servers.count
        #expect(written < 500)
        #expect(run.stderr.contains("500 servers asked for, \(written) written"), "\(run.stderr)")
    }
}

/// `dehplan demo` from a directory without samples/: it finds the checkout's samples above
/// the binary.
@Suite struct DemoAnywhereE2ETests {
    @Test func demoRunsFromAnyDirectory() throws {
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("demo-elsewhere-\(getpid())")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let run = try Binary.run(["demo", "--format", "json", "--report", elsewhere.appendingPathComponent("r.html").path], directory: elsewhere)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"documented_failure\""), "\(run.stdout.prefix(300))")
    }
}
