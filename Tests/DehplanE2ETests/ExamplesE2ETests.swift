// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing

/// Every example runs as written: the README's `$ dehplan ...` lines (with the first line of
/// the output shown under them) and every `Examples:` line of the `--help` texts (taken from
/// docs/CLI.md, which `CLIReferenceE2ETests` keeps equal to the binary's help). `dehplan demo`
/// is run by `CloudE2ETests.demoRunsTheWholeFlow`.
@Suite struct ExamplesE2ETests {
    struct Example: CustomStringConvertible {
        let source: String
        let arguments: [String]
        /// First line of the output the README shows (nil: none shown).
        let shown: String?
        var description: String { "\(source): dehplan \(arguments.joined(separator: " "))" }
    }

    /// Splits a command line as a POSIX shell would for these examples (double quotes only).
    static func words(_ line: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        var started = false
        for c in line {
            if c == "\"" {
                quoted.toggle()
                started = true
            } else if c == " " && !quoted {
                if started { out.append(current) }
                current = ""
                started = false
            } else {
                current.append(c)
                started = true
            }
        }
        if started { out.append(current) }
        return out
    }

    static func readme() throws -> [Example] {
        let text = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var examples: [Example] = []
        var inBlock = false
        var pending: (line: Int, command: String)?
        var shown: String?
        func flush() {
            if let p = pending { examples.append(Example(source: "README.md:\(p.line)", arguments: Array(words(p.command).dropFirst()), shown: shown)) }
            pending = nil
            shown = nil
        }
        for (n, line) in text.components(separatedBy: "\n").enumerated() {
            if line.hasPrefix("```") {
                flush()
                inBlock.toggle()
            } else if inBlock && line.hasPrefix("$ dehplan ") {
                flush()
                pending = (n + 1, String(line.dropFirst(2)))
            } else if inBlock, pending != nil, shown == nil, !line.trimmingCharacters(in: .whitespaces).isEmpty {
                shown = line
            }
        }
        return examples
    }

    static func help() throws -> [Example] {
        let text = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("docs/CLI.md"), encoding: .utf8)
        var examples: [Example] = []
        var inExamples = false
        var current: (line: Int, command: String)?
        func flush() {
            if let c = current { examples.append(Example(source: "docs/CLI.md:\(c.line)", arguments: Array(words(c.command).dropFirst()), shown: nil)) }
            current = nil
        }
        for (n, line) in text.components(separatedBy: "\n").enumerated() {
            if line == "Examples:" {
                inExamples = true
            } else if inExamples && line.trimmingCharacters(in: .whitespaces).isEmpty {
                flush()
                inExamples = false
            } else if inExamples && line.hasPrefix("  dehplan ") {
                flush()
                current = (n + 1, line.trimmingCharacters(in: .whitespaces))
            } else if inExamples, let c = current {
                // A wrapped line or a continuation after "\".
                var command = c.command
                if command.hasSuffix("\\") { command.removeLast() }
                current = (c.line, command.trimmingCharacters(in: .whitespaces) + " " + line.trimmingCharacters(in: .whitespaces))
            }
        }
        flush()
        return examples
    }

    @Test func everyExampleRunsAsWritten() throws {
        let readme = try Self.readme().filter { $0.arguments != ["demo"] }
        let help = try Self.help()
        #expect(readme.count >= 10, "README examples found: \(readme.count)")
        #expect(help.count >= 8, "--help examples found: \(help.count)")
        // A scratch directory with the samples, so `--out plan.json` lands there and the
        // report example reads it.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dehplan-examples-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("samples"),
                                                   withDestinationURL: Fixtures.packageRoot.appendingPathComponent("samples"))
        for example in readme + help {
            let run = try Binary.run(example.arguments, directory: dir)
            let output = run.stdout + run.stderr
            let expectsError = example.shown?.hasPrefix("error:") == true
            if expectsError {
                #expect(run.status == 2, "\(example): exit \(run.status)")
            } else {
                #expect(run.status == 0 || run.status == 3, "\(example): exit \(run.status)\n\(run.stderr)")
                #expect(!run.stderr.contains("error:"), "\(example): \(run.stderr)")
            }
            if let shown = example.shown {
                let normalise = { (s: String) in
                    s.replacingOccurrences(of: #"127\.0\.0\.1:[0-9]+"#, with: "127.0.0.1:<port>", options: .regularExpression)
                }
                #expect(normalise(output).contains(normalise(shown).trimmingCharacters(in: .whitespaces)),
                        "\(example): the README shows \"\(shown)\"; the output starts \(output.prefix(300))")
            }
        }
    }

    /// The parsers find what is there: a wrapped help example is joined, quotes are kept whole.
    @Test func wrappedAndQuotedExamplesAreRead() throws {
        #expect(Self.words(#"capacity --demand "a=1,b=2" --az x"#) == ["capacity", "--demand", "a=1,b=2", "--az", "x"])
        let help = try Self.help()
        #expect(help.contains { $0.arguments.contains("c6.2xlarge.4=20,m6.4xlarge.8=6") && $0.arguments.last == "eu-de-02" })
        #expect(help.contains { $0.arguments.first == "check" && $0.arguments.contains("--to") })
    }
}
