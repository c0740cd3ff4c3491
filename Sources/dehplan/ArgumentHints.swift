// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import Foundation
import Topology

/// What ArgumentParser does not say well, said when its parse fails: an unknown command or option
/// named as such, with the closest known one (ArgumentParser reports `dehplan chek` as an
/// "unexpected argument" and `check --too X` as a missing `--to`), and `--format`/`-f` values
/// taken in any case (`--format JSON`).
enum ArgumentHints {
    /// The arguments with `--format`/`-f` values lower-cased.
    static func normalized(_ arguments: [String]) -> [String] {
        var out = arguments
        var i = 0
        while i < out.count {
            if out[i] == "--" { break }
            if out[i] == "--format" || out[i] == "-f", i + 1 < out.count {
                out[i + 1] = out[i + 1].lowercased()
                i += 1
            } else if out[i].hasPrefix("--format=") {
                out[i] = "--format=" + out[i].dropFirst("--format=".count).lowercased()
            }
            i += 1
        }
        return out
    }

    /// A usage error for an unknown command or long option, nil when there is none.
    static func problem(in arguments: [String], commands: [any ParsableCommand.Type]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-") else { return nil }
        let names = commands.map { $0._commandName } + ["help"]
        guard let command = commands.first(where: { $0._commandName == first }) else {
            guard !names.contains(first) else { return nil }
            var message = "error: unknown command '\(first)'"
            if let guess = closestMatch(to: first, in: names) { message += "; did you mean '\(guess)'?" }
            let shown = commands.filter { $0.configuration.shouldDisplay }.map { $0._commandName }
            return message + "\ncommands: " + shown.joined(separator: ", ") + "\nsee 'dehplan --help'"
        }
        let known = longOptions(of: command)
        for argument in arguments.dropFirst() {
            if argument == "--" { break }
            guard argument.hasPrefix("--"), argument.count > 2 else { continue }
            let name = String(argument.split(separator: "=", maxSplits: 1)[0])
            if known.contains(name) { continue }
            var message = "error: unknown option '\(name)' for 'dehplan \(first)'"
            if let guess = closestMatch(to: name, in: known.sorted()) { message += "; did you mean '\(guess)'?" }
            return message + "\nsee 'dehplan \(first) --help'"
        }
        return nil
    }

    /// Every long option a command accepts, read from its full help.
    static func longOptions(of command: any ParsableCommand.Type) -> Set<String> {
        var names: Set<String> = ["--help", "--version"]
        let help = command.helpMessage(includeHidden: true, columns: 10_000)
        var scanner = Substring(help)
        while let start = scanner.range(of: "--") {
            var end = start.upperBound
            while end < scanner.endIndex, scanner[end].isLetter || scanner[end].isNumber || scanner[end] == "-" { scanner.formIndex(after: &end) }
            let name = String(scanner[start.lowerBound..<end])
            if name.count > 2 { names.insert(name) }
            scanner = scanner[end...]
        }
        return names
    }
}
