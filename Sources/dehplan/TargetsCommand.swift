// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import Planner
import Topology

/// `dehplan targets`: where can this server go?
struct TargetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "targets",
        abstract: "List every Dedicated Host a server can be cold-migrated to, best fit first.",
        discussion: """
            Each target shows the NUMA nodes the server would occupy, what would be left on them (vCPUs/MiB) and a best-fit score (1.000 fills the nodes exactly; higher packs tighter). The public pool comes last when the server is on a DeH. Hosts that do not fit are counted by their first failing reason; run `dehplan check` on one of them for the full explanation.

            Exit 0 when at least one DeH fits, 3 when none does, 2 on invalid input.
            """
    )

    @OptionGroup var source: InventoryOption

    @Option(name: .long, help: ArgumentHelp("Id of the server to place.", valueName: "id"))
    var server: String

    @Option(name: .long, help: ArgumentHelp("Show at most this many DeH targets (the pool is still shown).", valueName: "n"))
    var limit: Int?

    @OptionGroup var fitOptions: FitOptions

    @Option(name: .long, help: "Output format: text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
    }

    func run() throws {
        let inventory = try source.load()
        let checker = Checker(inventory)
        let list = checker.targets(serverID: server, limit: limit, options: fitOptions.checkerOptions)
        switch format {
        case .json: print(list.json.serialized())
        case .text: print(render(list, inventory))
        }
        if list.fittingHosts == 0 { throw CLIError.infeasible }
    }

    func render(_ list: Checker.TargetList, _ inventory: Inventory) -> String {
        var lines: [String] = []
        if let s = inventory.server(list.serverID) { lines.append("Server: \(Describe.server(s, inventory))") }
        if !list.serverReasons.isEmpty {
            lines.append("No target: the server itself cannot be migrated now:")
            var table = TextTable(["CODE", "WHY"])
            for r in list.serverReasons { table.add([r.code.rawValue, r.message]) }
            lines.append(table.render(indent: "  "))
            return lines.joined(separator: "\n")
        }
        let hosts = list.targets.filter { $0.target != .pool }
        if hosts.isEmpty {
            lines.append("No Dedicated Host fits.")
        } else {
            let shown = hosts.count < list.fittingHosts ? " (showing \(hosts.count))" : ""
            lines.append("\(list.fittingHosts) Dedicated Host\(list.fittingHosts == 1 ? "" : "s") fit\(list.fittingHosts == 1 ? "s" : "")\(shown), best first:")
            var table = TextTable(["#", "DEDICATED HOST", "NAME", "NODES", "LEFTOVER (vCPUs/MiB)", "SCORE", "LAYOUT"])
            for (i, c) in hosts.enumerated() {
                let id = c.target.hostID!
                let layout = c.layoutKnown ? "known" : (c.verdict == .certain ? "unknown (fits any arrangement)" : "unknown (may fail)")
                table.add([
                    String(i + 1), id, inventory.host(id)?.name ?? "", Describe.nodes(c.fit!.nodes),
                    Describe.leftover(c.fit!), Describe.score(c.fit!.score), layout,
                ])
            }
            lines.append(table.render(indent: "  "))
        }
        if list.targets.contains(where: { $0.target == .pool }) {
            lines.append("Also possible: the public pool (dehplan passes {\"migrate\": null}).")
        }
        if !list.rejected.isEmpty {
            let parts = list.rejected.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }
            lines.append("Rejected hosts by first reason: \(parts.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }
}
