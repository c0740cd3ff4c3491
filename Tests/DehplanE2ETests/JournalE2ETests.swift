// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Executor
import Foundation
import Planner
import TestSupport
import Testing
import Topology

/// The journal knows its plan: a journal of another plan, a missing journal with --resume and a
/// journal held by another apply are refused with exit 2 before anything is read from the cloud.
@Suite struct JournalE2ETests {
    func plan(_ servers: String, name: String) throws -> String {
        let file = Fixtures.temporaryFile("", name: name)
        let run = try Binary.run(["plan", "--inventory", Fixtures.sample("evacuation.json"), "--servers", servers, "--out", file])
        #expect(run.status == 0, "\(run.stderr)")
        return file
    }

    /// Nothing listens on this port: a refusal must come before any request.
    let cloud = ["--endpoint", "http://127.0.0.1:9", "--project-id", "proj", "--token", "tok"]

    @Test func resumeWithoutAJournalIsRefused() throws {
        let planFile = try plan("srv-0009", name: "a.json")
        let run = try Binary.run(["apply", planFile, "--resume", "--journal", Fixtures.temporaryFile("", name: "x") + ".missing"] + cloud)
        #expect(run.status == 2)
        #expect(run.stderr.contains("there is no journal"), "\(run.stderr)")
        let retry = try Binary.run(["apply", planFile, "--retry-failed", "--journal", Fixtures.temporaryFile("", name: "y") + ".missing"] + cloud)
        #expect(retry.status == 2, "--retry-failed implies --resume")
    }

    @Test func aJournalOfAnotherPlanIsRefused() async throws {
        let a = try plan("srv-0009", name: "plan-a.json")
        let b = try plan("srv-0010", name: "plan-b.json")
        let journalPath = Fixtures.temporaryFile("", name: "shared.journal")
        // A's run, as its header and one record say.
        do {
            let journal = try Journal(path: journalPath)
            let moves = try Plan.load(fromFile: a).moves
            try await journal.append(JournalHeader(
                planFingerprint: Journal.fingerprint(of: moves), endpoint: "http://127.0.0.1:9", projectID: "proj", version: "0.1.0"))
            try await journal.append(JournalRecord(.succeeded, serverID: moves[0].serverID, target: moves[0].to))
        }
        let run = try Binary.run(["apply", b, "--resume", "--journal", journalPath] + cloud)
        #expect(run.status == 2)
        #expect(run.stderr.contains("records a run of another plan"), "\(run.stderr)")
        // A journal from before headers is held to the plan's moves.
        let legacy = Fixtures.temporaryFile(#"{"event":"succeeded","server_id":"srv-0009","to":"deh-001"}"# + "\n", name: "legacy.journal")
        let old = try Binary.run(["apply", b, "--resume", "--journal", legacy] + cloud)
        #expect(old.status == 2)
        #expect(old.stderr.contains("not a move of"), "\(old.stderr)")
    }

    @Test func aJournalInUseIsRefusedWithTheHoldersPid() throws {
        let planFile = try plan("srv-0009", name: "c.json")
        let journalPath = Fixtures.temporaryFile("", name: "held.journal")
        let holder = try Journal(path: journalPath)  // this test process holds the lock
        let run = try Binary.run(["apply", planFile, "--journal", journalPath] + cloud)
        #expect(run.status == 2)
        #expect(run.stderr.contains("in use by another dehplan apply (pid \(getpid()))"), "\(run.stderr)")
        _ = holder
    }

    @Test func resumeCommandIsCompleteAndKeepsSecretsOut() {
        let line = ApplyCommandLine.resume([
            "/usr/bin/dehplan", "apply", "my plan.json", "--endpoint", "https://ecs.example.com", "--token", "SECRET", "--sk=SK2",
            "--project-id", "p", "--resume",
        ], journal: "my plan.json.journal")
        #expect(line == "dehplan apply 'my plan.json' --endpoint https://ecs.example.com --project-id p --journal 'my plan.json.journal' --resume --retry-failed")
    }
}
