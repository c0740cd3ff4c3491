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

    @Option(name: [.customShort("f"), .long], help: "Output format: text or json (schema in docs/JSON.md).")
    var format: OutputFormat = .text

    @OptionGroup var verbosity: VerbosityOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
    }

    func run() throws {
        let console = verbosity.console
        let inventory = try source.load()
        try KnownIDs.server(server, in: inventory)
        let checker = Checker(inventory)
        let list = checker.targets(serverID: server, limit: limit, options: fitOptions.checkerOptions)
        switch format {
        case .json: console.result(list.json.serialized())
        case .text: console.result(render(list, inventory, style: console.style))
        }
        if verbosity.verbose {
            // The first rejected hosts with their full explanation.
            var shown = 0
            for host in inventory.hosts where shown < 10 && !list.targets.contains(where: { $0.target.hostID == host.id }) {
                let check = checker.check(serverID: server, target: .host(host.id), options: fitOptions.checkerOptions)
                guard let reason = check.reasons.first, !reason.code.isServerLevel else { continue }
                console.detail("rejected \(host.id): \(reason.code.rawValue): \(reason.message)")
                shown += 1
            }
        }
        if list.fittingHosts == 0 { throw CLIError.infeasible }
    }

    func render(_ list: Checker.TargetList, _ inventory: Inventory, style: Style = .plain) -> String {
        var lines: [String] = []
        if let s = inventory.server(list.serverID) { lines.append("Server: \(Describe.server(s, inventory))") }
        if !list.serverReasons.isEmpty {
            lines.append("No target: the server itself cannot be migrated now:")
            var table = TextTable(["CODE", "WHY"])
            for r in list.serverReasons { table.add([r.code.rawValue, r.message]) }
            table.colour = { column, _ in column == 0 ? .bad : nil }
            lines.append(table.render(indent: "  ", style: style))
            return lines.joined(separator: "\n")
        }
        let hosts = list.targets.filter { $0.target != .pool }
        if hosts.isEmpty {
            lines.append(style.bad("No Dedicated Host fits."))
        } else {
            let shown = hosts.count < list.fittingHosts ? " (showing \(hosts.count))" : ""
            lines.append("\(list.fittingHosts) Dedicated Host\(list.fittingHosts == 1 ? "" : "s") fit\(list.fittingHosts == 1 ? "s" : "")\(shown), best first:")
            var table = TextTable(["#", "DEDICATED HOST", "NAME", "NODES", "LEFTOVER (vCPUs/MiB)", "SCORE", "LAYOUT"], right: [0, 5])
            table.colour = { column, text in column == 6 && text.contains("may fail") ? .warn : nil }
            for (i, c) in hosts.enumerated() {
                let id = c.target.hostID!
                let layout = c.layoutKnown ? "known" : (c.verdict == .certain ? "unknown (fits any arrangement)" : "unknown (may fail)")
                table.add([
                    String(i + 1), id, inventory.host(id)?.name ?? "", Describe.nodes(c.fit!.nodes),
                    Describe.leftover(c.fit!), Describe.score(c.fit!.score), layout,
                ])
            }
            lines.append(table.render(indent: "  ", style: style))
        }
        if list.targets.contains(where: { $0.target == .pool }) {
            lines.append("Also possible: the public pool (dehplan passes {\"migrate\": null}).")
        }
        if !list.rejected.isEmpty {
            let parts = list.rejected.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }
            lines.append("Rejected hosts by first reason: \(parts.joined(separator: ", "))")
            lines.append(style.dim("(`dehplan check --server \(list.serverID) --to DEH_ID` explains one host in full; --verbose lists the first ten)"))
        }
        return lines.joined(separator: "\n")
    }
}
