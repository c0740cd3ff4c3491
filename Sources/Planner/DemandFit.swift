// SPDX-License-Identifier: GPL-3.0-or-later

import GLPK
import Topology

/// "Does this mix of new servers fit, and if not, how many hosts must be added?"
///
/// One integer program over all demanded flavors at once: for every candidate host (available,
/// in the zone, of a type that accepts the flavor), how many servers of each flavor go on each
/// set of k distinct NUMA nodes, within each node's free vCPUs and memory. Hosts that may be
/// added are empty hosts of the listed types, opened by binaries (identical hosts of one type are
/// opened in order, which breaks their symmetry); the objective is lexicographic: servers left
/// unplaced (only for flavors no addable type accepts), then added hosts, then their vCPUs.
///
/// Hosts with servers of unknown layout count with their worst-case room per node under the
/// `certain` policy (each node minus every unknown server's per-node share: sound, may
/// understate), and with the arrangement of those servers as further integer variables under
/// `possible` (fits under some arrangement).
public struct DemandFit: Sendable {
    /// One demanded flavor and how many servers of it.
    public struct Item: Hashable, Sendable {
        public let flavor: String
        public let count: Int
        public init(flavor: String, count: Int) {
            self.flavor = flavor
            self.count = count
        }
    }

    /// Options of a demand fit.
    public struct Options: Sendable {
        public var zone: String?
        /// Host types that may be added; nil means every type of the inventory.
        public var addHostTypes: [String]?
        public var policy: LayoutPolicy
        public var timeLimit: Double
        public init(zone: String? = nil, addHostTypes: [String]? = nil, policy: LayoutPolicy = .certain, timeLimit: Double = 30) {
            self.zone = zone
            self.addHostTypes = addHostTypes
            self.policy = policy
            self.timeLimit = timeLimit
        }
    }

    /// Servers of one flavor on one set of nodes of one host.
    public struct Slot: Hashable, Sendable {
        public let flavor: String
        public let nodes: [Int]
        public let count: Int
    }

    /// What goes on one host (existing, or added).
    public struct HostPlacement: Hashable, Sendable {
        /// The existing host's id, or nil for an added host.
        public let hostID: String?
        /// For an added host: a label such as `new-<type>-1`.
        public let newHostLabel: String?
        public let hostType: String
        public let availabilityZone: String
        public let slots: [Slot]
        /// Servers per flavor on this host.
        public var servers: [String: Int] { slots.reduce(into: [:]) { $0[$1.flavor, default: 0] += $1.count } }
        /// The id, or the label of an added host.
        public var name: String { hostID ?? newHostLabel ?? "?" }
    }

    /// Servers of a flavor that cannot be placed even with added hosts.
    public struct Shortfall: Hashable, Sendable {
        public let flavor: String
        public let count: Int
        public let reason: String
    }

    /// The answer.
    public struct Result: Sendable {
        /// `optimal` (proven), `feasible` (time limit: best found, with a bound) or `greedy`
        /// (the solver found nothing in time: a first-fit-decreasing answer).
        public enum Status: String, Sendable { case optimal, feasible, greedy }
        public let status: Status
        /// True when the whole demand fits on the existing hosts.
        public var fits: Bool { addedHosts == 0 && shortfall.isEmpty }
        public let placements: [HostPlacement]
        /// Added hosts per type, in the order of the types.
        public let added: [(hostType: String, count: Int)]
        public var addedHosts: Int { added.reduce(0) { $0 + $1.count } }
        public let addedVCPUs: Int
        /// Proven lower bound on the number of hosts to add (equal to `addedHosts` when optimal).
        public let addedHostsBound: Int
        public let shortfall: [Shortfall]
        public let zone: String?
        public let policy: LayoutPolicy
        public let seconds: Double
        public let variables: Int
        public let constraints: Int
    }

    public let inventory: Inventory

    public init(_ inventory: Inventory) { self.inventory = inventory }

    /// Parses `FLAVOR=N,FLAVOR=N`.
    public static func parse(_ text: String, inventory: Inventory) throws(PlanError) -> [Item] {
        var items: [Item] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "=", omittingEmptySubsequences: false).map { String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()) }
            guard pieces.count == 2, !pieces[0].isEmpty, let n = Int(pieces[1]), n >= 0 else {
                throw PlanError(message: "--demand: \"\(part)\" is not FLAVOR=COUNT (e.g. --demand \"c7.large.2=10,m7.xlarge.8=4\")")
            }
            guard inventory.flavors[pieces[0]] != nil else {
                var message = "--demand: no flavor \"\(pieces[0])\" in the inventory"
                if let guess = closestMatch(to: pieces[0], in: inventory.flavorOrder) { message += "; did you mean \"\(guess)\"?" }
                throw PlanError(message: message)
            }
            if let i = items.firstIndex(where: { $0.flavor == pieces[0] }) {
                items[i] = Item(flavor: pieces[0], count: items[i].count + n)
            } else {
                items.append(Item(flavor: pieces[0], count: n))
            }
        }
        if items.isEmpty { throw PlanError(message: "--demand: empty; give FLAVOR=COUNT pairs, comma-separated") }
        return items
    }

    /// A host the demand may use, with the room it offers per node.
    struct Bin {
        let hostID: String?
        let label: String?
        let type: HostType
        let zone: String
        /// Room per node (worst case under `certain`; known-layout free under `possible`).
        let room: [Resources]
        /// Under `possible`: the host's usage, whose unknown servers become variables.
        let unknown: HostUsage?
    }

    /// Decides whether `demand` fits and, if not, the fewest hosts to add.
    public func solve(_ demand: [Item], options: Options) throws(PlanError) -> Result {
        let start = monotonicNow()
        if !(options.timeLimit.isFinite && options.timeLimit > 0) {
            throw PlanError(message: "--time-limit must be a positive number of seconds")
        }
        _ = try HeadroomReport.zones(of: inventory, checking: options.zone)
        let addTypes = options.addHostTypes ?? inventory.hostTypeOrder
        for name in addTypes where inventory.hostTypes[name] == nil {
            var message = "--add-host-type: no host type \"\(name)\" in the inventory"
            if let guess = closestMatch(to: name, in: inventory.hostTypeOrder) { message += "; did you mean \"\(guess)\"?" }
            throw PlanError(message: message)
        }
        let items = demand.filter { $0.count > 0 }
        if items.isEmpty {
            return Result(
                status: .optimal, placements: [], added: [], addedVCPUs: 0, addedHostsBound: 0, shortfall: [],
                zone: options.zone, policy: options.policy, seconds: monotonicNow() - start, variables: 0, constraints: 0)
        }
        let flavors = items.map { inventory.flavors[$0.flavor]! }

        // Existing hosts with room for at least one demanded flavor.
        let state = PlacementState(inventory)
        var bins: [Bin] = []
        for (h, host) in inventory.hosts.enumerated()
        where host.state == .available && (options.zone == nil || host.availabilityZone == options.zone) {
            guard let type = inventory.hostTypes[host.hostType] else { continue }
            let usage = state.usage[h]
            let possible = options.policy == .possible && usage.hasUnknownLayout
            let room = usage.free(under: options.policy)
            guard flavors.contains(where: { type.supports($0.name) && Headroom.count($0, free: room) > 0 }) else { continue }
            bins.append(Bin(hostID: host.id, label: nil, type: type, zone: host.availabilityZone, room: room, unknown: possible ? usage : nil))
        }

        // Added hosts: per type, at most what first-fit-decreasing needs for all the demand it
        // accepts on empty hosts of that type (a minimal answer never needs more of one type).
        let newZone = options.zone ?? "any"
        var newBins: [(type: HostType, count: Int)] = []
        var addableFlavors = Set<String>()  // flavors some addable type takes on an empty host
        for name in addTypes {
            let type = inventory.hostTypes[name]!
            let accepted = items.indices.filter { type.supports(flavors[$0].name) && Headroom.count(flavors[$0], free: type.numaNodes) > 0 }
            let n = Self.firstFitDecreasingHosts(accepted.map { (flavors[$0], items[$0].count) }, capacity: type.numaNodes)
            if n > 0 {
                newBins.append((type, n))
                for i in accepted { addableFlavors.insert(flavors[i].name) }
            }
            for j in 0..<n {
                bins.append(Bin(hostID: nil, label: "new-\(name)-\(j + 1)", type: type, zone: newZone, room: type.numaNodes, unknown: nil))
            }
        }

        // The model.
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
            if !addableFlavors.contains(item.flavor) {
                let u = model.addVariable(kind: .integer, lower: 0, upper: Double(item.count), objective: weightUnplaced)
                unplacedVars[i] = u
                terms.append((u, 1))
            }
            model.addEqual(terms, Double(item.count))
        }

        let remaining = max(0.05, options.timeLimit - (monotonicNow() - start))
        let solution: Solution
        do {
            solution = try model.solve(SolveOptions(timeLimit: remaining))
        } catch {
            throw PlanError(message: "the solver failed on the demand model: \(error)")
        }

        var counts: [[Int]] = slotVars.map { $0.map { _ in 0 } }  // per bin, per slot
        var opened = Array(repeating: false, count: bins.count)
        var unplaced = Array(repeating: 0, count: items.count)
        var status: Result.Status
        if (solution.status == .optimal || solution.status == .feasible) && solution.hasSolution {
            status = solution.status == .optimal ? .optimal : .feasible
            for b in bins.indices {
                for (s, slot) in slotVars[b].enumerated() { counts[b][s] = Int(solution[slot.v].rounded()) }
                if let v = openVars[b] { opened[b] = solution[v] > 0.5 }
            }
            for i in items.indices { if let u = unplacedVars[i] { unplaced[i] = Int(solution[u].rounded()) } }
        } else {
            // No solution in time: place greedily (largest first, first bin whose nodes take it).
            status = .greedy
            var free = bins.map(\.room)
            let order = items.indices.sorted { Self.size(flavors[$0]) > Self.size(flavors[$1]) }
            for i in order {
                // Bins only fill: one that cannot take this flavor now never will, so the scan
                // resumes where the previous server of the flavor stopped (linear in servers).
                var b = 0
                for _ in 0..<items[i].count {
                    var placed = false
                    while b < bins.count {
                        if bins[b].unknown == nil && bins[b].type.supports(flavors[i].name),
                            let fit = Fit.fit(flavors[i], free: free[b], capacity: bins[b].type.numaNodes),
                            let s = slotVars[b].firstIndex(where: { $0.item == i && $0.nodes == fit.nodes })
                        {
                            for n in fit.nodes { free[b][n] -= flavors[i].perNode }
                            counts[b][s] += 1
                            if bins[b].hostID == nil { opened[b] = true }
                            placed = true
                            break
                        }
                        b += 1
                    }
                    if !placed { unplaced[i] += 1 }
                }
            }
        }

        // Check the answer independently of the model: node capacities, distinct nodes, types.
        var placements: [HostPlacement] = []
        for (b, bin) in bins.enumerated() {
            var used = Array(repeating: Resources.zero, count: bin.room.count)
            var slots: [Slot] = []
            for (s, slot) in slotVars[b].enumerated() where counts[b][s] > 0 {
                let flavor = flavors[slot.item]
                guard bin.type.supports(flavor.name), Set(slot.nodes).count == flavor.numaNodes else {
                    throw PlanError(message: "internal error: demand placement on \(bin.hostID ?? bin.label ?? "?") breaks a constraint; please report")
                }
                for n in slot.nodes { used[n] += Resources(vcpus: flavor.perNode.vcpus * counts[b][s], memoryMiB: flavor.perNode.memoryMiB * counts[b][s]) }
                slots.append(Slot(flavor: flavor.name, nodes: slot.nodes, count: counts[b][s]))
            }
            if bin.hostID == nil && !opened[b] && !slots.isEmpty {
                throw PlanError(message: "internal error: servers placed on an added host that was not opened; please report")
            }
            if bin.unknown == nil {
                for n in used.indices where !bin.room[n].covers(used[n]) {
                    throw PlanError(message: "internal error: demand placement overcommits node \(n) of \(bin.hostID ?? bin.label ?? "?"); please report")
                }
            } else if let usage = bin.unknown, !Self.arrangementExists(usage, extraUse: used) {
                throw PlanError(message: "internal error: demand placement on \(bin.hostID ?? "?") leaves no arrangement of its unknown servers; please report")
            }
            if !slots.isEmpty {
                placements.append(HostPlacement(
                    hostID: bin.hostID, newHostLabel: bin.label, hostType: bin.type.name, availabilityZone: bin.zone, slots: slots))
            }
        }
        for (i, item) in items.enumerated() {
            let placed = placements.reduce(0) { $0 + ($1.servers[item.flavor] ?? 0) }
            if placed + unplaced[i] != item.count {
                throw PlanError(message: "internal error: \(placed) of \(item.count) \(item.flavor) placed, \(unplaced[i]) reported unplaced; please report")
            }
        }
        var added: [(hostType: String, count: Int)] = []
        var addedVCPUs = 0
        for nb in newBins {
            let n = placements.filter { $0.hostID == nil && $0.hostType == nb.type.name }.count
            if n > 0 { added.append((nb.type.name, n)) }
            addedVCPUs += n * nb.type.numaNodes.total.vcpus
        }
        let addedCount = added.reduce(0) { $0 + $1.count }
        var bound = addedCount
        if status != .optimal {
            // objective = weightUnplaced·U + weightHost·H + V with V < weightHost.
            let unplacedTotal = unplaced.reduce(0, +)
            if let b = solution.bound, b.isFinite {
                let hostPart = b - weightUnplaced * Double(unplacedTotal) - (weightHost - 1)
                bound = max(0, min(addedCount, Int((hostPart / weightHost).rounded(.up))))
            } else {
                bound = 0
            }
        }
        var shortfall: [Shortfall] = []
        for (i, item) in items.enumerated() where unplaced[i] > 0 {
            let why = addTypes.isEmpty
                ? "no existing host has room left and no host type may be added"
                : "no existing host has room left and no addable host type (\(addTypes.joined(separator: ", "))) accepts it"
            shortfall.append(Shortfall(flavor: item.flavor, count: unplaced[i], reason: why))
        }
        return Result(
            status: status, placements: placements, added: added, addedVCPUs: addedVCPUs, addedHostsBound: bound,
            shortfall: shortfall, zone: options.zone, policy: options.policy, seconds: monotonicNow() - start,
            variables: model.variableCount, constraints: model.constraintCount)
    }

    static func size(_ f: Flavor) -> Double { Double(f.resources.vcpus) + Double(f.resources.memoryMiB) / 4096 }

    /// Hosts of one (empty) type that first-fit-decreasing needs for these servers.
    static func firstFitDecreasingHosts(_ demand: [(Flavor, Int)], capacity: [Resources]) -> Int {
        var hosts: [[Resources]] = []
        for (flavor, count) in demand.sorted(by: { size($0.0) > size($1.0) }) {
            // Hosts only fill, so one that cannot take this flavor now never will: the scan for
            // the next server of the flavor starts where the last one stopped (linear, not
            // quadratic, in the servers: 100,000 of one flavor took 10 s before).
            var start = 0
            for _ in 0..<count {
                while start < hosts.count && Fit.fit(flavor, free: hosts[start], capacity: capacity) == nil { start += 1 }
                if start < hosts.count {
                    let fit = Fit.fit(flavor, free: hosts[start], capacity: capacity)!
                    for n in fit.nodes { hosts[start][n] -= flavor.perNode }
                } else if let fit = Fit.fit(flavor, free: capacity, capacity: capacity) {
                    var fresh = capacity
                    for n in fit.nodes { fresh[n] -= flavor.perNode }
                    hosts.append(fresh)
                }
            }
        }
        return hosts.count
    }

    /// Whether the unknown servers of `usage` can still be arranged with `extraUse` taken per node.
    static func arrangementExists(_ usage: HostUsage, extraUse: [Resources]) -> Bool {
        var reduced = HostUsage(capacity: zip(usage.freeKnown, extraUse).map { $0 - $1 })
        for (flavor, count) in usage.unknownFlavors { for _ in 0..<count { reduced.add(flavor, nodes: nil) } }
        if reduced.freeKnown.contains(where: { $0.vcpus < 0 || $0.memoryMiB < 0 }) { return false }
        var a = LayoutVerdict.Arrangement(reduced, extra: nil)
        a.addCapacityRows()
        return LayoutVerdict.feasible(a.model) ?? false
    }
}
