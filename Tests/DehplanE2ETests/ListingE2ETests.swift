// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing
import Topology

/// OpenStack-style output of the listing commands: `-f table|value|yaml` and `-c COLUMN`.
@Suite struct ListingE2ETests {
    let target = ["targets", "--inventory", "samples/region.json", "--server", "srv-0003", "--limit", "2"]

    @Test func valueAndColumnsForScripts() throws {
        let value = try Binary.run(target + ["-f", "value", "-c", "dedicated_host_id", "-c", "SCORE"])
        #expect(value.status == 0, "\(value.stderr)")
        #expect(value.stdout == "deh-004 1.000\ndeh-022 0.719\n", "\(value.stdout)")
        // Headers in any case, as the table shows them.
        let table = try Binary.run(target + ["-f", "table", "-c", "Dedicated Host", "-c", "nodes"])
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(table.stdout)")
        #expect(lines.first?.hasPrefix("DEDICATED HOST") == true)
        #expect(!table.stdout.contains("Server:"), "table is the rows only")
        // The headroom list, one row per flavor and zone.
        let headroom = try Binary.run(["capacity", "--inventory", "samples/fragmented.json", "--az", "eu-de-01",
                                       "--flavor", "c6.4xlarge.4", "-f", "value", "-c", "flavor", "-c", "count", "-c", "naive_count"])
        #expect(headroom.status == 0, "\(headroom.stderr)")
        #expect(headroom.stdout == "c6.4xlarge.4 1 3\n", "\(headroom.stdout)")
    }

    @Test func jsonAndYamlKeepTheDocumentWithTheChosenKeys() throws {
        let json = try JSON.parse(try Binary.run(target + ["-f", "json", "-c", "dedicated_host_id"]).stdout)
        guard case .array(let rows)? = json["targets"] else {
            Issue.record("no targets")
            return
        }
        #expect(rows.count == 3)  // two DeHs and the pool
        #expect(rows.first == .object([("dedicated_host_id", .string("deh-004"))]))
        #expect(json["fitting_hosts"] == .number(4), "the rest of the document stays")

        let yaml = try Binary.run(target + ["-f", "YAML"])
        #expect(yaml.status == 0)
        #expect(yaml.stdout.hasPrefix("server_id: srv-0003\ntargets:\n  - dedicated_host_id: deh-004\n    numa_nodes:\n      - 0\n"), "\(yaml.stdout)")
        #expect(yaml.stdout.contains("  - dedicated_host_id: null\n"))
        #expect(yaml.stdout.contains("reasons: []\n"))
    }

    @Test func badColumnsAndFormatsAreNamed() throws {
        let unknown = try Binary.run(target + ["-c", "hostname"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no column \"hostname\""))
        #expect(unknown.stderr.contains("dedicated_host_id"), "the columns are listed")
        let demand = try Binary.run(["capacity", "--inventory", "samples/fragmented.json", "--demand", "c6.large.2=1", "-f", "value"])
        #expect(demand.status == 2)
        #expect(demand.stderr.contains("with --demand use -f text, json or yaml"))
    }
}
