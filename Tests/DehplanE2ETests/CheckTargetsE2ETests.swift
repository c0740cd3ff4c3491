// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing
import Topology

/// End-to-end: the built binary's output, JSON shape and exit codes.
@Suite struct CheckTargetsE2ETests {
    let fragmented = "samples/fragmented.json"

    func json(_ text: String) throws -> JSON { try JSON.parse(text) }

    func keys(_ value: JSON?) -> [String] {
        guard case .object(let pairs)? = value else { return [] }
        return pairs.map(\.0)
    }

    @Test func versionAndHelp() throws {
        let version = try Binary.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
        let help = try Binary.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("check"))
        #expect(help.stdout.contains("targets"))
        #expect(help.stdout.contains("Exit codes"))
        let checkHelp = try Binary.run(["check", "--help"])
        #expect(checkHelp.stdout.contains("INSUFFICIENT_NUMA_CAPACITY"))
    }

    @Test func checkRejectsTheFragmentedHost() throws {
        let run = try Binary.run(["check", "--inventory", fragmented, "--server", "app-big", "--to", "deh-frag-a", "--format", "json"])
        #expect(run.status == 3)
        let doc = try json(run.stdout)
        #expect(keys(doc) == ["server_id", "target", "feasible", "numa_nodes", "layout", "verdict", "leftover", "reasons"])
        #expect(doc["server_id"] == .string("app-big"))
        #expect(doc["target"] == .string("deh-frag-a"))
        #expect(doc["feasible"] == .bool(false))
        #expect(doc["numa_nodes"] == .null)
        guard case .array(let reasons)? = doc["reasons"] else { Issue.record("no reasons"); return }
        #expect(reasons.count == 1)
        #expect(reasons[0]["code"] == .string("INSUFFICIENT_NUMA_CAPACITY"))
        #expect(keys(reasons[0]) == ["code", "message"])
    }

    @Test func checkAcceptsTheExactFit() throws {
        let run = try Binary.run(["check", "--inventory", fragmented, "--server", "app-big", "--to", "deh-frag-b", "--format", "json"])
        #expect(run.status == 0)
        let doc = try json(run.stdout)
        #expect(doc["feasible"] == .bool(true))
        #expect(doc["numa_nodes"] == .array([.number(0)]))
        #expect(doc["reasons"] == .array([]))
        let text = try Binary.run(["check", "--inventory", fragmented, "--server", "app-big", "--to", "deh-frag-b"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("Verdict: FEASIBLE on NUMA node 0"))
    }

    @Test func checkToThePool() throws {
        let run = try Binary.run(["check", "--inventory", fragmented, "--server", "app-big", "--to", "pool", "--format", "json"])
        #expect(run.status == 0)
        #expect(try json(run.stdout)["target"] == .null)
    }

    @Test func checkTextListsEveryReason() throws {
        let run = try Binary.run(["check", "--inventory", fragmented, "--server", "db-split", "--to", "deh-far"])
        #expect(run.status == 3)
        #expect(run.stdout.contains("SERVER_NOT_STOPPED"))
        #expect(run.stdout.contains("AZ_MISMATCH"))
        #expect(run.stdout.contains("NOT FEASIBLE (2 reasons)"))
    }

    /// An unknown id is invalid input (exit 2) with a suggestion, in JSON mode too; nothing on
    /// standard output for a script to mistake for a verdict.
    @Test func unknownServerIsInvalidInputWithASuggestion() throws {
        let run = try Binary.run(["check", "--inventory", fragmented, "--server", "app-bgi", "--to", "deh-frag-b", "--format", "json"])
        #expect(run.status == 2)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains(#"--server: no server "app-bgi" in the inventory; did you mean "app-big"?"#))
    }

    /// Operators' habits: `--format JSON` in capitals, `-f` for short, and the inventory on
    /// standard input.
    @Test func formatInAnyCaseAndInventoryFromStandardInput() throws {
        let upper = try Binary.run(["check", "--inventory", fragmented, "--server", "app-big", "--to", "deh-frag-b", "--format", "JSON"])
        #expect(upper.status == 0)
        #expect((try? json(upper.stdout)) != nil, "\(upper.stdout)\(upper.stderr)")
        let short = try Binary.run(["targets", "--inventory", fragmented, "--server", "app-big", "-f", "Json"])
        #expect(short.status == 0)
        #expect((try? json(short.stdout)) != nil, "\(short.stdout)\(short.stderr)")
        let piped = try Binary.runTool("/bin/sh", ["-c", "cat \(fragmented) | \(Binary.path) check --inventory - --server app-big --to deh-frag-b --format json"])
        let direct = try Binary.run(["check", "--inventory", fragmented, "--server", "app-big", "--to", "deh-frag-b", "--format", "json"])
        #expect(piped == direct.stdout)
    }

    @Test func targetsJSONShape() throws {
        let run = try Binary.run(["targets", "--inventory", fragmented, "--server", "app-big", "--format", "json"])
        #expect(run.status == 0)
        let doc = try json(run.stdout)
        #expect(keys(doc) == ["server_id", "targets", "fitting_hosts", "rejected", "reasons"])
        guard case .array(let targets)? = doc["targets"] else { Issue.record("no targets"); return }
        #expect(targets.count == 2)
        #expect(keys(targets[0]) == ["dedicated_host_id", "numa_nodes", "leftover", "score", "layout", "verdict"])
        #expect(targets[0]["dedicated_host_id"] == .string("deh-frag-b"))
        #expect(targets[0]["numa_nodes"] == .array([.number(0)]))
        #expect(targets[0]["score"] == .number(1))
        #expect(targets[1]["dedicated_host_id"] == .null)
        #expect(doc["rejected"] == .object([
            ("SAME_HOST", .number(1)), ("AZ_MISMATCH", .number(1)), ("INSUFFICIENT_CAPACITY", .number(1)),
            ("INSUFFICIENT_NUMA_CAPACITY", .number(1)), ("NUMA_LAYOUT_UNKNOWN", .number(1)),
        ]))
    }

    @Test func targetsUnderThePossiblePolicyIncludeTheUncertainHost() throws {
        let run = try Binary.run([
            "targets", "--inventory", fragmented, "--server", "app-big", "--layout-policy", "possible", "--cloud-placement", "planned",
            "--format", "json",
        ])
        #expect(run.status == 0)
        guard case .array(let targets)? = try json(run.stdout)["targets"] else { Issue.record("no targets"); return }
        let murky = targets.first { $0["dedicated_host_id"] == .string("deh-murky") }
        #expect(murky?["layout"] == .string("unknown"))
        #expect(murky?["verdict"] == .string("possible"))
    }

    @Test func targetsExitThreeWhenNoHostFits() throws {
        let run = try Binary.run(["targets", "--inventory", fragmented, "--server", "db-split", "--assume-stopped"])
        #expect(run.status == 3)
        #expect(run.stdout.contains("No Dedicated Host fits."))
        #expect(run.stdout.contains("Rejected hosts by first reason:"))
        #expect(run.stdout.contains("INSUFFICIENT_CAPACITY 4"))
    }

    @Test(arguments: [
        (#"{"host_types": {"#, "line 1, column 17: unexpected end of file inside an object; the JSON is truncated"),
        (#"{"host_types": {}, "flavors": {}, "hosts": [], "servers": [{"id": "s"}]}"#, "servers[0].flavor: missing; expected a string"),
        ("not json", "invalid JSON at line 1, column 1"),
        ("[]", "expected a JSON object"),
    ])
    func badInventoriesExitTwoWithTheMessage(text: String, expected: String) throws {
        let path = Fixtures.temporaryFile(text)
        let run = try Binary.run(["check", "--inventory", path, "--server", "s", "--to", "pool"])
        #expect(run.status == 2)
        #expect(run.stderr.contains(expected), "stderr: \(run.stderr)")
        #expect(run.stderr.contains(path))
        #expect(run.stdout.isEmpty)
    }

    @Test func overcommittedNodeIsRejectedByHostNodeAndAmount() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.sample("fragmented.json")))
        var doc = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var servers = doc["servers"] as! [[String: Any]]
        // deh-frag-a node 0 has 10 vCPUs free; a 16-vCPU server there overcommits it by 6.
        servers.append([
            "id": "intruder", "flavor": "c6.4xlarge.4", "status": "SHUTOFF", "availability_zone": "eu-de-01",
            "dedicated_host_id": "deh-frag-a", "numa_nodes": [0],
        ])
        doc["servers"] = servers
        let path = Fixtures.temporaryFile(String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self))
        let run = try Binary.run(["targets", "--inventory", path, "--server", "app-big"])
        #expect(run.status == 2)
        #expect(run.stderr.contains(#"hosts[1]: host "deh-frag-a" NUMA node 0 is overcommitted by 6 vCPUs (38 used of 32) and 20480 MiB"#),
                "stderr: \(run.stderr)")
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try Binary.run(["check", "--inventory", fragmented, "--to", "pool"]).status == 2)
        #expect(try Binary.run(["targets", "--inventory", fragmented, "--server", "app-big", "--limit", "0"]).status == 2)
        #expect(try Binary.run(["targets", "--inventory", fragmented, "--server", "app-big", "--format", "xml"]).status == 2)
        #expect(try Binary.run(["frobnicate"]).status == 2)
        let missing = try Binary.run(["check", "--inventory", "/nonexistent.json", "--server", "a", "--to", "pool"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent.json: no such file"))
    }

    /// Random bytes, truncations and mutations of a real inventory never crash the binary.
    @Test func noInputCrashesTheProgram() throws {
        let original = Array(try String(contentsOfFile: Fixtures.sample("fragmented.json"), encoding: .utf8).utf8)
        var state: UInt64 = 7
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        var inputs: [[UInt8]] = [[], [0xFF, 0xFE], Array("{\"hosts\": 1e999}".utf8)]
        for _ in 0..<12 {
            var bytes = original
            switch next() % 3 {
            case 0: bytes = Array(bytes.prefix(next() % bytes.count))
            case 1: for _ in 0..<5 { bytes[next() % bytes.count] = UInt8(next() % 256) }
            default: bytes = (0..<(next() % 200)).map { _ in UInt8(next() % 256) }
            }
            inputs.append(bytes)
        }
        for bytes in inputs {
            let path = Fixtures.temporaryFile(String(decoding: bytes, as: UTF8.self))
            let run = try Binary.run(["targets", "--inventory", path, "--server", "app-big"])
            #expect([0, 2, 3].contains(run.status), "exit \(run.status) for \(path): \(run.stderr)")
            #expect(!run.stderr.contains("Fatal error"))
            #expect(!run.stderr.contains("Stack dump"))
        }
    }
}
