// SPDX-License-Identifier: GPL-3.0-or-later

import Planner
import Topology

/// A plan validator written separately from the planner: plain arithmetic over the inventory,
/// no fit function, no placement state. Replays waves: a target's capacity is taken when its
/// move starts, a source's is freed when its wave completes. Servers of unknown layout count,
/// on every node of their host, with their full per-node share (the `certain` policy).
public enum IndependentValidator {
    struct Slot: Hashable {
        let host: String
        let node: Int
    }

    public static func check(_ plan: Plan, inventory: Inventory) -> [String] {
        if plan.placement == .any { return anyProblems(plan, inventory: inventory) }
        var problems: [String] = []
        var position: [String: (host: String?, nodes: [Int]?)] = [:]
        for s in inventory.servers { position[s.id] = (s.dedicatedHostID, s.numaNodes) }

        func usage() -> [Slot: Resources] {
            var used: [Slot: Resources] = [:]
            for s in inventory.servers {
                guard let (host, nodes) = position[s.id], let host, let h = inventory.host(host) else { continue }
                let f = inventory.flavors[s.flavor]!
                let share = Resources(vcpus: f.resources.vcpus / f.numaNodes, memoryMiB: f.resources.memoryMiB / f.numaNodes)
                let capacity = inventory.capacity(of: h)
                for n in nodes ?? Array(capacity.indices) {
                    used[Slot(host: host, node: n), default: .zero] = used[Slot(host: host, node: n), default: .zero] + share
                }
            }
            return used
        }

        var moved = Set<String>()
        let waves = Dictionary(grouping: plan.moves, by: \.wave)
        for wave in waves.keys.sorted() {
            let group = waves[wave]!
            // Start: targets are taken, sources not yet freed.
            var starting: [String: (String?, [Int]?)] = [:]
            for m in group {
                guard let s = inventory.server(m.serverID) else {
                    problems.append("unknown server \(m.serverID)")
                    continue
                }
                if !moved.insert(m.serverID).inserted { problems.append("\(m.serverID) moves twice") }
                let (found, known) = moveProblems(m, s, inventory: inventory)
                problems += found
                if m.to != nil {
                    guard known else { continue }
                    let f = inventory.flavors[s.flavor]!
                    let nodes = m.numaNodes ?? []
                    if nodes.count != f.numaNodes || Set(nodes).count != nodes.count { problems.append("\(m.serverID) has bad nodes \(nodes)") }
                }
                starting[m.serverID] = (m.to, m.numaNodes)
            }
            // While the wave runs, each moving server occupies both its source and its target.
            var used = usage()
            for (id, (to, nodes)) in starting {
                guard let to, let nodes, let s = inventory.server(id) else { continue }
                let f = inventory.flavors[s.flavor]!
                let share = Resources(vcpus: f.resources.vcpus / f.numaNodes, memoryMiB: f.resources.memoryMiB / f.numaNodes)
                for n in nodes { used[Slot(host: to, node: n), default: .zero] = used[Slot(host: to, node: n), default: .zero] + share }
            }
            let targets = Set(starting.values.compactMap(\.0))
            var receiving = Set<Slot>()
            for (to, nodes) in starting.values { if let to { for n in nodes ?? [] { receiving.insert(Slot(host: to, node: n)) } } }
            // Only nodes that receive a server can be overcommitted by the plan (a host whose
            // unknown layouts already exceed the worst case elsewhere is not the plan's doing).
            for (slot, u) in used where receiving.contains(slot) {
                guard let h = inventory.host(slot.host) else { continue }
                let capacity = inventory.capacity(of: h)
                guard slot.node < capacity.count else {
                    problems.append("\(slot.host) has no node \(slot.node)")
                    continue
                }
                let cap = capacity[slot.node]
                if u.vcpus > cap.vcpus || u.memoryMiB > cap.memoryMiB {
                    problems.append("wave \(wave): \(slot.host) node \(slot.node) overcommitted: \(u) of \(cap)")
                }
            }
            // Anti-affinity during the wave (sources still occupied).
            for g in inventory.serverGroups {
                var hosts: [String: Int] = [:]
                for id in g.members {
                    if let h = position[id]?.host { hosts[h, default: 0] += 1 }
                    if let (to, _) = starting[id], let to { hosts[to, default: 0] += 1 }
                }
                let before = Dictionary(grouping: g.members.compactMap { inventory.server($0)?.dedicatedHostID }, by: { $0 }).mapValues(\.count)
                for (h, n) in hosts where targets.contains(h) && n > max(1, before[h] ?? 0) {
                    problems.append("wave \(wave): anti-affinity group \(g.id) has \(n) members on \(h)")
                }
            }
            for (id, target) in starting { position[id] = target }
        }
        // Objective bookkeeping.
        if let b = plan.objectiveBound, b > plan.objectiveValue + 1e-6 {
            problems.append("bound \(b) exceeds objective \(plan.objectiveValue)")
        }
        return problems
    }

    /// Under `--cloud-placement any` the plan's nodes are only wishes: every arrival must fit
    /// under every feasible arrangement of the host's servers of unknown layout, of the earlier
    /// waves' arrivals (whose nodes the cloud picked) and of any subset of the same wave's other
    /// arrivals on the host. Checked by brute force (`forEachArrangement`); where that is too
    /// large, by the per-node worst case (every such server on every node), a sufficient
    /// condition; a move neither can confirm is reported.
    static func anyProblems(_ plan: Plan, inventory: Inventory) -> [String] {
        var problems: [String] = []
        var host: [String: String?] = [:]
        var nodes: [String: [Int]?] = [:]
        for s in inventory.servers {
            host[s.id] = s.dedicatedHostID
            nodes[s.id] = s.numaNodes
        }
        var moved = Set<String>()
        let waves = Dictionary(grouping: plan.moves, by: \.wave)
        for wave in waves.keys.sorted() {
            let group = waves[wave]!
            var arrivals: [String: [Flavor]] = [:]
            for m in group {
                guard let s = inventory.server(m.serverID), let f = inventory.flavors[s.flavor] else {
                    problems.append("unknown server \(m.serverID)")
                    continue
                }
                if !moved.insert(m.serverID).inserted { problems.append("\(m.serverID) moves twice") }
                let (found, known) = moveProblems(m, s, inventory: inventory)
                problems += found
                guard let to = m.to, known else { continue }
                for g in inventory.serverGroups where g.members.contains(m.serverID) {
                    let others = g.members.filter { $0 != m.serverID }
                    let there = others.filter { id in host[id] == to || group.contains { o in o.serverID == id && o.to == to } }
                    if !there.isEmpty { problems.append("wave \(wave): anti-affinity group \(g.id) would have \(m.serverID) with \(there) on \(to)") }
                }
                arrivals[to, default: []].append(f)
            }
            for (to, incoming) in arrivals.sorted(by: { $0.key < $1.key }) {
                let h = inventory.host(to)!
                var free = inventory.capacity(of: h)
                var unknown: [Flavor] = []
                for s in inventory.servers where host[s.id] == to {
                    let f = inventory.flavors[s.flavor]!
                    if let ns = nodes[s.id] ?? nil {
                        for n in ns where n < free.count { free[n] -= f.perNode }
                    } else {
                        unknown.append(f)
                    }
                }
                for (i, a) in incoming.enumerated() where !incoming[..<i].contains(a) {
                    var others = incoming
                    others.remove(at: i)
                    if let why = blocks(a, free: free, unknown: unknown, optional: others) {
                        problems.append("wave \(wave): \(a.name) arriving on \(to) \(why)")
                    }
                }
            }
            for m in group {
                host[m.serverID] = m.to
                nodes[m.serverID] = .some(nil)  // the cloud picked
            }
        }
        if let b = plan.objectiveBound, b > plan.objectiveValue + 1e-6 {
            problems.append("bound \(b) exceeds objective \(plan.objectiveValue)")
        }
        return problems
    }

    /// The checks of one move that need no replay: the server may move, from its own host, to a
    /// known, available host of its zone that takes its flavor and is not its own. `targetKnown`
    /// is false when the target is not in the inventory (its capacity cannot be checked).
    static func moveProblems(_ m: Move, _ s: Server, inventory: Inventory) -> (problems: [String], targetKnown: Bool) {
        var problems: [String] = []
        if s.status != "SHUTOFF" || s.locked || s.taskState != nil { problems.append("\(m.serverID) may not move") }
        if m.from != s.dedicatedHostID { problems.append("\(m.serverID) has a wrong source") }
        guard let to = m.to else {
            if s.dedicatedHostID == nil { problems.append("\(m.serverID) pool to pool") }
            return (problems, true)
        }
        guard let h = inventory.host(to) else { return (problems + ["unknown target \(to)"], false) }
        if h.state != .available { problems.append("\(to) is not available") }
        if h.availabilityZone != s.availabilityZone { problems.append("\(m.serverID) changes AZ") }
        if !(inventory.hostTypes[h.hostType]!.flavors.contains(s.flavor)) { problems.append("\(to) does not accept \(s.flavor)") }
        if to == s.dedicatedHostID { problems.append("\(m.serverID) moves to its own host") }
        return (problems, true)
    }

    /// Why `flavor` may find no room (nil: it always does). Enumerates, per flavor, how many of
    /// its servers sit on each node set (every count for `unknown`, any number up to the count for
    /// `optional`), never overcommitting a node. Between flavors the states reached are kept as a
    /// set of sorted free vectors (nodes of one host are interchangeable: the fit test and the
    /// node sets tried are the same under any renumbering), so equal states are expanded once;
    /// gives up past two million states or leaves.
    public static func blocks(_ flavor: Flavor, free: [Resources], unknown: [Flavor], optional: [Flavor]) -> String? {
        func fits(_ left: [Resources]) -> Bool { left.filter { $0.covers(flavor.perNode) }.count >= flavor.numaNodes }
        let worst = (unknown + optional).reduce(free) { left, f in left.map { $0 - f.perNode } }
        if fits(worst) { return nil }
        func canonical(_ left: [Resources]) -> [Resources] {
            left.sorted { ($0.vcpus, $0.memoryMiB) < ($1.vcpus, $1.memoryMiB) }
        }
        var groups: [(flavor: Flavor, count: Int, exact: Bool)] = []
        for (list, exact) in [(unknown, true), (optional, false)] {
            for f in Set(list).sorted(by: { $0.name < $1.name }) {
                groups.append((f, list.filter { $0 == f }.count, exact))
            }
        }
        var states: Set<[Resources]> = [canonical(free)]
        var work = 0
        for (f, count, exact) in groups {
            var next: Set<[Resources]> = []
            let sets = subsets(free.count, f.numaNodes)
            func spread(_ i: Int, _ remaining: Int, _ left: [Resources]) {
                work += 1
                if i == sets.count {
                    if remaining == 0 || !exact { next.insert(canonical(left)) }
                    return
                }
                var l = left
                var t = 0
                while true {
                    spread(i + 1, remaining - t, l)
                    if t == remaining || !sets[i].allSatisfy({ l[$0].covers(f.perNode) }) { break }
                    for n in sets[i] { l[n] -= f.perNode }
                    t += 1
                }
            }
            for state in states {
                spread(0, count, state)
                if work > 2_000_000 || next.count > 2_000_000 {
                    return "cannot be confirmed (too many arrangements to enumerate)"
                }
            }
            states = next
        }
        if states.contains(where: { !fits($0) }) { return "can find no room under some arrangement the cloud may pick" }
        return nil
    }
}
