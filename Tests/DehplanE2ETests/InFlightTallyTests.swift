// SPDX-License-Identifier: GPL-3.0-or-later

@testable import dehplan
import Executor
import Planner
import Testing

/// The running count that ends `apply`'s "succeeded:/failed:" lines grows down the output. Taken
/// at printing time, two moves ending together both read "2/8" (a CI run); taken when each move
/// ended, two lines printed in the other order read "8/8" then "7/8" (another CI run). It is now
/// counted in the order the lines go out, under the lock that prints them.
@Suite struct InFlightTallyTests {
    @Test func theCountGrowsInTheOrderTheLinesArePrinted() {
        let moves = ["a", "b", "c"].map { Move(serverID: $0, from: "h1", to: "h2", numaNodes: nil) }
        let inFlight = InFlight(moves: moves)
        var printed: [String] = []
        func show(_ line: String) { inFlight.printLine(line, stamp: { "[t]" }, output: { printed.append($0) }) }
        for m in moves { inFlight.update(.started(serverID: m.serverID)) }
        show("a: sent")
        inFlight.update(.finished(MoveResult(serverID: "a", target: "h2", status: .succeeded, code: nil, message: nil)))
        inFlight.update(.finished(MoveResult(serverID: "b", target: "h2", status: .failed, code: "Ecs.0319", message: nil)))
        // Both ended; b's line goes out first.
        show("failed: b -> h2")
        show("succeeded: a -> h2")
        inFlight.update(.finished(MoveResult(serverID: "c", target: "h2", status: .succeeded, code: nil, message: nil)))
        show("succeeded: c -> h2")
        #expect(printed == [
            "[t] a: sent",
            "[t] failed: b -> h2 [0/3 done, 1 failed, 1 running]",
            "[t] succeeded: a -> h2 [1/3 done, 1 failed, 1 running]",
            "[t] succeeded: c -> h2 [2/3 done, 1 failed, 0 running]",
        ])
    }
}
