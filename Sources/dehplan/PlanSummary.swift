// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Planner
import Topology

/// The human summary of a plan: status, objective, moves per wave, hosts released, utilisation.
struct PlanSummary {
    let plan: Plan
    let inventory: Inventory
    /// The file the plan was written to: where it holds more than `rowsBesideAFile` moves, the
    /// table lists that many (in wave order) and says where the rest are: no one reads 34,672
    /// rows on a terminal (a 10,000-host consolidation), and printing them took about 0.04 s of
    /// its 1 s limit (writing 0.23-0.25 s against 0.19-0.21 s).
    var writtenTo: String? = nil

    /// See `writtenTo`.
    static let rowsBesideAFile = 200

    func percent(_ x: Double) -> String { String(Int((x * 100).rounded())) + "%" }

    func render(style: Style = .plain) -> String {
        var lines: [String] = []
        var statusWord = plan.status.rawValue.uppercased()
        if plan.status == .partial {
            let placed = Set(plan.moves.map(\.serverID)).count
            statusWord += " \(placed)/\(placed + plan.unplaced.count)"
        }
        let painted = plan.status == .optimal ? style.good(statusWord) : (plan.status == .infeasible ? style.bad(statusWord) : style.warn(statusWord))
        var head = "Plan: \(painted)  \(plan.objectiveName) = \(format(plan.objectiveValue))"
        if let b = plan.objectiveBound { head += ", bound \(format(b))" }
        if let g = plan.gap { head += ", gap \(percent(g))" }
        lines.append(head)
        lines.append("Cloud placement: \(plan.placement.rawValue); NODES are \(plan.placement.nodesMeaning)")
        lines.append("\(plan.moves.count) move\(plan.moves.count == 1 ? "" : "s") in \(plan.waveCount) wave\(plan.waveCount == 1 ? "" : "s"); solver \(String(format: "%.2f", plan.solverSeconds)) s, \(plan.variables) variables, \(plan.constraints) constraints")

        let before = PlacementState(inventory)
        let after = PlacementState(inventory.applying(plan.moves))
        let usedBefore = before.usage.filter { $0.serverCount > 0 }.count
        let usedAfter = after.usage.filter { $0.serverCount > 0 }.count
        let released = inventory.hosts.indices.filter { before.usage[$0].serverCount > 0 && after.usage[$0].serverCount == 0 }
        let names = released.prefix(12).map { inventory.hosts[$0].id }.joined(separator: ", ")
        let more = released.count > 12 ? " and \(released.count - 12) more" : ""
        lines.append("Hosts in use: \(usedBefore) before, \(usedAfter) after" + (released.isEmpty ? "" : "; released (\(released.count)): \(names)\(more)"))
        lines.append("Highest NUMA-node utilisation: \(percent(before.usage.highestNodeUtilisation)) before, \(percent(after.usage.highestNodeUtilisation)) after")

        if !plan.moves.isEmpty {
            var table = TextTable(["WAVE", "SERVER", "FLAVOR", "FROM", "TO", "NODES"], right: [0])
            let shown = writtenTo == nil ? plan.moves.count : min(plan.moves.count, Self.rowsBesideAFile)
            for m in plan.moves.sorted(by: { ($0.wave, $0.serverID) < ($1.wave, $1.serverID) }).prefix(shown) {
                table.add([
                    String(m.wave), m.serverID, inventory.server(m.serverID)?.flavor ?? "", m.from ?? "pool", m.to ?? "pool",
                    m.numaNodes.map(Describe.nodes) ?? "-",
                ])
            }
            lines.append(table.render(indent: "  ", style: style))
            if shown < plan.moves.count, let writtenTo {
                lines.append("  ... and \(plan.moves.count - shown) more move(s), every one in \(writtenTo)")
            }
        }
        if !plan.unplaced.isEmpty {
            lines.append(style.bad("Unplaced (\(plan.unplaced.count)):"))
            var table = TextTable(["SERVER", "CODE", "WHY"])
            for u in plan.unplaced {
                for r in u.reasons { table.add([u.serverID, r.code.rawValue, r.message]) }
            }
            table.colour = { column, _ in column == 1 ? .bad : nil }
            lines.append(table.render(indent: "  ", style: style))
        }
        for note in plan.notes { lines.append("Note: \(note)") }
        return lines.joined(separator: "\n")
    }


    func format(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%.3f", v)
    }
}
