// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Planner
import TestSupport
import Testing
import Topology

/// The README's "Use as a Swift library" example, as code that compiles and runs here. The
/// lines between the markers must equal the README's code block (`theReadmeShowsThisCode`).
func libraryExample(path: String) throws -> String {
    // BEGIN README
    let inventory = try Inventory.load(path: path)  // validated: every problem with its JSON path

    // Will app-big fit on deh-frag-a? Decided per NUMA node, not on free totals.
    let check = Checker(inventory).check(serverID: "app-big", target: .host("deh-frag-a"))
    var out = "app-big -> deh-frag-a: \(check.feasible ? "fits" : "does not fit")\n"
    for reason in check.reasons { out += "  \(reason.code.rawValue): \(reason.message)\n" }

    // Evacuate deh-src: fewest hosts touched, safe whatever NUMA nodes the cloud picks.
    let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .evacuate(["deh-src"]), timeLimit: 5))
    out += "plan \(plan.status.rawValue): \(plan.objectiveName) = \(plan.objectiveValue), bound \(plan.objectiveBound ?? .nan)\n"
    for move in plan.moves {
        out += "  wave \(move.wave): \(move.serverID) \(move.from ?? "pool") -> \(move.to ?? "pool")\n"
    }
    for left in plan.unplaced { out += "  stays: \(left.serverID) (\(left.reasons.map(\.code.rawValue).joined(separator: ", ")))\n" }
    // END README
    return out
}

@Suite struct LibraryExampleTests {
    @Test func theExampleRunsAndSaysWhatTheCLISays() throws {
        let out = try libraryExample(path: Fixtures.sample("fragmented.json"))
        #expect(out.hasPrefix("app-big -> deh-frag-a: does not fit\n"), "\(out)")
        #expect(out.contains("INSUFFICIENT_NUMA_CAPACITY"))
        #expect(out.contains("plan "))
        #expect(out.contains("app-big deh-src -> "), "\(out)")
        #expect(!out.contains("-> deh-src"))
    }

    /// The README shows exactly the code above (indentation aside).
    @Test func theReadmeShowsThisCode() throws {
        let root = Fixtures.packageRoot
        let source = try String(contentsOf: root.appendingPathComponent("Tests/LibraryExampleTests/LibraryExample.swift"), encoding: .utf8)
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        func lines(_ text: Substring) -> [String] {
            text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let begin = try #require(source.range(of: "// BEGIN README\n"))
        let end = try #require(source.range(of: "    // END README"))
        var code = lines(source[begin.upperBound..<end.lowerBound])
        while code.last == "" { code.removeLast() }
        let section = try #require(readme.range(of: "## Use as a Swift library"))
        let fence = try #require(readme.range(of: "```swift\n", range: section.upperBound..<readme.endIndex))
        let close = try #require(readme.range(of: "```", range: fence.upperBound..<readme.endIndex))
        let shown = lines(readme[fence.upperBound..<close.lowerBound])
        // The README's block opens with the imports and the function around the lines.
        let inner = Array(shown.drop { !$0.hasPrefix("let inventory") }.prefix(code.count))
        #expect(inner == code, "README block differs from LibraryExample.swift")
        #expect(shown.contains("import Planner") && shown.contains("import Topology"))
    }
}
