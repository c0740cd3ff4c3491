// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation

/// The `dehplan apply` command lines that `apply` prints as next steps.
public enum ApplyCommandLine {
    /// `arguments` (this run's command line) with `--resume` (and `--retry-failed` unless told
    /// not to) and the journal added, and secrets (`--token`, `--sk`, `--password`) left out:
    /// credentials come from the environment as in this run, or are given again. Words are
    /// quoted for a POSIX shell.
    public static func resume(_ arguments: [String], journal: String, retryFailed: Bool = true) -> String {
        let secret: Set<String> = ["--token", "--sk", "--password"]
        var out = ["dehplan"]
        var i = 1
        var hasJournal = false
        while i < arguments.count {
            let a = arguments[i]
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            if secret.contains(name) {
                i += a.contains("=") ? 1 : 2
                continue
            }
            if a == "--resume" || a == "--retry-failed" || a == "--dry-run" {
                i += 1
                continue
            }
            if name == "--journal" { hasJournal = true }
            out.append(a)
            i += 1
        }
        if !hasJournal { out += ["--journal", journal] }
        out += retryFailed ? ["--resume", "--retry-failed"] : ["--resume"]
        return out.map(shellQuote).joined(separator: " ")
    }

    /// A word as a POSIX shell reads it: bare when safe, else in single quotes.
    public static func shellQuote(_ word: String) -> String {
        let safe = word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./:=,@%+".contains($0)) }
        if safe && !word.isEmpty { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
