// SPDX-License-Identifier: GPL-3.0-or-later

// Hosts emptied through a pool of servers that have no place yet: a tabu search in the manner
// of consistent neighbourhood search (Buljubašić and Vasquez, "Consistent neighborhood search
// for one-dimensional bin packing and two-dimensional vector packing", Computers & Operations
// Research 76, 2016). Where moves and swaps empty no more hosts, the servers of the two least
// filled hosts go into a pool; each step puts one or two of them on another host in use,
// sending up to two of that host's servers into the pool in their place, so that the pool
// shrinks where it can and may grow for a while where it cannot. As soon as what is in the
// pool fits on one host, it goes there: two hosts became one.

import GLPK
import Topology

extension HostEmptying {
    /// Empties one of local hosts `e` and `spare` (both in use, every server movable) through a
    /// pool; how many of the two it emptied (0: nothing changed). Both hosts' servers go into
    /// the pool; the pool is done when everything in it is admitted on one of the two (largest
    /// first). Every step is judged by the rule pipeline (`admits`), so every state the search
    /// passes through is a valid placement of the servers outside the pool, and only hosts in
    /// use receive: success is at least one host fewer in use. Servers just put on a host may
    /// not be sent back to the pool for 3 to 12 steps (the tabu rule: without it the search
    /// undoes its last step). Each step takes the candidate that leaves the least in the pool
    /// (by size; ties at random, from `random`), judged by totals first and then by the rule
    /// pipeline, at most 16 candidates a step. Stops after `steps` steps, after 100 steps in
    /// which the pool got no smaller than it had been, at `deadline`, or when no candidate is
    /// admitted; then everything since the start is taken back. (On unique sizes 100, 60 and 40 at 3 s the attempts that
    /// succeeded took 14 to 129 steps, at most 18 between new least sizes; those that failed
    /// ran to 2,000 steps with gaps of up to 1,079.)
    ///
    /// The second host is the paper's device: a search whose pool must end empty (tried first)
    /// took unique sizes 100 from 104 hosts to 103 in the 0.4 s it had at a 3 s limit; with a
    /// host to hold what is left, a sketch of the same search in C went from first-fit
    /// decreasing's 109 hosts to 101 in 0.01 s.
    mutating func emptyThroughPool(_ e: Int, spare: Int, deadline: Double, steps: Int, random: inout SplitMix64) -> Int {
        let mark = journal.count
        var pool = Self.largestFirst(content[e].union(content[spare]), by: size)
        for k in pool { take(k) }
        // The 256 least filled hosts in use receive: where room can be gathered (a step over
        // every host in use of a large fleet costs as much as thousands of small steps).
        let targets = Array(hostsByFill().filter { $0 != e && $0 != spare }.suffix(256))
        let need = movers.map { sub.classes[$0.c].flavor.resources }
        var fixedUntil = [Int](repeating: 0, count: movers.count)  // the step from which a mover may go to the pool again
        // Each target's movers in a fixed order (the search's own, not the hash order of a set),
        // refreshed for the host a step changes.
        var held: [Int: [Int]] = [:]
        for h in targets { held[h] = content[h].sorted() }
        struct Candidate {
            var left: Double, tie: UInt64
            var host: Int, enter: Int, out: (Int, Int)
            func before(_ o: Candidate) -> Bool { left < o.left - 1e-12 || abs(left - o.left) <= 1e-12 && tie < o.tie }
        }
        // The best 16 candidates of a step, best first.
        var candidates: [Candidate] = []
        candidates.reserveCapacity(17)
        var step = 0
        var smallest = Double.infinity, smallestAt = 0  // the pool's least size so far, and when
        while !pool.isEmpty {
            if placeWhole(pool, on: spare) || placeWhole(pool, on: e) { break }
            let left = pool.reduce(0.0) { $0 + size[$1] }
            if left < smallest - 1e-12 { (smallest, smallestAt) = (left, step) }
            step += 1
            guard step <= steps, step - smallestAt <= 100, monotonicSeconds() < deadline else {
                rollback(to: mark)
                return 0
            }
            // What may enter a host: one server of the pool, or two (pools of up to 8).
            var entering: [(first: Int, second: Int, need: Resources, size: Double)] = []
            for (a, x) in pool.enumerated() {
                entering.append((x, -1, need[x], size[x]))
                guard pool.count <= 8 else { continue }
                for y in pool[(a + 1)...] { entering.append((x, y, need[x] + need[y], size[x] + size[y])) }
            }
            let largestEntering = entering.map(\.size).max() ?? 0
            candidates.removeAll(keepingCapacity: true)
            for (n, h) in targets.enumerated() {
                if n % 32 == 31, monotonicSeconds() >= deadline { break }
                // What may go to this host at all (its type; whether it receives).
                let allowed = entering.map { mayGo($0.first, to: h) && ($0.second < 0 || mayGo($0.second, to: h)) }
                let free = checker.state.usage[sub.hosts[h]].freeTotal
                let out = held[h]!.filter { fixedUntil[$0] <= step }
                func consider(_ sent: (Int, Int), _ room: Resources, _ sentSize: Double) {
                    // Nothing entering can make it one of the best 16.
                    if candidates.count == 16, sentSize - largestEntering > candidates[15].left + 1e-12 { return }
                    for (i, enter) in entering.enumerated() where allowed[i] && room.covers(enter.need) {
                        let c = Candidate(left: sentSize - enter.size, tie: random.next(), host: h, enter: i, out: sent)
                        guard candidates.count < 16 || c.before(candidates[15]) else { continue }
                        var j = candidates.count
                        while j > 0, c.before(candidates[j - 1]) { j -= 1 }
                        candidates.insert(c, at: j)
                        if candidates.count > 16 { candidates.removeLast() }
                    }
                }
                consider((-1, -1), free, 0)
                for (a, t) in out.enumerated() {
                    let room = free + need[t]
                    consider((t, -1), room, size[t])
                    for u in out[(a + 1)...] { consider((t, u), room + need[u], size[t] + size[u]) }
                }
            }
            // The best by totals first, until the rule pipeline admits one.
            var moved = false
            for c in candidates where !moved {
                let enter = entering[c.enter]
                let attempt = journal.count
                for t in [c.out.0, c.out.1] where t >= 0 { take(t) }
                var placed = true
                for k in [enter.first, enter.second] where k >= 0 {
                    guard let nodes = admits(k, on: c.host) else {
                        placed = false
                        break
                    }
                    put(k, on: c.host, nodes: nodes)
                }
                guard placed else {
                    rollback(to: attempt)
                    continue
                }
                moved = true
                held[c.host] = content[c.host].sorted()
                pool.removeAll { $0 == enter.first || $0 == enter.second }
                for k in [enter.first, enter.second] where k >= 0 { fixedUntil[k] = step + 3 + random.below(10) }
                for t in [c.out.0, c.out.1] where t >= 0 { pool.append(t) }
            }
            guard moved else {
                rollback(to: mark)
                return 0
            }
        }
        return (inUse(e) ? 0 : 1) + (inUse(spare) ? 0 : 1)
    }

    /// Puts every mover of `pool` (nowhere now) on local host `h`, largest first, if each is
    /// admitted there in turn; otherwise changes nothing. Whether it did.
    mutating func placeWhole(_ pool: [Int], on h: Int) -> Bool {
        var total = Resources.zero
        for k in pool { total += sub.classes[movers[k].c].flavor.resources }
        guard checker.state.usage[sub.hosts[h]].freeTotal.covers(total) else { return false }
        let mark = journal.count
        for k in Self.largestFirst(Set(pool), by: size) {
            guard let nodes = admits(k, on: h) else {
                rollback(to: mark)
                return false
            }
            put(k, on: h, nodes: nodes)
        }
        return true
    }
}
