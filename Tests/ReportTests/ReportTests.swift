// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Generator
import Planner
@testable import Report
import TestSupport
import Testing
import Topology

@Suite struct ReportTests {
    /// Two 2-node hosts of 16 vCPUs per node; "src" holds a 4-vCPU server (SHUTOFF), "dst" has a
    /// server of unknown layout and 2 vCPUs stranded on node 1.
    static func inventory() throws -> Inventory {
        var b = InventoryBuilder()
        b.hostType("t", nodes: 2, vcpus: 16, memory: 65536, flavors: ["s4", "m8"])
        b.flavor("s4", vcpus: 4, memory: 8192)
        b.flavor("m8", vcpus: 8, memory: 16384)
        b.host("src", type: "t")
        b.host("dst", type: "t")
        b.host("idle", type: "t")
        b.server("a", flavor: "s4", on: "src", nodes: [0])
        b.server("u", flavor: "m8", on: "dst", nodes: nil)
        b.server("f1", flavor: "s4", on: "dst", nodes: [1])
        b.server("f2", flavor: "s4", on: "dst", nodes: [1])
        b.server("f3", flavor: "m8", on: "dst", nodes: [0])
        return try b.build()
    }

    @Test func verdictsComeFromTheStateWhenTheWaveStarts() throws {
        let inventory = try Self.inventory()
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .evacuate(["src"]), layoutPolicy: .possible))
        let verdicts = Report(inventory: inventory, plan: plan, title: "t").moveVerdicts()
        #expect(verdicts.count == plan.moves.count)
        for v in verdicts {
            let target = try #require(v.move.to)
            let usage = PlacementState(inventory).usage[inventory.hostIndex[target]!]
            let flavor = inventory.flavors[v.flavor]!
            #expect(v.verdict == LayoutVerdict.verdict(flavor, on: usage))
        }
    }

    @Test func strandedCapacityIsWhatNoFlavorInUseCanTake() throws {
        // dst: the unknown m8 counts 8 vCPUs / 16 GiB against each node at worst, so both nodes
        // have 0 vCPUs but 32 GiB free: that memory is stranded. src and idle: every node usable.
        let first = Report.stranded(try Self.inventory())
        #expect(first.map(\.hostID) == ["dst"])
        #expect(first.first?.vcpus == 0)
        #expect(first.first?.memoryMiB == 2 * 32768)
        // A flavor accepted but not in use does not make room usable, nor does one in use that is too big.
        var b = InventoryBuilder()
        b.hostType("t", nodes: 2, vcpus: 16, memory: 65536, flavors: ["s4", "huge", "tiny"])
        b.flavor("s4", vcpus: 4, memory: 8192)
        b.flavor("huge", vcpus: 64, memory: 8192)
        b.flavor("tiny", vcpus: 2, memory: 2048)
        b.host("h", type: "t")
        for (i, n) in [0, 0, 0, 1, 1, 1].enumerated() { b.server("s\(i)", flavor: "s4", on: "h", nodes: [n]) }
        b.server("x", flavor: "huge", on: nil, nodes: nil)
        // node 0 and node 1: 16 - 12 = 4 free each, an s4 fits: nothing stranded.
        #expect(Report.stranded(try b.build()).isEmpty)
        var c = InventoryBuilder()
        c.hostType("t", nodes: 2, vcpus: 14, memory: 65536, flavors: ["s4"])
        c.flavor("s4", vcpus: 4, memory: 8192)
        c.host("h", type: "t")
        for (i, n) in [0, 0, 0, 1, 1].enumerated() { c.server("s\(i)", flavor: "s4", on: "h", nodes: [n]) }
        // node 0: 14 - 12 = 2 vCPUs stranded; node 1: 14 - 8 = 6 free, an s4 fits.
        let stranded = Report.stranded(try c.build())
        #expect(stranded.count == 1)
        #expect(stranded.first?.vcpus == 2)
        #expect(stranded.first?.memoryMiB == 65536 - 3 * 8192)
    }

    @Test func pageIsSelfContainedAndShowsThePlan() throws {
        let inventory = try Self.inventory()
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .evacuate(["src"])))
        let html = Report(inventory: inventory, plan: plan, title: "inventory x.json, plan p.json").html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.lowercased().contains("<script"))
        // The only URL is the SVG namespace, which browsers never fetch.
        let urls = html.components(separatedBy: "http").count - 1
        #expect(urls == html.components(separatedBy: "http://www.w3.org/2000/svg").count - 1)
        #expect(!html.contains("@import") && !html.contains("url("))
        for part in ["Summary", "Headroom", "Fragmentation", "Moves by wave", "Wave 1", plan.status.rawValue, "src", "released"] {
            #expect(html.contains(part), "missing \(part)")
        }
        #expect(html.contains("class=\"out\""))  // the moved server highlighted before
        #expect(html.contains("class=\"in\""))  // and after
        // Text from the inventory is escaped.
        let tricky = Report(inventory: inventory, plan: nil, title: "<b>&\"x\"</b>").html()
        #expect(tricky.contains("&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;"))
        #expect(!tricky.contains("<b>&"))
    }

    /// Bad news in the summary (headroom that drops, stranded capacity that grows), numbers on
    /// the bars in vCPUs and GiB, moves grouped by host pair once there are many.
    @Test func theSummarySaysWhatGetsWorseAndTheBarsCarryNumbers() throws {
        let inventory = try Self.inventory()
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .evacuate(["src"])))
        var report = Report(inventory: inventory, plan: plan, title: "t")
        let html = report.html()
        let before = try HeadroomReport(inventory, policy: .certain).rows
        let after = try HeadroomReport(inventory.applying(plan.moves), policy: .certain).rows
        let drops = zip(before, after).filter { $1.count < $0.count }
        #expect(html.contains("Headroom after the plan"))
        #expect(html.contains(drops.isEmpty ? "no drop" : "\(drops.count) flavor\(drops.count == 1 ? "" : "s") drop"))
        let strandedBefore = Report.stranded(inventory).reduce(0) { $0 + $1.memoryMiB }
        let strandedAfter = Report.stranded(inventory.applying(plan.moves)).reduce(0) { $0 + $1.memoryMiB }
        #expect(html.contains("Stranded free capacity after the plan"))
        #expect(html.contains("grows;") == (strandedAfter > strandedBefore))
        // Per node: used of capacity, vCPUs and GiB (dst's unknown m8 counts at worst: 8 of 16).
        #expect(html.contains("/16 vCPU</text>") && html.contains("/64 GiB</text>"))
        #expect(!html.contains("MiB"))
        #expect(!html.contains("host pair"))  // one move: a plain table
        report.pairGroupingThreshold = 0
        let grouped = report.html()
        #expect(grouped.contains("host pair"))
        let move = try #require(plan.moves.first)
        #expect(grouped.contains("<details class=\"pair\"><summary>src → \(move.to ?? "pool"): 1 × s4"))
    }

    /// At scale the page opens short: a wave's certain host pairs sit in one closed block, and
    /// touched hosts are tiles (every one of them) with their drawings in closed groups.
    @Test func atScaleTheDetailSitsInClosedBlocks() throws {
        let inventory = try Self.inventory()
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .evacuate(["src"])))
        let touched = Set(plan.moves.flatMap { [$0.from, $0.to].compactMap { $0 } })
        var report = Report(inventory: inventory, plan: plan, title: "t")
        report.pairGroupingThreshold = 0
        let open = report.html()
        #expect(!open.contains("all certain</summary>") && !open.contains("class=\"tiles\""))
        #expect(open.components(separatedBy: "<div class=\"host\">").count - 1 == touched.count)
        report.pairsShownOpen = 0
        report.tileThreshold = 0
        report.groupSize = 1
        let html = report.html()
        #expect(html.contains("<details class=\"wave\"><summary>\(plan.moves.count) host pair\(plan.moves.count == 1 ? "" : "s") with \(plan.moves.count) moves, all certain</summary>"))
        // Every touched host: one tile (with its numbers in the tooltip) and one drawing, the
        // drawings each in a closed group of one.
        #expect(html.components(separatedBy: "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"134\"").count - 1 == touched.count)
        for id in touched {
            #expect(html.contains("<title>\(id)\nn0 before: "), "no tile for \(id)")
            #expect(html.contains("<details><summary>Drawings: \(id) … \(id) (1 hosts)</summary><div class=\"hostgrid\">\n<div class=\"host\"><h4>\(id) "))
        }
        #expect(html.contains("class=\"tile rel\"") == inventory.applying(plan.moves).servers.allSatisfy { $0.dedicatedHostID != "src" })
    }

    /// However many waves, the page opens short: certain host pairs are listed in view up to
    /// `pairsShownOpen` on the whole page (a wave past that has them in a closed block), and
    /// waves after `wavesShownOpen` sit in one closed block whose summary counts their moves.
    /// A consolidation's moves each put in a wave of its own (one pair each). Fails if the
    /// budget of open pairs is counted per wave, or if later waves are in view.
    @Test func manyWavesOpenShort() throws {
        let inventory = InventoryGenerator.generate(.init(
            seed: 31, hosts: 30, servers: 90, availabilityZones: ["az1"], unknownLayoutFraction: 0, shutoffFraction: 1,
            faultFraction: 0, antiAffinityGroups: 0, hostTypeNames: ["c6", "m6"], maxFill: 0.5))
        var plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .consolidate, timeLimit: 2))
        let n = plan.moves.count
        try #require(n > 5)
        plan.moves = plan.moves.enumerated().map { k, m in Move(serverID: m.serverID, from: m.from, to: m.to, numaNodes: m.numaNodes, wave: k + 1) }
        var report = Report(inventory: inventory, plan: plan, title: "t")
        report.pairGroupingThreshold = 0
        report.wavesShownOpen = 3
        report.pairsShownOpen = 2
        let html = report.html()
        let marker = "<details class=\"waves\"><summary>Waves 4–\(n): \(n - 3) moves between "
        let parts = html.components(separatedBy: marker)
        try #require(parts.count == 2, "no closed block of later waves")
        let inView = parts[0]
        #expect(inView.components(separatedBy: "<h3>Wave ").count - 1 == 3)
        // Waves 1 and 2 list their pair in view; wave 3's sits in a closed block.
        #expect(inView.components(separatedBy: "<details class=\"wave\">").count - 1 == 1)
        #expect(parts[1].components(separatedBy: "<h3>Wave ").count - 1 == n - 3)
        report.wavesShownOpen = 20
        report.pairsShownOpen = 30
        #expect(!report.html().contains("<details class=\"waves\">") == (n <= 20))
    }

    @Test func releasedHostsAreListedAsRanges() {
        let report = Report(inventory: try! Self.inventory(), plan: nil, title: "t")
        #expect(report.compactList(["deh-0003", "deh-0001", "deh-0002", "deh-0007", "other-1", "x", "h9", "h10"])
            == "deh-0001–0003, deh-0007, h10, h9, other-1, x")
        #expect(report.compactList(["n-098", "n-099", "n-100", "n-101"]) == "n-098–101")
    }

    @Test func largeInventoriesStayCompact() throws {
        let inventory = InventoryGenerator.generate(.init(seed: 5, hosts: 1000, servers: 4000, availabilityZones: ["az1"]))
        let source = inventory.hosts[0].id
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .evacuate([source]), timeLimit: 10))
        let html = Report(inventory: inventory, plan: plan, title: "big").html()
        // Hosts the plan does not touch are listed compactly in groups of 100.
        #expect(html.components(separatedBy: "<details").count - 1 >= 9)
        #expect(html.utf8.count < 4 * 1024 * 1024, "\(html.utf8.count) bytes")
        for host in inventory.hosts { #expect(html.contains(">\(host.id)<") || html.contains(">\(host.id) <")) }
    }
}
