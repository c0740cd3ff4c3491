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

    @OptionGroup var output: ListingOptions

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
        let listing = Self.listing(list, inventory)
        if let text = try output.output(listing, document: list.json, rowsKey: "targets", style: console.style, text: { picked in
            render(list, inventory, listing: listing, picked: picked, style: console.style)
        }) {
            console.result(text)
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

    /// The fitting DeHs as rows (the pool is not a row).
    static func listing(_ list: Checker.TargetList, _ inventory: Inventory) -> Listing {
        var listing = Listing(columns: [
            .init(key: "rank", header: "#", right: true), .init(key: "dedicated_host_id", header: "DEDICATED HOST"),
            .init(key: "name", header: "NAME"), .init(key: "numa_nodes", header: "NODES"),
            .init(key: "leftover", header: "LEFTOVER (vCPUs/MiB)"), .init(key: "score", header: "SCORE", right: true),
            .init(key: "layout", header: "LAYOUT"),
        ])
        for (i, c) in list.targets.filter({ $0.target != .pool }).enumerated() {
            let id = c.target.hostID!
            let layout = c.layoutKnown ? "known" : (c.verdict == .certain ? "unknown (fits any arrangement)" : "unknown (may fail)")
            listing.rows.append([
                String(i + 1), id, inventory.host(id)?.name ?? "", Describe.nodes(c.fit!.nodes),
                Describe.leftover(c.fit!), Describe.score(c.fit!.score), layout,
            ])
        }
        return listing
    }

    func render(_ list: Checker.TargetList, _ inventory: Inventory, listing: Listing, picked: [Int], style: Style = .plain) -> String {
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
            var table = listing.table(picked)
            table.colour = { column, text in picked[column] == 6 && text.contains("may fail") ? .warn : nil }
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
