// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Synchronization

/// The cores the planner may still put threads on beside the threads already running: one per
/// core but the first (the calling thread's), process-wide, so that work run in parallel inside
/// work already run in parallel does not oversubscribe the machine.
enum SpareCores {
    private static let spare = Atomic<Int>(max(0, processorCount - 1))

    /// Takes up to `n` spare cores (none where `n` is not positive); returns how many.
    static func take(upTo n: Int) -> Int {
        guard n > 0 else { return 0 }
        var current = spare.load(ordering: .relaxed)
        while current > 0 {
            let taken = min(n, current)
            let (exchanged, original) = spare.compareExchange(expected: current, desired: current - taken, ordering: .acquiringAndReleasing)
            if exchanged { return taken }
            current = original
        }
        return 0
    }

    /// Gives `n` cores back.
    static func give(_ n: Int) {
        if n > 0 { spare.add(n, ordering: .acquiringAndReleasing) }
    }
}

/// Runs `body(0)` … `body(count - 1)`, each index once, on the calling thread and on up to
/// `count - 1` threads more: as many as `SpareCores` gives, each giving its core back when it
/// ends, or `extraThreads` where the caller gives that (and accounts for their cores). Each
/// thread takes the next index until none is left. Returns when every index has run. Each
/// further thread has a 16 MiB stack (as `Model.race` gives GLPK); GLPK keeps its state per OS
/// thread, so each body may create, solve and free its own problems.
func inParallel(_ count: Int, extraThreads: Int? = nil, _ body: @escaping @Sendable (Int) -> Void) {
    let extra = extraThreads ?? SpareCores.take(upTo: count - 1)
    let counted = extraThreads == nil
    let next = Counter()
    @Sendable func work() {
        while let k = next.take(below: count) { body(k) }
    }
    let done = DispatchGroup()
    for _ in 0..<max(0, extra) {
        done.enter()
        let thread = Thread {
            work()
            if counted { SpareCores.give(1) }
            done.leave()
        }
        thread.stackSize = 16 << 20
        thread.start()
    }
    work()
    done.wait()
}

/// Hands out 0, 1, 2, … to any thread.
private final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    /// The next number, nil from `limit` on.
    func take(below limit: Int) -> Int? {
        let k = value.add(1, ordering: .relaxed).oldValue
        return k < limit ? k : nil
    }
}

/// One value per index, set from any thread.
final class Slots<Value: Sendable>: Sendable {
    private let slots: Mutex<[Value?]>

    init(_ count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }

    func set(_ k: Int, _ value: Value) { slots.withLock { $0[k] = value } }

    /// The values in index order, nil where none was set.
    var values: [Value?] { slots.withLock { $0 } }
}

extension BatchPlanner {
    /// Work items of sizes `sizes` dealt to at most `count` threads: the largest first, each to
    /// the thread with the least so far (of those, the fewest items, then the first), and each
    /// thread's items in index order. No thread is left without an item; one thread takes
    /// every item where `count` is 1 or less, or there is one item.
    static func lanes(_ sizes: [Int], count: Int) -> [[Int]] {
        let n = max(1, min(count, sizes.count))
        var lanes = [[Int]](repeating: [], count: n)
        var load = [Int](repeating: 0, count: n)
        for i in sizes.indices.sorted(by: { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }) {
            let l = load.indices.min { (load[$0], lanes[$0].count) < (load[$1], lanes[$1].count) }!
            lanes[l].append(i)
            load[l] += sizes[i]
        }
        return lanes.map { $0.sorted() }.filter { !$0.isEmpty }
    }
}

/// The cores this process may run on: the processors the system reports, fewer where the
/// process's CPU affinity (`taskset`, read from `/proc/self/status`) or its cgroup's CPU quota
/// (a container's CPU limit) allows fewer. Foundation's count ignores both on Linux: under
/// `taskset -c 0` on the two-core build machine it reports 2, and the planner would put two
/// threads on one core.
let processorCount: Int = {
    var count = ProcessInfo.processInfo.activeProcessorCount
    #if os(Linux)
    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
    if let allowed = read("/proc/self/status").flatMap(allowedCPUs(status:)) { count = min(count, allowed) }
    let quota = read("/sys/fs/cgroup/cpu.max").flatMap(cgroupCPULimit(cpuMax:))
        ?? read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").flatMap { q in
            read("/sys/fs/cgroup/cpu/cpu.cfs_period_us").flatMap { cgroupCPULimit(cpuMax: q + " " + $0) }
        }
    if let quota { count = min(count, quota) }
    #endif
    return max(1, count)
}()

/// The whole cores a cgroup CPU quota allows, from cgroup v2's `cpu.max` text ("QUOTA PERIOD",
/// microseconds, rounded up) or cgroup v1's quota and period files joined by a space (their
/// newlines are whitespace like any other); nil where there is no limit ("max", or a negative
/// quota) or the text is not understood.
func cgroupCPULimit(cpuMax text: String) -> Int? {
    let parts = text.split(whereSeparator: \.isWhitespace)
    guard parts.count == 2, let quota = Double(parts[0]), let period = Double(parts[1]), quota > 0, period > 0 else { return nil }
    return max(1, Int((quota / period).rounded(.up)))
}

/// The CPUs a process may run on, from its `/proc/self/status` text: the bits set in its
/// `Cpus_allowed` mask (hexadecimal, in comma-separated groups); nil where there is none.
func allowedCPUs(status text: String) -> Int? {
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
    var count = 0
    for c in line.dropFirst("Cpus_allowed:".count) where !c.isWhitespace && c != "," {
        guard let digit = c.hexDigitValue else { return nil }
        count += digit.nonzeroBitCount
    }
    return count > 0 ? count : nil
}
