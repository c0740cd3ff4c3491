// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import GLPK
import Testing

/// The process's age, which `plan` takes off its time limit so that the command as a whole keeps it.
@Suite struct ClockTests {
    @Test func processAgeGrowsWithTheMonotonicClock() async throws {
        let age = processAge()
        let start = monotonicSeconds()
        #expect(age > 0)
        try await Task.sleep(nanoseconds: 200_000_000)
        let grown = processAge() - age
        let slept = monotonicSeconds() - start
        // To the clock tick (10 ms) on either reading.
        #expect(abs(grown - slept) < 0.05, "grew \(grown) s in \(slept) s")
    }
}
