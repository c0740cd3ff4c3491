// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser

/// The `dehplan` command.
struct Dehplan: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "dehplan",
        abstract: "Plan and check NUMA-aware cold migrations of ECS servers between Dedicated Hosts.",
        discussion: """
            The cloud's migrate API reports free capacity per host only in total, and a migration "may fail due to insufficient resources on a single NUMA node". dehplan models every Dedicated Host per NUMA node and answers, before you migrate, whether a move fits, where, and why not.

            Exit codes: 0 success/feasible, 1 runtime error, 2 usage or invalid input, 3 infeasible (no fit), 4 apply stopped on a failed migration.

            Examples:
              dehplan check --inventory samples/fragmented.json \\
                  --server app-big --to deh-frag-a
              dehplan targets --inventory samples/fragmented.json \\
                  --server app-big --format json
            """,
        version: version,
        subcommands: [CheckCommand.self, TargetsCommand.self, PlanCommand.self, CapacityCommand.self, ReportCommand.self, ApplyCommand.self, InventoryCommand.self, FakeCloudCommand.self, DemoCommand.self, GenerateCommand.self]
    )
}
