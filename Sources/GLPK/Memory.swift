// SPDX-License-Identifier: GPL-3.0-or-later

import CGLPKSupport

/// Process-wide memory tuning for programs that solve many models.
public enum GLPKMemory {
    /// Makes glibc keep freed memory for reuse instead of returning it to the system.
    ///
    /// GLPK allocates and frees its simplex work arrays (megabytes on models of thousands of
    /// rows) on every `glp_simplex` call. With glibc's default trim threshold each free hands the
    /// top of the heap back to the kernel and the next call faults it in again: on the
    /// 4,000-server consolidation the LP dive (a thousand warm re-solves) spent 1.4 s of 8.5 s in
    /// the kernel; with this setting 0.02 s (docs/PERFORMANCE.md). The cost: a process keeps its
    /// peak heap until it exits, which suits a command-line run. Libraries embedding dehplan in a
    /// long-lived service should decide for themselves; nothing calls this implicitly.
    /// Returns false (and does nothing) where glibc is not the C library.
    @discardableResult
    public static func retainFreedMemory() -> Bool {
        dp_retain_freed_memory() == 1
    }
}
