// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

/// Consolidation by a configuration (pattern) model over host *shapes*, for real fleets:
/// several host types, 2- and 4-node hosts, both resources binding, split flavors.
///
/// A shape is a host type together with a host's room per node after the servers that stay
/// whatever the plan (hosts with equal room share a shape). A pattern is what one host of a
/// shape receives, per node (`ShapePattern`). The master LP chooses patterns to cover every
/// mover, at most as many per shape as it has hosts; a pattern costs 1 on a host that would
/// otherwise be empty and 0 on a host in use anyway. Pricing (`ShapePricing`) is exact, so
/// when no pattern prices out the LP optimum is the Gilmore–Gomory bound; before that, the
/// Lagrangian bound (LP value plus, per shape, its host count times its best reduced cost)
/// holds. Integer plans come from the master over the generated patterns (price and branch);
/// an assignment then maps patterns onto concrete hosts of their shape so that the most
/// servers stay where they are (`realize`), and the rule pipeline judges the result.
///
/// Applies to consolidations (fewest hosts in use) and evacuations (fewest hosts touched:
/// every shape costs 1) without move or per-host limits whose movers all sit on hosts; nil
/// otherwise. Servers in anti-affinity groups join their flavor's
/// class (`realize` keeps members apart); on hosts that may receive, movers of unknown layout
/// never count as staying. Consolidating, a host that may not receive (excluded, not
/// available) still keeps its movers if the plan wants: its shape offers one pattern, those
/// movers staying (cost 0 where servers that cannot move keep it in use anyway, else 1).
struct ShapePatterns {
    let sub: SubProblem
    let planner: BatchPlanner
    var inventory: Inventory { planner.inventory }
    let options: PlanOptions
    /// Per model class (one per flavor): the flavor and how many movers.
    let flavors: [Flavor]
    let demand: [Int]
    /// Model class of each sub-problem class.
    let modelOf: [Int]
    /// Per shape: room per node, hosts (local indices), cost, its host type's pricing, and the
    /// ways split servers can lie on it.
    struct Shape {
        let room: [Resources]
        var hosts: [Int]
        let cost: Double
        let pricing: Int?  // index into `pricings`; nil: a host that may not receive (`stay`)
        var combos: [ShapePricing.Combo]
        /// False when `combos` is not every way to lay split servers out.
        var exact: Bool
        /// Its movers all staying, counts only (no nodes: they stay wherever they are): the one
        /// pattern of a host that may not receive (`pricing` nil), or beside the priced ones on
        /// a host where movers that stay may not fit the room (`SubProblem.stayersInRoom`).
        var stay: ShapePattern? = nil
    }
    var shapes: [Shape] = []
    var pricings: [ShapePricing] = []
    /// Hosts in use whatever the plan (servers that cannot move).
    let fixedHosts: Int

    /// Which room per node a shape offers.
    enum Rooms {
        /// As the rule pipeline judges arrivals on the host (under `certain`, servers of
        /// unknown layout counted on every node they might use): for plans.
        case judged
        /// Servers of known layout only, on every host (a relaxation: the others lie
        /// somewhere, so no real placement has more room on any node), and no node above the
        /// host's exact free total. For the bound under
        /// `--cloud-placement any`, where the exact verdict admits more than the worst case per
        /// node; such rooms may admit patterns no move can build, so not for plans.
        case knownLayouts
        /// As judged, but where movers that stay may not fit the judged room even beside
        /// arrivals (`SubProblem.stayersInRoom`), a room that holds them
        /// (`SubProblem.roomHoldingStayers`), and there too the pattern of all movers staying.
        /// Movers that stay are never judged, and beside servers of unknown layout the worst
        /// case per node can have no room for them. For the bound under placements that honour
        /// or predict nodes, where arrivals are judged by the worst case per node.
        case judgedWhereNothingStays
    }
    let rooms: Rooms

    /// Whether the LP bound holds for every plan the rule pipeline admits where arrivals are
    /// judged on their planned or predicted nodes (placements other than `any`): false on
    /// `judged` rooms where on some host movers that stay may not fit the worst case per node
    /// even beside arrivals (`SubProblem.StayersInRoom.mayNotFit`).
    let boundHoldsOnPlannedNodes: Bool

    /// `rooms`: see `Rooms`. Past `deadline` (`monotonicSeconds()`), shapes with split classes
    /// get no layouts of them and are not exact (no bound holds; their patterns hold no split
    /// servers): the model's time is not spent listing layouts.
    init?(_ sub: SubProblem, options: PlanOptions, planner: BatchPlanner, rooms: Rooms = .judged, deadline: Double? = nil) {
        let inventory = planner.inventory
        // Evacuations (every mover must leave; fewest hosts touched): every receiving host a
        // pattern lands on counts, so all shapes cost 1 and hosts share shapes by room alone.
        let evacuating = sub.mustMove && options.effectiveObjective == .minHostsTouched
        let consolidating = options.mode == .consolidate && options.effectiveObjective == .minHostsUsed && !sub.mustMove
        guard consolidating || evacuating, options.maxMoves == nil,
            options.maxPerHost == nil, !sub.hosts.isEmpty, !sub.classes.isEmpty
        else { return nil }
        for cls in sub.classes {
            guard cls.origins.keys.allSatisfy({ $0.host >= 0 }) else { return nil }
        }
        self.sub = sub
        self.planner = planner
        self.options = options
        // Model classes: one per flavor (servers in anti-affinity groups join their flavor's
        // class; `realize` keeps group members apart).
        var index: [String: Int] = [:]
        var flavors: [Flavor] = []
        var demand: [Int] = []
        var modelOf: [Int] = []
        for cls in sub.classes {
            let k = index[cls.flavor.name] ?? {
                index[cls.flavor.name] = flavors.count
                flavors.append(cls.flavor)
                demand.append(0)
                return flavors.count - 1
            }()
            modelOf.append(k)
            demand[k] += cls.count
        }
        self.flavors = flavors
        self.demand = demand
        self.modelOf = modelOf
        self.rooms = rooms
        let judgedPolicy = options.checkerOptions.effectivePolicy
        let stayers = sub.stayersInRoom(policy: judgedPolicy)
        boundHoldsOnPlannedNodes = rooms != .judged || !stayers.contains(.mayNotFit)
        var moversOn: [Int: [Int]] = [:]  // local host -> movers per model class
        for (c, cls) in sub.classes.enumerated() {
            for (o, servers) in cls.origins {
                moversOn[o.host, default: Array(repeating: 0, count: flavors.count)][modelOf[c]] += servers.count
            }
        }
        var pricingOfType: [String: Int] = [:]
        var shapeIndex: [String: [[Resources]: Int]] = [:]
        var fixed = 0
        var overflowed = Set<Int>()  // pricings whose layouts of split servers overflowed on some room
        for h in sub.hosts.indices {
            let busy = !evacuating && sub.fixed[h].serverCount > 0
            if busy { fixed += 1 }
            // A host that cannot receive: evacuating, its movers must go; consolidating, they
            // may all stay (a plan keeping some keeps the host in use, and all staying needs no
            // more room elsewhere), or leave.
            guard sub.receives[h] else {
                if consolidating, let counts = moversOn[h] {
                    let s = shapes.count
                    shapes.append(Shape(room: [], hosts: [h], cost: busy ? 0 : 1, pricing: nil, combos: [], exact: true,
                                        stay: ShapePattern(shape: s, perNode: [], split: [], counts: counts)))
                }
                continue
            }
            let policy = rooms == .knownLayouts ? LayoutPolicy.possible : judgedPolicy
            let host = inventory.hosts[sub.hosts[h]]
            let typeName = host.hostType
            guard let type = inventory.hostTypes[typeName] else { return nil }
            if pricingOfType[typeName] == nil {
                let accepted = flavors.indices.filter { type.supports(flavors[$0].name) }
                let largest = sub.fixed[h].capacity.reduce(Resources.zero) {
                    Resources(vcpus: max($0.vcpus, $1.vcpus), memoryMiB: max($0.memoryMiB, $1.memoryMiB))
                }
                guard let p = ShapePricing(flavors: flavors, accepted: accepted, largestNode: largest) else { return nil }
                pricingOfType[typeName] = pricings.count
                pricings.append(p)
            }
            var room = sub.room(h, policy: policy)
            if rooms == .knownLayouts {
                // Also no more than the host's exact free total on any node (what lands on one
                // node is part of that total).
                let total = sub.fixed[h].freeTotal.clampedAtZero
                room = room.map { Resources(vcpus: min($0.vcpus, total.vcpus), memoryMiB: min($0.memoryMiB, total.memoryMiB)) }
            } else if rooms == .judgedWhereNothingStays, stayers[h] == .mayNotFit {
                room = sub.roomHoldingStayers(h)
            }
            // Busy hosts each get their own shape (cost 0), others share by room.
            if !busy, let s = shapeIndex[typeName]?[room] {
                shapes[s].hosts.append(h)
                continue
            }
            let p = pricingOfType[typeName]!
            // Where the layouts of split servers overflowed on one room of a type, other rooms
            // of that type (hosts with servers that stay) are listed up to a tenth as many: on
            // foreign fleet 4257 (8-node hosts, flavors of one vCPU per node over two nodes)
            // every room of its 8-node types overflowed, each after 20,000 layouts built in
            // 0.05-0.12 s, 2.3 s in all of a plan at 1 s; the model has no bound once one shape
            // is not exact. (Nil past the deadline too: nothing is listed then anyway.)
            let combos = pricings[p].combos(room: room, limit: overflowed.contains(p) ? 2_000 : 20_000, deadline: deadline)
            if combos == nil { overflowed.insert(p) }
            if !busy { shapeIndex[typeName, default: [:]][room] = shapes.count }
            // Movers that may not fit the room may all stay instead, with nothing arriving (the
            // host is busy: a shape of its own).
            let index = shapes.count
            let stay = policy == .certain && stayers[h] != .fit
                ? moversOn[h].map { ShapePattern(shape: index, perNode: [], split: [], counts: $0) } : nil
            // Too many ways to lay split servers out: they are left out here, and no bound holds.
            shapes.append(Shape(room: room, hosts: [h], cost: busy ? 0 : 1, pricing: p,
                                combos: combos ?? [ShapePricing.Combo(servers: [], left: room)], exact: combos != nil, stay: stay))
        }
        fixedHosts = fixed
        guard !shapes.isEmpty else { return nil }
    }

    struct Outcome {
        var decisions: [[Decision]]
        /// Hosts in use (fixed ones included).
        var value: Int
        /// Proven lower bound on hosts in use (nil: none).
        var bound: Int?
        /// The bound is the LP's at convergence (the Gilmore–Gomory bound), not a Lagrangian one.
        var converged = false
        var patterns: Int
        var note: String
    }

    /// The patterns of a plan (decisions) per host of a shape, as columns for the master.
    func patterns(of decisions: [[Decision]]) -> [ShapePattern] {
        var shapeOf: [Int: Int] = [:]
        for (s, shape) in shapes.enumerated() { for h in shape.hosts where shapeOf[h] == nil { shapeOf[h] = s } }
        var content: [Int: ShapePattern] = [:]
        /// Hosts outside every shape (not receiving, evacuating) are left out: the artificial
        /// columns cover their servers. On a host that may not receive, staying counts whatever
        /// the layout (`nodes` nil: unknown); elsewhere only where it is known.
        func put(_ cls: Int, host h: Int, nodes: [Int]?) {
            let c = modelOf[cls]
            guard let s = shapeOf[h] else { return }
            if shapes[s].pricing == nil {
                var p = content[h] ?? ShapePattern(shape: s, perNode: [], split: [], counts: Array(repeating: 0, count: flavors.count))
                p.counts[c] += 1
                content[h] = p
                return
            }
            guard let nodes else { return }
            var p = content[h] ?? ShapePattern.empty(shape: s, nodes: shapes[s].room.count, classes: flavors.count)
            if nodes.count == 1 { p.addOneNode(c, node: nodes[0]) } else { p.addSplit(c, nodes: nodes) }
            content[h] = p
        }
        for (c, cls) in sub.classes.enumerated() {
            var origin: [Int: Origin] = [:]
            for (o, servers) in cls.origins { for s in servers { origin[s] = o } }
            for (i, s) in cls.servers.enumerated() {
                switch decisions[c][i] {
                case .stay:
                    if let o = origin[s] { put(c, host: o.host, nodes: o.nodes) }
                case .host(let h, let nodes):
                    put(c, host: h, nodes: nodes)
                case .pool: continue
                }
            }
        }
        return content.keys.sorted().map { content[$0]! }
    }

    /// Whether `p` lies within its shape's room on every node (a pattern of all movers
    /// staying, counts only, is its shape's own). A plan in hand judged otherwise than these
    /// rooms, by the exact verdict on hosts with servers of unknown layout where the rooms
    /// count their worst case per node (`sequencedFirstFit`), wishes nodes beyond them: seeded
    /// into the master, such patterns are columns no host can take, and the LP and the integer
    /// search chose them and then found nothing to realize (foreign fleet 3 under `any` at 3 s:
    /// 51 hosts instead of 50, 71 dives, 3 node recombinations and the integer master, every
    /// choice refused).
    func fitsItsShape(_ p: ShapePattern) -> Bool {
        let shape = shapes[p.shape]
        if p.countsOnly { return p == shape.stay }
        guard shape.pricing != nil, p.perNode.count == shape.room.count else { return false }
        var load = Array(repeating: Resources.zero, count: shape.room.count)
        for n in p.perNode.indices {
            for c in p.perNode[n].indices where p.perNode[n][c] > 0 { load[n] += flavors[c].perNode * p.perNode[n][c] }
        }
        for server in p.split {
            for n in server.nodes { load[n] += flavors[server.cls].perNode }
        }
        return load.indices.allSatisfy { shape.room[$0].covers(load[$0]) }
    }

    /// Column generation, then the integer master over the patterns found, until `deadline`
    /// (`monotonicSeconds()`). `start` is a plan to begin from (its patterns seed the master).
    ///
    /// `searchPlans` false: the bound only (the root LP). Under `--cloud-placement any` a packing
    /// tiled node by node is not what the cloud will build (it picks the nodes): the caller
    /// makes it safe first (`BatchPlanner.anySafe`).
    ///
    /// `ownBoundHolds` false: the LP bound is no bound of the plans the pipeline admits (see
    /// `boundHoldsOnPlannedNodes`); the search then stops at `otherBound` (hosts in use, from a
    /// model that holds) instead, and the outcome carries no bound.
    ///
    /// `realizeBy`: when the caller must have the plan realized and in waves. A choice of
    /// patterns is not realized, and no search for one begins, once too little time is left for
    /// that (`realizeSeconds`).
    func solve(start: [[Decision]], deadline: Double, realizeBy: Double = .infinity, searchPlans: Bool = true,
               ownBoundHolds: Bool = true, otherBound: Int? = nil) -> Outcome? {
        var best = start
        var bestValue = value(of: start) ?? Int.max
        var how = "plan in hand"
        let master = PatternMaster(
            demand: demand,
            shapes: shapes.map {
                PatternMaster.Shape(room: $0.room, count: $0.hosts.count, cost: $0.cost, pricing: $0.pricing, combos: $0.combos,
                                    fixed: $0.stay.map { [$0] } ?? [], exact: $0.exact)
            },
            pricings: pricings, artificialCost: 1000)
        /// Hosts in use proven necessary from the master's raw bound.
        func hosts(_ raw: Double?) -> Int? { raw.map { fixedHosts + max(0, Int(($0 - 1e-6).rounded(.up))) } }
        /// The bound the search may stop at.
        func proof(_ raw: Double?) -> Int? { ownBoundHolds ? hosts(raw) : otherBound }
        let latest = realizeBy - realizeSeconds
        let outcome = master.run(
            start: patterns(of: start).filter(fitsItsShape), deadline: deadline, searchUntil: latest, searchPlans: searchPlans,
            consider: { chosen, source in
                // Keeps a realized plan that beats the one in hand.
                guard monotonicSeconds() <= latest else { return }
                if let decisions = realize(chosen), let v = value(of: decisions), v < bestValue {
                    best = decisions
                    bestValue = v
                    how = source
                }
            },
            proven: { raw in proof(raw).map { bestValue <= $0 } == true },
            integerCap: { Double(bestValue == Int.max ? Int.max / 2 : bestValue - fixedHosts - 1) },
            integerTarget: { raw in Double(max(0, (proof(raw) ?? 0) - fixedHosts)) })
        guard bestValue < Int.max else { return nil }
        let unused = ownBoundHolds ? "" : " (its bound is not used: servers may stay beside servers of unknown layout where the worst case per node has no room for them)"
        return Outcome(decisions: best, value: bestValue, bound: ownBoundHolds ? hosts(outcome.bound) : nil,
                       converged: outcome.converged, patterns: outcome.columns,
                       note: "pattern model: \(outcome.columns) patterns over \(shapes.count) host shapes, \(outcome.rounds) pricing rounds\(outcome.converged ? ", LP converged" : "")\(unused); plan from the \(how)")
    }

    /// What realizing a choice of patterns and putting its plan in waves takes, estimated:
    /// 15 microseconds a mover. Measured on tiled 2,000 (8,000 hosts, 25,707 movers, release
    /// build, 2 cores): 0.17 s to realize a dive's 2,002 patterns, 0.12-0.19 s to order its
    /// moves (`executableWaves`). At a 1 s limit the dive's plan, realized past the model's
    /// deadline, then found no time to be ordered: 0.3 s spent past the limit for nothing.
    var realizeSeconds: Double { 0.000015 * Double(sub.totalMovers) }

    /// Hosts in use (consolidation) or touched (evacuation) after `decisions` (nil when some
    /// mover is unplaced or sent to the pool).
    func value(of decisions: [[Decision]]) -> Int? {
        let levels = sub.levels(decisions, objective: options.effectiveObjective, inventory: inventory)
        guard levels.unplaced == 0, levels.pool == 0 else { return nil }
        return Int(levels.primary)
    }

    /// Patterns onto concrete hosts of their shape (the most servers staying: an assignment per
    /// shape, node permutations included), then servers into the patterns' slots: first those
    /// already there, then the rest of each class, never onto another node of its own host.
    /// Over-coverage is dropped. Judged by the rule pipeline; nil when refused or incomplete.
    func realize(_ chosen: [ShapePattern]) -> [[Decision]]? {
        // Drop over-coverage: largest patterns keep their servers first.
        var need = demand
        var patterns: [ShapePattern] = []
        for p in chosen.sorted(by: { $0.counts.reduce(0, +) > $1.counts.reduce(0, +) }) {
            var q = p
            q.keep(upTo: &need)
            if q.counts.contains(where: { $0 > 0 }) { patterns.append(q) }
        }
        guard need.allSatisfy({ $0 == 0 }) else { return nil }
        // Movers per model class and origin (host, nodes), and where each sits in the decisions.
        var at: [[Origin: [Int]]] = Array(repeating: [:], count: flavors.count)
        var place: [Int: (c: Int, i: Int)] = [:]
        for (c, cls) in sub.classes.enumerated() {
            for (i, s) in cls.servers.enumerated() { place[s] = (c, i) }
            for (o, servers) in cls.origins { at[modelOf[c]][o, default: []] += servers }
        }
        for k in at.indices { for o in at[k].keys { at[k][o]!.sort() } }
        var decision: [[Decision?]] = sub.classes.map { Array(repeating: nil, count: $0.count) }
        // Assignment per shape.
        var byShape: [Int: [ShapePattern]] = [:]
        for p in patterns { byShape[p.shape, default: []].append(p) }
        var slots: [(host: Int, cls: Int, nodes: [Int])] = []
        for s in byShape.keys.sorted() {
            let all = byShape[s]!
            let hosts = shapes[s].hosts
            guard all.count <= hosts.count else { return nil }
            // Counts only: movers of the shape's one host staying, wherever they are.
            let staying = all.filter(\.countsOnly)
            let list = all.filter { !$0.countsOnly }
            if !staying.isEmpty {
                guard hosts.count == 1, list.isEmpty else { return nil }
                for p in staying {
                    for c in p.counts.indices where p.counts[c] > 0 {
                        var wanted = p.counts[c]
                        for o in at[c].keys.filter({ $0.host == hosts[0] }).sorted() where wanted > 0 {
                            var here = at[c][o]!
                            while wanted > 0, let m = here.popLast() {
                                decision[place[m]!.c][place[m]!.i] = .stay
                                wanted -= 1
                            }
                            at[c][o] = here
                        }
                        guard wanted == 0 else { return nil }
                    }
                }
                continue
            }
            let perms = nodePermutations(shapes[s].room)
            /// Servers that stay if pattern p goes to host h under perm.
            func stays(_ p: ShapePattern, _ h: Int, _ perm: [Int]) -> Int {
                var total = 0
                for n in p.perNode.indices {
                    for c in p.perNode[n].indices where p.perNode[n][c] > 0 {
                        total += min(p.perNode[n][c], at[c][Origin(host: h, nodes: [perm[n]])]?.count ?? 0)
                    }
                }
                var used: [Origin: Int] = [:]
                for sp in p.split {
                    let o = Origin(host: h, nodes: sp.nodes.map { perm[$0] }.sorted())
                    let have = at[sp.cls][o]?.count ?? 0
                    if used[o, default: 0] < have {
                        used[o, default: 0] += 1
                        total += 1
                    }
                }
                return total
            }
            // Only hosts that hold movers of a pattern's classes can keep any of them.
            var position: [Int: Int] = [:]
            for (o, h) in hosts.enumerated() { position[h] = o }
            var kindOf: [ShapePattern: Int] = [:]
            let kinds = list.map { p in kindOf[p] ?? { kindOf[p] = kindOf.count; return kindOf.count - 1 }() }
            guard let assigned = assignBins(list.count, hosts: hosts.count, exactLimit: 300, kinds: kinds, edges: { b in
                let p = list[b]
                var candidates = Set<Int>()
                for c in p.counts.indices where p.counts[c] > 0 {
                    for origin in at[c].keys { if let o = position[origin.host] { candidates.insert(o) } }
                }
                return candidates.sorted().compactMap { o in
                    var bw = 0, bq = 0
                    for (q, perm) in perms.enumerated() {
                        let v = stays(p, hosts[o], perm)
                        if v > bw { bw = v; bq = q }
                    }
                    return bw > 0 ? (o: o, w: bw, perm: bq) : nil
                }
            }) else { return nil }
            for (b, p) in list.enumerated() {
                let h = hosts[assigned[b].o]
                let perm = perms[assigned[b].perm]
                for node in p.perNode.indices {
                    for c in p.perNode[node].indices where p.perNode[node][c] > 0 {
                        for _ in 0..<p.perNode[node][c] { slots.append((h, c, [perm[node]])) }
                    }
                }
                for sp in p.split { slots.append((h, sp.cls, sp.nodes.map { perm[$0] }.sorted())) }
            }
        }
        // Servers already in a slot's place stay.
        var members = sub.fixedMembers  // per host: anti-affinity group members on it
        var open: [(host: Int, cls: Int, nodes: [Int])] = []
        for slot in slots {
            let o = Origin(host: slot.host, nodes: slot.nodes)
            if var here = at[slot.cls][o], let s = here.popLast() {
                at[slot.cls][o] = here
                decision[place[s]!.c][place[s]!.i] = .stay
                for g in inventory.groupsOfServer[inventory.servers[s].id] ?? [] { members[slot.host][g, default: 0] += 1 }
            } else {
                open.append(slot)
            }
        }
        // The rest of each class fills the open slots: never onto its own host, never beside a
        // member of its anti-affinity group. Group members go first (they have fewer choices).
        var left: [[(s: Int, host: Int, groups: [Int])]] = at.map { byOrigin in
            byOrigin.keys.sorted().flatMap { o in
                byOrigin[o]!.map { (s: $0, host: o.host, groups: inventory.groupsOfServer[inventory.servers[$0].id] ?? []) }
            }.sorted { ($0.groups.isEmpty ? 1 : 0, $0.s) < ($1.groups.isEmpty ? 1 : 0, $1.s) }
        }
        guard let filled = Self.fill(open, with: &left, members: &members) else { return nil }
        for f in filled { decision[place[f.s]!.c][place[f.s]!.i] = .host(f.host, f.nodes) }
        guard left.allSatisfy({ $0.isEmpty }) else { return nil }
        var out: [[Decision]] = []
        for c in decision.indices {
            var row: [Decision] = []
            for d in decision[c] {
                guard let d else { return nil }
                row.append(d)
            }
            out.append(row)
        }
        guard planner.admitted(out, sub: sub, options: options, movers: planner.movers(of: sub)) else { return nil }
        return out
    }

    /// A mover left to place: its server, the local host it is on, its anti-affinity groups.
    typealias Left = (s: Int, host: Int, groups: [Int])

    /// `open` slots (local host, model class, nodes) filled from `left` (per class), in order:
    /// each with the first server of its class that is not on the slot's own host and has no
    /// member of its anti-affinity groups there (`members`: per host, group members on it; kept
    /// up to date). Where only servers of the slot's own host are left for it (or group members
    /// it may not take), a server of no group placed earlier in a slot of the class takes this
    /// one and one left of no group takes that slot. Without that exchange, a choice of patterns
    /// whose last slot of a class lay on the host of the last server of that class was lost
    /// (generated fleet 7623 under `any`: every choice the node recombination found, 45 hosts).
    /// Each server placed, where; nil when a slot finds none.
    static func fill(_ open: [(host: Int, cls: Int, nodes: [Int])], with left: inout [[Left]], members: inout [[Int: Int]])
        -> [(s: Int, host: Int, nodes: [Int])]?
    {
        var filled: [(slot: (host: Int, cls: Int, nodes: [Int]), m: Left)] = []
        for slot in open {
            if let k = left[slot.cls].firstIndex(where: { m in
                m.host != slot.host && m.groups.allSatisfy { (members[slot.host][$0] ?? 0) == 0 }
            }) {
                let m = left[slot.cls].remove(at: k)
                for g in m.groups { members[slot.host][g, default: 0] += 1 }
                filled.append((slot, m))
                continue
            }
            var exchange: (j: Int, k: Int)?
            for j in filled.indices where exchange == nil && filled[j].slot.cls == slot.cls && filled[j].m.groups.isEmpty
                && filled[j].m.host != slot.host
            {
                exchange = left[slot.cls].firstIndex { $0.groups.isEmpty && $0.host != filled[j].slot.host }.map { (j, $0) }
            }
            guard let (j, k) = exchange else { return nil }
            let earlier = filled[j].m
            filled[j].m = left[slot.cls].remove(at: k)
            filled.append((slot, earlier))
        }
        return filled.map { (s: $0.m.s, host: $0.slot.host, nodes: $0.slot.nodes) }
    }
}
