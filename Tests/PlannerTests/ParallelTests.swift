// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
@testable import Planner
import Synchronization
import TestSupport
import Testing
import Topology

/// Work run on several threads: `inParallel` and `SpareCores`.
@Suite struct ParallelTests {
    @Test func inParallelRunsEveryIndexOnceAndGivesItsCoresBack() {
        let runs = Mutex([Int](repeating: 0, count: 40 * 6))
        inParallel(40) { k in
            // Nested: takes only the cores left to spare, or runs on this thread.
            inParallel(6) { j in
                runs.withLock { $0[k * 6 + j] += 1 }
            }
        }
        #expect(runs.withLock { $0 } == Array(repeating: 1, count: 40 * 6))
        inParallel(0) { _ in Issue.record("no index to run") }
        // Never more spare cores than the machine has beside the calling thread (a thread that
        // gave its core back twice would make more). Other tests may hold some meanwhile.
        let spare = SpareCores.take(upTo: 10_000)
        SpareCores.give(spare)
        #expect(spare <= max(0, processorCount - 1))
    }
}
