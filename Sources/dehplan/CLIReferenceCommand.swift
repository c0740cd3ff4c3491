// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser

/// `dehplan cli-reference` (hidden): docs/CLI.md, generated from every command's own help.
struct CLIReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cli-reference",
        abstract: "Print the Markdown CLI reference (docs/CLI.md) from the commands' own help.",
        shouldDisplay: false)

    func run() throws {
        var out = """
            # dehplan command-line reference

            Generated from each command's `--help` by `scripts/cli-docs` (which runs the hidden
            `dehplan cli-reference`); a test fails when this file is stale. Exit codes everywhere:
            0 success / feasible, 1 runtime error, 2 usage or invalid input, 3 infeasible,
            4 a migration failed, 130 `apply` stopped by Ctrl-C. JSON schemas: [JSON.md](JSON.md).

            ## Shell completion

            ```
            dehplan --generate-completion-script bash > /etc/bash_completion.d/dehplan
            dehplan --generate-completion-script zsh > "${fpath[1]}/_dehplan"
            dehplan --generate-completion-script fish > ~/.config/fish/completions/dehplan.fish
            ```

            ## dehplan

            ```
            \(Dehplan.helpMessage(columns: 100))
            ```

            """
        for sub in Dehplan.configuration.subcommands where sub.configuration.shouldDisplay {
            let name = sub.configuration.commandName ?? "\(sub)"
            out += "\n## dehplan \(name)\n\n```\n\(Dehplan.helpMessage(for: sub, columns: 100))\n```\n"
        }
        print(out, terminator: "")
    }
}
