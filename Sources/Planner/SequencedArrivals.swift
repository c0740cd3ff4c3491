// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

/// Arrivals judged as a plan will run them where the cloud picks the nodes (`any`), for
/// heuristics that place servers one at a time onto hosts that only receive: each arrival
/// joins its host's latest wave if every arrival of that wave stays safe with it (whatever
/// nodes the cloud picks for each), else it opens the host's next wave, after the earlier
/// ones have landed with layouts only the cloud knows (`PlanReplay.settle`). Sources are never
/// freed, so hosts' waves are independent and the plan's waves are the hosts' waves side by
/// side: the wave ordering and the validation replay admit what this admits.
///
/// Used by first-fit decreasing's cycle-free packing (`emptyOnto`) and the greedy plan for
/// draining hosts and moving named servers.
struct SequencedArrivals {
    private(set) var replay: PlanReplay
    private var waveOfHost: [Int: Int] = [:]  // inventory host index -> its latest wave
    private var openWave: [Int: [Int]] = [:]  // inventory host index -> servers of its latest wave
    /// Each placed server's wave (inventory server index -> wave, from 1).
    private(set) var wave: [Int: Int] = [:]

    init(_ replay: PlanReplay) { self.replay = replay }

    /// Places server `s` on inventory host `h` if the rule pipeline admits it there with the
    /// host's latest wave or after it. `roomRefusal`: when it does not, whether for want of room
    /// (which more arrivals never lift).
    mutating func place(_ s: Int, on h: Int) -> (placed: Bool, roomRefusal: Bool) {
        func admits() -> (ok: Bool, room: Bool) {
            let judged = replay.quickJudge(server: s, to: h, nodes: nil)
            return (judged.refusal == nil && judged.verdict == .certain, judged.refusal.map(BatchPlanner.isRoomRefusal) ?? true)
        }
        if let open = openWave[h], !open.isEmpty, admits().ok {
            openWave[h, default: []].append(s)
        } else {
            replay.settle(openWave[h] ?? [], on: h)
            openWave[h] = []
            let after = admits()
            guard after.ok else { return (false, after.room) }
            waveOfHost[h, default: 0] += 1
            openWave[h] = [s]
        }
        replay.start(server: s, to: h, nodes: nil)
        wave[s] = waveOfHost[h]
        return (true, false)
    }

    /// `moves` numbered by the waves their servers were placed in (1 for a server not placed
    /// here), in wave order.
    func numbered(_ moves: [Move], inventory: Inventory) -> [Move] {
        moves.map { move in
            var move = move
            move.wave = inventory.serverIndex[move.serverID].flatMap { wave[$0] } ?? 1
            return move
        }.sorted { ($0.wave, $0.serverID) < ($1.wave, $1.serverID) }
    }
}
