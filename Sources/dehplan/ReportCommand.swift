// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import Foundation
import Planner
import Report
import Topology

/// `dehplan report`: one self-contained HTML page for reviewing an inventory and a plan.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report of an inventory and (optionally) a plan.",
        discussion: """
            The page has no script and loads nothing from the network (inline CSS and SVG), so it can be mailed or attached to a change ticket. It shows a summary (hosts in use before and after, hosts released, the plan's status, objective, bound and gap), headroom per flavor and zone (NUMA-aware count next to the naive estimate), fragmentation (free capacity no flavor in use can take), the moves grouped by wave with their verdicts, and every host's NUMA nodes before and after with servers as blocks (moved ones highlighted). Hosts the plan touches are drawn in detail; the others are listed in collapsible groups of 100. At scale the page opens short: above 100 moves, host pairs whose verdicts are all certain are listed in view up to 30 on the whole page and a wave past that has them in one closed block (pairs short of certain stay in view), waves after the first 20 sit in one closed block that counts their moves, pairs and verdicts short of certain, and above 100 touched hosts every touched host is a small tile (per node, vCPUs and memory before and after) with the drawings in closed groups of 100.

            Examples:
              dehplan plan --inventory samples/evacuation.json --evacuate deh-012 --out plan.json
              dehplan report --inventory samples/evacuation.json --plan plan.json --out report.html
            """
    )

    @OptionGroup var source: InventoryOption

    @Option(name: .long, help: ArgumentHelp("Plan file from `dehplan plan --out` (optional).", valueName: "file"))
    var plan: String?

    @Option(name: .long, help: ArgumentHelp("Where to write the HTML ('-' for standard output).", valueName: "file"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Layout policy for headroom counts: certain (default) or possible.", valueName: "policy"))
    var layoutPolicy: LayoutPolicy = .certain

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds for the headroom counts on hosts with servers of unknown NUMA layout whose arrangements are too many to enumerate (before and after the plan together): past them a count shows what is proven, ≥N.", valueName: "s"))
    var timeLimit: Double = 20

    @Option(name: [.customShort("f"), .long], help: "With --out FILE: how to report what was written, text (on standard error) or json (on standard output).")
    var format: OutputFormat = .text

    @OptionGroup var verbosity: VerbosityOptions

    func validate() throws {
        if !(timeLimit.isFinite && timeLimit > 0) { throw ValidationError("--time-limit must be a positive number of seconds") }
    }

    func run() throws {
        let inventory = try source.load()
        var loaded: Plan?
        if let plan {
            do {
                loaded = try Plan.load(fromFile: plan)
            } catch {
                throw CLIError.invalidInput("error: invalid plan\n" + error.description)
            }
            // A plan made for another inventory would draw nonsense: check it first.
            if let made = loaded!.fingerprint, made != inventory.fingerprint {
                throw CLIError.invalidInput(
                    "error: the plan \(plan) was made from another inventory (inventory_fingerprint \(made); \(source.inventory) has \(inventory.fingerprint))\nMake the plan from this inventory (dehplan plan --inventory \(source.inventory) ... --out PLAN).")
            }
            // Under the model the plan was made under: a plan under `any` holds wherever the
            // cloud puts its arrivals, and its NUMA nodes are wishes that need not fit as planned
            // nodes (a tiled 8,000-host plan under `any` was refused here as `planned`).
            let made = loaded!.placement
            let problems = PlanValidator.violations(
                of: loaded!.moves, on: inventory,
                options: made == .any ? Checker.Options(placement: .any) : Checker.Options(layoutPolicy: .possible, placement: made))
            if !problems.isEmpty {
                throw CLIError.invalidInput(
                    "error: the plan \(plan) does not apply to the inventory \(source.inventory):\n"
                        + problems.prefix(5).map { "  " + $0 }.joined(separator: "\n")
                        + "\nMake the plan from this inventory (dehplan plan --inventory \(source.inventory) ... --out PLAN).")
            }
        }
        let title = plan.map { "inventory \(source.inventory), plan \($0)" } ?? "inventory \(source.inventory)"
        let html = Report(inventory: inventory, plan: loaded, title: title, layoutPolicy: layoutPolicy, timeLimit: timeLimit).html()
        if out == "-" && verbosity.quiet { return }
        try writeOutput(html, to: out)
        guard out != "-" else { return }
        switch format {
        case .text: verbosity.console.info("wrote \(out) (\(html.utf8.count / 1024) KiB)")
        case .json:
            verbosity.console.result(JSON.object([
                ("out", .string(out)), ("bytes", .int(html.utf8.count)), ("hosts", .int(inventory.hosts.count)),
                ("moves", .int(loaded?.moves.count ?? 0)),
            ]).serialized(pretty: false))
        }
    }
}
