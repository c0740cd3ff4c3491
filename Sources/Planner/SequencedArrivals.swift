// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
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
        let judged = Self.join(s, on: h, replay: &replay, open: &openWave[h, default: []]) { replay in
            let outcome = replay.quickJudge(server: s, to: h, nodes: nil)
            return (outcome.refusal == nil && outcome.verdict == .certain, outcome.refusal.map(BatchPlanner.isRoomRefusal) ?? true)
        }
        guard judged.placed else { return (false, judged.roomRefusal) }
        if judged.opened { waveOfHost[h, default: 0] += 1 }
        replay.start(server: s, to: h, nodes: nil)
        wave[s] = waveOfHost[h]
        return (true, false)
    }

    /// The rule of a host's arrivals in sequence, for `place` and `BatchPlanner.anySafe`: server
    /// `s` joins `open`, host `h`'s latest wave, if `admits` takes it with that wave in flight;
    /// else the wave lands where the cloud likes (`PlanReplay.settle`) and `s` is judged again,
    /// opening the next wave when admitted. The caller starts the move. `roomRefusal`: for a
    /// refusal, whether it was for want of room.
    static func join(
        _ s: Int, on h: Int, replay: inout PlanReplay, open: inout [Int], admits: (PlanReplay) -> (ok: Bool, room: Bool)
    ) -> (placed: Bool, opened: Bool, roomRefusal: Bool) {
        if !open.isEmpty, admits(replay).ok {
            open.append(s)
            return (true, false, false)
        }
        replay.settle(open, on: h)
        open = []
        let after = admits(replay)
        guard after.ok else { return (false, false, after.room) }
        open = [s]
        return (true, true, false)
    }

    /// The order arrivals are best judged in: servers that span more NUMA nodes first (a
    /// one-node server landed first may take a node they need, and nothing forces the cloud to
    /// put it elsewhere), then the larger (`BatchPlanner.size`); nil when neither comes first.
    /// Largest first alone put a one-node server of 4 vCPUs before a two-node server of 2 + 2
    /// on a host with 4 and 8 vCPUs free per node: the one-node server could take the first
    /// node whole, and the two-node one found no place.
    static func comesFirst(_ a: Flavor, _ b: Flavor) -> Bool? {
        if a.numaNodes != b.numaNodes { return a.numaNodes > b.numaNodes }
        let sa = BatchPlanner.size(a), sb = BatchPlanner.size(b)
        return sa != sb ? sa > sb : nil
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

extension BatchPlanner {
    /// The replay the heuristics that judge arrivals under the plan's time limit start from:
    /// the planner's checker as it stands, and where the search over arrangements runs past its
    /// budget the arrival is not certain (`PlanOptions.heuristicCheckerOptions(timed: true)`)
    /// instead of waiting for the integer programs. The first-fit packings, the greedy plan, the
    /// drain sequencing and the emptying in turn all judge so; a plan's validation, `check`,
    /// `targets` and `apply` never do.
    func heuristicReplay(_ options: PlanOptions) -> PlanReplay {
        PlanReplay(inventory, options: options.heuristicCheckerOptions(timed: true), checker: checker)
    }

    /// Draining hosts or moving named servers under `any`: a models' plan, packed on wished
    /// nodes, judged as its waves will run (`SequencedArrivals`), each host's arrivals in the
    /// order `SequencedArrivals.comesFirst` gives. An arrival the cloud's choice of nodes could block goes elsewhere, also judged so:
    /// to the touched host with the most free vCPUs that admits it, else to the receiving host
    /// with the most room left. The plan comes in those waves. Nil past `deadline`, when an
    /// arrival finds no place, or under caps on moves per wave (the wave ordering's to keep).
    ///
    /// Ordered as they stood instead, the per-host chunks' plan for a tenth of 10,000 hosts
    /// (473 hosts touched on wished nodes) had 19 moves re-routed one at a time: 478 hosts.
    func sequencedDrain(_ decisions: [[Decision]], sub: SubProblem, options: PlanOptions, deadline: Double)
        -> (decisions: [[Decision]], waves: [Move])?
    {
        guard sub.mustMove, options.placement == .any, options.maxParallel == nil, options.maxPerHostParallel == nil else { return nil }
        var sequenced = SequencedArrivals(heuristicReplay(options))
        var result = decisions
        var arrivals: [(c: Int, i: Int, s: Int, l: Int)] = []
        for (c, cls) in sub.classes.enumerated() {
            for (i, s) in cls.servers.enumerated() {
                if case .host(let l, _) = decisions[c][i] { arrivals.append((c, i, s, l)) }
            }
        }
        func larger(_ a: (c: Int, i: Int, s: Int, l: Int), _ b: (c: Int, i: Int, s: Int, l: Int)) -> Bool {
            SequencedArrivals.comesFirst(sub.classes[a.c].flavor, sub.classes[b.c].flavor) ?? (a.s < b.s)
        }
        arrivals.sort { a, b in a.l != b.l ? a.l < b.l : larger(a, b) }
        var onHost = [Int](repeating: 0, count: sub.hosts.count)
        var refused: [(c: Int, i: Int, s: Int, l: Int)] = []
        for a in arrivals {
            if monotonicSeconds() > deadline { return nil }
            if options.maxPerHost.map({ onHost[a.l] < $0 }) ?? true, sequenced.place(a.s, on: sub.hosts[a.l]).placed {
                onHost[a.l] += 1
            } else {
                refused.append(a)
            }
        }
        if !refused.isEmpty {
            let receiving = sub.hosts.indices.filter { sub.receives[$0] }
            // Hosts not touched yet keep their room (nothing lands there): ranked once.
            let byRoom = receivingByRoom(sub)
            for a in refused.sorted(by: larger) {
                let home = inventory.servers[a.s].dedicatedHostID.flatMap { inventory.hostIndex[$0] }
                let touched = receiving.filter { onHost[$0] > 0 }.map { l in (l, sequenced.replay.state.usage[sub.hosts[l]].freeTotal.vcpus) }
                    .sorted { ($0.1, -$0.0) > ($1.1, -$1.0) }.map(\.0)
                var found: Int?
                for l in touched + byRoom.filter({ onHost[$0] == 0 }) where sub.hosts[l] != home {
                    if monotonicSeconds() > deadline { return nil }
                    if let cap = options.maxPerHost, onHost[l] >= cap { continue }
                    if sequenced.place(a.s, on: sub.hosts[l]).placed {
                        found = l
                        break
                    }
                }
                guard let l = found else { return nil }
                onHost[l] += 1
                result[a.c][a.i] = .host(l, wishedNodes(sub.classes[a.c].flavor, on: l, sub: sub))
            }
        }
        return (result, sequenced.numbered(moves(of: result, in: sub), inventory: inventory))
    }
}
