// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing

/// Every command's text and JSON output, compared with the expected files in golden/.
/// When output changes on purpose: `scripts/update-golden` rewrites them (then review the diff).
@Suite(.serialized) struct GoldenE2ETests {
    static let directory = Fixtures.packageRoot.appendingPathComponent("Tests/DehplanE2ETests/golden")
    static var updating: Bool { ProcessInfo.processInfo.environment["DEHPLAN_UPDATE_GOLDEN"] == "1" }

    /// Times and temporary paths vary between runs; everything else must not.
    static func normalise(_ text: String) -> String {
        var t = text
        for (pattern, replacement) in [
            (#""seconds": [0-9.e-]+"#, #""seconds": 0"#),
            (#"solver [0-9.]+ s"#, "solver <t> s"),
            (#"(constraints|rows), [0-9.]+ s"#, "$1, <t> s"),
            (#"/tmp/dehplan-tests-[0-9]+/[A-F0-9-]+/"#, "<tmp>/"),
            (#"/tmp/dehplan-demo-[A-F0-9-]+\.journal"#, "<tmp>/demo.journal"),
            (#"http://127\.0\.0\.1:[0-9]+"#, "http://127.0.0.1:<port>"),
        ] {
            t = t.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return t
    }

    static func compare(_ name: String, _ run: Binary.Run, status: Int32) throws {
        #expect(run.status == status, "\(name): exit \(run.status), stderr: \(run.stderr)")
        let actual = normalise(run.stdout)
        let file = directory.appendingPathComponent(name)
        if updating {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: file)
            return
        }
        guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
            Issue.record("missing golden file \(name); run scripts/update-golden")
            return
        }
        if actual != expected {
            let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
            let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
            Issue.record("""
                \(name) differs from golden/\(name) at line \(line + 1):
                  expected: \(line < e.count ? String(e[line]) : "<end>")
                  actual:   \(line < a.count ? String(a[line]) : "<end>")
                (scripts/update-golden rewrites the files when the change is intended)
                """)
        }
    }

    /// (golden file stem, arguments, expected exit status); each runs as text and as JSON.
    static let cases: [(String, [String], Int32)] = [
        ("check-numa-failure", ["check", "--inventory", "samples/fragmented.json", "--server", "app-big", "--to", "deh-frag-a"], 3),
        ("check-feasible", ["check", "--inventory", "samples/fragmented.json", "--server", "app-big", "--to", "deh-frag-b"], 0),
        ("check-unknown-layout", ["check", "--inventory", "samples/fragmented.json", "--server", "app-big", "--to", "deh-murky"], 3),
        ("targets", ["targets", "--inventory", "samples/fragmented.json", "--server", "web-small"], 0),
        ("targets-blocked", ["targets", "--inventory", "samples/fragmented.json", "--server", "db-split"], 3),
        ("plan-evacuate", ["plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-004"], 0),
        ("plan-servers-infeasible", ["plan", "--inventory", "samples/fragmented.json", "--servers", "app-big,db-split"], 3),
        ("capacity", ["capacity", "--inventory", "samples/fragmented.json"], 0),
        ("capacity-demand", ["capacity", "--inventory", "samples/fragmented.json", "--az", "eu-de-01", "--demand", "c6.4xlarge.4=6,c6.large.2=4"], 3),
        ("capacity-without", ["capacity", "--inventory", "samples/fragmented.json", "--without", "deh-src", "--flavor", "c6.4xlarge.4"], 0),
    ]

    @Test func commandsInTextAndJSON() throws {
        for (stem, arguments, status) in Self.cases {
            try Self.compare("\(stem).txt", try Binary.run(arguments), status: status)
            try Self.compare("\(stem).json", try Binary.run(arguments + ["--format", "json"]), status: status)
        }
    }

    @Test func generateAndReport() throws {
        let small = ["generate", "--seed", "3", "--hosts", "3", "--servers", "6"]
        try Self.compare("generate.json", try Binary.run(small), status: 0)
        let out = Fixtures.temporaryFile("", name: "gen.json")
        try Self.compare("generate-out.txt", try Binary.run(small + ["--out", out]), status: 0)
        try Self.compare("generate-out.json", try Binary.run(small + ["--out", out, "--format", "json"]), status: 0)
        try Self.compare("report.html", try Binary.run(["report", "--inventory", "samples/fragmented.json", "--out", "-"]), status: 0)
    }

    @Test func applyDryRunAndInventory() throws {
        let plan = Fixtures.temporaryFile("", name: "plan.json")
        _ = try Binary.run(["plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-004", "--out", plan, "-q"])
        let cloud = ["--endpoint", "http://127.0.0.1:9", "--project-id", "golden", "--token", "t"]
        try Self.compare("apply-dry-run.txt", try Binary.run(["apply", plan] + cloud + ["--dry-run"]), status: 0)
        try Self.compare("apply-dry-run.json", try Binary.run(["apply", plan] + cloud + ["--dry-run", "--format", "json"]), status: 0)
        let fake = try FakeCloudProcess(["--inventory", "samples/fragmented.json", "--project-id", "golden", "--token", "t"])
        defer { fake.stop() }
        try Self.compare(
            "inventory.json",
            try Binary.run(["inventory", "--endpoint", fake.endpoint, "--project-id", "golden", "--token", "t"]), status: 0)
    }

    /// The first line of `fake-cloud` (what scripts wait for), text and JSON.
    @Test func fakeCloudAnnouncement() throws {
        for (name, extra) in [("fake-cloud.txt", [String]()), ("fake-cloud.json", ["--format", "json"])] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Binary.path)
            process.arguments = ["fake-cloud", "--inventory", "samples/fragmented.json", "--project-id", "golden", "--token", "t"] + extra
            process.currentDirectoryURL = Fixtures.packageRoot
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let line = FakeCloudProcess.firstLine(of: out)
            process.terminate()
            process.waitUntilExit()
            try Self.compare(name, Binary.Run(status: 0, stdout: line, stderr: ""), status: 0)
        }
    }

    /// The demo's JSON summary (its text narrates concurrent migrations, whose order varies).
    @Test func demoSummary() throws {
        let report = Fixtures.temporaryFile("", name: "demo.html")
        try Self.compare("demo.json", try Binary.run(["demo", "--format", "json", "--report", report]), status: 0)
    }
}

/// docs/CLI.md is the commands' own help; completion scripts cover every command.
@Suite struct CLIReferenceE2ETests {
    @Test func cliReferenceIsCurrent() throws {
        let run = try Binary.run(["cli-reference"])
        #expect(run.status == 0)
        let committed = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("docs/CLI.md"), encoding: .utf8)
        #expect(run.stdout == committed, "docs/CLI.md is stale: run scripts/cli-docs")
        for command in ["check", "targets", "plan", "capacity", "report", "apply", "inventory", "fake-cloud", "demo", "generate"] {
            #expect(committed.contains("## dehplan \(command)\n"), "\(command) missing from docs/CLI.md")
        }
        #expect(!committed.contains("## dehplan cli-reference"))
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScripts(shell: String) throws {
        let run = try Binary.run(["--generate-completion-script", shell])
        #expect(run.status == 0)
        for word in ["capacity", "report", "layout-policy", "demand", "evacuate"] {
            #expect(run.stdout.contains(word), "\(shell) completion lacks \(word)")
        }
    }
}
