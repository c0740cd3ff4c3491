// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing
import Topology

/// End-to-end: `dehplan capacity` on the hand-made fragmented sample, whose numbers are
/// worked out in samples/README.md.
@Suite struct CapacityE2ETests {
    let fragmented = "samples/fragmented.json"

    func row(_ doc: JSON, _ flavor: String, _ zone: String) -> JSON? {
        guard case .array(let rows)? = doc["headroom"] else { return nil }
        return rows.first { $0["flavor"] == .string(flavor) && $0["availability_zone"] == .string(zone) }
    }

    @Test func headroomCountsFragmentation() throws {
        let run = try Binary.run(["capacity", "--inventory", fragmented, "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try JSON.parse(run.stdout)
        let big = try #require(row(doc, "c6.4xlarge.4", "eu-de-01"))
        // Only deh-frag-b has 16 vCPUs free on one node; the totals promise three.
        #expect(big["count"] == .number(1))
        #expect(big["naive_count"] == .number(3))
        #expect(big["fragmentation_loss"] == .number(2))
        #expect(big["hosts"] == .number(5))
        #expect(big["hosts_with_unknown_layout"] == .number(1))
        // deh-murky's server of unknown layout may sit where it leaves room: possible, not certain.
        let possible = try JSON.parse(try Binary.run(["capacity", "--inventory", fragmented, "--format", "json", "--layout-policy", "possible", "--flavor", "c6.4xlarge.4"]).stdout)
        #expect(row(possible, "c6.4xlarge.4", "eu-de-01")?["count"] == .number(2))
        guard case .array(let rows)? = possible["headroom"] else { Issue.record("no rows"); return }
        #expect(rows.count == 2)  // one flavor, two zones

        let text = try Binary.run(["capacity", "--inventory", fragmented, "--az", "eu-de-01"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("Availability zone eu-de-01"))
        #expect(!text.stdout.contains("eu-de-02"))
        #expect(text.stdout.contains("FLAVOR"))
        #expect(text.stdout.contains("LOSS"))
    }

    @Test func demandFitsOrNamesTheHostsToAdd() throws {
        let fits = try Binary.run(["capacity", "--inventory", fragmented, "--az", "eu-de-01", "--demand", "c6.4xlarge.4=1,c6.large.2=4", "--format", "json"])
        #expect(fits.status == 0, "\(fits.stderr)")
        let yes = try JSON.parse(fits.stdout)
        #expect(yes["demand"]?["fits"] == .bool(true))
        #expect(yes["demand"]?["added_hosts"] == .number(0))

        let short = try Binary.run(["capacity", "--inventory", fragmented, "--az", "eu-de-01", "--demand", "c6.4xlarge.4=6", "--format", "json"])
        #expect(short.status == 3)
        let no = try JSON.parse(short.stdout)
        #expect(no["demand"]?["fits"] == .bool(false))
        #expect(no["demand"]?["status"] == .string("optimal"))
        // One fits now (deh-frag-b); an empty c6 host takes four (two per node): five more need two.
        #expect(no["demand"]?["added_hosts"] == .number(2))
        #expect(no["demand"]?["added_hosts_bound"] == .number(2))
        #expect(no["demand"]?["added_vcpus"] == .number(128))

        let text = try Binary.run(["capacity", "--inventory", fragmented, "--az", "eu-de-01", "--demand", "c6.4xlarge.4=6"])
        #expect(text.status == 3)
        #expect(text.stdout.contains("DOES NOT FIT"))
        #expect(text.stdout.contains("2 more host(s): 2 × c6"))
        #expect(text.stdout.contains("proven minimal"))
        #expect(no["demand"]?["verdict"] == .string("does_not_fit"))
        #expect(no["demand"]?["added_hosts_proven"] == .bool(true))
        #expect(yes["demand"]?["verdict"] == .string("fits"))
    }

    /// A heuristic answer is never worded as a verdict: with no time for any model, the
    /// first-fit answer adds hosts, and nothing rules out a fit, so it is "not shown to fit".
    @Test func anUnprovenAnswerSaysSo() throws {
        let args = ["capacity", "--inventory", "samples/region.json", "--demand", "c6.large.2=20000", "--time-limit", "0.000001"]
        let json = try Binary.run(args + ["--format", "json"])
        #expect(json.status == 3, "\(json.stderr)")
        let doc = try JSON.parse(json.stdout)
        #expect(doc["demand"]?["verdict"] == .string("unknown"))
        #expect(doc["demand"]?["fits"] == .bool(false))
        #expect(doc["demand"]?["added_hosts_bound"] == .number(0))
        #expect(doc["demand"]?["added_hosts_proven"] == .bool(false))
        #expect(doc["demand"]?["status"] == .string("greedy"))
        let text = try Binary.run(args)
        #expect(text.stdout.hasPrefix("NOT SHOWN TO FIT"))
        #expect(!text.stdout.contains("DOES NOT FIT"))
        #expect(!text.stdout.contains("proven"))
        // With time, the same demand gets a proof: 408 empty h4 hosts (48 each) are the fewest.
        let proven = try JSON.parse(try Binary.run(["capacity", "--inventory", "samples/region.json", "--demand", "c6.large.2=20000", "--format", "json"]).stdout)
        #expect(proven["demand"]?["verdict"] == .string("does_not_fit"))
        #expect(proven["demand"]?["added_hosts"] == .number(408))
        #expect(proven["demand"]?["added_hosts_proven"] == .bool(true))
        #expect(proven["demand"]?["solver"]?["model"] == .string("patterns"))
    }

    @Test func withoutReplacesTheShutoffServersFirst() throws {
        let run = try Binary.run(["capacity", "--inventory", fragmented, "--without", "deh-src", "--flavor", "c6.4xlarge.4", "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try JSON.parse(run.stdout)
        #expect(doc["without"]?["hosts"] == .array([.string("deh-src")]))
        #expect(doc["without"]?["replaced"] == .number(2))  // app-big and web-small
        guard case .array(let stuck)? = doc["without"]?["not_replaced"] else { Issue.record("no not_replaced"); return }
        #expect(stuck.map { $0["server_id"] } == [.string("db-split")])  // ACTIVE
        // app-big took deh-frag-b's only 16-vCPU node: no room left for another.
        #expect(row(doc, "c6.4xlarge.4", "eu-de-01")?["count"] == .number(0))
    }

    @Test func badInputTeaches() throws {
        let typo = try Binary.run(["capacity", "--inventory", fragmented, "--flavor", "c6.4xlrge.4"])
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("did you mean \"c6.4xlarge.4\""))
        let zone = try Binary.run(["capacity", "--inventory", fragmented, "--az", "eu-de-1"])
        #expect(zone.status == 2)
        #expect(zone.stderr.contains("eu-de-01"))
        let demand = try Binary.run(["capacity", "--inventory", fragmented, "--demand", "c6.large.2"])
        #expect(demand.status == 2)
        #expect(demand.stderr.contains("FLAVOR=COUNT"))
        let host = try Binary.run(["capacity", "--inventory", fragmented, "--without", "deh-srcc"])
        #expect(host.status == 2)
        #expect(host.stderr.contains("did you mean \"deh-src\""))
        #expect(host.stderr.contains("--without: no Dedicated Host \"deh-srcc\""), "names the option given, not --evacuate")
        let type = try Binary.run(["capacity", "--inventory", fragmented, "--demand", "c6.large.2=1", "--add-host-type", "c7"])
        #expect(type.status == 2)
        #expect(type.stderr.contains("did you mean \"c6\""))
    }
}
