// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import CloudAPI
import FakeCloud
import Foundation
import Topology

/// `dehplan fake-cloud`: serve a fake ECS/DeH API on loopback.
struct FakeCloudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-cloud",
        abstract: "Serve a fake ECS/DeH API on loopback, seeded from an inventory (tests, demos).",
        discussion: """
            Real paths, JSON and error codes; a migration whose target has room in total but not on one NUMA node fails in its job, decided by dehplan's own fit function. Requires a token (--token) or an AK/SK pair (--ak/--sk). Fault injection: --throttle-rate (429), --error-rate (500), --drop-rate (executed, answer lost), --fail-rate (failed jobs), all seeded by --seed. Extra endpoints: GET /_fake/inventory (true state, layouts included), GET /_fake/stats (accepted migrations per server). Stops on Ctrl-C.
            """
    )

    @OptionGroup var source: InventoryOption
    @Option(help: "Port (0 picks a free one).") var port: UInt16 = 0
    @Option(help: "Loopback address to listen on.") var host: String = "127.0.0.1"
    @Option(name: .long, help: "Project id the fake serves.") var projectID: String
    @Option(help: "Accepted X-Auth-Token.") var token: String?
    @Option(help: "Accepted access key.") var ak: String?
    @Option(help: "Accepted secret key.") var sk: String?
    @Option(help: "IAM user accepted by POST /v3/auth/tokens (answered with --token).") var user: String?
    @Option(help: "IAM password of --user.") var password: String?
    @Option(help: "Project name IAM accepts as a scope (its id is --project-id).") var projectName = "eu-de"
    @Option(help: "Region the IAM catalogue names for this fake's ECS and DeH endpoints.") var region = "eu-de"
    @Option(help: "Seconds a migration job runs.") var jobSeconds: Double = 2
    @Option(help: "Share of migration jobs that fail.") var failRate: Double = 0
    @Option(help: ArgumentHelp("How the fake picks the NUMA nodes of an arriving server: best-fit (default), first-fit, spread, or adversarial (the fitting nodes that leave the least room for the largest flavor of the inventory).", valueName: "rule"))
    var placement: FakeCloud.Placement = .bestFit
    @Option(help: "Share of requests throttled (429).") var throttleRate: Double = 0
    @Option(help: "Share of requests answered 500.") var errorRate: Double = 0
    @Option(help: "Share of requests executed whose answer is dropped.") var dropRate: Double = 0
    @Option(help: "Seed of the fault injection.") var seed: UInt64 = 1
    @Option(name: [.customShort("f"), .long], help: "How to announce the listening address: text or json (schema in docs/JSON.md).") var format: OutputFormat = .text
    @OptionGroup var verbosity: VerbosityOptions

    func validate() throws {
        if token == nil && (ak == nil || sk == nil) { throw ValidationError("give --token, or --ak and --sk") }
        for (name, v) in [("--fail-rate", failRate), ("--throttle-rate", throttleRate), ("--error-rate", errorRate), ("--drop-rate", dropRate)]
        where !(0...1).contains(v) {
            throw ValidationError("\(name) must be within 0...1, got \(v)")
        }
        if !(jobSeconds >= 0) { throw ValidationError("--job-seconds must be >= 0") }
    }

    func run() async throws {
        let inventory = try source.load()
        var configuration = FakeCloud.Configuration(
            projectID: projectID, token: token, accessKey: ak, secretKey: sk, jobSeconds: jobSeconds, failRate: failRate, seed: seed,
            placement: placement)
        configuration.user = user
        configuration.password = password
        configuration.projectName = projectName
        configuration.region = region
        let cloud = FakeCloud(inventory: inventory, configuration: configuration)
        let server: FakeCloudServer
        do {
            server = try FakeCloudServer(
                cloud: cloud, host: host, port: port,
                faults: FaultInjection(throttleRate: throttleRate, errorRate: errorRate, dropRate: dropRate, seed: seed),
                log: verbosity.verbose ? { @Sendable line in FileHandle.standardError.write(Data(("fake-cloud: " + line + "\n").utf8)) } : nil)
        } catch {
            throw CLIError.invalidInput("error: \(error)")
        }
        let bound: UInt16
        do {
            bound = try await server.start()
        } catch let error as CloudError {
            throw CLIError.runtime("error: \(error.message)\nnext: pick another --port, or 0 for a free one")
        }
        // Written unbuffered, even with --quiet: scripts wait for this line to learn the port.
        let line: String
        switch format {
        case .text:
            line = "fake cloud listening on http://\(host):\(bound) (project \(projectID), \(inventory.hosts.count) hosts, \(inventory.servers.count) servers)"
        case .json:
            line = JSON.object([
                ("listening", .string("http://\(host):\(bound)")), ("project_id", .string(projectID)),
                ("hosts", .int(inventory.hosts.count)), ("servers", .int(inventory.servers.count)),
            ]).serialized(pretty: false)
        }
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
        while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
    }
}

extension FakeCloud.Placement: ExpressibleByArgument {}
