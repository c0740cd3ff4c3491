// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

/// Where a flavor lands on a host: the chosen nodes and what is left on them.
public struct NodeFit: Hashable, Sendable {
    /// Chosen NUMA node indices, ascending.
    public let nodes: [Int]
    /// Free capacity left on each chosen node after placing (same order as `nodes`).
    public let leftover: [Resources]
    /// Best-fit score in 0...1: 1 means the chosen nodes are filled exactly; higher is tighter.
    public let score: Double
}

/// Why a flavor does not fit on a host's nodes.
public enum FitFailure: Error, Hashable, Sendable {
    /// The host lacks the capacity even in total.
    case insufficientTotal(free: Resources, demand: Resources)
    /// The flavor spans more NUMA nodes than the host has (and the total would suffice).
    case tooFewNodes(needed: Int, hostHas: Int)
    /// Enough in total, but fewer than k nodes each have the per-node share free.
    case insufficientNUMA(eligibleNodes: [Int], needed: Int, perNode: Resources)
}

/// The one fit function. The planner, `check`, `targets`, the executor's live re-check
/// and the fake cloud all decide NUMA fits here, so they cannot disagree.
public enum Fit {
    /// Finds `flavor.numaNodes` distinct nodes of a host, each with at least the flavor's
    /// per-node share free. A one-node flavor goes by best fit: the least leftover, vCPUs and
    /// memory each normalised by the node's size; ties go to the lower node index. A split
    /// flavor takes the nodes with room for the most further shares of it (ties by least
    /// leftover, then lower index), so that placing servers of one flavor one by one reaches
    /// the exact maximum count.
    ///
    /// - Parameters:
    ///   - flavor: the server's flavor (its size, and how many nodes it spans).
    ///   - free: free capacity per node (capacity minus servers placed on that node).
    ///   - capacity: size of each node, for normalising leftovers.
    ///   - freeTotal: free capacity of the whole host when it differs from the sum of `free`
    ///     (servers of unknown layout count against the total only); nil means `free.total`.
    public static func evaluate(
        _ flavor: Flavor, free: [Resources], capacity: [Resources], freeTotal: Resources? = nil
    ) -> Result<NodeFit, FitFailure> {
        let demand = flavor.resources
        let total = freeTotal ?? free.total
        if !total.covers(demand) { return .failure(.insufficientTotal(free: total, demand: demand)) }
        let k = flavor.numaNodes
        if k > free.count { return .failure(.tooFewNodes(needed: k, hostHas: free.count)) }
        let share = flavor.perNode
        // Scratch space on the stack: hosts that do not fit cost no heap allocation.
        return withUnsafeTemporaryAllocation(of: (node: Int, waste: Double).self, capacity: free.count) { candidates in
            var count = 0
            for (n, f) in free.enumerated() where f.covers(share) {
                let cap = capacity[n]
                let waste = Double(f.vcpus - share.vcpus) / Double(max(cap.vcpus, 1))
                    + Double(f.memoryMiB - share.memoryMiB) / Double(max(cap.memoryMiB, 1))
                candidates[count] = (n, waste)
                count += 1
            }
            guard count >= k else {
                return .failure(.insufficientNUMA(
                    eligibleNodes: (0..<count).map { candidates[$0].node }, needed: k, perNode: share))
            }
            var chosen = UnsafeMutableBufferPointer(rebasing: candidates[0..<count])
            if k == 1 {
                // Best fit: the node with the least waste; ties go to the lower index.
                chosen.sort { $0.waste != $1.waste ? $0.waste < $1.waste : $0.node < $1.node }
            } else {
                // A split flavor takes the k nodes with room for the most further shares of it,
                // then the least waste, then the lower index. Taking the k roomiest nodes each
                // time places as many servers of the flavor one by one as any arrangement could
                // (see `Headroom.count`); tightest-first would strand room (free shares 2,1,1 on
                // a 2-node flavor: tightest-first places one server, roomiest-first two).
                chosen.sort { a, b in
                    let ra = Self.shares(of: share, in: free[a.node]), rb = Self.shares(of: share, in: free[b.node])
                    if ra != rb { return ra > rb }
                    return a.waste != b.waste ? a.waste < b.waste : a.node < b.node
                }
            }
            var nodes: [Int] = []
            nodes.reserveCapacity(k)
            var waste = 0.0
            for i in 0..<k {
                nodes.append(chosen[i].node)
                waste += chosen[i].waste
            }
            nodes.sort()
            let leftover = nodes.map { free[$0] - share }
            let score = max(0, 1 - waste / Double(2 * k))
            return .success(NodeFit(nodes: nodes, leftover: leftover, score: score))
        }
    }

    /// How many per-node shares fit in `free` (both vCPUs and memory).
    @inline(__always)
    public static func shares(of share: Resources, in free: Resources) -> Int {
        let v = share.vcpus > 0 ? max(free.vcpus, 0) / share.vcpus : Int.max
        let m = share.memoryMiB > 0 ? max(free.memoryMiB, 0) / share.memoryMiB : Int.max
        return min(v, m)
    }

    /// `evaluate` without the reason: the chosen placement, or nil.
    public static func fit(_ flavor: Flavor, free: [Resources], capacity: [Resources]) -> NodeFit? {
        try? evaluate(flavor, free: free, capacity: capacity).get()
    }
}

extension HostUsage {
    /// The fit function on the room this host has as `policy` sees it (`free(under:)`: under
    /// `certain`, whatever nodes its servers of unknown layout are on): the nodes and score of
    /// the placement, nil where `flavor` does not fit. The one spelling of "does it fit here"
    /// that the packings, the local search and the wave ordering share.
    public func fit(_ flavor: Flavor, under policy: LayoutPolicy) -> NodeFit? {
        Fit.fit(flavor, free: free(under: policy), capacity: capacity)
    }
}
