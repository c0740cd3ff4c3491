// SPDX-License-Identifier: GPL-3.0-or-later

import Planner
import Topology

/// A self-contained HTML report of an inventory and, optionally, a plan: inline CSS and SVG,
/// no script, no font or image from the network.
///
/// It opens with a summary (hosts, servers, hosts released, plan status, objective, bound and
/// gap), then headroom per flavor and zone (NUMA-aware count next to the naive estimate), NUMA
/// fragmentation (free capacity no flavor in use can take), the moves grouped by wave with their
/// verdicts, and every host's NUMA nodes before and after the plan with servers as blocks (moved
/// ones highlighted). Hosts the plan touches are drawn in detail; the others are listed compactly
/// in collapsible groups. At scale (`pairsShownOpen`, `wavesShownOpen`, `tileThreshold`) certain
/// host pairs, later waves and the drawings sit in closed blocks under an overview of tiles, so
/// the page opens short.
public struct Report {
    public let inventory: Inventory
    public let plan: Plan?
    /// Shown in the header (e.g. the file names); plain text.
    public let title: String
    public let layoutPolicy: LayoutPolicy
    /// Seconds for the headroom counts' integer programs, before and after the plan together
    /// (nil: no limit); past them a count shows what is proven (≥N).
    public let timeLimit: Double?
    /// At most this many hosts drawn in detail (touched hosts first): every host a plan of a
    /// 1,000-host fleet touches.
    public var detailedHostLimit = 2_000
    /// Above this many moves, the moves of a wave are grouped by source -> target host pair,
    /// each pair collapsible.
    public var pairGroupingThreshold = 100
    /// Hosts per collapsible group in the compact list and in the detailed drawings.
    public var groupSize = 100
    /// Host pairs whose verdicts are all certain are listed in view up to this many on the whole
    /// page, wave after wave; a wave whose pairs do not fit in what is left has them in one
    /// closed block. Counted per wave instead, a plan of 50 waves of up to 30 pairs each opened
    /// 21,474 px tall (a 1,000-host consolidation made on a busy machine; 10,883 px in 2 waves).
    public var pairsShownOpen = 30
    /// Where moves are grouped by host pair, waves after this many sit in one closed block
    /// (its summary counts their moves, pairs and verdicts short of certain).
    public var wavesShownOpen = 20
    /// Above this many touched hosts, the detailed drawings sit in closed groups of `groupSize`
    /// under an overview that draws every touched host as a small tile (per node, vCPUs and
    /// memory before and after).
    public var tileThreshold = 100

    public init(inventory: Inventory, plan: Plan?, title: String, layoutPolicy: LayoutPolicy = .certain, timeLimit: Double? = nil) {
        self.inventory = inventory
        self.plan = plan
        self.title = title
        self.layoutPolicy = layoutPolicy
        self.timeLimit = timeLimit
    }

    /// One move with the verdict of its target when its wave starts.
    public struct MoveVerdict: Sendable {
        public let move: Move
        public let flavor: String
        public let verdict: FitVerdict
    }

    /// Free capacity on a host's nodes that no flavor in use (and accepted by its type) can take.
    public struct Stranded: Sendable {
        public let hostID: String
        public let vcpus: Int
        public let memoryMiB: Int
    }

    // MARK: Computations (public so that tests check them, not just the HTML)

    /// Replays the plan wave by wave (targets taken when a move starts, sources freed when the
    /// wave completes) and takes each move's verdict from the fit function and the exact
    /// unknown-layout check at that moment.
    public func moveVerdicts() -> [MoveVerdict] {
        guard let plan else { return [] }
        // The planner's own replay and rule pipeline, under the plan's placement model.
        let verdicts = PlanValidator.verdicts(
            of: plan.moves, on: inventory, options: Checker.Options(layoutPolicy: layoutPolicy, placement: plan.placement))
        return zip(plan.moves, verdicts).compactMap { move, verdict in
            inventory.server(move.serverID).map { MoveVerdict(move: move, flavor: $0.flavor, verdict: verdict) }
        }
    }

    /// Per host, free capacity on nodes where no in-use flavor the host type accepts fits (for a
    /// flavor spanning k nodes: unless at least k nodes take its share). Servers of unknown
    /// layout count against the nodes at their worst.
    public static func stranded(_ inventory: Inventory) -> [Stranded] {
        let state = PlacementState(inventory)
        let inUse = Set(inventory.servers.map(\.flavor)).compactMap { inventory.flavors[$0] }
        var result: [Stranded] = []
        for (h, host) in inventory.hosts.enumerated() where host.state == .available {
            let usage = state.usage[h]
            let free = usage.free(under: .certain)
            let accepted = inUse.filter { inventory.hostTypes[host.hostType]?.supports($0.name) == true }
            var usable = Array(repeating: false, count: free.count)
            for flavor in accepted {
                let nodes = free.indices.filter { free[$0].covers(flavor.perNode) }
                if nodes.count >= flavor.numaNodes { for n in nodes { usable[n] = true } }
            }
            var v = 0, m = 0
            for n in free.indices where !usable[n] {
                v += max(0, free[n].vcpus)
                m += max(0, free[n].memoryMiB)
            }
            if v > 0 || m > 0 { result.append(Stranded(hostID: host.id, vcpus: v, memoryMiB: m)) }
        }
        return result
    }

    // MARK: HTML

    /// The whole page.
    public func html() -> String {
        let after = plan.map { inventory.applying($0.moves) }
        let before = PlacementState(inventory)
        let afterState = after.map(PlacementState.init)
        let moved = Set(plan?.moves.map(\.serverID) ?? [])
        let touched = Set(plan?.moves.flatMap { [$0.from, $0.to].compactMap { $0 } } ?? [])
        let usedBefore = before.usage.filter { $0.serverCount > 0 }.count
        let usedAfter = afterState?.usage.filter { $0.serverCount > 0 }.count
        let released = afterState.map { a in inventory.hosts.indices.filter { before.usage[$0].serverCount > 0 && a.usage[$0].serverCount == 0 } } ?? []

        var out = HTMLWriter()
        out.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        out.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        out.raw("<title>dehplan report: \(escape(title))</title>\n<style>\(Self.css)</style>\n</head>\n<body>\n")
        out.raw("<header><h1>dehplan report</h1><p class=\"sub\">\(escape(title))</p></header>\n<main>\n")

        // Summary first.
        out.raw("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">\n")
        out.card("Hosts", "\(inventory.hosts.count)", "\(inventory.hosts.filter { $0.state == .available }.count) available")
        out.card("Servers", "\(inventory.servers.count)", "\(inventory.servers.filter { $0.dedicatedHostID != nil }.count) on DeHs")
        if let plan, let usedAfter {
            out.card("Hosts in use", "\(usedBefore) → \(usedAfter)", "\(released.count) released")
            out.card("Moves", "\(plan.moves.count)", "\(plan.waveCount) wave\(plan.waveCount == 1 ? "" : "s")")
            out.card("Plan", plan.status.rawValue, "\(plan.objectiveName) = \(number(plan.objectiveValue))", cls: plan.status == .optimal ? "ok" : (plan.status == .infeasible ? "bad" : "warn"))
            out.card("Bound / gap", plan.objectiveBound.map(number) ?? "none", plan.gap.map { "gap \(percent($0))" } ?? "no bound")
            out.card("Cloud placement", plan.placement.rawValue, "NUMA nodes are \(plan.placement.nodesMeaning)")
        } else {
            out.card("Hosts in use", "\(usedBefore)", "no plan given")
        }
        let strandedBefore = Self.stranded(inventory)
        let strandedAfter = after.map(Self.stranded)
        let share = timeLimit.map { after == nil ? $0 : $0 / 2 }
        let rowsBefore = try? HeadroomReport(inventory, policy: layoutPolicy, timeLimit: share).rows
        let rowsAfter = after.flatMap { try? HeadroomReport($0, policy: layoutPolicy, timeLimit: share).rows }
        let vcpusBefore = strandedBefore.reduce(0) { $0 + $1.vcpus }, memoryBefore = strandedBefore.reduce(0) { $0 + $1.memoryMiB }
        if let strandedAfter {
            // Bad news first: stranded capacity that grows.
            let vcpus = strandedAfter.reduce(0) { $0 + $1.vcpus }, memory = strandedAfter.reduce(0) { $0 + $1.memoryMiB }
            let grows = vcpus > vcpusBefore || memory > memoryBefore
            out.card("Stranded free capacity after the plan", "\(vcpus) vCPUs, \(gib(memory)) GiB",
                     "\(grows ? "grows; " : "")before: \(vcpusBefore) vCPUs, \(gib(memoryBefore)) GiB on \(strandedBefore.count) hosts; after on \(strandedAfter.count)",
                     cls: grows ? "warn" : "ok")
        } else {
            out.card("Stranded free capacity", "\(vcpusBefore) vCPUs", "\(gib(memoryBefore)) GiB on \(strandedBefore.count) hosts")
        }
        if let rowsBefore, let rowsAfter {
            // And headroom that drops: flavors of which fewer servers fit after the plan.
            let drops = zip(rowsBefore, rowsAfter).filter { $1.count < $0.count }
            if let worst = drops.max(by: { $0.0.count - $0.1.count < $1.0.count - $1.1.count }) {
                out.card("Headroom after the plan", "\(drops.count) flavor\(drops.count == 1 ? "" : "s") drop",
                         "worst: \(worst.0.flavor) (\(worst.0.availabilityZone)) \(worst.0.count) → \(worst.1.count)", cls: "warn")
            } else {
                out.card("Headroom after the plan", "no drop", "every flavor fits at least as often", cls: "ok")
            }
        }
        out.raw("</div>\n")
        if let plan {
            if !released.isEmpty {
                let list = compactList(released.map { inventory.hosts[$0].id })
                out.raw("<details\(released.count <= 30 ? " open" : "")><summary><b>Released (\(released.count))</b></summary><p class=\"ids\">\(escape(list))</p></details>\n")
            }
            for note in plan.notes { out.raw("<p class=\"note\">Note: \(escape(note))</p>\n") }
        }
        out.raw("</section>\n")

        // Headroom.
        out.raw("<section id=\"headroom\"><h2>Headroom</h2><p>Additional servers of each flavor that fit now, NUMA-aware (exact per flavor, layout policy \(layoutPolicy.rawValue); ≥ marks a count proven but not exact), next to the naive estimate from free totals; <i>loss</i> is what NUMA fragmentation takes away.\(after == nil ? "" : " Before and after the plan.")</p>\n")
        if let rowsBefore {
            out.raw("<table class=\"grid\"><thead><tr><th>zone</th><th>flavor</th><th>count</th><th>naive</th><th>loss</th>\(rowsAfter == nil ? "" : "<th>count after</th><th>loss after</th>")</tr></thead><tbody>\n")
            for (i, r) in rowsBefore.enumerated() {
                out.raw("<tr><td>\(escape(r.availabilityZone))</td><td>\(escape(r.flavor))</td><td class=\"n\">\(r.countShown)</td><td class=\"n\">\(r.naiveCount)</td><td class=\"n\(r.fragmentationLoss > 0 ? " loss" : "")\">\(r.lossShown)</td>")
                if let rowsAfter, i < rowsAfter.count {
                    out.raw("<td class=\"n\(rowsAfter[i].count < r.count ? " loss" : "")\">\(rowsAfter[i].countShown)</td><td class=\"n\">\(rowsAfter[i].lossShown)</td>")
                }
                out.raw("</tr>\n")
            }
            out.raw("</tbody></table>\n")
        }
        out.raw("</section>\n")

        // Fragmentation.
        out.raw("<section id=\"fragmentation\"><h2>Fragmentation</h2><p>Free capacity on NUMA nodes that no flavor in use on that host type can take (a flavor spanning k nodes needs k nodes with its share free).</p>\n")
        if strandedBefore.isEmpty {
            out.raw("<p>None: every free node can take some flavor in use.</p>\n")
        } else {
            let top = strandedBefore.sorted { ($0.vcpus, $0.memoryMiB) > ($1.vcpus, $1.memoryMiB) }.prefix(20)
            out.raw("<table class=\"grid\"><thead><tr><th>host</th><th>stranded vCPUs</th><th>stranded GiB</th></tr></thead><tbody>\n")
            for s in top { out.raw("<tr><td>\(escape(s.hostID))</td><td class=\"n\">\(s.vcpus)</td><td class=\"n\">\(gib(s.memoryMiB))</td></tr>\n") }
            out.raw("</tbody></table>\n")
            if strandedBefore.count > top.count { out.raw("<p>… and \(strandedBefore.count - top.count) more hosts.</p>\n") }
        }
        if let strandedAfter {
            out.raw("<p>After the plan: \(strandedAfter.reduce(0) { $0 + $1.vcpus }) vCPUs / \(gib(strandedAfter.reduce(0) { $0 + $1.memoryMiB })) GiB stranded on \(strandedAfter.count) hosts.</p>\n")
        }
        out.raw("</section>\n")

        // Moves by wave.
        if let plan {
            out.raw("<section id=\"moves\"><h2>Moves by wave</h2>\n")
            out.raw("<p>Planned under cloud placement <b>\(plan.placement.rawValue)</b>: the NUMA nodes below are \(plan.placement.nodesMeaning). The migrate call names a host, never a node.</p>\n")
            if plan.moves.isEmpty { out.raw("<p>No moves.</p>\n") }
            let verdicts = moveVerdicts()
            let grouped = plan.moves.count > pairGroupingThreshold
            if grouped {
                out.raw("<p>\(plan.moves.count) moves: each wave lists its source → target host pairs; open a pair for its servers. Verdicts short of certain are counted on the pair.</p>\n")
            }
            func table(_ items: [MoveVerdict]) {
                out.raw("<table class=\"grid\"><thead><tr><th>server</th><th>flavor</th><th>from</th><th>to</th><th>NUMA nodes (\(plan.placement.rawValue))</th><th>verdict</th></tr></thead><tbody>\n")
                for v in items.sorted(by: { $0.move.serverID < $1.move.serverID }) {
                    let nodes = v.move.numaNodes.map { $0.map(String.init).joined(separator: ", ") } ?? "–"
                    out.raw("<tr><td>\(escape(v.move.serverID))</td><td>\(escape(v.flavor))</td><td>\(escape(v.move.from ?? "pool"))</td><td>\(escape(v.move.to ?? "pool"))</td><td>\(nodes)</td><td class=\"v-\(v.verdict.rawValue)\">\(v.verdict.rawValue)</td></tr>\n")
                }
                out.raw("</tbody></table>\n")
            }
            var openPairsLeft = pairsShownOpen
            let byWave = Dictionary(grouping: verdicts, by: \.move.wave).sorted(by: { $0.key < $1.key })
            for (index, (wave, items)) in byWave.enumerated() {
                if grouped && index == wavesShownOpen {
                    let later = byWave[index...].flatMap(\.value)
                    let pairCount = Set(later.map { PairKey($0.move) }).count
                    let unsure = later.filter { $0.verdict != .certain }.count
                    out.raw("<details class=\"waves\"><summary>Waves \(wave)–\(byWave.last!.key): \(later.count) moves between \(pairCount) host pairs\(unsure > 0 ? " <span class=\"tag bad\">\(unsure) not certain</span>" : "")</summary>\n")
                }
                guard grouped else {
                    out.raw("<h3>Wave \(wave) <span class=\"sub\">(\(items.count) move\(items.count == 1 ? "" : "s"))</span></h3>\n")
                    table(items)
                    continue
                }
                let pairs = Dictionary(grouping: items) { PairKey($0.move) }
                    .sorted { ($0.key.from, $0.key.to) < ($1.key.from, $1.key.to) }
                let unsure = items.filter { $0.verdict != .certain }.count
                out.raw("<h3>Wave \(wave) <span class=\"sub\">(\(items.count) move\(items.count == 1 ? "" : "s") between \(pairs.count) host pair\(pairs.count == 1 ? "" : "s")\(unsure > 0 ? ", \(unsure) not certain" : ""))</span></h3>\n")
                func pairBlock(_ pair: PairKey, _ list: [MoveVerdict]) {
                    let flavors = Dictionary(grouping: list, by: \.flavor).sorted { $0.key < $1.key }.map { "\($0.value.count) × \($0.key)" }.joined(separator: ", ")
                    let bad = list.filter { $0.verdict != .certain }.count
                    out.raw("<details class=\"pair\"><summary>\(escape(pair.from)) → \(escape(pair.to)): \(escape(flavors))\(bad > 0 ? " <span class=\"tag bad\">\(bad) not certain</span>" : "")</summary>\n")
                    table(list)
                    out.raw("</details>\n")
                }
                // Pairs with a verdict short of certain stay in view; a wave's other pairs sit in
                // one closed block, so a page of thousands of moves opens short (and fast).
                let (doubtful, sure) = (pairs.filter { $0.value.contains { $0.verdict != .certain } }, pairs.filter { !$0.value.contains { $0.verdict != .certain } })
                for (pair, list) in doubtful { pairBlock(pair, list) }
                if sure.count > openPairsLeft {
                    out.raw("<details class=\"wave\"><summary>\(sure.count) host pair\(sure.count == 1 ? "" : "s") with \(sure.reduce(0) { $0 + $1.value.count }) moves, all certain</summary>\n")
                    for (pair, list) in sure { pairBlock(pair, list) }
                    out.raw("</details>\n")
                } else {
                    for (pair, list) in sure { pairBlock(pair, list) }
                    openPairsLeft -= sure.count
                }
            }
            if grouped && byWave.count > wavesShownOpen { out.raw("</details>\n") }
            if !plan.unplaced.isEmpty {
                out.raw("<h3>Unplaced (\(plan.unplaced.count))</h3><table class=\"grid\"><thead><tr><th>server</th><th>reason</th></tr></thead><tbody>\n")
                for u in plan.unplaced {
                    out.raw("<tr><td>\(escape(u.serverID))</td><td>\(u.reasons.map { "<code>\($0.code.rawValue)</code> \(escape($0.message))" }.joined(separator: "<br>"))</td></tr>\n")
                }
                out.raw("</tbody></table>\n")
            }
            out.raw("</section>\n")
        }

        // Hosts.
        out.raw("<section id=\"hosts\"><h2>Hosts</h2>\n")
        out.raw("<p class=\"legend\"><span class=\"sw srv\"></span> server <span class=\"sw in\"></span> moved in <span class=\"sw out\"></span> moving out <span class=\"sw unk\"></span> unknown layout (counted on every node at worst) — each NUMA node shows vCPUs (upper bar) and memory (lower bar).</p>\n")
        let order = inventory.hosts.indices.sorted { a, b in
            let ta = touched.contains(inventory.hosts[a].id), tb = touched.contains(inventory.hosts[b].id)
            if ta != tb { return ta }
            return inventory.hosts[a].id < inventory.hosts[b].id
        }
        // Servers per host, grouped once (not scanned again for every host drawn).
        let serversBefore = Dictionary(grouping: inventory.servers.filter { $0.dedicatedHostID != nil }) { $0.dedicatedHostID! }
        let serversAfter = after.map { a in Dictionary(grouping: a.servers.filter { $0.dedicatedHostID != nil }) { $0.dedicatedHostID! } } ?? [:]
        let detailed = order.prefix(detailedHostLimit).filter { touched.contains(inventory.hosts[$0].id) || touched.isEmpty && inventory.hosts.count <= 50 }
        if !detailed.isEmpty {
            out.raw("<h3>\(touched.isEmpty ? "All hosts" : "Hosts the plan touches") (\(detailed.count)\(touched.count > detailed.count ? " of \(touched.count)" : ""))</h3>\n")
            let releasedSet = Set(released)
            func drawing(_ h: Int) {
                let host = inventory.hosts[h]
                let mark = releasedSet.contains(h) ? " <span class=\"tag ok\">released</span>" : ""
                out.raw("<div class=\"host\"><h4>\(escape(host.id)) <span class=\"sub\">\(escape(host.hostType)), \(escape(host.availabilityZone)), \(host.state.rawValue)</span>\(mark)</h4>\n")
                out.raw("<div class=\"pair\"><figure><figcaption>before</figcaption>\(hostSVG(h, inventory: inventory, servers: serversBefore[host.id] ?? [], state: before, moved: moved, view: .before))</figure>")
                if let after, let afterState {
                    out.raw("<figure><figcaption>after</figcaption>\(hostSVG(h, inventory: after, servers: serversAfter[host.id] ?? [], state: afterState, moved: moved, view: .after))</figure>")
                }
                out.raw("</div></div>\n")
            }
            if detailed.count <= tileThreshold {
                out.raw("<div class=\"hostgrid\">\n")
                detailed.forEach(drawing)
                out.raw("</div>\n")
            } else {
                // Every touched host as a tile first (one screen for hundreds of hosts), then the
                // drawings in closed groups: the page opens short whatever the fleet's size.
                out.raw("<p class=\"legend\">Each tile: per NUMA node, vCPUs (upper) and memory (lower) in use before (left) and after (right); <span class=\"sw in\"></span> released hosts framed green. Hover for the numbers; the drawings follow in groups of \(groupSize).</p>\n<div class=\"tiles\">")
                for h in detailed {
                    out.raw(tileSVG(h, before: before.usage[h], after: afterState?.usage[h], released: releasedSet.contains(h)))
                }
                out.raw("</div>\n")
                for (chunk, label) in groups(detailed) {
                    out.raw("<details><summary>Drawings: \(label)</summary><div class=\"hostgrid\">\n")
                    chunk.forEach(drawing)
                    out.raw("</div></details>\n")
                }
            }
        }
        let detailedSet = Set(detailed)
        let rest = order.filter { !detailedSet.contains($0) }
        if !rest.isEmpty {
            out.raw("<h3>\(detailed.isEmpty ? "All hosts" : "Other hosts") (\(rest.count)), per NUMA node use \(after == nil ? "" : "after the plan")</h3>\n")
            let shownState = afterState ?? before
            for (chunk, label) in groups(rest) {
                out.raw("<details\(rest.count <= groupSize ? " open" : "")><summary>\(label)</summary><table class=\"compact\"><tbody>\n")
                for h in chunk {
                    let host = inventory.hosts[h]
                    out.raw("<tr><td>\(escape(host.id))</td><td class=\"sub\">\(escape(host.hostType)) · \(escape(host.availabilityZone))\(host.state == .available ? "" : " · \(host.state.rawValue)")</td><td>\(compactSVG(shownState.usage[h]))</td><td class=\"n\">\(shownState.usage[h].serverCount) servers</td></tr>\n")
                }
                out.raw("</tbody></table></details>\n")
            }
        }
        out.raw("</section>\n</main>\n<footer>dehplan · GPL-3.0-or-later · generated offline: no script, no network resources.</footer>\n</body>\n</html>\n")
        return out.text
    }

    enum View { case before, after }

    /// Host indices in runs of `groupSize`, each with its label: "first … last (n hosts)",
    /// escaped.
    func groups(_ hosts: [Int]) -> [(hosts: ArraySlice<Int>, label: String)] {
        stride(from: 0, to: hosts.count, by: max(1, groupSize)).map { start in
            let chunk = hosts[start..<min(start + max(1, groupSize), hosts.count)]
            let first = inventory.hosts[chunk.first!].id, last = inventory.hosts[chunk.last!].id
            return (chunk, "\(escape(first)) … \(escape(last)) (\(chunk.count) hosts)")
        }
    }

    /// One host: per node a vCPU bar and a memory bar with a block per server of known layout,
    /// plus one bar for the servers of unknown layout.
    func hostSVG(_ h: Int, inventory: Inventory, servers: [Server], state: PlacementState, moved: Set<String>, view: View) -> String {
        let usage = state.usage[h]
        let host = inventory.hosts[h]
        let width = 240.0, bar = 9.0, gap = 3.0, label = 26.0, numbers = 92.0
        var blocks: [[(server: Server, share: Resources)]] = Array(repeating: [], count: usage.capacity.count)
        var unknown: [Server] = []
        for server in servers {
            guard let flavor = inventory.flavors[server.flavor] else { continue }
            if let nodes = server.numaNodes {
                for n in nodes where n < blocks.count { blocks[n].append((server, flavor.perNode)) }
            } else {
                unknown.append(server)
            }
        }
        let rows = usage.capacity.count + (unknown.isEmpty ? 0 : 1)
        let height = Double(rows) * (2 * bar + gap + 4) + 2
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width + label + numbers + 4))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(escape(host.id)) NUMA nodes \(view == .before ? "before" : "after")\">"
        func cls(_ server: Server) -> String {
            guard moved.contains(server.id) else { return "srv" }
            return view == .before ? "out" : "in"
        }
        for (n, cap) in usage.capacity.enumerated() {
            let y = Double(n) * (2 * bar + gap + 4) + 1
            s += "<text x=\"0\" y=\"\(fmt(y + bar + 2))\" class=\"lbl\">n\(n)</text>"
            for (d, total) in [(0, Double(max(cap.vcpus, 1))), (1, Double(max(cap.memoryMiB, 1)))] {
                let yy = y + Double(d) * (bar + 1)
                s += "<rect x=\"\(fmt(label))\" y=\"\(fmt(yy))\" width=\"\(fmt(width))\" height=\"\(fmt(bar))\" class=\"cap\"/>"
                var x = label
                for (server, share) in blocks[n] {
                    let w = width * Double(d == 0 ? share.vcpus : share.memoryMiB) / total
                    s += "<rect x=\"\(fmt(x))\" y=\"\(fmt(yy))\" width=\"\(fmt(max(w, 0.5)))\" height=\"\(fmt(bar))\" class=\"\(cls(server))\"><title>\(escape(server.id)) \(escape(server.flavor))</title></rect>"
                    x += w
                }
                // The unknown servers' worst case on this node, hatched after the known ones.
                if usage.hasUnknownLayout {
                    let w = min(width - (x - label), width * Double(d == 0 ? usage.unknownShare.vcpus : usage.unknownShare.memoryMiB) / total)
                    if w > 0 { s += "<rect x=\"\(fmt(x))\" y=\"\(fmt(yy))\" width=\"\(fmt(w))\" height=\"\(fmt(bar))\" class=\"unk\"><title>servers of unknown layout (worst case)</title></rect>" }
                }
                // The numbers: used (known plus the unknown servers' worst case) of capacity.
                let used = usage.usedWorst(node: n)
                let text = d == 0 ? "\(min(used.vcpus, cap.vcpus))/\(cap.vcpus) vCPU" : "\(gib(min(used.memoryMiB, cap.memoryMiB)))/\(gib(cap.memoryMiB)) GiB"
                s += "<text x=\"\(fmt(label + width + 4))\" y=\"\(fmt(yy + bar - 1))\" class=\"num\">\(text)</text>"
            }
        }
        if !unknown.isEmpty {
            let y = Double(usage.capacity.count) * (2 * bar + gap + 4) + 1
            s += "<text x=\"0\" y=\"\(fmt(y + bar + 2))\" class=\"lbl\">?</text>"
            let names = unknown.map { "\($0.id) \($0.flavor)\(moved.contains($0.id) ? " (moved)" : "")" }.joined(separator: ", ")
            s += "<text x=\"\(fmt(label))\" y=\"\(fmt(y + bar + 2))\" class=\"lbl\"><title>\(escape(names))</title>\(unknown.count) server(s) of unknown layout</text>"
        }
        return s + "</svg>"
    }

    /// One touched host as a small tile: its id, and per node a vCPU and a memory bar before
    /// (left) and after (right) the plan; the numbers in the tooltip.
    func tileSVG(_ h: Int, before: HostUsage, after: HostUsage?, released: Bool) -> String {
        let id = inventory.hosts[h].id
        let w = 62.0, bar = 3.0, row = 9.0, top = 13.0
        let height = top + Double(before.capacity.count) * row + 1
        var tip = id
        var s = ""
        for (n, cap) in before.capacity.enumerated() {
            let y = top + Double(n) * row
            for (column, usage) in [(0, Optional(before)), (1, after)] {
                guard let usage else { continue }
                let x = 2 + Double(column) * (w + 6)
                let u = usage.usedWorst(node: n)
                for (d, frac) in [(0, Double(u.vcpus) / Double(max(cap.vcpus, 1))), (1, Double(u.memoryMiB) / Double(max(cap.memoryMiB, 1)))] {
                    let yy = y + Double(d) * (bar + 1)
                    s += "<rect x=\"\(fmt(x))\" y=\"\(fmt(yy))\" width=\"\(fmt(w))\" height=\"\(fmt(bar))\" class=\"cap\"/>"
                    if frac > 0 { s += "<rect x=\"\(fmt(x))\" y=\"\(fmt(yy))\" width=\"\(fmt(max(0.5, w * min(1, frac))))\" height=\"\(fmt(bar))\" class=\"\(usage.hasUnknownLayout ? "unk" : "srv")\"/>" }
                }
                tip += "\nn\(n) \(column == 0 ? "before" : "after"): \(min(u.vcpus, cap.vcpus))/\(cap.vcpus) vCPU, \(gib(min(u.memoryMiB, cap.memoryMiB)))/\(gib(cap.memoryMiB)) GiB"
            }
        }
        if released { tip += "\nreleased" }
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(2 * w + 10))\" height=\"\(Int(height))\" class=\"tile\(released ? " rel" : "")\"><title>\(escape(tip))</title><text x=\"2\" y=\"10\" class=\"lbl\">\(escape(id))</text>\(s)</svg>"
    }

    /// A small per-node utilisation strip (vCPUs) for the compact host list.
    func compactSVG(_ usage: HostUsage) -> String {
        let w = 50.0, h = 8.0
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(Double(usage.capacity.count) * (w + 4)))\" height=\"\(Int(2 * h + 2))\">"
        for (n, cap) in usage.capacity.enumerated() {
            let x = Double(n) * (w + 4)
            let used = usage.usedWorst(node: n)
            for (d, frac) in [(0, Double(used.vcpus) / Double(max(cap.vcpus, 1))), (1, Double(used.memoryMiB) / Double(max(cap.memoryMiB, 1)))] {
                let y = Double(d) * (h + 1)
                s += "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(w))\" height=\"\(fmt(h))\" class=\"cap\"/>"
                s += "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(w * min(1, frac)))\" height=\"\(fmt(h))\" class=\"srv\"><title>node \(n) \(d == 0 ? "vCPUs" : "memory") \(Int((min(1, frac) * 100).rounded())) %</title></rect>"
            }
        }
        return s + "</svg>"
    }

    static let css = """
        :root{--fg:#1d2330;--muted:#5b6474;--line:#d8dde6;--bg:#f7f8fa;--srv:#6b8cc7;--in:#2e9e5b;--out:#e08a2e;--unk:#9b6fc4;--cap:#eceff4}
        *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
        header{padding:16px 24px;background:#1d2330;color:#fff}header h1{margin:0;font-size:20px}header .sub{color:#c9d1e0;margin:4px 0 0}
        main{padding:8px 24px 24px;max-width:1400px}section{margin:18px 0}h2{font-size:17px;border-bottom:1px solid var(--line);padding-bottom:4px}
        h3{font-size:15px;margin:14px 0 6px}h4{margin:0 0 4px;font-size:13px}.sub{color:var(--muted);font-weight:normal}
        .cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:150px}
        .card .k{color:var(--muted);font-size:12px}.card .v{font-size:20px;font-weight:600}.card.ok .v{color:var(--in)}.card.warn .v{color:var(--out)}.card.bad .v{color:#c0392b}
        table.grid{border-collapse:collapse;background:#fff;margin:4px 0}table.grid th,table.grid td{border:1px solid var(--line);padding:3px 8px;text-align:left}
        table.grid th{background:#eef1f6}td.n{text-align:right;font-variant-numeric:tabular-nums}td.loss{color:#c0392b;font-weight:600}
        td.v-certain{color:var(--in)}td.v-possible{color:var(--out);font-weight:600}td.v-impossible{color:#c0392b;font-weight:600}
        .hostgrid{display:grid;grid-template-columns:repeat(auto-fill,minmax(760px,1fr));gap:10px}.host{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px;content-visibility:auto;contain-intrinsic-size:auto 110px}
        .pair{display:flex;gap:14px;flex-wrap:wrap}figure{margin:0}figcaption{font-size:11px;color:var(--muted)}
        .tag{font-size:11px;padding:1px 6px;border-radius:8px;background:#e6f4ea;color:var(--in)}
        svg .cap{fill:var(--cap)}svg .srv{fill:var(--srv);stroke:#fff;stroke-width:.5}svg .in{fill:var(--in);stroke:#fff;stroke-width:.5}
        svg .out{fill:var(--out);stroke:#fff;stroke-width:.5}svg .unk{fill:var(--unk);opacity:.55}svg .lbl{font-size:10px;fill:var(--muted)}svg .num{font-size:9px;fill:var(--fg)}
        .tiles{display:flex;flex-wrap:wrap;gap:4px}svg.tile{background:#fff;border:1px solid var(--line);border-radius:4px}svg.tile.rel{border:2px solid var(--in)}
        .tag.bad{background:#fdecea;color:#c0392b}details.pair{padding:2px 8px}p.ids{font-size:12px;margin:4px 0}
        .legend .sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin:0 3px 0 10px;border-radius:2px}
        .sw.srv{background:var(--srv)}.sw.in{background:var(--in)}.sw.out{background:var(--out)}.sw.unk{background:var(--unk);opacity:.55}
        details{background:#fff;border:1px solid var(--line);border-radius:6px;margin:4px 0;padding:4px 8px}summary{cursor:pointer;color:var(--muted)}
        table.compact td{padding:1px 8px 1px 0;font-size:12px}p.note{color:var(--muted)}footer{padding:12px 24px;color:var(--muted);font-size:12px}
        """

    func percent(_ x: Double) -> String { "\(Int((x * 100).rounded())) %" }
    /// MiB as GiB, one decimal at most ("144", "0.5").
    func gib(_ mib: Int) -> String { fmt(Double(mib) / 1024) }

    /// A move's source -> target host pair ("pool" for the public pool).
    struct PairKey: Hashable {
        let from: String
        let to: String
        init(_ move: Move) { (from, to) = (move.from ?? "pool", move.to ?? "pool") }
    }

    /// Host ids with runs of consecutive numbers collapsed: "deh-0001–0004, deh-0007, other-3".
    func compactList(_ ids: [String]) -> String {
        func split(_ id: String) -> (prefix: String, digits: String)? {
            let digits = String(id.reversed().prefix { $0.isNumber }.reversed())
            guard !digits.isEmpty, digits.count < 18 else { return nil }
            return (String(id.dropLast(digits.count)), digits)
        }
        var parts: [String] = []
        var run: (prefix: String, width: Int, first: Int, last: Int, firstID: String)?
        func flush() {
            guard let r = run else { return }
            let last = String(r.last)
            parts.append(r.first == r.last ? r.firstID : r.firstID + "–" + String(repeating: "0", count: max(0, r.width - last.count)) + last)
            run = nil
        }
        for id in ids.sorted() {
            if let (prefix, digits) = split(id), let value = Int(digits) {
                if let r = run, r.prefix == prefix, r.width == digits.count, value == r.last + 1 {
                    run!.last = value
                    continue
                }
                flush()
                run = (prefix, digits.count, value, value, id)
            } else {
                flush()
                parts.append(id)
            }
        }
        flush()
        return parts.joined(separator: ", ")
    }
    func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String((v * 1000).rounded() / 1000) }
    func fmt(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String((v * 10).rounded() / 10) }
}

/// Accumulates HTML.
struct HTMLWriter {
    var text = ""
    mutating func raw(_ s: String) { text += s }
    mutating func card(_ key: String, _ value: String, _ detail: String, cls: String = "") {
        text += "<div class=\"card \(cls)\"><div class=\"k\">\(escape(key))</div><div class=\"v\">\(escape(value))</div><div class=\"sub\">\(escape(detail))</div></div>\n"
    }
}

/// Escapes text for HTML element content and attribute values.
func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}
