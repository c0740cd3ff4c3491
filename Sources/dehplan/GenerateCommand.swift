// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import Foundation
import Generator
import Planner
import Topology

/// `dehplan generate`: seeded synthetic inventories for tests, benchmarks and what-if studies.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a seeded, realistic synthetic inventory (same seed, same file).",
        discussion: """
            Host types c6 and m6 (2 NUMA nodes) and h4 (4 NUMA nodes), partly filled hosts with servers on random fitting nodes (so hosts fragment as in life), split flavors, a few servers of unknown layout, anti-affinity groups, several availability zones.
            """
    )

    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Number of Dedicated Hosts.") var hosts: Int = 20
    @Option(help: "Number of servers.") var servers: Int = 150
    @Option(help: ArgumentHelp("Availability zones, comma-separated.", valueName: "az,az"))
    var zones: String = "eu-de-01,eu-de-02"
    @Option(help: "Share of servers with unknown NUMA layout (0...1).") var unknownLayout: Double = 0.03
    @Option(help: "Share of servers that are SHUTOFF (0...1).") var shutoff: Double = 0.7
    @Option(help: "Number of anti-affinity groups.") var groups: Int = 2
    @Option(help: "Highest share of a host's vCPUs in use (each host draws a level between 0.3 and this).")
    var maxFill: Double = 0.9
    @Option(help: "Share of hosts in state fault (0...1).") var fault: Double = 0.03
    @Option(help: ArgumentHelp("Host types to use, comma-separated (c6, m6, h4; default all).", valueName: "type,type"))
    var hostTypes: String = ""
    @Option(help: ArgumentHelp("Output file ('-' for standard output).", valueName: "file")) var out: String = "-"
    @Option(name: [.customShort("f"), .long], help: "With --out FILE: how to report what was written, text or json (the inventory itself is always JSON).")
    var format: OutputFormat = .text
    @OptionGroup var verbosity: VerbosityOptions

    func validate() throws {
        if hosts < 0 || servers < 0 || groups < 0 { throw ValidationError("--hosts, --servers and --groups must be >= 0") }
        for (name, v) in [("--unknown-layout", unknownLayout), ("--shutoff", shutoff), ("--max-fill", maxFill), ("--fault", fault)] where !(0...1).contains(v) {
            throw ValidationError("\(name) must be within 0...1, got \(v)")
        }
    }

    func run() throws {
        let types = CommaList.split([hostTypes])
        let known = Set(InventoryGenerator.hostTypes.map(\.name))
        if let bad = types.first(where: { !known.contains($0) }) {
            throw CLIError.invalidInput("error: --host-types: unknown host type \"\(bad)\" (known: \(known.sorted().joined(separator: ", ")))")
        }
        let config = InventoryGenerator.Config(
            seed: seed, hosts: hosts, servers: servers,
            availabilityZones: zones.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) },
            unknownLayoutFraction: unknownLayout, shutoffFraction: shutoff, faultFraction: fault,
            antiAffinityGroups: groups, hostTypeNames: types, maxFill: maxFill)
        if config.availabilityZones.contains(where: \.isEmpty) {
            throw CLIError.invalidInput("error: --zones: expected availability zone names separated by commas, got \"\(zones)\"")
        }
        let inventory = InventoryGenerator.generate(config)
        try emit(inventory, to: out, format: format, verbosity: verbosity)
        if inventory.servers.count < servers {
            // Said, not hidden: the file holds fewer servers than asked for.
            FileHandle.standardError.write(Data(
                "note: \(servers) servers asked for, \(inventory.servers.count) written: the hosts have no room for more at --max-fill \(maxFill) (raise --hosts or --max-fill)\n".utf8))
        }
    }
}
