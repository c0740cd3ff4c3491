// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Planner
import TestSupport
import Testing
import Topology

/// `dehplan report`, rendered in headless Chromium by scripts/check-report (which fails on a
/// console error, a failed load, missing content or a blank page). CI installs Debian's
/// `chromium` and sets DEHPLAN_REQUIRE_CHROMIUM=1, so these cannot pass silently there.
@Suite struct ReportE2ETests {
    static let chromium: String? = {
        if let path = ProcessInfo.processInfo.environment["DEHPLAN_CHROMIUM"] { return path }
        for dir in ["/usr/bin", "/usr/local/bin"] {
            for name in ["chromium", "chromium-browser"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return "\(dir)/\(name)"
            }
        }
        return nil
    }()

    /// Runs scripts/check-report; nil when Chromium is missing and not required.
    func checkInBrowser(_ html: String, expect: [String], height: Int = 1600, options: [String] = []) throws -> (status: Int32, output: String)? {
        guard Self.chromium != nil else {
            #expect(ProcessInfo.processInfo.environment["DEHPLAN_REQUIRE_CHROMIUM"] == nil, "Chromium is required but missing")
            return nil
        }
        let process = Process()
        process.executableURL = Fixtures.packageRoot.appendingPathComponent("scripts/check-report")
        process.arguments = [html, "--height", String(height)] + options + expect.flatMap { ["--expect", $0] }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func planReportRendersInChromium() throws {
        let plan = Fixtures.temporaryFile("", name: "plan.json")
        let made = try Binary.run(["plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-004", "--out", plan, "--quiet"])
        #expect(made.status == 0)
        #expect(made.stdout.isEmpty)  // --quiet
        let html = Fixtures.temporaryFile("", name: "report.html")
        let run = try Binary.run(["report", "--inventory", "samples/evacuation.json", "--plan", plan, "--out", html])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("wrote \(html)"))
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("deh-004"))
        #expect(page.contains("Wave 1"))
        if let check = try checkInBrowser(html, expect: ["dehplan report", "Moves by wave", "deh-004", "Headroom"]) {
            #expect(check.status == 0, "\(check.output)")
        }
    }

    /// A plan made under `any` is checked under `any`: its NUMA nodes are wishes (the cloud
    /// picks), so wishes no planned move could take do not make it "another inventory's" plan.
    @Test func aPlanUnderAnyIsCheckedAsTheCloudWillRunIt() throws {
        let path = Fixtures.temporaryFile("", name: "any-plan.json")
        #expect(try Binary.run(["plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-004", "--out", path, "--quiet"]).status == 0)
        // Every one-node wish moved to the other node of its 2-node target.
        var doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        doc["moves"] = (doc["moves"] as! [[String: Any]]).map { move in
            var m = move
            if let nodes = m["numa_nodes"] as? [Int], nodes.count == 1 { m["numa_nodes"] = [1 - nodes[0]] }
            return m
        }
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: path))
        let inventory = try Inventory.load(path: "samples/evacuation.json")
        let plan = try Plan.load(fromFile: path)
        // As planned nodes the wishes do not fit (what this command checked before) ...
        #expect(!PlanValidator.violations(of: plan.moves, on: inventory, options: Checker.Options(layoutPolicy: .possible, placement: .planned)).isEmpty)
        // ... where the cloud picks the nodes the plan holds, and the report is drawn.
        #expect(PlanValidator.violations(of: plan.moves, on: inventory, options: Checker.Options(placement: .any)).isEmpty)
        let html = Fixtures.temporaryFile("", name: "any-report.html")
        let run = try Binary.run(["report", "--inventory", "samples/evacuation.json", "--plan", path, "--out", html, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test func thousandHostReportRendersInChromium() throws {
        let inventory = Fixtures.temporaryFile("", name: "big.json")
        #expect(try Binary.run(["generate", "--seed", "9", "--hosts", "1000", "--servers", "5000", "--out", inventory, "--quiet"]).status == 0)
        let doc = try JSON.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: inventory))))
        guard case .array(let hosts)? = doc["hosts"], case .string(let first)? = hosts.first?["id"] else {
            Issue.record("no hosts")
            return
        }
        let plan = Fixtures.temporaryFile("", name: "big-plan.json")
        _ = try Binary.run(["plan", "--inventory", inventory, "--evacuate", first, "--time-limit", "3", "--out", plan, "--quiet"])
        let html = Fixtures.temporaryFile("", name: "big.html")
        #expect(try Binary.run(["report", "--inventory", inventory, "--plan", plan, "--out", html, "--quiet"]).status == 0)
        if let check = try checkInBrowser(html, expect: ["Summary", "Other hosts", first]) {
            #expect(check.status == 0, "\(check.output)")
        }
    }

    /// A consolidation of a 1,000-host fleet: every host it touches drawn (a tile each, the
    /// drawings in closed groups), moves grouped by host pair, released hosts as ranges; the
    /// page as it opens is at most 20,000 pixels tall and is rendered in Chromium at its full
    /// height (how long that takes is measured in docs/PERFORMANCE.md, not asserted here).
    @Test func thousandHostConsolidationReportDrawsEveryTouchedHost() throws {
        let inventory = Fixtures.temporaryFile("", name: "fleet.json")
        #expect(try Binary.run(["generate", "--seed", "7", "--hosts", "1000", "--servers", "4000", "--zones", "az1",
                                "--host-types", "c6,m6,h4", "--shutoff", "0.9", "--max-fill", "0.5", "--out", inventory, "--quiet"]).status == 0)
        let plan = Fixtures.temporaryFile("", name: "fleet-plan.json")
        let planned = try Binary.run(["plan", "--inventory", inventory, "--consolidate", "--cloud-placement", "planned", "--time-limit", "3",
                                      "--out", plan, "--quiet"])
        #expect(planned.status == 0, "\(planned.stderr)")
        let doc = try JSON.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: plan))))
        guard case .array(let moves)? = doc["moves"] else {
            Issue.record("no moves")
            return
        }
        var touched = Set<String>()
        for m in moves {
            for key in ["from", "to"] { if case .string(let id)? = m[key] { touched.insert(id) } }
        }
        #expect(touched.count > 200, "the old page drew only 200 touched hosts")
        let html = Fixtures.temporaryFile("", name: "fleet.html")
        #expect(try Binary.run(["report", "--inventory", inventory, "--plan", plan, "--out", html, "--quiet"]).status == 0)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.components(separatedBy: "<div class=\"host\">").count - 1 == touched.count)
        #expect(page.components(separatedBy: "\" class=\"tile").count - 1 == touched.count)  // the svg tiles, not the div
        #expect(page.contains("host pairs") && page.contains("Released ("))
        if let check = try checkInBrowser(html, expect: ["Headroom after the plan", "Hosts the plan touches (\(touched.count))"],
                                          options: ["--full-height", "--max-height", "20000"]) {
            #expect(check.status == 0, "\(check.output)")
        }
    }

    /// The checker itself fails on a blank page and on a script error, so a pass means something.
    @Test func theBrowserCheckCatchesBrokenPages() throws {
        let blank = Fixtures.temporaryFile("<!DOCTYPE html><html><body></body></html>", name: "blank.html")
        if let check = try checkInBrowser(blank, expect: ["Summary"]) {
            #expect(check.status == 1)
            #expect(check.output.contains("blank"))
        }
        let text = (0..<40).map { "word\($0)" }.joined(separator: " ")
        let broken = Fixtures.temporaryFile(
            "<!DOCTYPE html><html><body><h1>Summary</h1><p>\(text)</p><script>notDefined()</script></body></html>", name: "broken.html")
        if let check = try checkInBrowser(broken, expect: ["Summary"]) {
            #expect(check.status == 1)
            #expect(check.output.contains("console errors"))
        }
    }

    @Test func aPlanForAnotherInventoryIsRefused() throws {
        let plan = Fixtures.temporaryFile("", name: "frag-plan.json")
        _ = try Binary.run(["plan", "--inventory", "samples/fragmented.json", "--servers", "app-big", "--out", plan, "--quiet"])
        let run = try Binary.run(["report", "--inventory", "samples/evacuation.json", "--plan", plan, "--out", "-"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("was made from another inventory"))
        #expect(run.stderr.contains("dehplan plan --inventory samples/evacuation.json"))
    }
}
