// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing

/// `plan --external-solver` (used by Benchmarks/peers): dehplan writes the model as MPS, runs the
/// command, and refuses an answer that breaks the model instead of printing a plan.
@Suite struct ExternalSolverE2ETests {
    /// A "solver" that reads the MPS (to count the columns) and answers all zeros.
    static let zeros = """
        import sys
        mps, out = sys.argv[1], sys.argv[2]
        columns = set()
        section = None
        for line in open(mps):
            if not line.startswith(" "):
                section = line.split()[0]
            elif section == "COLUMNS" and "MARKER" not in line:
                columns.add(line.split()[0])
        with open(out, "w") as f:
            f.write("status feasible\\nbound none\\nseconds 0.01\\npeak_rss_kb 1\\nvalues\\n")
            f.write("0\\n" * len(columns))
        print("solver chatter on stdout")
        """

    @Test func answersThatBreakTheModelAreRefused() throws {
        let script = Fixtures.temporaryFile(Self.zeros, name: "zeros.py")
        let run = try Binary.run([
            "plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-004", "--format", "json",
            "--external-solver", "python3 \(script)",
        ])
        #expect(run.status == 2, "\(run.stdout) \(run.stderr)")
        #expect(run.stderr.contains("external solver"))
        #expect(run.stderr.contains("not feasible for the model"))
        #expect(!run.stdout.contains("solver chatter"))  // the solver's output never mixes into dehplan's
    }

    @Test func aFailingCommandIsReported() throws {
        let run = try Binary.run([
            "plan", "--inventory", "samples/evacuation.json", "--evacuate", "deh-004", "--external-solver", "false",
        ])
        #expect(run.status == 2)
        #expect(run.stderr.contains("exited with status 1"))
    }
}
