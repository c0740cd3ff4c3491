// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Synchronization
@testable import GLPK
import Testing

@Suite struct RaceTests {
    func variants(timeLimit: Double = 60) -> [SolveOptions] {
        var plain = SolveOptions(timeLimit: timeLimit)
        plain.branching = .pseudoCost
        var cuts = plain
        cuts.gomoryCuts = true
        return [plain, cuts]
    }

    /// The race proves the same optimum as each runner alone, returns exactly one runner's
    /// solution, and returns the same one every time (the winner is decided by callback
    /// counts, not by which thread the scheduler favoured).
    @Test func raceIsCorrectAndReproducible() throws {
        for seed: UInt64 in [3, 11, 42] {
            let (model, _) = binPacking(items: hardItems(count: 10, seed: seed), capacity: 1000, bins: 7)
            let alone = try variants().map { try model.solve($0) }
            #expect(alone.allSatisfy { $0.status == .optimal })
            var seen: [[Double]] = []
            for _ in 0..<8 {
                let raced = try model.race(variants())
                #expect(raced.status == .optimal)
                #expect(raced.objective == alone[0].objective)
                #expect(model.violation(of: raced.values) == nil)
                #expect(alone.contains { $0.values == raced.values }, "the race returns one runner's own solution")
                seen.append(raced.values)
            }
            #expect(Set(seen.map { $0.description }).count == 1, "seed \(seed): the race gave different answers")
        }
    }

    /// A runner's tick hook ends its search: cancelled, not conclusive.
    @Test func tickCancelsASearch() throws {
        let (model, _) = binPacking(items: hardItems(count: 60), capacity: 1000, bins: 40)
        var options = SolveOptions(timeLimit: 60)
        let calls = Counter()
        options.tick = {
            calls.increment()
            return calls.value > 5
        }
        let solution = try model.solve(options)
        #expect(solution.cancelled)
        #expect(!solution.isConclusive)
        #expect(!solution.hitTimeLimit)
        #expect(solution.seconds < 30)
    }

    /// When every runner stops at its time limit, the best solution comes back with a bound
    /// that does not exceed it.
    @Test func timeLimitsEndTheRaceWithTheBestFound() throws {
        let (model, _) = binPacking(items: hardItems(count: 120), capacity: 1000, bins: 80)
        let raced = try model.race(variants(timeLimit: 0.3))
        #expect(raced.seconds < 30)
        if raced.hasSolution {
            #expect(model.violation(of: raced.values) == nil)
            if let bound = raced.bound { #expect(bound <= raced.objective! + 1e-9) }
        }
        #expect(raced.status == .optimal || raced.hitTimeLimit)
    }

    /// Errors in the model surface from the race as they do from a solve.
    @Test func invalidModelsThrow() {
        var model = Model()
        model.addLessOrEqual([(Model.Variable(index: 5), 1)], 1)
        #expect(throws: GLPKError.self) { try model.race(variants()) }
    }

    /// A runner that overruns the time limit (GLPK does not look at the clock everywhere; here
    /// its callback sleeps 3 s) is not waited for: the race returns at the limit plus its grace
    /// with the other runner's proven solution, and the straggler ends on its own thread.
    @Test func aRunnerPastTheLimitIsNotWaitedFor() throws {
        let (model, _) = binPacking(items: hardItems(count: 10, seed: 3), capacity: 1000, bins: 7)
        var variants = variants(timeLimit: 0.3)
        for i in variants.indices { variants[i].presolve = false }
        let slept = Mutex(false)
        variants[1].tick = {
            if !slept.withLock({ $0 }) {
                Thread.sleep(forTimeInterval: 3)
                slept.withLock { $0 = true }
            }
            return false
        }
        let raced = try model.race(variants)
        #expect(!slept.withLock { $0 }, "the race waited for the runner that slept")
        #expect(raced.status == .optimal)
        #expect(model.violation(of: raced.values) == nil)
    }
}
