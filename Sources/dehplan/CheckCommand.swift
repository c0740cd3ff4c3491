// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import Planner
import Topology

/// `dehplan check`: will this cold migration succeed?
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check whether one server can be cold-migrated to a Dedicated Host or the public pool.",
        discussion: """
            Evaluates every constraint of the migrate API (server stopped, not locked, no running task, target available, same availability zone, flavor accepted by the host type, anti-affinity) and the NUMA fit, and lists every failing one with its reason code, not just the first.

            INSUFFICIENT_CAPACITY: the host lacks the resources even in total. INSUFFICIENT_NUMA_CAPACITY: the total would suffice, but no NUMA node (or no k nodes, for a flavor split over k nodes) has the room; this is the failure the migrate API warns about. NUMA_LAYOUT_UNKNOWN: the host has servers of unknown layout and the server fits only if they are arranged favourably.

            Exit 0 feasible, 3 not feasible, 2 invalid input.
            """
    )

    @OptionGroup var source: InventoryOption

    @Option(name: .long, help: ArgumentHelp("Id of the server to move.", valueName: "id"))
    var server: String

    @Option(name: .long, help: ArgumentHelp("Target Dedicated Host id, or 'pool' for the public resource pool.", valueName: "deh-id|pool"))
    var to: String

    @OptionGroup var fitOptions: FitOptions

    @Option(name: [.customShort("f"), .long], help: "Output format: text or json (schema in docs/JSON.md).")
    var format: OutputFormat = .text

    @OptionGroup var verbosity: VerbosityOptions

    func run() throws {
        let console = verbosity.console
        let inventory = try source.load()
        try KnownIDs.server(server, in: inventory)
        if to != "pool" { try KnownIDs.host(to, in: inventory, option: "--to") }
        let checker = Checker(inventory)
        let target: MoveTarget = to == "pool" ? .pool : .host(to)
        let result = checker.check(serverID: server, target: target, options: fitOptions.checkerOptions)
        switch format {
        case .json: console.result(result.json.serialized())
        case .text: console.result(render(result, inventory, style: console.style))
        }
        if let id = target.hostID, let h = inventory.hostIndex[id] {
            let usage = checker.state.usage[h]
            console.detail("Free per NUMA node on \(id) (vCPUs / MiB, of capacity):")
            for (n, cap) in usage.capacity.enumerated() {
                console.detail("  node \(n): \(usage.freeKnown[n].vcpus) / \(usage.freeKnown[n].memoryMiB) of \(cap.vcpus) / \(cap.memoryMiB)")
            }
            if usage.hasUnknownLayout {
                console.detail("  plus \(usage.unknownCount) server(s) of unknown layout using \(usage.unknownUsed) in total")
            }
        }
        if !result.feasible { throw CLIError.infeasible }
    }

    func render(_ result: MoveCheck, _ inventory: Inventory, style: Style = .plain) -> String {
        var lines: [String] = []
        let targetName = result.target.hostID.map { id in
            inventory.host(id).map { $0.name == $0.id ? id : "\(id) (\($0.name))" } ?? id
        } ?? "the public pool"
        if let s = inventory.server(result.serverID) {
            lines.append("Server:  \(Describe.server(s, inventory))")
        }
        lines.append("Target:  \(targetName)")
        if result.feasible {
            var verdict = "Verdict: " + style.good("FEASIBLE")
            if let nodes = result.numaNodes { verdict += " on NUMA node\(nodes.count == 1 ? "" : "s") \(Describe.nodes(nodes))" }
            lines.append(verdict)
            if let fit = result.fit {
                lines.append("Leftover on those nodes (vCPUs/MiB): \(Describe.leftover(fit))")
            }
            if !result.layoutKnown {
                lines.append(
                    result.verdict == .certain
                        ? "Layout:  some servers on the host have unknown NUMA layout; the fit holds for every arrangement of them"
                        : "Layout:  UNKNOWN: some servers on the host have unknown NUMA layout; the fit holds only if they are arranged favourably")
            }
        } else {
            lines.append("Verdict: " + style.bad("NOT FEASIBLE") + " (\(result.reasons.count) reason\(result.reasons.count == 1 ? "" : "s"))")
            var table = TextTable(["CODE", "WHY"])
            for r in result.reasons { table.add([r.code.rawValue, r.message]) }
            table.colour = { column, _ in column == 0 ? .bad : nil }
            lines.append(table.render(indent: "  ", style: style))
        }
        return lines.joined(separator: "\n")
    }
}
