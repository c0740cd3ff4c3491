// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing
import Topology

/// End-to-end: `dehplan plan` on the samples, its plan file, and its exit codes.
@Suite struct PlanE2ETests {
    func keys(_ value: JSON?) -> [String] {
        guard case .object(let pairs)? = value else { return [] }
        return pairs.map(\.0)
    }

    /// A time limit the run could not keep is said in the plan's notes (and only then).
    @Test func aLimitNotKeptIsSaid() throws {
        let inventory = Fixtures.temporaryFile("", name: "limit-inventory.json")
        let generated = try Binary.run([
            "generate", "--seed", "7", "--hosts", "300", "--servers", "1500", "--zones", "az1", "--shutoff", "0.9", "--out", inventory,
        ])
        #expect(generated.status == 0, "\(generated.stderr)")
        func notes(_ arguments: [String]) throws -> [String] {
            let run = try Binary.run(["plan", "--format", "json"] + arguments)
            #expect(run.status == 0, "\(run.stderr)")
            guard case .array(let notes)? = try JSON.parse(run.stdout)["notes"] else { return [] }
            return notes.compactMap { if case .string(let s) = $0 { s } else { nil } }
        }
        let short = try notes(["--inventory", inventory, "--consolidate", "--time-limit", "0.001"])
        #expect(short.contains { $0.hasPrefix("reading and planning took ") && $0.contains("more than --time-limit 0.001 s") }, "\(short)")
        // Proven in well under the default 30 s.
        let kept = try notes(["--inventory", "samples/evacuation.json", "--evacuate", "deh-004"])
        #expect(!kept.contains { $0.contains("more than --time-limit") }, "\(kept)")
    }

    @Test func evacuationPlanFileHasTheDocumentedShape() throws {
        let out = Fixtures.temporaryFile("", name: "plan.json")
        let run = try Binary.run([
            "plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-004", "--out", out, "--format", "json",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try JSON.parse(run.stdout)
        #expect(try JSON.parse(String(contentsOfFile: out, encoding: .utf8)) == doc)
        #expect(keys(doc) == [
            "status", "objective", "moves", "unplaced", "solver", "notes", "cloud_placement", "inventory_fingerprint", "topology",
        ])
        #expect(doc["cloud_placement"]?["model"] == .string("any"))
        // The topology is an inventory of the hosts the plan touches, with their servers' layouts.
        let topology = try Inventory.decode(doc["topology"]!)
        #expect(Set(topology.hosts.map(\.id)) == ["deh-004", "deh-009"])
        #expect(doc["status"] == .string("optimal"))
        #expect(keys(doc["objective"]) == ["name", "value", "bound", "gap"])
        #expect(doc["objective"]?["name"] == .string("min-hosts-touched"))
        #expect(doc["objective"]?["gap"] == .number(0))
        guard case .array(let moves)? = doc["moves"] else { Issue.record("no moves"); return }
        #expect(!moves.isEmpty)
        #expect(keys(moves[0]) == ["server_id", "from", "to", "numa_nodes", "wave"])
        #expect(moves.allSatisfy { $0["from"] == .string("deh-004") && $0["wave"] == .number(1) })
        #expect(keys(doc["solver"]) == ["engine", "seconds", "variables", "constraints", "subproblems"])
    }

    /// The same inventory gives the same plan in every run. Swift seeds its hash tables per
    /// process, so anything built by iterating a dictionary (rows of the model, say) must be
    /// sorted first; this caught anti-affinity rows in dictionary order steering GLPK.
    @Test func plansAreReproducibleAcrossProcesses() throws {
        let inventory = Fixtures.temporaryFile("", name: "reproducible.json")
        let generated = try Binary.run([
            "generate", "--seed", "400", "--hosts", "100", "--servers", "400", "--zones", "az1",
            "--host-types", "c6,m6", "--groups", "8", "--out", inventory,
        ])
        #expect(generated.status == 0, "\(generated.stderr)")
        for mode in [["--consolidate"], ["--evacuate", "deh-001", "deh-002", "deh-003"]] {
            var outputs = Set<String>()
            for _ in 0..<4 {
                let run = try Binary.run(["plan", "--inventory", inventory, "--format", "json"] + mode)
                #expect(run.status == 0 || run.status == 3, "\(run.stderr)")
                let stable = run.stdout.split(separator: "\n").filter { !$0.contains("\"seconds\"") }.joined(separator: "\n")
                outputs.insert(stable)
            }
            #expect(outputs.count == 1, "\(mode): \(outputs.count) different plans from 4 runs")
        }
    }

    @Test func blockedServersMakeThePlanPartial() throws {
        let run = try Binary.run(["plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-001"])
        #expect(run.status == 3)
        #expect(run.stdout.contains("Plan: PARTIAL 5/6"))
        #expect(run.stdout.contains("SERVER_NOT_STOPPED"))
    }

    @Test func consolidationReleasesHostsInText() throws {
        let run = try Binary.run([
            "plan", "--inventory", "samples/region.json", "--consolidate", "--time-limit", "20", "--cloud-placement", "planned",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("min-hosts-used"))
        #expect(run.stdout.contains("released (8):"))
        #expect(run.stdout.contains("WAVE"))
    }

    /// With `--out`, the text lists the first `rowsBesideAFile` (200) moves in wave order and
    /// says how many more the file holds; without it, every move. Fails if the table is cut
    /// without a file to hold the rest, or not cut beside one.
    @Test func aLongPlanListsItsFirstMovesBesideItsFile() throws {
        let inventory = Fixtures.temporaryFile("", name: "long-plan-inventory.json")
        let out = Fixtures.temporaryFile("", name: "long-plan.json")
        let generated = try Binary.run([
            "generate", "--seed", "5", "--hosts", "120", "--servers", "600", "--shutoff", "0.9", "--out", inventory,
        ])
        #expect(generated.status == 0, "\(generated.stderr)")
        let written = try Binary.run([
            "plan", "--inventory", inventory, "--consolidate", "--time-limit", "2", "--cloud-placement", "planned", "--out", out,
        ])
        #expect(written.status == 0, "\(written.stderr)")
        guard case .array(let list)? = try JSON.parse(String(contentsOfFile: out, encoding: .utf8))["moves"] else {
            Issue.record("no moves in the plan file")
            return
        }
        let moves = list.count
        try #require(moves > 200, "the fleet must give more than 200 moves")
        let rows = { (text: String) in text.split(separator: "\n").filter { $0.hasPrefix("  ") && $0.contains(" srv-") }.count }
        #expect(rows(written.stdout) == 200)
        #expect(written.stdout.contains("... and \(moves - 200) more move(s), every one in \(out)"))
        // A second plan, without a file: every one of its moves listed. Its count is read from its
        // own summary ("N moves in W waves"): under a busy test run the two plans, each made
        // within its time limit, may differ in moves (CI once: 300 and 284, both 59 hosts).
        let printed = try Binary.run([
            "plan", "--inventory", inventory, "--consolidate", "--time-limit", "2", "--cloud-placement", "planned",
        ])
        let summary = printed.stdout.split(separator: "\n").first { $0.contains(" moves in ") && $0.contains(" wave") }
        let printedMoves = try #require(summary.flatMap { Int($0.split(separator: " ").first ?? "") }, "\(printed.stdout.prefix(400))")
        #expect(printedMoves > 200)
        #expect(rows(printed.stdout) == printedMoves)
        #expect(!printed.stdout.contains("more move(s)"))
    }

    /// Host lists take ids apart or comma-separated (as `--servers` takes servers), mixed too:
    /// the same plan either way, the same what-if answer, and a list of only commas is a usage
    /// error. Fails if a comma-separated list is read as one host id (exit 2, "no Dedicated
    /// Host \"deh-004,deh-005\"").
    @Test func hostListsTakeCommas() throws {
        func stable(_ arguments: [String]) throws -> String {
            let run = try Binary.run(arguments + ["--format", "json"])
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
            return run.stdout.split(separator: "\n").filter { !$0.contains("\"seconds\"") }.joined(separator: "\n")
        }
        let plan = ["plan", "--inventory", "samples/evacuation.json", "--time-limit", "5"]
        let apart = try stable(plan + ["--evacuate", "deh-004", "deh-005", "--exclude", "deh-001", "deh-002"])
        #expect(apart.contains("\"from\": \"deh-004\"") && apart.contains("\"from\": \"deh-005\""), "\(apart)")
        #expect(!apart.contains("\"to\": \"deh-001\"") && !apart.contains("\"to\": \"deh-002\""))
        #expect(try stable(plan + ["--evacuate", "deh-004,deh-005", "--exclude", "deh-001, deh-002"]) == apart)
        #expect(try stable(plan + ["--evacuate", "deh-004,", "deh-005", "--exclude", "deh-001,deh-002"]) == apart)
        let capacity = ["capacity", "--inventory", "samples/fragmented.json", "--flavor", "c6.4xlarge.4"]
        let without = try stable(capacity + ["--without", "deh-src", "deh-frag-a"])
        #expect(try stable(capacity + ["--without", "deh-src,deh-frag-a"]) == without)
        let commas = try Binary.run(["plan", "--inventory", "samples/region.json", "--evacuate", ","])
        #expect(commas.status == 2)
        #expect(commas.stderr.contains("--evacuate needs at least one host id"))
    }

    @Test func usageErrors() throws {
        let none = try Binary.run(["plan", "--inventory", "samples/region.json"])
        #expect(none.status == 2)
        #expect(none.stderr.contains("choose exactly one mode"))
        let two = try Binary.run(["plan", "--inventory", "samples/region.json", "--consolidate", "--rebalance"])
        #expect(two.status == 2)
        let unknown = try Binary.run(["plan", "--inventory", "samples/region.json", "--evacuate", "deh-0004"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains(#"did you mean "deh-004"?"#))
        let limit = try Binary.run(["plan", "--inventory", "samples/region.json", "--consolidate", "--time-limit", "0"])
        #expect(limit.status == 2)
    }
}

/// The same inventory gives the same plan, process after process (Swift seeds its hashing per
/// process, so any choice made in dictionary order would show here).
@Suite struct PlanDeterminismE2ETests {
    @Test func columnGenerationPlansAreTheSameInEveryProcess() throws {
        // Bin packing (one-node hosts, memory never binds): the column-generation path.
        var b = InventoryBuilder()
        let sizes = [7, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 2, 6, 6, 1, 1, 8, 5, 4, 3, 7, 2, 6, 3]
        for s in Set(sizes).sorted() { b.flavor("item-\(s)", vcpus: s, memory: 1) }
        b.hostType("bin", nodes: 1, vcpus: 10, memory: 1000, flavors: Set(sizes).sorted().map { "item-\($0)" })
        for i in sizes.indices { b.host("bin-\(i)", type: "bin") }
        for (i, s) in sizes.enumerated() { b.server("item-\(i)", flavor: "item-\(s)", on: "bin-\(i)", nodes: [0]) }
        let file = Fixtures.temporaryFile(try b.build().json().serialized(), name: "bins.json")
        var plans = Set<String>()
        for _ in 0..<6 {
            let run = try Binary.run(["plan", "--inventory", file, "--consolidate", "--cloud-placement", "planned", "--time-limit", "10", "--format", "json"])
            #expect(run.status == 0, "\(run.stderr)")
            let moves = try JSON.parse(run.stdout)["moves"]
            plans.insert(moves.map { $0.serialized(pretty: false) } ?? "")
        }
        #expect(plans.count == 1, "\(plans.count) different plans from one inventory")
    }

    /// A mixed fleet (2- and 4-node types, split flavors, groups): the pattern model's path,
    /// with its shapes, assignment and slot filling, gives one plan too. (Seed 8: on seed 7's
    /// fleet first-fit decreasing meets the volume bound, and the planner stops there.)
    @Test func patternModelPlansAreTheSameInEveryProcess() throws {
        let file = Fixtures.temporaryFile("", name: "mixed.json")
        let gen = try Binary.run(["generate", "--seed", "8", "--hosts", "60", "--servers", "300", "--zones", "az1", "--host-types", "c6,m6,h4",
                                  "--shutoff", "0.9", "--max-fill", "0.5", "--out", file])
        #expect(gen.status == 0)
        var plans = Set<String>()
        for _ in 0..<4 {
            let run = try Binary.run(["plan", "--inventory", file, "--consolidate", "--cloud-placement", "planned", "--time-limit", "10", "--format", "json"])
            #expect(run.status == 0, "\(run.stderr)")
            let doc = try JSON.parse(run.stdout)
            #expect(doc["notes"].map { $0.serialized(pretty: false).contains("pattern model") } == true)
            plans.insert(doc["moves"].map { $0.serialized(pretty: false) } ?? "")
        }
        #expect(plans.count == 1, "\(plans.count) different plans from one inventory")
    }
}
