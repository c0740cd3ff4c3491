// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

extension DemandFit {
    /// What one engine answers: per bin, what it receives; per demand item, servers left unplaced.
    struct Answer {
        var slots: [[Slot]]
        var unplaced: [Int]
        var status: Result.Status
        /// Proven lower bound on added hosts (0: none proven).
        var hostsBound: Int
        var unplacedProven: Bool
        /// Whole objective proven (vCPUs of the added hosts too), not only their number.
        var exact = false
        var variables: Int
        var constraints: Int
        var engine: String
        /// Per bin, servers placed on every arrangement of its servers of unknown layout
        /// beyond its room by rank (`completeOnArrangements`); empty when none.
        var extra: [[Slot]] = []
    }

    /// First fit decreasing: largest flavor first, each server on the first bin whose nodes take
    /// it (existing hosts before added ones). Bins with unknown-layout arrangements are skipped.
    static func greedy(bins: [Bin], items: [Item], flavors: [Flavor]) -> (slots: [[Slot]], unplaced: [Int]) {
        var free = bins.map(\.room)
        var counts: [[SlotKey: Int]] = Array(repeating: [:], count: bins.count)
        var order: [[SlotKey]] = Array(repeating: [], count: bins.count)
        var unplaced = Array(repeating: 0, count: items.count)
        for i in items.indices.sorted(by: { size(flavors[$0]) > size(flavors[$1]) }) {
            // Bins only fill: one that cannot take this flavor now never will, so the scan
            // resumes where the previous server of the flavor stopped (linear in servers).
            var b = 0
            for _ in 0..<items[i].count {
                var placed = false
                while b < bins.count {
                    if bins[b].unknown == nil && bins[b].type.supports(flavors[i].name),
                        let fit = Fit.fit(flavors[i], free: free[b], capacity: bins[b].type.numaNodes)
                    {
                        for n in fit.nodes { free[b][n] -= flavors[i].perNode }
                        let key = SlotKey(item: i, nodes: fit.nodes)
                        if counts[b][key] == nil { order[b].append(key) }
                        counts[b][key, default: 0] += 1
                        placed = true
                        break
                    }
                    b += 1
                }
                if !placed { unplaced[i] += 1 }
            }
        }
        let slots = bins.indices.map { b in
            order[b].map { Slot(flavor: flavors[$0.item].name, nodes: $0.nodes, count: counts[b][$0]!) }
        }
        return (slots, unplaced)
    }

    struct SlotKey: Hashable {
        let item: Int
        let nodes: [Int]
    }

    /// Past this many variables the per-host program is not tried after the pattern model.
    static let perHostLimit = 5_000
    /// Up to this many, it also settles the vCPU tie-break once the host count is proven.
    static let perHostTieBreakLimit = 500

    /// Variables of the per-host program: per bin and flavor it takes, one per set of nodes.
    static func perHostVariables(bins: [Bin], flavors: [Flavor]) -> Int {
        var total = 0
        for bin in bins {
            for f in flavors where bin.type.supports(f.name) && f.numaNodes <= bin.room.count {
                total += binomial(bin.room.count, f.numaNodes)
            }
        }
        return total
    }

    static func binomial(_ n: Int, _ k: Int) -> Int {
        guard k >= 0, k <= n else { return 0 }
        var r = 1
        for i in 0..<k { r = r * (n - i) / (i + 1) }
        return r
    }

    /// The better plan of two answers to the same demand (fewest unplaced, then added hosts, then
    /// their vCPUs), with the stronger of their bounds; optimal when the plan meets the bound.
    static func better(_ a: Answer, _ b: Answer, bins: [Bin]) -> Answer {
        func key(_ x: Answer) -> (Int, Int, Int) {
            var hosts = 0, vcpus = 0
            for (k, bin) in bins.enumerated() where bin.hostID == nil && x.slots[k].contains(where: { $0.count > 0 }) {
                hosts += 1
                vcpus += bin.type.numaNodes.total.vcpus
            }
            return (x.unplaced.reduce(0, +), hosts, vcpus)
        }
        var out = key(b) < key(a) && b.status != .greedy ? b : a
        out.unplacedProven = a.unplacedProven || b.unplacedProven
        out.hostsBound = max(a.unplacedProven ? a.hostsBound : 0, b.unplacedProven ? b.hostsBound : 0)
        out.variables = a.variables + b.variables
        out.constraints = a.constraints + b.constraints
        out.engine = "\(a.engine)+\(b.engine)"
        out.exact = (a.exact && key(a) <= key(out)) || (b.exact && key(b) <= key(out))
        if a.status == .optimal || b.status == .optimal || (out.unplacedProven && key(out).1 <= out.hostsBound) {
            out.status = .optimal
        } else if out.status == .greedy && (a.status != .greedy || b.status != .greedy) {
            out.status = .feasible
        }
        return out
    }

    /// One integer program over every bin and node (the arrangement of unknown-layout servers
    /// as further variables under `possible`); the greedy answer when it finds nothing better.
    func perHostAnswer(
        bins: [Bin], items: [Item], flavors: [Flavor], addable: Set<String>, newBins: [(type: HostType, count: Int)],
        greedy: (slots: [[Slot]], unplaced: [Int]), deadline: Double
    ) throws(PlanError) -> Answer {
        var model = Model()
        let weightVCPU = 1.0
        let totalNewVCPUs = newBins.reduce(0) { $0 + $1.count * $1.type.numaNodes.total.vcpus }
        let weightHost = Double(totalNewVCPUs + 1) * weightVCPU
        let weightUnplaced = weightHost * Double(newBins.reduce(0) { $0 + $1.count } + 1)
        var placeTerms: [[(Model.Variable, Double)]] = Array(repeating: [], count: items.count)
        var slotVars: [[(item: Int, nodes: [Int], v: Model.Variable)]] = Array(repeating: [], count: bins.count)
        var openVars: [Model.Variable?] = Array(repeating: nil, count: bins.count)
        var previousOpen: (type: String, v: Model.Variable)?
        for (b, bin) in bins.enumerated() {
            var terms: [[(Model.Variable, Double)]] = Array(repeating: [], count: bin.room.count * 2)
            for (i, flavor) in flavors.enumerated() where bin.type.supports(flavor.name) {
                let share = flavor.perNode
                let most = min(items[i].count, Headroom.count(flavor, free: bin.room))
                guard most > 0 else { continue }
                for nodes in nodeSubsets(of: bin.room.count, size: flavor.numaNodes) where nodes.allSatisfy({ bin.room[$0].covers(share) }) {
                    let x = model.addVariable(kind: .integer, lower: 0, upper: Double(most))
                    slotVars[b].append((i, nodes, x))
                    placeTerms[i].append((x, 1))
                    for n in nodes {
                        terms[2 * n].append((x, Double(share.vcpus)))
                        terms[2 * n + 1].append((x, Double(share.memoryMiB)))
                    }
                }
            }
            if let usage = bin.unknown {
                // The host's servers of unknown layout: each on some feasible set of nodes.
                let groups = usage.unknownFlavors.sorted { $0.key.name < $1.key.name }.map { ($0.key, $0.value) }
                LayoutVerdict.Arrangement.place(groups, room: bin.room, in: &model, terms: &terms)
            }
            var open: Model.Variable?
            if bin.hostID == nil {
                let v = model.addVariable(kind: .binary, objective: weightHost + weightVCPU * Double(bin.type.numaNodes.total.vcpus))
                open = v
                openVars[b] = v
                if let previous = previousOpen, previous.type == bin.type.name {
                    model.addGreaterOrEqual([(previous.v, 1), (v, -1)], 0)  // open new hosts of a type in order
                }
                previousOpen = (bin.type.name, v)
            }
            for n in bin.room.indices {
                for (d, room) in [(0, bin.room[n].vcpus), (1, bin.room[n].memoryMiB)] where !terms[2 * n + d].isEmpty {
                    if let open {
                        model.addLessOrEqual(terms[2 * n + d] + [(open, -Double(room))], 0)
                    } else {
                        model.addLessOrEqual(terms[2 * n + d], Double(room))
                    }
                }
            }
        }
        var unplacedVars: [Model.Variable?] = Array(repeating: nil, count: items.count)
        for (i, item) in items.enumerated() {
            var terms = placeTerms[i]
            if !addable.contains(item.flavor) {
                let u = model.addVariable(kind: .integer, lower: 0, upper: Double(item.count), objective: weightUnplaced)
                unplacedVars[i] = u
                terms.append((u, 1))
            }
            model.addEqual(terms, Double(item.count))
        }
        let solution: Solution
        do {
            solution = try model.solve(SolveOptions(timeLimit: max(0.05, deadline - monotonicSeconds())))
        } catch {
            throw PlanError(message: "the solver failed on the demand model: \(error)")
        }
        var answer = Answer(
            slots: greedy.slots, unplaced: greedy.unplaced, status: .greedy, hostsBound: 0, unplacedProven: false,
            variables: model.variableCount, constraints: model.constraintCount, engine: "per-host")
        if (solution.status == .optimal || solution.status == .feasible) && solution.hasSolution {
            answer.status = solution.status == .optimal ? .optimal : .feasible
            answer.slots = bins.indices.map { b in
                slotVars[b].compactMap { slot in
                    let n = Int(solution[slot.v].rounded())
                    return n > 0 ? Slot(flavor: flavors[slot.item].name, nodes: slot.nodes, count: n) : nil
                }
            }
            answer.unplaced = items.indices.map { i in unplacedVars[i].map { Int(solution[$0].rounded()) } ?? 0 }
        }
        let unplacedTotal = answer.unplaced.reduce(0, +)
        if answer.status == .optimal {
            answer.exact = true
            answer.unplacedProven = true
            answer.hostsBound = Int.max  // capped at the hosts added by the caller
        } else if let b = solution.bound, b.isFinite {
            // objective = weightUnplaced·U + weightHost·H + V with V < weightHost.
            answer.unplacedProven = b > weightUnplaced * Double(unplacedTotal) - 1
            if answer.unplacedProven || unplacedTotal == 0 {
                let hostPart = b - weightUnplaced * Double(unplacedTotal) - (weightHost - 1)
                answer.hostsBound = max(0, Int((hostPart / weightHost - 1e-9).rounded(.up)))
            }
        }
        return answer
    }
}

/// The demand fit as a configuration model over host shapes (`PatternMaster`): existing hosts
/// grouped by type and free room per node cost 0, added hosts of a type cost 1 (plus a tiny
/// share of their vCPUs, so fewer vCPUs break ties), and for flavors no addable type takes,
/// "left unplaced" costs more than every added host together. Exact pricing makes the LP
/// optimum a proof: a bound above 0 proves the demand does not fit on existing hosts.
struct DemandPatterns {
    let bins: [DemandFit.Bin]
    let items: [DemandFit.Item]
    let flavors: [Flavor]
    var shapes: [PatternMaster.Shape] = []
    var pricings: [ShapePricing] = []
    var binsOfShape: [[Int]] = []
    var shapeOfBin: [Int]
    /// Per item: the shape whose one pattern leaves one of its servers unplaced (flavors no
    /// addable host type takes).
    var unplacedShape: [Int?]
    /// Cost of "left unplaced": above every added host together.
    let unplacedCost: Double
    /// Added hosts cost 1 + at most `tieShare` for their vCPUs.
    static let tieShare = 0.001

    init?(bins: [DemandFit.Bin], items: [DemandFit.Item], flavors: [Flavor], addable: Set<String>, newBins: [(type: HostType, count: Int)]) {
        self.bins = bins
        self.items = items
        self.flavors = flavors
        let largestNew = max(1, newBins.map { $0.type.numaNodes.total.vcpus }.max() ?? 1)
        unplacedCost = Double(newBins.reduce(0) { $0 + $1.count }) * (1 + Self.tieShare) + 1
        shapeOfBin = Array(repeating: -1, count: bins.count)
        unplacedShape = Array(repeating: nil, count: items.count)
        var pricingOfType: [String: Int] = [:]
        var shapeKey: [String: [[Resources]: Int]] = [:]
        for (b, bin) in bins.enumerated() {
            let typeName = bin.type.name
            if pricingOfType[typeName] == nil {
                let accepted = items.indices.filter { bin.type.supports(flavors[$0].name) && Headroom.count(flavors[$0], free: bin.type.numaNodes) > 0 }
                let largest = bin.type.numaNodes.reduce(Resources.zero) {
                    Resources(vcpus: max($0.vcpus, $1.vcpus), memoryMiB: max($0.memoryMiB, $1.memoryMiB))
                }
                guard !accepted.isEmpty, let p = ShapePricing(flavors: flavors, accepted: accepted, largestNode: largest) else { return nil }
                pricingOfType[typeName] = pricings.count
                pricings.append(p)
            }
            // Existing hosts share a shape by type and room; the added hosts of a type are one shape.
            let key = bin.hostID == nil ? [Resources(vcpus: -1, memoryMiB: -1)] : bin.room
            if let s = shapeKey[typeName]?[key] {
                shapeOfBin[b] = s
                binsOfShape[s].append(b)
                continue
            }
            let p = pricingOfType[typeName]!
            let combos = pricings[p].combos(room: bin.room)
            let cost = bin.hostID == nil ? 1 + Self.tieShare * Double(bin.type.numaNodes.total.vcpus) / Double(largestNew) : 0
            shapeKey[typeName, default: [:]][key] = shapes.count
            shapeOfBin[b] = shapes.count
            binsOfShape.append([b])
            // Too many ways to lay split servers out: they are left out here, and no bound holds.
            shapes.append(PatternMaster.Shape(room: bin.room, count: 0, cost: cost, pricing: p,
                                              combos: combos ?? [ShapePricing.Combo(servers: [], left: bin.room)], exact: combos != nil))
        }
        for s in shapes.indices { shapes[s].count = binsOfShape[s].count }
        for (i, item) in items.enumerated() where !addable.contains(item.flavor) {
            var p = ShapePattern.empty(shape: shapes.count, nodes: 1, classes: items.count)
            p.addOneNode(i, node: 0)
            unplacedShape[i] = shapes.count
            shapes.append(PatternMaster.Shape(room: [], count: item.count, cost: unplacedCost, pricing: nil, combos: [], fixed: [p]))
            binsOfShape.append([])
        }
    }

    /// A choice of patterns, trimmed to the demand: its cost and what it adds.
    struct Choice {
        var patterns: [ShapePattern]
        var cost: Double
        var hosts: Int
        var unplaced: Int
    }

    /// Trims `chosen` to the demand (existing hosts keep their servers first, then added ones,
    /// "unplaced" last); nil when it does not cover the demand or uses more hosts than a shape has.
    func choice(_ chosen: [ShapePattern]) -> Choice? {
        var need = items.map(\.count)
        var kept: [ShapePattern] = []
        let ordered = chosen.enumerated().sorted {
            (shapes[$0.element.shape].cost, -$0.element.counts.reduce(0, +), $0.offset)
                < (shapes[$1.element.shape].cost, -$1.element.counts.reduce(0, +), $1.offset)
        }.map(\.element)
        var used = Array(repeating: 0, count: shapes.count)
        for p in ordered {
            var q = p
            q.keep(upTo: &need)
            guard q.counts.contains(where: { $0 > 0 }) else { continue }
            used[q.shape] += 1
            guard used[q.shape] <= shapes[q.shape].count else { return nil }
            kept.append(q)
        }
        guard need.allSatisfy({ $0 == 0 }) else { return nil }
        var cost = 0.0, hosts = 0, unplaced = 0
        for p in kept {
            cost += shapes[p.shape].cost
            if shapes[p.shape].pricing == nil {
                unplaced += p.counts.reduce(0, +)
            } else if shapes[p.shape].cost > 0 {
                hosts += 1
            }
        }
        return Choice(patterns: kept, cost: cost, hosts: hosts, unplaced: unplaced)
    }

    /// The patterns of an answer given per bin.
    func patterns(slots: [[DemandFit.Slot]], unplaced: [Int]) -> [ShapePattern] {
        var out: [ShapePattern] = []
        let index = Dictionary(uniqueKeysWithValues: items.enumerated().map { ($1.flavor, $0) })
        for (b, list) in slots.enumerated() where !list.isEmpty {
            let s = shapeOfBin[b]
            var p = ShapePattern.empty(shape: s, nodes: shapes[s].room.count, classes: items.count)
            for slot in list {
                let i = index[slot.flavor]!
                for _ in 0..<slot.count {
                    if slot.nodes.count == 1 { p.addOneNode(i, node: slot.nodes[0]) } else { p.addSplit(i, nodes: slot.nodes) }
                }
            }
            out.append(p)
        }
        for (i, n) in unplaced.enumerated() where n > 0 {
            guard let s = unplacedShape[i] else { continue }
            out += Array(repeating: shapes[s].fixed[0], count: n)
        }
        return out
    }

    /// Patterns onto bins: each shape's patterns on its bins in order (the bins of a shape are
    /// interchangeable: same type, same room per node).
    func answerSlots(_ choice: Choice) -> (slots: [[DemandFit.Slot]], unplaced: [Int]) {
        var slots: [[DemandFit.Slot]] = Array(repeating: [], count: bins.count)
        var unplaced = Array(repeating: 0, count: items.count)
        var next = Array(repeating: 0, count: shapes.count)
        for p in choice.patterns {
            if shapes[p.shape].pricing == nil {
                for (i, n) in p.counts.enumerated() { unplaced[i] += n }
                continue
            }
            let b = binsOfShape[p.shape][next[p.shape]]
            next[p.shape] += 1
            var list: [DemandFit.Slot] = []
            for n in p.perNode.indices {
                for i in p.perNode[n].indices where p.perNode[n][i] > 0 {
                    list.append(DemandFit.Slot(flavor: flavors[i].name, nodes: [n], count: p.perNode[n][i]))
                }
            }
            var split: [DemandFit.SlotKey: Int] = [:]
            var order: [DemandFit.SlotKey] = []
            for sp in p.split {
                let key = DemandFit.SlotKey(item: sp.cls, nodes: sp.nodes)
                if split[key] == nil { order.append(key) }
                split[key, default: 0] += 1
            }
            for key in order { list.append(DemandFit.Slot(flavor: flavors[key.item].name, nodes: key.nodes, count: split[key]!)) }
            slots[b] = list
        }
        return (slots, unplaced)
    }

    func solve(greedy: (slots: [[DemandFit.Slot]], unplaced: [Int]), deadline: Double) -> DemandFit.Answer {
        let start = patterns(slots: greedy.slots, unplaced: greedy.unplaced)
        var best = choice(start)
        var fromGreedy = true
        /// Added hosts proven necessary (given the fewest unplaced), from the master's raw bound.
        func hostsBound(_ raw: Double?, unplaced: Int) -> Int {
            guard let raw else { return 0 }
            return max(0, Int(((raw - unplacedCost * Double(unplaced)) / (1 + Self.tieShare) - 1e-6).rounded(.up)))
        }
        /// Whether no plan leaves fewer servers unplaced: such a plan costs at most
        /// unplacedCost · (unplaced - 1) + every added host < unplacedCost · unplaced - 1 + ...
        func unplacedProven(_ raw: Double?, unplaced: Int) -> Bool {
            unplaced == 0 || (raw.map { $0 > unplacedCost * Double(unplaced) - 1 + 1e-6 } ?? false)
        }
        var masterTried = false
        let master = PatternMaster(demand: items.map(\.count), shapes: shapes, pricings: pricings, artificialCost: 2 * unplacedCost + 10)
        let outcome = master.run(
            start: start, deadline: deadline, searchPlans: true,
            consider: { chosen, _ in
                if let c = choice(chosen), best.map({ c.cost < $0.cost - 1e-9 }) ?? true {
                    best = c
                    fromGreedy = false
                }
            },
            proven: { raw in
                guard let best, let raw else { return false }
                if best.cost <= raw + 1e-7 { return true }
                // The fewest hosts are proven; the vCPU tie-break is what the integer master found.
                return masterTried && unplacedProven(raw, unplaced: best.unplaced) && best.hosts <= hostsBound(raw, unplaced: best.unplaced)
            },
            integerCap: { best.map { $0.cost - 1e-6 } },
            integerTarget: { raw in
                masterTried = true
                return raw ?? 0
            })
        let raw = outcome.bound
        var answer = DemandFit.Answer(
            slots: greedy.slots, unplaced: greedy.unplaced, status: .greedy, hostsBound: 0, unplacedProven: false,
            variables: outcome.columns, constraints: items.count + shapes.count, engine: "patterns")
        guard let best else { return answer }
        if !fromGreedy { (answer.slots, answer.unplaced) = answerSlots(best) }
        answer.unplacedProven = unplacedProven(raw, unplaced: best.unplaced)
        if answer.unplacedProven { answer.hostsBound = hostsBound(raw, unplaced: best.unplaced) }
        answer.exact = raw.map { best.cost <= $0 + 1e-7 } ?? false
        if answer.unplacedProven && best.hosts <= answer.hostsBound {
            answer.status = .optimal  // fewest unplaced, then fewest added hosts: proven
        } else if !fromGreedy {
            answer.status = .feasible
        }
        return answer
    }
}
