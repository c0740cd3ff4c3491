// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

/// What dehplan assumes about the NUMA nodes the cloud picks for an arriving server.
///
/// The migrate call names a host, never a node, and the API never reports layouts: the cloud
/// chooses. A plan's `numa_nodes` are therefore a wish (`planned`) or a prediction (the
/// deterministic policies), never a promise; `any` makes no assumption at all.
public enum CloudPlacement: String, Hashable, Sendable, CaseIterable {
    /// The cloud may put each arrival on any node set where it fits at that moment, and the
    /// moves of one wave may run in any order: a move is accepted only if it fits whatever the
    /// cloud did with the servers of unknown layout and with every earlier or concurrent
    /// arrival of the plan (arrivals count as servers of unknown layout).
    case any
    /// The cloud honours the plan's nodes (a capacity dry run: can it fit at all?).
    case planned
    /// A cloud known to pick the tightest node set (the fit function's choice).
    case bestFit = "best-fit"
    /// A cloud known to pick the lowest-numbered node set that fits.
    case firstFit = "first-fit"
    /// A cloud known to pick the node set with the most room left.
    case spread

    /// The node-choice rule a deterministic policy simulates (nil for `any` and `planned`).
    public var rule: NodeRule? {
        switch self {
        case .any, .planned: nil
        case .bestFit: .bestFit
        case .firstFit: .firstFit
        case .spread: .spread
        }
    }

    /// How a plan's `numa_nodes` are to be read under this model, in words.
    public var nodesMeaning: String {
        switch self {
        case .any: "planned only: the cloud picks the nodes, and every move is safe whatever it picks"
        case .planned: "planned: assumes the cloud honours them (a capacity dry run, not a promise)"
        case .bestFit, .firstFit, .spread: "predicted for a cloud that places \(rawValue); not a promise"
        }
    }
}

/// A rule for picking the NUMA nodes of an arriving server (the fake cloud's placement, and the
/// planner's simulation of a deterministic cloud).
public enum NodeRule: Hashable, Sendable {
    /// The fit function's choice: the tightest node set.
    case bestFit
    /// The lowest-numbered node set that fits.
    case firstFit
    /// The node set with the most room left (vCPUs and memory normalised by node size).
    case spread
    /// The fitting node set that leaves the least room for one more server of `against`
    /// (ties: the tightest, then the lowest-numbered).
    case adversarial(against: Flavor)

    /// The nodes this rule picks for `flavor`, or nil when it fits nowhere.
    public func choose(_ flavor: Flavor, free: [Resources], capacity: [Resources]) -> [Int]? {
        if case .bestFit = self { return Fit.fit(flavor, free: free, capacity: capacity)?.nodes }
        guard free.count >= flavor.numaNodes else { return nil }
        let share = flavor.perNode
        let options = nodeSubsets(of: free.count, size: flavor.numaNodes).filter { $0.allSatisfy { free[$0].covers(share) } }
        guard !options.isEmpty else { return nil }
        func roomLeft(_ nodes: [Int]) -> Double {
            nodes.reduce(0.0) { sum, n in
                let left = free[n] - share
                return sum + Double(left.vcpus) / Double(max(capacity[n].vcpus, 1))
                    + Double(left.memoryMiB) / Double(max(capacity[n].memoryMiB, 1))
            }
        }
        switch self {
        case .bestFit, .firstFit:
            return options[0]
        case .spread:
            return options.enumerated().max { a, b in
                let ra = roomLeft(a.element), rb = roomLeft(b.element)
                return ra != rb ? ra < rb : a.offset > b.offset
            }?.element
        case .adversarial(let against):
            func roomForAgainst(_ nodes: [Int]) -> Int {
                var after = free
                for n in nodes { after[n] = after[n] - share }
                return Headroom.count(against, free: after)
            }
            return options.enumerated().min { a, b in
                let ra = roomForAgainst(a.element), rb = roomForAgainst(b.element)
                if ra != rb { return ra < rb }
                let wa = roomLeft(a.element), wb = roomLeft(b.element)
                return wa != wb ? wa < wb : a.offset < b.offset
            }?.element
        }
    }
}
