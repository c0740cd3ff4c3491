// SPDX-License-Identifier: GPL-3.0-or-later

/// Which hosts send servers to which, closed transitively, for plans that must stay free of
/// dependency cycles: an arrival waits for its host's departures, so a move from host `a` to
/// host `b` closes a cycle exactly when `b` already sends, directly or through other hosts, to
/// `a` (`closesCycle`).
///
/// Hosts are numbered from 0 to `hosts - 1` by the caller; only the `members` (hosts that may
/// both send and receive) take part, on rows of bits of their own. Adding a move costs the
/// rows of the hosts that reach its source and are reached from its target; asking costs one
/// bit.
struct SendGraph {
    private let slot: [Int]  // host -> its row, -1 for hosts that do not take part
    private let words: Int
    private var reach: [UInt64]  // row r: the rows r sends to, directly or not
    private var reachedBy: [UInt64]  // row r: the rows that send to r, directly or not

    init(hosts: Int, members: some Sequence<Int>) {
        var slot = [Int](repeating: -1, count: hosts)
        var count = 0
        for h in members where slot[h] < 0 {
            slot[h] = count
            count += 1
        }
        self.slot = slot
        words = (count + 63) / 64
        reach = [UInt64](repeating: 0, count: count * words)
        reachedBy = reach
    }

    private static func has(_ bits: [UInt64], row: Int, words: Int, _ column: Int) -> Bool {
        bits[row * words + column / 64] & (1 << UInt64(column % 64)) != 0
    }

    /// Whether a move from `from` to `to` would close a cycle: `to` sends, directly or not, to
    /// `from` (or they are one host). Hosts that do not take part close none.
    func closesCycle(from: Int, to: Int) -> Bool {
        if from == to { return true }
        let (a, b) = (slot[from], slot[to])
        guard a >= 0, b >= 0 else { return false }
        return Self.has(reach, row: b, words: words, a)
    }

    /// Records a move from `from` to `to`, which must not close a cycle. Moves with a host
    /// that does not take part change nothing.
    mutating func add(from: Int, to: Int) {
        let (a, b) = (slot[from], slot[to])
        guard a >= 0, b >= 0, a != b, !Self.has(reach, row: a, words: words, b) else { return }
        // Every row that reaches `a` (and `a`) now reaches `b` and all `b` reaches.
        var targets = Array(reach[(b * words)..<((b + 1) * words)])
        targets[b / 64] |= 1 << UInt64(b % 64)
        var sources = Array(reachedBy[(a * words)..<((a + 1) * words)])
        sources[a / 64] |= 1 << UInt64(a % 64)
        Self.forEachBit(sources) { x in
            for w in 0..<words { reach[x * words + w] |= targets[w] }
        }
        Self.forEachBit(targets) { y in
            for w in 0..<words { reachedBy[y * words + w] |= sources[w] }
        }
    }

    private static func forEachBit(_ bits: [UInt64], _ body: (Int) -> Void) {
        for (w, word) in bits.enumerated() {
            var rest = word
            while rest != 0 {
                let bit = rest.trailingZeroBitCount
                body(w * 64 + bit)
                rest &= rest - 1
            }
        }
    }
}
