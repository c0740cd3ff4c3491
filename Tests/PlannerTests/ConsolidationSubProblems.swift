// SPDX-License-Identifier: GPL-3.0-or-later

@testable import Planner
import Topology

extension BatchPlanner {
    /// A consolidation's sub-problems in `zones` as the planner builds them: one per host-type
    /// family of the inventory's movable servers.
    func consolidationSubProblems(zones: Set<String>, options: PlanOptions) -> [SubProblem] {
        let movers = inventory.servers.indices.filter {
            inventory.servers[$0].dedicatedHostID != nil && BatchPlanner.isMovable(inventory.servers[$0], assumeStopped: false)
        }
        return hostTypeFamilies(of: movers).map { family in
            buildSubProblem(zones: zones, hostTypes: family.types, movers: family.movers, mustMove: false, evacuated: [], excluded: [],
                            options: options)
        }
    }
}
