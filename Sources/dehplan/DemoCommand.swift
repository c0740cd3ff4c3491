// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import CloudAPI
import Executor
import FakeCloud
import Foundation
import Planner
import Report
import Topology

/// `dehplan demo`: the whole flow on the embedded fake cloud and the samples.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole flow on a fake cloud on loopback, seeded from samples/.",
        discussion: """
            Starts the fake ECS/DeH API on a free loopback port, reads the inventory through it, checks a move that the API would accept and then fail on NUMA, shows that failure happening in the fake cloud's job, plans a host evacuation, applies it with progress, shows per-node use before and after, and stops the server.
            """
    )

    @Option(help: ArgumentHelp(
        "Folder with fragmented.json and evacuation.json (default: ./samples, else the samples folder of the checkout the binary was built in, so the demo runs from any directory).",
        valueName: "dir"))
    var samples: String?

    /// `--samples`, else ./samples, else the first samples/ folder above the binary
    /// (`.build/release/dehplan` sits three levels under the checkout).
    static func samplesFolder(_ given: String?) throws -> String {
        if let given { return given }
        let fm = FileManager.default
        if fm.fileExists(atPath: "samples/fragmented.json") { return "samples" }
        if var dir = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() {
            for _ in 0..<5 {
                let candidate = dir.appendingPathComponent("samples")
                if fm.fileExists(atPath: candidate.appendingPathComponent("fragmented.json").path) { return candidate.path }
                dir = dir.deletingLastPathComponent()
            }
        }
        throw CLIError.invalidInput(
            "error: no samples folder here or above the dehplan binary\nnext: pass --samples DIR (the folder with fragmented.json and evacuation.json)")
    }

    @Option(help: ArgumentHelp("Also write the evacuation's HTML report here.", valueName: "file"))
    var report: String = FileManager.default.temporaryDirectory.appendingPathComponent("dehplan-demo-report.html").path

    @Option(name: [.customShort("f"), .long], help: "Output format: text (a narrated run) or json (a summary; schema in docs/JSON.md).")
    var format: OutputFormat = .text

    @OptionGroup var verbosity: VerbosityOptions

    func say(_ line: String = "") { if format == .text && !verbosity.quiet { print(line) } }

    func run() async throws {
        let console = verbosity.console
        let samples = try Self.samplesFolder(samples)
        let fragmented = try InventoryOption.load(path: samples + "/fragmented.json")
        let evacuation = try InventoryOption.load(path: samples + "/evacuation.json")
        let token = UUID().uuidString

        // 1. The documented failure, on the fake cloud.
        let cloudA = FakeCloud(inventory: fragmented, configuration: .init(projectID: "demo", token: token, jobSeconds: 1))
        let serverA = try FakeCloudServer(cloud: cloudA)
        let portA = try await serverA.start()
        let clientA = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:\(portA)")!, projectID: "demo", credentials: .token(token))
        say("== 1. A fake ECS/DeH API on http://127.0.0.1:\(portA), seeded from \(samples)/fragmented.json")
        let live = try await LiveInventory.fetch(clientA)
        let frag = try await clientA.dedicatedHost("deh-frag-a")
        say("Read through the API: \(live.hosts.count) Dedicated Hosts, \(live.servers.count) servers.")
        say("The API says deh-frag-a has \(frag.available_vcpus ?? 0) vCPUs and \(frag.available_memory ?? 0) MiB free, in total.")
        say("app-big needs 16 vCPUs / 65536 MiB. Looks big enough. dehplan, per NUMA node:")
        let check = Checker(fragmented).check(serverID: "app-big", target: .host("deh-frag-a"))
        for r in check.reasons { say("  \(r.code.rawValue): \(r.message)") }
        let best = Checker(fragmented).targets(serverID: "app-big").targets.first?.target.hostID ?? "none"
        say("  best target instead: \(best)")
        say("What the cloud does with the move anyway:")
        var jobOutcome: JSON = .null
        if case .accepted(let job) = try await clientA.migrate(serverID: "app-big", to: "deh-frag-a") {
            var state = try await clientA.job(job)
            while !state.isFinished {
                try await Task.sleep(nanoseconds: 200_000_000)
                state = try await clientA.job(job)
            }
            say("  POST migrate -> accepted (job \(job)); job \(state.status): \(state.error_code ?? "") \(state.fail_reason ?? "")")
            jobOutcome = .object([
                ("job_id", .string(job)), ("status", .string(state.status)), ("error_code", .optionalString(state.error_code)),
                ("fail_reason", .optionalString(state.fail_reason)),
            ])
        }
        await serverA.stop()

        // 2. Plan a host evacuation from what the API shows (every NUMA layout unknown) and apply
        //    it against a cloud that places arrivals as badly as it can.
        let cloudB = FakeCloud(
            inventory: evacuation, configuration: .init(projectID: "demo", token: token, jobSeconds: 1, placement: .adversarial))
        let serverB = try FakeCloudServer(cloud: cloudB)
        let portB = try await serverB.start()
        let clientB = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:\(portB)")!, projectID: "demo", credentials: .token(token))
        say()
        say("== 2. Evacuate deh-004 (\(samples)/evacuation.json behind a fake API on http://127.0.0.1:\(portB) that places arrivals adversarially)")
        let liveB = try await LiveInventory.fetch(clientB)
        say("Read through the API: \(liveB.hosts.count) Dedicated Hosts, \(liveB.servers.count) servers, NUMA layouts unknown (the API does not report them).")
        let plan = try BatchPlanner(liveB).plan(PlanOptions(mode: .evacuate(["deh-004"]), timeLimit: 10, maxParallel: 4, placement: .any))
        say(PlanSummary(plan: plan, inventory: liveB).render(style: console.style))
        let before = await cloudB.currentInventory()
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("dehplan-demo-\(UUID().uuidString).journal").path
        let applier = Applier(
            client: clientB, inventory: liveB, journal: try Journal(path: journal),
            options: ApplyOptions(maxParallel: 4, jobTimeout: 60, pollInterval: 0.2),
            progress: { say("  apply: \($0)") }, placement: .any, topology: plan.topology)
        let results = try await applier.apply(plan.moves)
        let failedJobs = await cloudB.failedJobCounts()
        let after = await cloudB.currentInventory()
        let done = results.filter { $0.status == .succeeded }.count
        say("\(done) of \(results.count) migrations succeeded, \(failedJobs.values.reduce(0, +)) failed job(s) (journal \(journal)).")
        say("Per-node vCPUs in use (before -> after) on the hosts involved, as the fake cloud placed them:")
        let hosts = Set(plan.moves.flatMap { [$0.from, $0.to].compactMap { $0 } }).sorted()
        let b = PlacementState(before)
        let a = PlacementState(after)
        for id in hosts {
            guard let h = before.hostIndex[id] else { continue }
            let cells = b.usage[h].capacity.indices.map { n in
                "n\(n) \(b.usage[h].knownUsed[n].vcpus)->\(a.usage[h].knownUsed[n].vcpus)/\(b.usage[h].capacity[n].vcpus)"
            }
            say("  \(id): \(cells.joined(separator: "  "))")
        }
        await serverB.stop()
        let html = Report(inventory: liveB, plan: plan, title: "demo: evacuate deh-004 (\(samples)/evacuation.json, read through the API)").html()
        try writeOutput(html, to: report)
        say("Report for review: \(report) (open it in a browser; no script, no network)")
        if format == .json && !verbosity.quiet {
            print(JSON.object([
                ("documented_failure", .object([
                    ("server_id", .string("app-big")), ("target", .string("deh-frag-a")),
                    ("api_available_vcpus", .int(frag.available_vcpus ?? 0)), ("api_available_memory", .int(frag.available_memory ?? 0)),
                    ("dehplan_reasons", .array(check.reasons.map(\.json))), ("best_target", .string(best)), ("cloud_job", jobOutcome),
                ])),
                ("evacuation", .object([
                    ("plan", plan.json),
                    ("results", .array(results.map { r in
                        .object([("server_id", .string(r.serverID)), ("to", .optionalString(r.target)), ("status", .string(r.status.rawValue))])
                    })),
                    ("journal", .string(journal)),
                    ("report", .string(report)),
                ])),
            ]).serialized())
        }
        if done != results.count { throw CLIError(code: ExitStatus.applyFailed, message: "error: some migrations failed") }
    }
}
