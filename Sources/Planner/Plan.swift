// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

/// What a batch plan should achieve.
public enum PlanMode: Hashable, Sendable {
    /// Move every server off these hosts.
    case evacuate([String])
    /// Move exactly these servers.
    case servers([String])
    /// Move SHUTOFF servers so that as few hosts as possible remain in use.
    case consolidate
    /// Move SHUTOFF servers to minimise the highest NUMA-node utilisation.
    case rebalance

    /// The objective used when none is given.
    public var defaultObjective: PlanObjective {
        switch self {
        case .evacuate, .servers: .minHostsTouched
        case .consolidate: .minHostsUsed
        case .rebalance: .balance
        }
    }
}

/// What the planner minimises (after placing as many servers as possible).
public enum PlanObjective: String, Hashable, Sendable, CaseIterable {
    /// Fewest distinct target hosts.
    case minHostsTouched = "min-hosts-touched"
    /// Fewest migrations.
    case minMoves = "min-moves"
    /// Fewest hosts with any server after the plan.
    case minHostsUsed = "min-hosts-used"
    /// Lowest highest NUMA-node utilisation (vCPUs or memory), as a fraction.
    case balance
}

/// Options of a batch plan.
public struct PlanOptions: Hashable, Sendable {
    public var mode: PlanMode
    /// Overrides the mode's default objective.
    public var objective: PlanObjective?
    /// Hosts that must not receive servers.
    public var exclude: Set<String>
    /// At most this many servers arrive on one host.
    public var maxPerHost: Int?
    /// Servers that no DeH can take may go to the public pool.
    public var allowPool: Bool
    /// At most this many migrations.
    public var maxMoves: Int?
    /// Wall-clock limit for the solver, in seconds, for the whole plan.
    public var timeLimit: Double
    /// Which hosts with servers of unknown layout may receive servers.
    public var layoutPolicy: LayoutPolicy
    /// At most this many moves per wave.
    public var maxParallel: Int?
    /// At most this many moves touching one host (as source or target) per wave.
    public var maxPerHostParallel: Int?
    /// What the cloud is assumed to do with the NUMA nodes of arrivals (see `CloudPlacement`).
    public var placement: CloudPlacement
    /// Plan moves of servers that are not stopped yet, as if they were (stop them before `apply`).
    public var assumeStopped: Bool
    /// The budget in steps of the exact verdict's search over arrangements
    /// (`LayoutVerdict.searchBudget`); tests lower it to reach what runs past it.
    var verdictSearchBudget = LayoutVerdict.searchBudget

    /// Creates options.
    public init(
        mode: PlanMode, objective: PlanObjective? = nil, exclude: Set<String> = [], maxPerHost: Int? = nil,
        allowPool: Bool = false, maxMoves: Int? = nil, timeLimit: Double = 30, layoutPolicy: LayoutPolicy = .certain,
        maxParallel: Int? = nil, maxPerHostParallel: Int? = nil, placement: CloudPlacement = .any, assumeStopped: Bool = false
    ) {
        self.placement = placement
        self.assumeStopped = assumeStopped
        self.mode = mode
        self.objective = objective
        self.exclude = exclude
        self.maxPerHost = maxPerHost
        self.allowPool = allowPool
        self.maxMoves = maxMoves
        self.timeLimit = timeLimit
        self.layoutPolicy = layoutPolicy
        self.maxParallel = maxParallel
        self.maxPerHostParallel = maxPerHostParallel
    }

    /// The objective in force.
    public var effectiveObjective: PlanObjective { objective ?? mode.defaultObjective }

    /// The rule pipeline's options for this plan.
    public var checkerOptions: Checker.Options {
        var options = Checker.Options(layoutPolicy: layoutPolicy, assumeStopped: assumeStopped, placement: placement)
        options.verdictSearchBudget = verdictSearchBudget
        return options
    }

    /// `checkerOptions` for a heuristic of `plan` that judges arrivals under a time limit
    /// (`timed`): where the search over arrangements runs out of its budget (at most
    /// `LayoutVerdict.timedSearchBudget` steps), the arrival is not certain (refused: it goes
    /// elsewhere or waits for a later wave) instead of waiting for the verdict's integer
    /// programs (on foreign fleet 26 at 1 s one arrival's took 0.14 s). Refusing more never
    /// admits an unsafe move. Never for `check`, `targets` or `apply`'s re-check, nor for the
    /// plan's final validation, which always ask the integer programs; a replay of waves under
    /// these options that passes proves them too (each move found certain by the search).
    func heuristicCheckerOptions(timed: Bool) -> Checker.Options {
        var options = checkerOptions
        options.searchedVerdictsOnly = timed
        if timed { options.verdictSearchBudget = min(options.verdictSearchBudget, LayoutVerdict.timedSearchBudget) }
        return options
    }
}

/// One migration of a plan.
public struct Move: Hashable, Sendable {
    /// The server.
    public let serverID: String
    /// Source DeH (nil: the public pool).
    public let from: String?
    /// Target DeH (nil: the public pool).
    public let to: String?
    /// Nodes the server occupies on the target (nil for the pool).
    public let numaNodes: [Int]?
    /// Execution wave, from 1: all moves of a wave may run at once.
    public var wave: Int

    /// Creates a move.
    public init(serverID: String, from: String?, to: String?, numaNodes: [Int]?, wave: Int = 1) {
        self.serverID = serverID
        self.from = from
        self.to = to
        self.numaNodes = numaNodes
        self.wave = wave
    }
}

/// A server the plan could not place, and why.
public struct Unplaced: Hashable, Sendable {
    public let serverID: String
    public let reasons: [Reason]
}

/// A batch plan: the plan file of docs/DESIGN.md.
public struct Plan: Sendable {
    /// `optimal`, `feasible` (limit hit, gap reported), `partial` (some servers unplaced, the
    /// moves of the rest planned) or `infeasible` (nothing could be planned).
    public enum Status: String, Sendable { case optimal, feasible, partial, infeasible }

    public var status: Status
    /// Objective name, value, best proven bound (nil if none) and relative gap.
    public var objectiveName: String
    public var objectiveValue: Double
    public var objectiveBound: Double?
    public var moves: [Move]
    public var unplaced: [Unplaced]
    /// Solver statistics.
    public var solverSeconds: Double
    public var variables: Int
    public var constraints: Int
    /// Sub-problems solved (one per availability zone with work).
    public var subproblems: Int
    /// Remarks (limits hit, fallbacks used).
    public var notes: [String]
    /// The placement model the plan was made under (plan files without it: `planned`).
    public var placement: CloudPlacement = .planned
    /// What the plan was made on, for `apply`'s live re-check: host types, flavors, the hosts
    /// its moves touch (with per-host node overrides) and the servers on them with their known
    /// layouts, as an inventory (nil for plan files without it).
    public var topology: Inventory?
    /// A fingerprint of the whole inventory the plan was made from.
    public var fingerprint: String?

    /// The rule pipeline's options that replay this plan as it was made (its placement model;
    /// a plan that accepted uncertain fits is not known here, so `certain`).
    public var validationOptions: Checker.Options { Checker.Options(placement: placement) }

    /// Relative gap |value - bound| / max(1, |value|), or nil without a bound.
    public var gap: Double? {
        guard let b = objectiveBound else { return nil }
        return abs(objectiveValue - b) / max(1, abs(objectiveValue))
    }

    /// Number of waves.
    public var waveCount: Int { moves.map(\.wave).max() ?? 0 }
}

extension Plan {
    /// The plan file (docs/DESIGN.md), extended with `notes` and per-solver `subproblems`.
    public var json: JSON {
        func num(_ v: Double) -> JSON { .number((v * 1e6).rounded() / 1e6) }
        let placementJSON: JSON = .object([
            ("model", .string(placement.rawValue)), ("numa_nodes", .string(placement.nodesMeaning)),
        ])
        let fingerprintJSON: JSON = fingerprint.map(JSON.string) ?? .null
        let topologyJSON: JSON = topology?.json() ?? .null
        return .object([
            ("status", .string(status.rawValue)),
            ("objective", .object([
                ("name", .string(objectiveName)), ("value", num(objectiveValue)),
                ("bound", objectiveBound.map(num) ?? .null), ("gap", gap.map(num) ?? .null),
            ])),
            ("moves", .array(moves.map { m in
                .object([
                    ("server_id", .string(m.serverID)), ("from", .optionalString(m.from)), ("to", .optionalString(m.to)),
                    ("numa_nodes", m.numaNodes.map { .array($0.map(JSON.int)) } ?? .null), ("wave", .int(m.wave)),
                ])
            })),
            ("unplaced", .array(unplaced.map { u in
                .object([("server_id", .string(u.serverID)), ("reasons", .array(u.reasons.map(\.json)))])
            })),
            ("solver", .object([
                ("engine", .string("glpk")), ("seconds", .number((solverSeconds * 1000).rounded() / 1000)),
                ("variables", .int(variables)), ("constraints", .int(constraints)), ("subproblems", .int(subproblems)),
            ])),
            ("notes", .array(notes.map(JSON.string))),
            ("cloud_placement", placementJSON),
            ("inventory_fingerprint", fingerprintJSON),
            ("topology", topologyJSON),
        ])
    }
}

extension Inventory {
    /// A fingerprint of the inventory's content (FNV-1a 64 over its canonical JSON): a plan
    /// records it so that a plan made from another inventory can be told apart. Not a security
    /// measure.
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in json().serializedUTF8() {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return "fnv1a64:" + String(hash, radix: 16)
    }

    /// The part of the inventory a plan's moves touch: every host type and flavor, the hosts
    /// that are sources or targets, the servers on them (with their layouts) and the servers
    /// that move, and the anti-affinity groups of those servers.
    public func topology(for moves: [Move]) -> Inventory {
        let hostIDs = Set(moves.flatMap { [$0.from, $0.to].compactMap { $0 } })
        let moving = Set(moves.map(\.serverID))
        let kept = servers.filter { s in moving.contains(s.id) || s.dedicatedHostID.map(hostIDs.contains) ?? false }
        let keptIDs = Set(kept.map(\.id))
        let groups = serverGroups.compactMap { g -> ServerGroup? in
            let members = g.members.filter(keptIDs.contains)
            return members.count > 1 ? ServerGroup(id: g.id, name: g.name, policy: g.policy, members: members) : nil
        }
        return Inventory(
            hostTypes: hostTypeOrder.compactMap { hostTypes[$0] }, flavors: flavorOrder.compactMap { flavors[$0] },
            hosts: hosts.filter { hostIDs.contains($0.id) }, servers: kept, serverGroups: groups)
    }
}
