// SPDX-License-Identifier: GPL-3.0-or-later

@testable import Planner
import Testing

/// Realizing a choice of patterns fills the slots its servers do not already hold
/// (`ShapePatterns.fill`): never with a server of the slot's own host, never beside a member of
/// the server's anti-affinity group.
@Suite struct SlotFillTests {
    /// The slot on host 2 takes the first server left (on host 1); the slot on host 0 then has
    /// only host 0's own server left. The two exchange: host 1's server goes to host 0, host 0's
    /// to host 2.
    @Test func aSlotLeftOnlyItsOwnHostsServerExchangesWithAnEarlierOne() throws {
        var left: [[ShapePatterns.Left]] = [[(s: 1, host: 1, groups: []), (s: 0, host: 0, groups: [])]]
        var members = [[Int: Int]](repeating: [:], count: 3)
        let filled = try #require(ShapePatterns.fill([(2, 0, [0]), (0, 0, [1])], with: &left, members: &members))
        #expect(Dictionary(uniqueKeysWithValues: filled.map { ($0.s, $0.host) }) == [1: 0, 0: 2])
        #expect(filled.first { $0.s == 1 }?.nodes == [1] && filled.first { $0.s == 0 }?.nodes == [0])
        #expect(left[0].isEmpty)
    }

    /// Nil where no exchange helps: one slot and its own host's server only; or a server whose
    /// anti-affinity group already has a member on the slot's host (members of groups are not
    /// exchanged).
    @Test func nilWhereNoServerMayTakeTheSlot() {
        var left: [[ShapePatterns.Left]] = [[(s: 0, host: 0, groups: [])]]
        var members = [[Int: Int]](repeating: [:], count: 2)
        #expect(ShapePatterns.fill([(0, 0, [0])], with: &left, members: &members) == nil)
        var grouped: [[ShapePatterns.Left]] = [[(s: 1, host: 1, groups: []), (s: 0, host: 0, groups: [5])]]
        var taken = [[Int: Int]](repeating: [:], count: 3)
        taken[2][5] = 1
        #expect(ShapePatterns.fill([(2, 0, [0]), (0, 0, [0])], with: &grouped, members: &taken) == nil)
    }

    /// A group member placed on a host counts there for the servers after it.
    @Test func membersPlacedCountForLaterSlots() throws {
        var left: [[ShapePatterns.Left]] = [[(s: 0, host: 0, groups: [3]), (s: 1, host: 0, groups: [3]), (s: 2, host: 0, groups: [])]]
        var members = [[Int: Int]](repeating: [:], count: 2)
        let filled = try #require(ShapePatterns.fill([(1, 0, [0]), (1, 0, [1])], with: &left, members: &members))
        #expect(filled.map(\.s) == [0, 2])
        #expect(members[1][3] == 1 && left[0].map(\.s) == [1])
    }
}
