// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import Foundation
import GLPK
import Planner
import Topology

extension PlanObjective: ExpressibleByArgument {}

/// `dehplan plan`: batch plans with GLPK.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Plan many migrations at once: drain hosts, move a set, consolidate or rebalance (GLPK).",
        discussion: """
            Exactly one mode: --evacuate DEH_ID... moves every server off these hosts; --servers ID,... moves exactly these servers; --consolidate moves SHUTOFF servers so that as few hosts as possible stay in use; --rebalance moves SHUTOFF servers to lower the highest NUMA-node utilisation.

            Always enforced: per-NUMA-node vCPU and memory capacity, split flavors on distinct nodes of one host, same availability zone, flavor accepted by the target's host type, target available, only SHUTOFF, unlocked, idle servers move (the others stay and occupy capacity), anti-affinity groups.

            The plan is proven optimal when the solver finishes within --time-limit; otherwise it is the best plan found (never worse than a greedy first-fit-decreasing plan) with the gap to the proven bound. Moves are numbered in waves: running the waves in order never needs capacity that is not free yet. Every plan is replayed with the fit function before it is printed.

            The cloud picks the NUMA nodes of every arrival; the migrate call cannot name them. With --cloud-placement any (the default) every move is safe whatever nodes the cloud picks for it and for the other arrivals of its wave and of earlier waves; the plan's numa_nodes are then only the planner's wish. --cloud-placement planned assumes the cloud honours them (a capacity dry run); best-fit, first-fit and spread simulate a cloud known to place that way, and numa_nodes are its predictions.

            Exit 0 when every server is placed, 3 when some are not (listed under "unplaced" with reasons), 2 on invalid input.
            """
    )

    @OptionGroup var source: InventoryOption

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Move every server off these hosts (ids apart or comma-separated).", valueName: "deh-id"))
    var evacuate: [String] = []

    @Option(name: .long, help: ArgumentHelp("Move exactly these servers (comma-separated ids).", valueName: "id,id"))
    var servers: String?

    @Flag(name: .long, help: "Move SHUTOFF servers so that as few hosts as possible remain in use.")
    var consolidate = false

    @Flag(name: .long, help: "Move SHUTOFF servers to minimise the highest NUMA-node utilisation.")
    var rebalance = false

    @Option(name: .long, help: ArgumentHelp("Override the mode's objective: min-hosts-touched, min-moves, min-hosts-used, balance.", valueName: "objective"))
    var objective: PlanObjective?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Hosts that must not receive servers (ids apart or comma-separated).", valueName: "deh-id"))
    var exclude: [String] = []

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("At most this many servers arrive on one host.", valueName: "n"))
    var maxPerHost: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("At most this many migrations.", valueName: "n"))
    var maxMoves: Int?

    @Flag(name: .long, help: "Let servers that no DeH can take leave for the public pool.")
    var allowPool = false

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Solver time limit for the whole plan, in seconds.", valueName: "s"))
    var timeLimit: Double = 30

    @Option(name: .long, help: ArgumentHelp("Hosts with servers of unknown layout receive servers only when the fit is certain (default) or also when possible.", valueName: "policy"))
    var layoutPolicy: LayoutPolicy = .certain

    @Option(name: .long, help: cloudPlacementHelp)
    var cloudPlacement: CloudPlacement = .any

    @Flag(name: .long, help: "Plan moves of servers that are not SHUTOFF (or are locked or busy) as if they were; stop them before `apply`.")
    var assumeStopped = false

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("At most this many moves per wave.", valueName: "n"))
    var maxParallel: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("At most this many moves touching one host per wave.", valueName: "n"))
    var maxPerHostParallel: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Also write the plan (JSON) to this file. The text summary then lists the first \(PlanSummary.rowsBesideAFile) moves in wave order and says how many more the file holds.",
        valueName: "file"))
    var out: String?

    @Option(name: [.customShort("f"), .long], help: "Output format: text or json (the plan file of docs/DESIGN.md; schema in docs/JSON.md).")
    var format: OutputFormat = .text

    @OptionGroup var verbosity: VerbosityOptions

    @Option(name: .long, help: ArgumentHelp("Solve the aggregated model with this command instead of GLPK (benchmark comparisons; see Benchmarks/peers).", valueName: "cmd", visibility: .hidden))
    var externalSolver: String?

    func validate() throws {
        let modes = [!evacuate.isEmpty, servers != nil, consolidate, rebalance].filter { $0 }.count
        if modes != 1 {
            throw ValidationError("choose exactly one mode: --evacuate DEH_ID..., --servers ID,..., --consolidate or --rebalance")
        }
        if !evacuate.isEmpty && CommaList.split(evacuate).isEmpty { throw ValidationError("--evacuate needs at least one host id") }
        for (name, value) in [("--max-per-host", maxPerHost), ("--max-parallel", maxParallel), ("--max-per-host-parallel", maxPerHostParallel)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1, got \(value)") }
        }
        if let maxMoves, maxMoves < 0 { throw ValidationError("--max-moves must be at least 0, got \(maxMoves)") }
        if !(timeLimit.isFinite && timeLimit > 0) { throw ValidationError("--time-limit must be a positive number of seconds") }
        try validatePlacement(cloudPlacement, layoutPolicy)
    }

    var mode: PlanMode {
        if !evacuate.isEmpty { return .evacuate(CommaList.split(evacuate)) }
        if let servers { return .servers(CommaList.split([servers])) }
        return consolidate ? .consolidate : .rebalance
    }

    func run() throws {
        let console = verbosity.console
        let started = monotonicSeconds()
        let inventory = try source.load()
        let loaded = monotonicSeconds()
        if !verbosity.quiet && isatty(STDERR_FILENO) != 0 && format == .text {
            console.info(console.style.dim("planning (time limit \(timeLimit) s) ..."))
        }
        let planner = BatchPlanner(inventory)
        // The limit covers reading the inventory and preparing the planner too (0.3 s at 10,000
        // hosts), and writing the plan: 4.7 microseconds a move on tiled 2,000 (25,707 moves,
        // 10 MB of JSON, 0.11-0.12 s), kept for every server that may move, at most 15 % of the
        // limit. Never less than half of the limit for the plan itself.
        let prepared = monotonicSeconds()
        // And the process starting before this and ending after it (`processAge`, and 0.01 s to
        // end): foreign fleet 3137 (seed 3131, 40 hosts) at 1 s planned for 1.00 s and the
        // command took 1.02-1.04 s.
        let outside = min(timeLimit * 0.15, 5e-6 * Double(inventory.servers.count)) + min(processAge(), 1) + 0.01
        let options = PlanOptions(
            mode: mode, objective: objective, exclude: Set(CommaList.split(exclude)), maxPerHost: maxPerHost, allowPool: allowPool,
            maxMoves: maxMoves, timeLimit: max(timeLimit / 2, timeLimit - (prepared - started) - outside), layoutPolicy: layoutPolicy,
            maxParallel: maxParallel, maxPerHostParallel: maxPerHostParallel, placement: cloudPlacement, assumeStopped: assumeStopped)
        var plan: Plan
        do {
            plan = try planner.plan(options, externalSolver: externalSolver.map { ExternalCommandSolver(command: $0) })
        } catch {
            throw CLIError.invalidInput("error: \(error.message)")
        }
        let planned = monotonicSeconds()
        // A limit not kept is said, not hidden: the models stop on time, but reading a large
        // inventory, ordering the waves and the validation replay are never cut short (the plan
        // must come out valid).
        if planned - started > timeLimit + max(0.05, timeLimit * 0.05) {
            plan.notes.append(String(
                format: "reading and planning took %.2f s, more than --time-limit %g s: reading, wave ordering and validation are not cut short",
                planned - started, timeLimit))
        }
        let json = plan.json.serializedUTF8()
        if let out {
            do {
                try Data(json + [UInt8(ascii: "\n")]).write(to: URL(fileURLWithPath: out))
            } catch {
                throw CLIError.runtime("error: cannot write the plan to \(out): \(error.localizedDescription)")
            }
        }
        switch format {
        case .json: console.result(String(decoding: json, as: UTF8.self))
        case .text: console.result(PlanSummary(plan: plan, inventory: inventory, writtenTo: out).render(style: console.style))
        }
        let end = monotonicSeconds()
        console.detail(String(format: "time: %.2f s reading the inventory, %.2f s planning, %.2f s writing", loaded - started, planned - loaded, end - planned))
        console.detail("solver: GLPK, \(plan.subproblems) sub-problem(s), \(plan.variables) variables, \(plan.constraints) constraints, \(String(format: "%.3f", plan.solverSeconds)) s")
        if let out { console.detail("plan written to \(out); run it with: dehplan apply \(out) --endpoint URL ... (try --dry-run first)") }
        if plan.status == .infeasible || plan.status == .partial { throw CLIError.infeasible }
    }
}
