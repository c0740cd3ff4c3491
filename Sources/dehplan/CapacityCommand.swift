// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import Foundation
import Planner
import Topology

/// `dehplan capacity`: NUMA-aware headroom, demand fits and what-if.
struct CapacityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capacity",
        abstract: "How many more servers fit, NUMA-aware; does a demand mix fit; what if hosts go away.",
        discussion: """
            Headroom (default): for each flavor and availability zone, how many more servers of that flavor fit now on available hosts whose type accepts it (COUNT), next to the estimate from free totals alone, Σ per host ⌊min(free vCPUs / vCPUs, free memory / memory)⌋ over the same hosts (NAIVE), and the difference (LOSS: servers the totals promise that NUMA fragmentation rules out). For one flavor the count is exact by construction: per host, as many as fit on its nodes, split flavors on k distinct nodes included. On hosts with servers of unknown NUMA layout the count is what fits under every arrangement of them (--layout-policy certain, default) or under the best one (possible): the arrangements are enumerated (up to 4,096 per host), past that searched (branch and bound, a counted budget per host and flavor), then GLPK programs with a budget decide until --time-limit, and a count they cannot make exact is printed as what is proven, ≥N (JSON count_exact false).

            Demand (--demand "FLAVOR=N,FLAVOR=N"): decides with GLPK whether the whole mix fits at once (not flavor by flavor) and shows where it goes; when it does not, the fewest hosts to add, of the types --add-host-type allows (default: every host type of the inventory), then the fewest vCPUs. A pattern model over host shapes proves its answers: FITS (a placement), DOES NOT FIT (proven; hosts to add proven minimal, or "at least M"), or NOT SHOWN TO FIT when the time limit ends with neither. Under --layout-policy certain, hosts with servers of unknown layout offer, to show a fit, only what fits under every arrangement of those servers (sound, may understate); "does not fit" and the bound on hosts to add must also hold under one arrangement of those servers the cloud may have made (worst fit), else the answer is NOT SHOWN TO FIT.

            What-if (--without DEH_ID...): answers either question as if those hosts were gone: their SHUTOFF servers are first re-placed with the planner's evacuation model; servers that could not be re-placed are listed.

            Exit 0 (headroom; or the demand fits), 3 when no fit on existing hosts was shown (proven or not: JSON "verdict" tells), 2 on invalid input.

            Examples:
              dehplan capacity --inventory samples/region.json --az eu-de-01
              dehplan capacity --inventory samples/region.json --demand "c6.2xlarge.4=20,m6.4xlarge.8=6" --az eu-de-02
              dehplan capacity --inventory samples/region.json --without deh-001 deh-002 --format json
            """
    )

    @OptionGroup var source: InventoryOption

    @Option(name: .long, help: ArgumentHelp("Only this availability zone.", valueName: "az"))
    var az: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Only these flavors (headroom; default: all).", valueName: "name"))
    var flavor: [String] = []

    @Option(name: .long, help: ArgumentHelp("Decide whether this mix of new servers fits at once, e.g. \"c7.large.2=10,m7.xlarge.8=4\".", valueName: "flavor=n,..."))
    var demand: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Host types that may be added when the demand does not fit (default: all types of the inventory).", valueName: "type"))
    var addHostType: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Answer as if these hosts were gone (their SHUTOFF servers re-placed first; ids apart or comma-separated).", valueName: "deh-id"))
    var without: [String] = []

    @Option(name: .long, help: ArgumentHelp("Hosts with servers of unknown NUMA layout count what fits under every arrangement (certain, default) or under some (possible).", valueName: "policy"))
    var layoutPolicy: LayoutPolicy = .certain

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Solver time limit in seconds (demand fit; re-placing for --without; headroom counts on hosts with servers of unknown layout whose arrangements are too many to enumerate, which past it show what is proven, ≥N).", valueName: "s"))
    var timeLimit: Double = 30

    @OptionGroup var output: ListingOptions

    @OptionGroup var verbosity: VerbosityOptions

    func validate() throws {
        if !(timeLimit.isFinite && timeLimit > 0) { throw ValidationError("--time-limit must be a positive number of seconds") }
        if !without.isEmpty && CommaList.split(without).isEmpty { throw ValidationError("--without needs at least one host id") }
        if demand != nil && (output.format == .value || output.format == .table || !output.column.isEmpty) {
            throw ValidationError("-f table/value and -c/--column list the headroom rows; with --demand use -f text, json or yaml")
        }
        if demand != nil && !flavor.isEmpty {
            throw ValidationError("--flavor filters the headroom table; with --demand the flavors come from the demand")
        }
        if demand == nil && !addHostType.isEmpty {
            throw ValidationError("--add-host-type only applies with --demand")
        }
    }

    func run() throws {
        let console = verbosity.console
        let style = console.style
        var inventory = try source.load()
        var removed: HostsRemoved?
        do {
            if !without.isEmpty {
                let whatIf = try HostsRemoved(CommaList.split(without), from: inventory, policy: layoutPolicy, timeLimit: timeLimit / 2)
                removed = whatIf
                inventory = whatIf.inventory
            }
            if let demand {
                let items = try DemandFit.parse(demand, inventory: inventory)
                let options = DemandFit.Options(
                    zone: az, addHostTypes: addHostType.isEmpty ? nil : addHostType, policy: layoutPolicy,
                    timeLimit: removed == nil ? timeLimit : timeLimit / 2)
                let result = try DemandFit(inventory).solve(items, options: options)
                switch output.format {
                case .json: console.result(CapacityOutput.json(demand: items, result, removed: removed).serialized())
                case .yaml: console.result(String(CapacityOutput.json(demand: items, result, removed: removed).yaml.dropLast()))
                case .text, .table, .value: console.result(CapacityOutput.text(demand: items, result, removed: removed, style: style))
                }
                console.detail("demand model: \(result.variables) variables, \(result.constraints) constraints, GLPK \(result.status.rawValue) in \(String(format: "%.3f", result.seconds)) s")
                if !result.fits { throw CLIError.infeasible }
            } else {
                let report = try HeadroomReport(inventory, zone: az, flavors: flavor, policy: layoutPolicy,
                                                timeLimit: removed == nil ? timeLimit : timeLimit / 2)
                let listing = CapacityOutput.listing(report)
                let document = CapacityOutput.json(report, removed: removed)
                if let text = try output.output(listing, document: document, rowsKey: "headroom", style: style, text: { picked in
                    CapacityOutput.text(report, listing: listing, removed: removed, picked: picked, style: style)
                }) {
                    console.result(text)
                }
                for row in report.rows where row.fragmentationLoss > 0 {
                    console.detail("\(row.availabilityZone) \(row.flavor): totals promise \(row.naiveCount), NUMA nodes take \(row.count) on \(row.hostsWithRoom) of \(row.hosts) hosts")
                }
            }
        } catch let error as PlanError {
            throw CLIError.invalidInput("error: \(error.message)")
        }
    }
}

/// Rendering of capacity answers (text and JSON).
enum CapacityOutput {
    static func removedJSON(_ removed: HostsRemoved?) -> [(String, JSON)] {
        guard let removed else { return [] }
        return [("without", .object([
            ("hosts", .array(removed.hostIDs.map(JSON.string))),
            ("replaced", .int(removed.plan.moves.count)),
            ("plan_status", .string(removed.plan.status.rawValue)),
            ("moves", .array(removed.plan.moves.map { m in
                .object([("server_id", .string(m.serverID)), ("from", .optionalString(m.from)), ("to", .optionalString(m.to))])
            })),
            ("not_replaced", .array(removed.notReplaced.map { u in
                .object([("server_id", .string(u.serverID)), ("reasons", .array(u.reasons.map(\.json)))])
            })),
        ]))]
    }

    static func json(_ report: HeadroomReport, removed: HostsRemoved?) -> JSON {
        .object([
            ("layout_policy", .string(report.layoutPolicy.rawValue)),
            ("headroom", .array(report.rows.map { r in
                .object([
                    ("flavor", .string(r.flavor)), ("availability_zone", .string(r.availabilityZone)),
                    ("count", .int(r.count)), ("naive_count", .int(r.naiveCount)),
                    ("fragmentation_loss", .int(r.fragmentationLoss)), ("hosts", .int(r.hosts)),
                    ("hosts_with_room", .int(r.hostsWithRoom)), ("hosts_with_unknown_layout", .int(r.hostsWithUnknownLayout)),
                    ("count_exact", .bool(r.exact)),
                ])
            })),
        ] + removedJSON(removed))
    }

    static func removedText(_ removed: HostsRemoved?) -> [String] {
        guard let removed else { return [] }
        let optimality = removed.plan.status == .feasible ? " (best found in the time limit)" : ""
        var lines = ["What if \(removed.hostIDs.joined(separator: ", ")) went away: \(removed.plan.moves.count) SHUTOFF server(s) re-placed first with the evacuation planner\(optimality)."]
        if !removed.notReplaced.isEmpty {
            lines.append("\(removed.notReplaced.count) server(s) could not be re-placed; the answer below counts them as gone:")
            var table = TextTable(["SERVER", "FIRST REASON"])
            for u in removed.notReplaced { table.add([u.serverID, u.reasons.first.map { "\($0.code.rawValue): \($0.message)" } ?? ""]) }
            lines.append(table.render(indent: "  "))
        }
        lines.append("")
        return lines
    }

    /// The headroom rows (one per flavor and zone).
    static func listing(_ report: HeadroomReport) -> Listing {
        var listing = Listing(columns: [
            .init(key: "flavor", header: "FLAVOR"), .init(key: "availability_zone", header: "AZ"),
            .init(key: "count", header: "COUNT", right: true), .init(key: "naive_count", header: "NAIVE", right: true),
            .init(key: "fragmentation_loss", header: "LOSS", right: true), .init(key: "hosts", header: "HOSTS", right: true),
            .init(key: "hosts_with_room", header: "WITH ROOM", right: true),
            .init(key: "hosts_with_unknown_layout", header: "UNKNOWN LAYOUT", right: true),
        ])
        for r in report.rows {
            listing.rows.append([r.flavor, r.availabilityZone, r.countShown, String(r.naiveCount), r.lossShown,
                                 String(r.hosts), String(r.hostsWithRoom), String(r.hostsWithUnknownLayout)])
        }
        return listing
    }

    /// One table per zone (the zone is the heading, not a column), with the `picked` columns.
    static func text(_ report: HeadroomReport, listing: Listing, removed: HostsRemoved?, picked: [Int], style: Style = .plain) -> String {
        var lines = removedText(removed)
        let shown = picked.filter { $0 != 1 }
        let zones = report.rows.reduce(into: [String]()) { if !$0.contains($1.availabilityZone) { $0.append($1.availabilityZone) } }
        for zone in zones {
            lines.append("Availability zone \(zone): additional servers that fit now (layout policy \(report.layoutPolicy.rawValue))")
            var zoneRows = listing
            zoneRows.rows = listing.rows.filter { $0[1] == zone }
            var table = zoneRows.table(shown)
            table.colour = { column, text in shown[column] == 4 && text != "0" ? .warn : nil }
            lines.append(table.render(indent: "  ", style: style))
            lines.append("")
        }
        lines.append("COUNT is exact for each flavor on its own (per host, as many as fit on its NUMA nodes); NAIVE divides free totals; LOSS = NAIVE - COUNT. Counts are per flavor, not cumulative: use --demand for a mix.")
        if report.rows.contains(where: { !$0.exact }) {
            lines.append("≥N: at least N fit; the exact count was not reached (hosts whose servers of unknown layout have too many arrangements to try each; JSON count_exact false).")
        }
        return lines.joined(separator: "\n")
    }

    static func json(demand: [DemandFit.Item], _ r: DemandFit.Result, removed: HostsRemoved?) -> JSON {
        .object([
            ("demand", .object([
                ("fits", .bool(r.fits)),
                ("verdict", .string(r.verdict.rawValue)),
                ("status", .string(r.status.rawValue)),
                ("availability_zone", .optionalString(r.zone)),
                ("layout_policy", .string(r.policy.rawValue)),
                ("requested", .array(demand.map { .object([("flavor", .string($0.flavor)), ("count", .int($0.count))]) })),
                ("added_hosts", .int(r.addedHosts)),
                ("added_hosts_bound", .int(r.addedHostsBound)),
                ("added_hosts_proven", .bool(r.addedHostsProven)),
                ("unknown_layout_hosts", .int(r.unknownLayoutHosts)),
                ("added_vcpus", .int(r.addedVCPUs)),
                ("added", .array(r.added.map { .object([("host_type", .string($0.hostType)), ("count", .int($0.count))]) })),
                ("placement", .array(r.placements.map { p in
                    .object([
                        ("host", .optionalString(p.hostID)), ("new_host", .optionalString(p.newHostLabel)),
                        ("host_type", .string(p.hostType)), ("availability_zone", .string(p.availabilityZone)),
                        ("numa_nodes_are_ranks", .bool(p.nodesAreRanks)),
                        ("servers", .array(p.slots.map { s in
                            .object([("flavor", .string(s.flavor)), ("numa_nodes", .array(s.nodes.map(JSON.int))), ("count", .int(s.count))])
                        })),
                    ])
                })),
                ("unplaceable", .array(r.shortfall.map {
                    .object([("flavor", .string($0.flavor)), ("count", .int($0.count)), ("reason", .string($0.reason))])
                })),
                ("solver", .object([
                    ("engine", .string("glpk")), ("model", .string(r.engine)), ("seconds", .number((r.seconds * 1000).rounded() / 1000)),
                    ("variables", .int(r.variables)), ("constraints", .int(r.constraints)),
                ])),
            ])),
        ] + removedJSON(removed))
    }

    static func text(demand: [DemandFit.Item], _ r: DemandFit.Result, removed: HostsRemoved?, style: Style = .plain) -> String {
        var lines = removedText(removed)
        let total = demand.reduce(0) { $0 + $1.count }
        let mix = demand.map { "\($0.count) × \($0.flavor)" }.joined(separator: ", ")
        let scope = r.zone.map { "in \($0)" } ?? "in any availability zone"
        let kinds = r.added.map { "\($0.count) × \($0.hostType)" }.joined(separator: ", ")
        switch r.verdict {
        case .fits:
            lines.append(style.good("FITS") + ": all \(total) servers (\(mix)) fit at once on existing hosts \(scope) (layout policy \(r.policy.rawValue)).")
        case .doesNotFit where r.shortfall.isEmpty:
            if r.addedHostsProven {
                lines.append(style.bad("DOES NOT FIT") + ": \(total) servers (\(mix)) \(scope) need \(r.addedHosts) more host(s): \(kinds), \(r.addedVCPUs) vCPUs (proven minimal).")
            } else {
                lines.append(style.bad("DOES NOT FIT") + ": \(total) servers (\(mix)) \(scope) need at least \(r.addedHostsBound) more host(s) (proven); the best found in the time limit adds \(r.addedHosts): \(kinds), \(r.addedVCPUs) vCPUs.")
            }
        case .unknown where r.shortfall.isEmpty && r.unknownLayoutHosts > 0:
            lines.append(style.bad("NOT SHOWN TO FIT") + ": \(total) servers (\(mix)) \(scope) do not all fit on existing hosts when the \(r.unknownLayoutHosts) host(s) holding servers of unknown NUMA layout offer only the room every arrangement of those servers leaves, and no arrangement of those servers was found where they cannot fit (the API does not report layouts). The best found adds at most \(r.addedHosts) host(s): \(kinds), \(r.addedVCPUs) vCPUs; --layout-policy possible shows the favourable case.")
        case .unknown where r.shortfall.isEmpty:
            lines.append(style.bad("NOT SHOWN TO FIT") + ": no placement of all \(total) servers (\(mix)) on existing hosts \(scope) was found in the time limit, and none was ruled out. The best found adds at most \(r.addedHosts) host(s): \(kinds), \(r.addedVCPUs) vCPUs (no bound above 0; a longer --time-limit may decide it).")
        default:
            let head = r.verdict == .doesNotFit ? style.bad("DOES NOT FIT") : style.bad("NOT SHOWN TO FIT")
            lines.append(head + ": \(total) servers (\(mix)) \(scope); \(r.unplacedProven ? "some cannot be placed even on added hosts" : "some were not placed in the time limit"):")
            for s in r.shortfall { lines.append("  \(s.count) × \(s.flavor): \(s.reason)") }
            if r.addedHosts > 0 {
                lines.append("The rest needs \(r.addedHostsProven ? "" : "at most ")\(r.addedHosts) more host(s): \(kinds).")
            }
        }
        if !r.placements.isEmpty {
            lines.append("")
            lines.append("Placement (\(r.placements.count) host\(r.placements.count == 1 ? "" : "s")):")
            var table = TextTable(["HOST", "TYPE", "AZ", "SERVERS (flavor × n @ nodes)"])
            let shown = r.placements.prefix(40)
            for p in shown {
                let servers = p.slots.map { "\($0.flavor) × \($0.count) @ \($0.nodes.map(String.init).joined(separator: "+"))" }.joined(separator: ", ")
                    + (p.nodesAreRanks ? " (nodes by rank: layout unknown)" : "")
                table.add([p.hostID ?? "\(p.newHostLabel ?? "?") (added)", p.hostType, p.availabilityZone, servers])
            }
            lines.append(table.render(indent: "  "))
            if r.placements.count > shown.count {
                lines.append("  … and \(r.placements.count - shown.count) more hosts (--format json lists all)")
            }
        }
        lines.append("")
        let model = r.engine == "patterns" ? "pattern model, \(r.variables) patterns, \(r.constraints) rows"
            : r.engine == "per-host" ? "\(r.variables) variables, \(r.constraints) constraints"
            : "pattern model then per-host model, \(r.variables) columns, \(r.constraints) rows"
        lines.append("Solver: GLPK, \(model), \(String(format: "%.2f", r.seconds)) s, \(r.status.rawValue).")
        return lines.joined(separator: "\n")
    }
}
