// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import Foundation
import Planner
import Topology

/// Output format shared by every command.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

extension LayoutPolicy: ExpressibleByArgument {}

/// `--inventory F`, loaded and validated.
struct InventoryOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Inventory file (JSON; format in docs/INVENTORY.md).", valueName: "file"))
    var inventory: String

    /// Loads the inventory; invalid input becomes exit 2 with every problem listed.
    func load() throws -> Inventory { try Self.load(path: inventory) }

    static func load(path: String) throws -> Inventory {
        do {
            return try Inventory.load(path: path)
        } catch {
            let unreadable = !FileManager.default.isReadableFile(atPath: path)
            let next = unreadable
                ? "next: check the path; `dehplan inventory --out FILE` reads one from the cloud, `dehplan generate --out FILE` makes a synthetic one"
                : "next: fix the fields listed (file: JSON path: problem); the format is in docs/INVENTORY.md"
            throw CLIError.invalidInput("error: invalid inventory\n" + error.description + "\n" + next)
        }
    }
}

/// Options that shape the fit verdicts of `check` and `targets`.
struct FitOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Whether a host whose servers have unknown NUMA layout counts when the server fits only under some arrangement of them: certain (default, safe) or possible.",
            valueName: "policy"))
    var layoutPolicy: LayoutPolicy = .certain

    @Flag(name: .long, help: "Ignore the server's status, lock and task state (plan a move before stopping the server).")
    var assumeStopped = false

    var checkerOptions: Checker.Options {
        Checker.Options(layoutPolicy: layoutPolicy, assumeStopped: assumeStopped)
    }
}

/// Writes command output to a file, or to standard output for "-".
func writeOutput(_ text: String, to out: String) throws {
    if out == "-" {
        print(text, terminator: "")
        return
    }
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: out))
    } catch {
        throw CLIError.runtime("error: cannot write \(out): \(error.localizedDescription)")
    }
}
