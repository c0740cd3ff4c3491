// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Planner

/// Runs another solver on the planner's aggregated model, for side-by-side comparisons
/// (`plan --external-solver CMD`, used by Benchmarks/peers/run).
///
/// For each sub-problem dehplan writes the model as free MPS and runs
/// `CMD <model.mps> <solution.txt> <time limit s>`. The command writes:
///
///     status optimal|feasible|infeasible|no-solution
///     bound <number>|none
///     seconds <solver wall seconds>
///     peak_rss_kb <n>          (optional; copied into the plan's notes)
///     cpu_seconds <s>          (optional; likewise)
///     values
///     <one value per column C1..Cn, one per line>
///
/// The values are checked against the model, then extracted, ordered into waves and validated
/// exactly like GLPK's.
struct ExternalCommandSolver: ExternalModelSolver {
    let command: String

    func solve(subproblem number: Int, model: ExternalModel, timeLimit: Double) throws -> ExternalAnswer {
        let words = command.split(separator: " ").map(String.init)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dehplan-external-\(getpid())-\(number)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let mps = dir.appendingPathComponent("model.mps")
        let out = dir.appendingPathComponent("solution.txt")
        try Data(model.mps.utf8).write(to: mps)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = words + [mps.path, out.path, String(timeLimit)]
        process.standardOutput = FileHandle.standardError
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIError.runtime("error: external solver \"\(command)\" exited with status \(process.terminationStatus)")
        }
        return try Self.parse(String(decoding: try Data(contentsOf: out), as: UTF8.self), path: out.path)
    }

    static func parse(_ text: String, path: String) throws -> ExternalAnswer {
        var status: ExternalAnswer.Status?
        var bound: Double?
        var seconds = 0.0
        var values: [Double] = []
        var inValues = false
        var notes: [String] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if inValues {
                guard let v = Double(line) else { throw CLIError.runtime("error: \(path):\(i + 1): not a number: \(line)") }
                values.append(v)
                continue
            }
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            switch parts[0] {
            case "status":
                guard parts.count == 2, let s = ExternalAnswer.Status(rawValue: parts[1]) else {
                    throw CLIError.runtime("error: \(path):\(i + 1): status must be optimal, feasible, infeasible or no-solution")
                }
                status = s
            case "bound": bound = parts.count == 2 ? Double(parts[1]) : nil
            case "seconds": seconds = parts.count == 2 ? Double(parts[1]) ?? 0 : 0
            case "peak_rss_kb", "cpu_seconds": notes.append("external solver \(line)")
            case "values": inValues = true
            default: throw CLIError.runtime("error: \(path):\(i + 1): unexpected line \"\(line)\"")
            }
        }
        guard let status else { throw CLIError.runtime("error: \(path): no status line") }
        return ExternalAnswer(status: status, values: values, bound: bound, seconds: seconds, notes: notes)
    }
}
