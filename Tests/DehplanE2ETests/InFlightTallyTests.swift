// SPDX-License-Identifier: GPL-3.0-or-later

@testable import dehplan
import Executor
import Planner
import Testing

/// The running count on `apply`'s lines is the count when that move ended. The applier prints
/// a move's line after its end is recorded, so two moves ending together both read "2/8" if the
/// line takes the count at printing time (seen in a CI run: the first line said 2/8).
@Suite struct InFlightTallyTests {
    @Test func movesEndingTogetherEachShowTheirOwnCount() {
        let moves = ["a", "b", "c"].map { Move(serverID: $0, from: "h1", to: "h2", numaNodes: nil) }
        let inFlight = InFlight(moves: moves)
        for m in moves { inFlight.update(.started(serverID: m.serverID)) }
        inFlight.update(.finished(MoveResult(serverID: "a", target: "h2", status: .succeeded, code: nil, message: nil)))
        inFlight.update(.finished(MoveResult(serverID: "b", target: "h2", status: .failed, code: "Ecs.0319", message: nil)))
        // Both lines are printed only now.
        #expect(inFlight.tally(endedBy: "a") == "[1/3 done, 0 failed, 2 running]")
        #expect(inFlight.tally(endedBy: "b") == "[1/3 done, 1 failed, 1 running]")
        #expect(inFlight.tally(endedBy: "c") == "[1/3 done, 1 failed, 1 running]")  // not ended: the count now
    }
}
