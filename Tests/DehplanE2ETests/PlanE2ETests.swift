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

    @Test func evacuationPlanFileHasTheDocumentedShape() throws {
        let out = Fixtures.temporaryFile("", name: "plan.json")
        let run = try Binary.run([
            "plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-004", "--out", out, "--format", "json",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try JSON.parse(run.stdout)
        #expect(try JSON.parse(String(contentsOfFile: out, encoding: .utf8)) == doc)
        #expect(keys(doc) == ["status", "objective", "moves", "unplaced", "solver", "notes"])
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

    @Test func blockedServersMakeThePlanInfeasible() throws {
        let run = try Binary.run(["plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-001"])
        #expect(run.status == 3)
        #expect(run.stdout.contains("Plan: INFEASIBLE"))
        #expect(run.stdout.contains("SERVER_NOT_STOPPED"))
    }

    @Test func consolidationReleasesHostsInText() throws {
        let run = try Binary.run(["plan", "--inventory", "samples/region.json", "--consolidate", "--time-limit", "20"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("min-hosts-used"))
        #expect(run.stdout.contains("released (8):"))
        #expect(run.stdout.contains("WAVE"))
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
