// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser

/// The `dehplan` command.
struct Dehplan: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "dehplan",
        abstract: "Plan and check NUMA-aware cold migrations of ECS servers between Dedicated Hosts.",
        discussion: """
            The cloud's migrate API reports free capacity per host only in total, and a migration "may fail due to insufficient resources on a single NUMA node". dehplan models every Dedicated Host per NUMA node and answers, before you migrate, whether a move fits, where, and why not; plans batches with GLPK; and carries them out, journaled.

            A typical session: `inventory` (read the cloud into a file) -> `capacity` or `targets`/`check` (what fits where) -> `plan --out plan.json` -> `report --plan plan.json` (review) -> `apply plan.json --dry-run`, then `apply plan.json`.

            Every command takes --format json (schemas in docs/JSON.md), -q/--quiet and -v/--verbose; colour only on a terminal, never with NO_COLOR. Shell completion: dehplan --generate-completion-script bash|zsh|fish.

            Exit codes: 0 success/feasible, 1 runtime error, 2 usage or invalid input, 3 infeasible (no fit), 4 apply stopped on a failed migration.

            Examples:
              dehplan check --inventory samples/fragmented.json \\
                  --server app-big --to deh-frag-a
              dehplan capacity --inventory samples/region.json --az eu-de-01
              dehplan plan --inventory samples/evacuation.json --evacuate deh-004 --out plan.json
              dehplan report --inventory samples/evacuation.json --plan plan.json --out report.html
            """,
        version: version,
        subcommands: [CheckCommand.self, TargetsCommand.self, PlanCommand.self, CapacityCommand.self, ReportCommand.self, ApplyCommand.self, InventoryCommand.self, FakeCloudCommand.self, DemoCommand.self, GenerateCommand.self, CLIReferenceCommand.self]
    )
}
