// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing

/// Colour only on a terminal and never with NO_COLOR; --quiet and --verbose on every command.
@Suite struct ConsoleE2ETests {
    let fragmented = "samples/fragmented.json"

    /// Runs dehplan under a pseudo-terminal (util-linux `script`), so isatty(stdout) is true.
    func onTerminal(_ arguments: [String], noColor: Bool) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        let command = ([Binary.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        process.arguments = ["-qec", command, "/dev/null"]
        process.currentDirectoryURL = Fixtures.packageRoot
        var env = ProcessInfo.processInfo.environment
        env["TERM"] = "xterm-256color"
        env["NO_COLOR"] = noColor ? "1" : nil
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test func colourOnlyOnATerminalWithoutNoColor() throws {
        let args = ["check", "--inventory", fragmented, "--server", "app-big", "--to", "deh-frag-a"]
        let coloured = try onTerminal(args, noColor: false)
        #expect(coloured.contains("\u{1B}[31mNOT FEASIBLE"), "\(coloured)")
        let plain = try onTerminal(args, noColor: true)
        #expect(plain.contains("NOT FEASIBLE"))
        #expect(!plain.contains("\u{1B}["))
        let piped = try Binary.run(args, environment: ["NO_COLOR": ""])
        #expect(piped.stdout.contains("NOT FEASIBLE"))
        #expect(!piped.stdout.contains("\u{1B}["))
    }

    /// Colour must not break the alignment of table columns.
    @Test func colouredTablesStayAligned() throws {
        let coloured = try onTerminal(["capacity", "--inventory", fragmented, "--az", "eu-de-01"], noColor: false)
        let stripped = coloured.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
        let plain = try Binary.run(["capacity", "--inventory", fragmented, "--az", "eu-de-01"]).stdout
        #expect(stripped.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            == plain.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test(arguments: [
        ["check", "--inventory", "samples/fragmented.json", "--server", "app-big", "--to", "deh-frag-b"],
        ["targets", "--inventory", "samples/fragmented.json", "--server", "app-big"],
        ["plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-004"],
        ["capacity", "--inventory", "samples/fragmented.json"],
        ["generate", "--hosts", "3", "--servers", "5"],
        ["report", "--inventory", "samples/fragmented.json", "--out", "-"],
    ])
    func quietPrintsNothingAndKeepsTheExitStatus(arguments: [String]) throws {
        let normal = try Binary.run(arguments)
        let quiet = try Binary.run(arguments + ["--quiet"])
        #expect(!normal.stdout.isEmpty)
        #expect(quiet.stdout.isEmpty, "\(quiet.stdout)")
        #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
        #expect(quiet.status == normal.status)
    }

    @Test func quietAndVerboseExcludeEachOther() throws {
        let run = try Binary.run(["capacity", "--inventory", fragmented, "-q", "-v"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("--quiet and --verbose"))
    }

    @Test func verboseExplainsMoreOnStandardError() throws {
        let check = try Binary.run(["check", "--inventory", fragmented, "--server", "app-big", "--to", "deh-frag-a", "--verbose"])
        #expect(check.stderr.contains("node 0: 10 / 45056 of 32 / 131072"))
        let targets = try Binary.run(["targets", "--inventory", fragmented, "--server", "app-big", "-v"])
        #expect(targets.stderr.contains("rejected deh-frag-a: INSUFFICIENT_NUMA_CAPACITY"))
        let plan = try Binary.run(["plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-004", "-v"])
        #expect(plan.stderr.contains("solver: GLPK"))
        let capacity = try Binary.run(["capacity", "--inventory", fragmented, "-v"])
        #expect(capacity.stderr.contains("totals promise 3, NUMA nodes take 1"))
    }
}
