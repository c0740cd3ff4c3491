// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import Foundation
import GLPK

/// Process entry point: runs the command and maps every failure to docs/DESIGN.md's exit codes
/// (0 ok, 1 runtime error, 2 usage or invalid input, 3 infeasible, 4 apply failed).
@main
enum Entry {
    static func main() async {
        // A command-line run: keep freed memory for GLPK's next simplex call (see GLPKMemory).
        GLPKMemory.retainFreedMemory()
        let arguments = ArgumentHints.normalized(Array(CommandLine.arguments.dropFirst()))
        var command: any ParsableCommand
        do {
            command = try Dehplan.parseAsRoot(arguments)
        } catch {
            // Only a failed parse needs the hints: an unknown command or option named as such.
            if Dehplan.exitCode(for: error) != .success,
                let problem = ArgumentHints.problem(in: arguments, commands: Dehplan.configuration.subcommands)
            {
                FileHandle.standardError.write(Data((problem + "\n").utf8))
                exit(ExitStatus.usage)
            }
            finish(error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            finish(error)
        }
    }

    /// Ends the process for `error` with its message and exit code.
    static func finish(_ error: any Error) -> Never {
        if let error = error as? CLIError {
            if !error.message.isEmpty { FileHandle.standardError.write(Data((error.message + "\n").utf8)) }
            exit(error.code)
        }
        let code = Dehplan.exitCode(for: error)
        let message = Dehplan.fullMessage(for: error)
        if code == .success {
            if !message.isEmpty { print(message) }
            exit(0)
        }
        if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        // ArgumentParser uses 64 (EX_USAGE) for bad arguments; dehplan documents 2.
        exit(code == .validationFailure ? ExitStatus.usage : (code.rawValue == 0 ? ExitStatus.runtime : code.rawValue))
    }
}

/// docs/DESIGN.md exit codes.
enum ExitStatus {
    static let ok: Int32 = 0
    static let runtime: Int32 = 1
    static let usage: Int32 = 2
    static let infeasible: Int32 = 3
    static let applyFailed: Int32 = 4
    /// `apply` stopped by Ctrl-C (128 + SIGINT, as shells report it).
    static let interrupted: Int32 = 130
}

/// An error that ends the program with a message and a specific exit code.
struct CLIError: Error {
    let code: Int32
    let message: String

    /// Invalid input (exit 2).
    static func invalidInput(_ message: String) -> CLIError { CLIError(code: ExitStatus.usage, message: message) }
    /// Runtime failure (exit 1).
    static func runtime(_ message: String) -> CLIError { CLIError(code: ExitStatus.runtime, message: message) }
    /// The answer is "no" (exit 3); the output has already been printed.
    static let infeasible = CLIError(code: ExitStatus.infeasible, message: "")
}
