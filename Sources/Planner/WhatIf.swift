// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

/// "What if these hosts went away?": their SHUTOFF servers are re-placed first with the
/// planner's evacuation model, then the hosts (and whatever could not leave them) are removed.
public struct HostsRemoved: Sendable {
    /// The hosts taken away.
    public let hostIDs: [String]
    /// The evacuation plan that re-placed their servers.
    public let plan: Plan
    /// Servers on those hosts that could not be re-placed (not SHUTOFF, or no room), with reasons.
    public var notReplaced: [Unplaced] { plan.unplaced }
    /// The inventory after the moves, without the hosts and the servers left on them.
    public let inventory: Inventory

    /// Evacuates `hostIDs` (objective `min-hosts-touched`) and removes them.
    public init(_ hostIDs: [String], from inventory: Inventory, policy: LayoutPolicy, timeLimit: Double) throws(PlanError) {
        var ids: [String] = []
        for id in hostIDs where !ids.contains(id) { ids.append(id) }
        // Named here, as the option the user gave (the evacuation below would say --evacuate).
        let planner = BatchPlanner(inventory)
        for id in ids { _ = try planner.hostIndex(id, role: "--without") }
        // `possible` accepts uncertain fits, which only the planned model allows; `certain` plans
        // the evacuation as it would be carried out, under `any`.
        let plan = try planner.plan(PlanOptions(
            mode: .evacuate(ids), timeLimit: timeLimit, layoutPolicy: policy, placement: policy == .possible ? .planned : .any))
        let moved = inventory.applying(plan.moves)
        let gone = Set(ids)
        self.hostIDs = ids
        self.plan = plan
        self.inventory = Inventory(
            hostTypes: moved.hostTypeOrder.compactMap { moved.hostTypes[$0] },
            flavors: moved.flavorOrder.compactMap { moved.flavors[$0] },
            hosts: moved.hosts.filter { !gone.contains($0.id) },
            servers: moved.servers.filter { !($0.dedicatedHostID.map(gone.contains) ?? false) },
            serverGroups: moved.serverGroups)
    }
}
