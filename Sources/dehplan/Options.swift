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
extension CloudPlacement: ExpressibleByArgument {}

/// The help text of `--cloud-placement`, shared by every command that takes it.
let cloudPlacementHelp = ArgumentHelp(
    "What the cloud does with the NUMA nodes of arrivals (the migrate call cannot name a node): any (default: a move counts only if it fits whatever nodes the cloud picks for it and for every earlier or concurrent arrival), planned (the cloud honours the plan's nodes: a capacity dry run), best-fit, first-fit or spread (a cloud known to place that way; nodes are predicted).",
    valueName: "model")

/// `--layout-policy possible` accepts moves that may fail; under `any` nothing may fail.
func validatePlacement(_ placement: CloudPlacement, _ policy: LayoutPolicy) throws {
    if placement == .any && policy == .possible {
        throw ValidationError(
            "--layout-policy possible accepts moves that fit only under some NUMA layouts, but --cloud-placement any (the default) accepts only moves that fit under every layout; pass --cloud-placement planned for a capacity dry run that accepts the risk")
    }
}

/// `--inventory F`, loaded and validated.
struct InventoryOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Inventory file (JSON; format in docs/INVENTORY.md); '-' reads standard input.", valueName: "file"))
    var inventory: String

    /// Loads the inventory; invalid input becomes exit 2 with every problem listed.
    func load() throws -> Inventory { try Self.load(path: inventory) }

    static func load(path: String) throws -> Inventory {
        do {
            return try Inventory.load(path: path)
        } catch {
            let unreadable = path != "-" && !FileManager.default.isReadableFile(atPath: path)
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

    @Option(name: .long, help: cloudPlacementHelp)
    var cloudPlacement: CloudPlacement = .any

    @Flag(name: .long, help: "Ignore the server's status, lock and task state (plan a move before stopping the server).")
    var assumeStopped = false

    func validate() throws { try validatePlacement(cloudPlacement, layoutPolicy) }

    var checkerOptions: Checker.Options {
        Checker.Options(layoutPolicy: layoutPolicy, assumeStopped: assumeStopped, placement: cloudPlacement)
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

/// Server and host ids named on the command line must be in the inventory: an unknown id is
/// invalid input (exit 2, with the closest id), never a "does not fit" (exit 3).
enum KnownIDs {
    static func server(_ id: String, in inventory: Inventory, option: String = "--server") throws {
        guard inventory.server(id) == nil else { return }
        var message = "error: \(option): no server \"\(id)\" in the inventory"
        if let guess = closestMatch(to: id, in: inventory.servers.lazy.map(\.id)) { message += "; did you mean \"\(guess)\"?" }
        throw CLIError.invalidInput(message)
    }

    static func host(_ id: String, in inventory: Inventory, option: String) throws {
        guard inventory.hostIndex[id] == nil else { return }
        var message = "error: \(option): no Dedicated Host \"\(id)\" in the inventory"
        if let guess = closestMatch(to: id, in: inventory.hosts.lazy.map(\.id)) { message += "; did you mean \"\(guess)\"?" }
        throw CLIError.invalidInput(message + " (or 'pool' for the public resource pool)")
    }
}

/// Lists on the command line: comma-separated (`--servers a,b`, `generate --host-types c6,m6`)
/// and, for options that take several values (`--evacuate`, `--exclude`, `--without`), values
/// apart too (`--evacuate a b`) or both; spaces around an item and empty items dropped.
enum CommaList {
    static func split(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
