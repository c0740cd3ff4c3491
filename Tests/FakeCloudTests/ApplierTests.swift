// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Executor
import FakeCloud
import Foundation
import Planner
import TestSupport
import Testing
import Topology

@Suite struct ApplierTests {
    let clock = TestClock()

    func setUp() throws -> (Inventory, FakeCloud, CloudClient) {
        let inventory = try Inventory.load(path: Fixtures.sample("fragmented.json"))
        let clock = self.clock
        let cloud = FakeCloud(
            inventory: inventory, configuration: .init(projectID: "proj", token: "t", jobSeconds: 6), now: { clock.now() })
        let client = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "proj", credentials: .token("t"),
            transport: FakeCloudTransport(cloud), retry: RetryPolicy(maxAttempts: 3), sleep: { _ in })
        return (inventory, cloud, client)
    }

    func applier(_ inventory: Inventory, _ client: CloudClient, journal: String, keepGoing: Bool = false) throws -> Applier {
        let clock = self.clock
        return Applier(
            client: client, inventory: inventory, journal: try Journal(path: journal),
            options: ApplyOptions(maxParallel: 2, keepGoing: keepGoing, jobTimeout: 600, pollInterval: 1),
            sleep: { clock.advance($0) }, clock: { clock.now() })
    }

    @Test func appliesAPlanAndJournalsEveryStep() async throws {
        let (inventory, cloud, client) = try setUp()
        let plan = try BatchPlanner(inventory).plan(PlanOptions(mode: .servers(["app-big", "web-small"])))
        #expect(plan.moves.count == 2)
        let journal = Fixtures.temporaryFile("", name: "journal.jsonl")
        let results = try await applier(inventory, client, journal: journal).apply(plan.moves)
        #expect(results.map(\.status) == [.succeeded, .succeeded])
        let truth = await cloud.currentInventory()
        for move in plan.moves { #expect(truth.server(move.serverID)?.dedicatedHostID == move.to) }
        #expect(await cloud.migrationCounts().values.allSatisfy { $0 == 1 })
        let events = try Journal.read(path: journal).records.map(\.event)
        #expect(events.filter { $0 == .sending }.count == 2)
        #expect(events.filter { $0 == .accepted }.count == 2)
        #expect(events.filter { $0 == .succeeded }.count == 2)
    }

    /// The documented failure is caught by the live re-check, before any request: the cloud
    /// sees no migrate call at all; later waves are skipped.
    @Test func aNUMAFailureIsRefusedBeforeSending() async throws {
        let (inventory, cloud, client) = try setUp()
        let moves = [
            Move(serverID: "app-big", from: "deh-src", to: "deh-frag-a", numaNodes: [0], wave: 1),
            Move(serverID: "web-small", from: "deh-src", to: "deh-murky", numaNodes: [0], wave: 2),
        ]
        let results = try await applier(inventory, client, journal: Fixtures.temporaryFile("", name: "j.jsonl")).apply(moves)
        #expect(results[0].status == .failed)
        #expect(results[0].code == "INSUFFICIENT_NUMA_CAPACITY")
        #expect(results[0].message?.contains("no single NUMA node") == true)
        #expect(results[1].status == .skipped)
        #expect(await cloud.migrateRequestCounts().isEmpty)
    }

    @Test func liveRecheckRefusesAServerThatWasStarted() async throws {
        let (inventory, _, client) = try setUp()
        let moves = [Move(serverID: "db-split", from: "deh-src", to: "deh-far", numaNodes: [0, 1], wave: 1)]
        let results = try await applier(inventory, client, journal: Fixtures.temporaryFile("", name: "j.jsonl")).apply(moves)
        #expect(results[0].status == .failed)
        #expect(results[0].code == "SERVER_NOT_STOPPED")
    }

    /// A run killed after the request reached the cloud but before the answer was journaled:
    /// resuming reconciles from the server's state and never sends the migration again.
    @Test func resumeAfterACrashDoesNotSendTwice() async throws {
        let (inventory, cloud, client) = try setUp()
        let move = Move(serverID: "app-big", from: "deh-src", to: "deh-frag-b", numaNodes: [0], wave: 1)
        let journalPath = Fixtures.temporaryFile("", name: "j.jsonl")
        do {
            let journal = try Journal(path: journalPath)
            try await journal.append(JournalRecord(.sending, serverID: "app-big", target: "deh-frag-b"))
        }
        _ = try await client.migrate(serverID: "app-big", to: "deh-frag-b")  // reached the cloud; then "kill -9"
        let previous = try Journal.read(path: journalPath).records
        let results = try await applier(inventory, client, journal: journalPath).apply([move], previous: previous)
        #expect(results.map(\.status) == [.succeeded])
        #expect(await cloud.migrationCounts() == ["app-big": 1])
        // And a resumed run after success repeats nothing.
        let again = try await applier(inventory, client, journal: journalPath).apply([move], previous: try Journal.read(path: journalPath).records)
        #expect(again.map(\.status) == [.succeeded])
        #expect(await cloud.migrationCounts() == ["app-big": 1])
    }

    /// Killed between `sending` and the answer while the job then failed: resuming finds the
    /// request in the server's action log (one more migrate action than the baseline) and
    /// does not send it again; `--retry-failed` sends it once more, and it lands.
    /// fragmented.json in a fake cloud whose every job fails, and the move app-big -> deh-frag-b.
    func failingCloud() throws -> (Inventory, FakeCloud, CloudClient, Move) {
        let inventory = try Inventory.load(path: Fixtures.sample("fragmented.json"))
        let clock = self.clock
        let cloud = FakeCloud(
            inventory: inventory, configuration: .init(projectID: "proj", token: "t", jobSeconds: 6, failRate: 1), now: { clock.now() })
        let client = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "proj", credentials: .token("t"),
            transport: FakeCloudTransport(cloud), retry: RetryPolicy(maxAttempts: 3), sleep: { _ in })
        return (inventory, cloud, client, Move(serverID: "app-big", from: "deh-src", to: "deh-frag-b", numaNodes: [0], wave: 1))
    }

    @Test func aRequestThatArrivedAndFailedIsNotSentAgainUntilRetryFailed() async throws {
        let (inventory, cloud, client, move) = try failingCloud()
        let journalPath = Fixtures.temporaryFile("", name: "arrived.jsonl")
        let baseline = try #require(try await client.migrateActions("app-big")).count
        do {
            let journal = try Journal(path: journalPath)
            try await journal.append(JournalRecord(.sending, serverID: "app-big", target: "deh-frag-b", actionsBefore: baseline))
        }
        _ = try await client.migrate(serverID: "app-big", to: "deh-frag-b")  // reached the cloud; then "kill -9"
        clock.advance(10)  // the job fails (fail rate 1)
        let resumed = try await applier(inventory, client, journal: journalPath)
            .apply([move], previous: try Journal.read(path: journalPath).records)
        #expect(resumed.map(\.status) == [.failed])
        #expect(resumed.first?.code == "JOB_FAILED")
        #expect(await cloud.migrateRequestCounts() == ["app-big": 1], "sent again although the log shows it arrived")

        // A plain resume repeats the failure without sending.
        let again = try await applier(inventory, client, journal: journalPath)
            .apply([move], previous: try Journal.read(path: journalPath).records)
        #expect(again.map(\.status) == [.failed])
        #expect(await cloud.migrateRequestCounts() == ["app-big": 1])

        // --retry-failed with the cause gone: sent once more, and it lands.
        await cloud.setFailRate(0)
        let retried = try await Applier(
            client: client, inventory: inventory, journal: try Journal(path: journalPath),
            options: ApplyOptions(maxParallel: 2, jobTimeout: 600, pollInterval: 1, retryFailed: true),
            sleep: { clock.advance($0) }, clock: { clock.now() }
        ).apply([move], previous: try Journal.read(path: journalPath).records)
        #expect(retried.map(\.status) == [.succeeded])
        #expect(await cloud.migrateRequestCounts() == ["app-big": 2])
        #expect(await cloud.succeededMigrationCounts() == ["app-big": 1])
    }

    /// A move sent in one run (killed before the answer was journaled) and skipped in the next
    /// (another move failed first, so nothing new started) must not look unsent to the run
    /// after: the skip record hid the request, the third run sent a second one, and the server
    /// got two jobs (CrashResumeE2ETests, twice under load in full runs).
    @Test func aSkipAfterASendDoesNotHideTheRequest() async throws {
        let (inventory, cloud, client, move) = try failingCloud()
        let journalPath = Fixtures.temporaryFile("", name: "skipped.jsonl")
        let baseline = try #require(try await client.migrateActions("app-big")).count
        do {
            let journal = try Journal(path: journalPath)
            try await journal.append(JournalRecord(.sending, serverID: "app-big", target: "deh-frag-b", actionsBefore: baseline))
            _ = try await client.migrate(serverID: "app-big", to: "deh-frag-b")  // reached the cloud; then "kill -9"
            // The next run: another move failed first, this one was skipped before it started.
            try await journal.append(JournalRecord(.skipped, serverID: "app-big", target: "deh-frag-b", message: "an earlier migration failed"))
        }
        clock.advance(10)  // the job fails (fail rate 1): the server is back on its source, SHUTOFF
        let resumed = try await applier(inventory, client, journal: journalPath)
            .apply([move], previous: try Journal.read(path: journalPath).records)
        #expect(await cloud.migrateRequestCounts() == ["app-big": 1], "sent again although the log shows it arrived")
        #expect(resumed.map(\.status) == [.failed])
        #expect(resumed.first?.code == "JOB_FAILED")
    }

    /// Killed while its migrate request was still on the way: the request reaches the cloud
    /// five seconds after the resumed run starts. The resumed run does not trust an action log
    /// without it until the settle window has passed, so it finds the request there and sends
    /// nothing. (With a window of 0 it sends a second request: two jobs for one server, the
    /// failure the full suite once produced under load.)
    @Test(arguments: [60.0, 0.0])
    func aRequestStillOnTheWayIsNotSentAgain(window: Double) async throws {
        let inventory = try Inventory.load(path: Fixtures.sample("fragmented.json"))
        let clock = TestClock()
        let cloud = FakeCloud(inventory: inventory, configuration: .init(projectID: "proj", token: "t", jobSeconds: 6), now: { clock.now() })
        let client = try CloudClient(
            ecsEndpoint: URL(string: "http://127.0.0.1:1")!, projectID: "proj", credentials: .token("t"),
            transport: FakeCloudTransport(cloud), retry: RetryPolicy(maxAttempts: 3, settleWindow: window), sleep: { _ in })
        let move = Move(serverID: "app-big", from: "deh-src", to: "deh-frag-b", numaNodes: [0], wave: 1)
        let baseline = try #require(try await client.migrateActions("app-big")).count
        var sending = JournalRecord(.sending, serverID: "app-big", target: "deh-frag-b", actionsBefore: baseline)
        sending.at = Journal.timestamp(clock.now())
        let arrival = clock.now().addingTimeInterval(5)
        let delivered = Flag()
        let resumed = try await Applier(
            client: client, inventory: inventory, journal: try Journal(path: Fixtures.temporaryFile("", name: "late.jsonl")),
            options: ApplyOptions(maxParallel: 1, jobTimeout: 600, pollInterval: 1),
            sleep: { seconds in
                clock.advance(seconds)
                if clock.now() >= arrival, delivered.set() {
                    _ = try? await client.migrate(serverID: "app-big", to: "deh-frag-b")  // the request of the killed run
                }
            },
            clock: { clock.now() }
        ).apply([move], previous: [sending])
        if window > 0 {
            #expect(resumed.map(\.status) == [.succeeded])
            #expect(await cloud.migrateRequestCounts() == ["app-big": 1], "sent again while the first request was on its way")
        } else {
            #expect(await cloud.migrateRequestCounts() == ["app-big": 2], "the race this window closes did not happen")
        }
    }

    /// Without a readable baseline the cloud cannot tell whether the request arrived: nothing
    /// is sent, the move is UNKNOWN_OUTCOME.
    @Test func withoutABaselineAnUnansweredRequestIsNeverResent() async throws {
        let (inventory, cloud, client) = try setUp()
        let move = Move(serverID: "app-big", from: "deh-src", to: "deh-frag-b", numaNodes: [0], wave: 1)
        let journalPath = Fixtures.temporaryFile("", name: "nobaseline.jsonl")
        do {
            let journal = try Journal(path: journalPath)
            try await journal.append(JournalRecord(.sending, serverID: "app-big", target: "deh-frag-b"))
        }
        let results = try await applier(inventory, client, journal: journalPath)
            .apply([move], previous: try Journal.read(path: journalPath).records)
        #expect(results.first?.code == "UNKNOWN_OUTCOME")
        #expect(await cloud.migrateRequestCounts().isEmpty)
    }

    @Test func keepGoingRunsIndependentMoves() async throws {
        let (inventory, _, client) = try setUp()
        let moves = [
            Move(serverID: "app-big", from: "deh-src", to: "deh-frag-a", numaNodes: [0], wave: 1),  // fails on NUMA
            Move(serverID: "web-small", from: "deh-src", to: "deh-murky", numaNodes: [1], wave: 2),
        ]
        let results = try await applier(inventory, client, journal: Fixtures.temporaryFile("", name: "j.jsonl"), keepGoing: true)
            .apply(moves)
        #expect(results.map(\.status) == [.failed, .succeeded])
    }

    /// The live re-check keeps anti-affinity: web-small's group already has b-x-1 on deh-frag-b.
    @Test func liveRecheckKeepsAntiAffinity() async throws {
        let (inventory, cloud, client) = try setUp()
        let moves = [Move(serverID: "web-small", from: "deh-src", to: "deh-frag-b", numaNodes: [0], wave: 1)]
        let results = try await applier(inventory, client, journal: Fixtures.temporaryFile("", name: "j.jsonl")).apply(moves)
        #expect(results[0].status == .failed)
        #expect(results[0].code == "ANTI_AFFINITY")
        #expect(await cloud.migrationCounts().isEmpty)  // refused before anything was sent
    }

    @Test func journalIgnoresATornLastLineAndOpeningRepairsIt() async throws {
        let good = #"{"event":"accepted","server_id":"a","to":"h","job_id":"j"}"# + "\n"
        let path = Fixtures.temporaryFile(good + #"{"event":"succ"#)
        let contents = try Journal.read(path: path)
        #expect(contents.records == [JournalRecord(.accepted, serverID: "a", target: "h", jobID: "j")])
        #expect(contents.tornBytes == 14)
        do {
            let journal = try Journal(path: path)
            #expect(journal.repairedBytes == 14)
            try await journal.append(JournalRecord(.succeeded, serverID: "a", target: "h"))
        }
        let repaired = try Journal.read(path: path)
        #expect(repaired.tornBytes == 0)
        #expect(repaired.records.map(\.event) == [.accepted, .succeeded])
        #expect(repaired.records[1].at != nil, "every record carries its time")
    }

    @Test func journalReportsGarbageLinesAndKeepsHeaders() async throws {
        let path = Fixtures.temporaryFile("", name: "garbage.jsonl")
        do {
            let journal = try Journal(path: path)
            try await journal.append(JournalHeader(planFingerprint: "abc", endpoint: "http://127.0.0.1:1", projectID: "p", version: "0.1.0"))
            try await journal.append(JournalRecord(.sending, serverID: "a", target: "h", actionsBefore: 3))
        }
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("not json\n{\"event\":\"nonsense\"}\n".utf8))
        try handle.close()
        let contents = try Journal.read(path: path)
        #expect(contents.headers.map(\.planFingerprint) == ["abc"])
        #expect(contents.records.map(\.actionsBefore) == [3])
        #expect(contents.garbage == [3, 4])
    }

    @Test func aSecondOpenOfTheJournalIsRefusedWithThePid() throws {
        let path = Fixtures.temporaryFile("", name: "locked.jsonl")
        let first = try Journal(path: path)
        do {
            _ = try Journal(path: path)
            Issue.record("a second open must be refused")
        } catch let locked as JournalLocked {
            #expect(locked.pid == getpid())
            #expect(locked.description.contains("pid \(getpid())"))
        }
        _ = first
    }
}

/// Drift between waves: the cloud put an arrival where the plan did not expect it.
@Suite struct DriftTests {
    let clock = TestClock()

    /// T's node 0 holds r (4 of 8 vCPUs). Wave 1 sends x (4 vCPUs) to T, wave 2 y (8 vCPUs) to T and
    /// a to spare. An adversarial cloud puts x on node 1, so y no longer fits on any node.
    func setUp() throws -> (Inventory, FakeCloud, CloudClient, [Move]) {
        var b = InventoryBuilder()
        b.hostType("t", nodes: 2, vcpus: 8, memory: 32768, flavors: ["m", "b"])
        b.flavor("m", vcpus: 4, memory: 8192)
        b.flavor("b", vcpus: 8, memory: 16384)
        for h in ["src1", "src2", "T", "spare"] { b.host(h, type: "t") }
        b.server("r", flavor: "m", on: "T", nodes: [0], status: "ACTIVE")
        b.server("x", flavor: "m", on: "src1", nodes: [0])
        b.server("y", flavor: "b", on: "src1", nodes: [1])
        b.server("a", flavor: "m", on: "src2", nodes: [0])
        let inventory = try b.build()
        let (cloud, client) = try adversarialCloud(inventory, clock: clock)
        let moves = [
            Move(serverID: "x", from: "src1", to: "T", numaNodes: [0], wave: 1),
            Move(serverID: "y", from: "src1", to: "T", numaNodes: [1], wave: 2),
            Move(serverID: "a", from: "src2", to: "spare", numaNodes: [0], wave: 2),
        ]
        return (inventory, cloud, client, moves)
    }

    func applier(_ inventory: Inventory, _ client: CloudClient) throws -> Applier {
        let clock = self.clock
        return Applier(
            client: client, inventory: inventory, journal: try Journal(path: Fixtures.temporaryFile("", name: "drift.jsonl")),
            options: ApplyOptions(maxParallel: 4, jobTimeout: 600, pollInterval: 1), sleep: { clock.advance($0) },
            clock: { clock.now() })
    }

    @Test func stopsBeforeAWaveThatIsNoLongerSafe() async throws {
        let (inventory, cloud, client, moves) = try setUp()
        let results = try await applier(inventory, client).apply(moves)
        let byServer = Dictionary(uniqueKeysWithValues: results.map { ($0.serverID, $0) })
        #expect(byServer["x"]?.status == .succeeded)
        #expect(byServer["y"]?.status == .failed)
        #expect(byServer["y"]?.code == "NUMA_LAYOUT_UNKNOWN")
        #expect(byServer["y"]?.message?.contains("before wave 2") == true)
        #expect(byServer["a"]?.status == .skipped)
        // Nothing of wave 2 reached the cloud, not even the safe move.
        #expect(await cloud.migrateRequestCounts() == ["x": 1])
        #expect(await cloud.failedJobCounts().isEmpty)
    }

    /// A re-plan that keeps the unsafe move is tried three times, then the run stops.
    @Test func replanThatStaysUnsafeStops() async throws {
        let (inventory, cloud, client, moves) = try setUp()
        let calls = Counter()
        let results = try await applier(inventory, client).apply(moves) { pending in
            await calls.add()
            return pending.map { Move(serverID: $0.serverID, from: $0.from, to: $0.to, numaNodes: $0.numaNodes, wave: 1) }
        }
        #expect(await calls.value == 3)
        #expect(results.first { $0.serverID == "y" }?.status == .failed)
        #expect(await cloud.migrateRequestCounts() == ["x": 1])
    }

    @Test func replanGoesOnFromLiveState() async throws {
        let (inventory, cloud, client, moves) = try setUp()
        let replanned = try await applier(inventory, client).apply(moves) { pending in
            #expect(Set(pending.map(\.serverID)) == ["y", "a"])
            let live = await cloud.currentInventory()
            let options = PlanOptions(mode: .servers(pending.map(\.serverID)), exclude: ["src1", "src2"], placement: .any)
            return try BatchPlanner(live).plan(options).moves
        }
        #expect(replanned.map(\.status) == [.succeeded, .succeeded, .succeeded])
        let truth = await cloud.currentInventory()
        #expect(truth.server("y")?.dedicatedHostID == "spare")
        #expect(await cloud.failedJobCounts().isEmpty)
    }
}

/// Counts calls from concurrent code.
actor Counter {
    private(set) var value = 0
    func add() { value += 1 }
}

/// Set once, from any task.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()  // guards `value`
    private var value = false
    /// True for the caller that set it.
    func set() -> Bool { lock.withLock { defer { value = true }; return !value } }
}
