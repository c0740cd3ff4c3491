// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import Foundation
import Topology

/// `-q/--quiet` and `-v/--verbose`, shared by every command.
struct VerbosityOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Print nothing but errors: the exit status (and --out files) carry the result.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Explain more: extra detail on standard error (for cloud commands: trace every request, never credentials).")
    var verbose = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose contradict each other; pick one") }
    }

    /// Where this command's output goes.
    var console: Console { Console(quiet: quiet, verbose: verbose, style: Style.forStandardOutput()) }
}

/// Output of one command: results on standard output, detail and hints on standard error.
struct Console {
    let quiet: Bool
    let verbose: Bool
    let style: Style

    /// The command's result (text or JSON): standard output, unless --quiet.
    func result(_ text: String) {
        if !quiet { print(text) }
    }

    /// Extra detail: standard error, only with --verbose.
    func detail(_ text: @autoclosure () -> String) {
        if verbose { FileHandle.standardError.write(Data((text() + "\n").utf8)) }
    }

    /// Progress and hints: standard error, unless --quiet.
    func info(_ text: String) {
        if !quiet { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }
}

/// ANSI colour, only on a terminal and never when NO_COLOR is set (https://no-color.org) or
/// TERM is "dumb".
struct Style: Sendable {
    let enabled: Bool

    static func forStandardOutput() -> Style {
        let env = ProcessInfo.processInfo.environment
        let noColor = env["NO_COLOR"].map { !$0.isEmpty } ?? false
        return Style(enabled: !noColor && env["TERM"] != "dumb" && isatty(STDOUT_FILENO) != 0)
    }

    static let plain = Style(enabled: false)

    private func wrap(_ s: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    func bold(_ s: String) -> String { wrap(s, "1") }
    func good(_ s: String) -> String { wrap(s, "32") }
    func bad(_ s: String) -> String { wrap(s, "31") }
    func warn(_ s: String) -> String { wrap(s, "33") }
    func dim(_ s: String) -> String { wrap(s, "2") }

    func paint(_ s: String, _ tone: Tone) -> String {
        switch tone {
        case .good: good(s)
        case .bad: bad(s)
        case .warn: warn(s)
        }
    }
}

/// What a coloured cell means.
enum Tone { case good, bad, warn }

/// Writes an inventory (generate, inventory): to standard output for "-", where the inventory
/// itself is the result; otherwise to the file, then a one-line report of what was written.
func emit(_ inventory: Inventory, to out: String, format: OutputFormat, verbosity: VerbosityOptions) throws {
    let text = inventory.json().serialized() + "\n"
    if out == "-" {
        if !verbosity.quiet { print(text, terminator: "") }
        return
    }
    try writeOutput(text, to: out)
    let console = verbosity.console
    switch format {
    case .json:
        console.result(JSON.object([
            ("out", .string(out)), ("hosts", .int(inventory.hosts.count)), ("servers", .int(inventory.servers.count)),
        ]).serialized())
    case .text:
        console.result("wrote \(out): \(inventory.hosts.count) hosts, \(inventory.servers.count) servers")
    }
}
