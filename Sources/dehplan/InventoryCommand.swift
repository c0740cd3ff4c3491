// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import CloudAPI
import Foundation
import Topology

/// `dehplan inventory`: build an inventory file from the live API.
struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Build an inventory file from the live ECS and DeH APIs.",
        discussion: """
            Reads every Dedicated Host, the flavors of their availability zones and every server. The API does not say which NUMA node a server occupies, so layouts are unknown; NUMA nodes per host type = its sockets, capacity split evenly, unless --host-types gives exact per-node capacities (a JSON object: {"c6": [{"vcpus": 30, "memory_mib": 131072}, ...]}).
            """
    )

    @OptionGroup var cloud: CloudOptions

    @Option(name: .long, help: ArgumentHelp("Exact per-node capacities of host types (JSON).", valueName: "file"))
    var hostTypes: String?

    @Option(name: .long, help: ArgumentHelp("Output file ('-' for standard output).", valueName: "file"))
    var out: String = "-"

    @Option(name: [.customShort("f"), .long], help: "With --out FILE: how to report what was written, text or json (the inventory itself is always JSON).")
    var format: OutputFormat = .text

    @OptionGroup var verbosity: VerbosityOptions

    func run() async throws {
        var exact: LiveInventory.HostTypeCapacities = [:]
        if let hostTypes {
            guard let data = FileManager.default.contents(atPath: hostTypes) else {
                throw CLIError.invalidInput("error: --host-types: cannot read \(hostTypes)")
            }
            do {
                guard case .object(let pairs) = try JSON.parse([UInt8](data)) else {
                    throw CLIError.invalidInput("error: \(hostTypes): expected an object of host types")
                }
                for (name, value) in pairs {
                    guard case .array(let nodes) = value else { throw CLIError.invalidInput("error: \(hostTypes): \(name): expected an array of nodes") }
                    exact[name] = try nodes.enumerated().map { i, node in
                        guard case .number(let v)? = node["vcpus"], case .number(let m)? = node["memory_mib"], v > 0, m > 0,
                            v == v.rounded(), m == m.rounded(), v <= 1e6, m <= 1e12
                        else {
                            throw CLIError.invalidInput("error: \(hostTypes): \(name)[\(i)]: expected whole positive vcpus (at most 1e6) and memory_mib (at most 1e12)")
                        }
                        return Resources(vcpus: Int(v), memoryMiB: Int(m))
                    }
                }
            } catch let error as JSONSyntaxError {
                throw CLIError.invalidInput("error: \(hostTypes): invalid JSON at \(error)")
            }
        }
        let client = try await cloud.client(trace: verbosity.verbose, quiet: verbosity.quiet)
        let inventory: Inventory
        do {
            inventory = try await LiveInventory.fetch(client, hostTypes: exact)
        } catch {
            throw cloudFailure("reading the inventory from \(client.ecsEndpoint.absoluteString) failed", error)
        }
        try emit(inventory, to: out, format: format, verbosity: verbosity)
    }
}
