// SPDX-License-Identifier: GPL-3.0-or-later

import Planner
import PropertyBased
import TestSupport
import Testing
import Topology

@Suite struct LayoutVerdictTests {
    static let node = Resources(vcpus: 32, memoryMiB: 131072)

    static func usage(known: [Resources], unknown: [Flavor]) -> HostUsage {
        var u = HostUsage(capacity: Array(repeating: node, count: known.count))
        for (n, used) in known.enumerated() where used != .zero {
            // Known usage as one pseudo-server per node.
            u.add(Flavor(name: "known-\(n)", resources: used), nodes: [n])
        }
        for f in unknown { u.add(f, nodes: nil) }
        return u
    }

    static func flavor(_ v: Int, _ k: Int = 1) -> Flavor {
        Flavor(name: "f\(v)x\(k)", resources: Resources(vcpus: v * k, memoryMiB: v * k * 1024), numaNodes: k)
    }

    /// Worst-case accounting says no, but every arrangement of two 8-vCPU servers leaves a node
    /// with 16 free: the exact verdict is certain.
    @Test func exactVerdictIsCertainWhereTheWorstCaseIsNot() {
        let u = Self.usage(
            known: [Resources(vcpus: 16, memoryMiB: 16384), Resources(vcpus: 8, memoryMiB: 8192)],
            unknown: [Self.flavor(8), Self.flavor(8)])
        #expect(Fit.fit(Self.flavor(16), free: u.freeWorst, capacity: u.capacity) == nil)
        #expect(LayoutVerdict.verdict(Self.flavor(16), on: u) == .certain)
    }

    @Test func possibleAndImpossible() {
        // node 0: 16 free, node 1: 8 free, one unknown 8-vCPU server: fits only if it sits on node 1.
        let u = Self.usage(
            known: [Resources(vcpus: 16, memoryMiB: 16384), Resources(vcpus: 24, memoryMiB: 24576)],
            unknown: [Self.flavor(8)])
        #expect(LayoutVerdict.verdict(Self.flavor(16), on: u) == .possible)
        #expect(LayoutVerdict.verdict(Self.flavor(20), on: u) == .impossible)
        #expect(LayoutVerdict.verdict(Self.flavor(4), on: u) == .certain)
    }

    /// Solver-backed verdicts are remembered by everything they depend on: questions that
    /// differ in one thing only (known use, servers of unknown layout, concurrent arrivals, node
    /// sizes) each get their own answer, asked right after the other.
    @Test func rememberedVerdictsKeepEveryDependency() {
        let base = Self.usage(
            known: [Resources(vcpus: 16, memoryMiB: 16384), Resources(vcpus: 8, memoryMiB: 8192)],
            unknown: [Self.flavor(8), Self.flavor(8)])
        let target = Self.flavor(16)
        // Each twice: the second answer comes from memory.
        for _ in 0..<2 {
            #expect(LayoutVerdict.verdict(target, on: base) == .certain)
            // Known use only: both nodes at 16 free; the two unknown servers may take 8 of each.
            let moreKnown = Self.usage(
                known: [Resources(vcpus: 16, memoryMiB: 16384), Resources(vcpus: 16, memoryMiB: 16384)],
                unknown: [Self.flavor(8), Self.flavor(8)])
            #expect(LayoutVerdict.verdict(target, on: moreKnown) == .possible)
            // Concurrent arrivals only: one more 8-vCPU server may land first.
            #expect(LayoutVerdict.verdict(target, on: base, concurrent: [Self.flavor(8): 1]) == .possible)
            // Servers of unknown layout only: a third one.
            let moreUnknown = Self.usage(
                known: [Resources(vcpus: 16, memoryMiB: 16384), Resources(vcpus: 8, memoryMiB: 8192)],
                unknown: [Self.flavor(8), Self.flavor(8), Self.flavor(8)])
            #expect(LayoutVerdict.verdict(target, on: moreUnknown) == .possible)
            // Node sizes only: 24-vCPU nodes leave 8 and 16, and the unknown servers never leave 16.
            var smaller = HostUsage(capacity: Array(repeating: Resources(vcpus: 24, memoryMiB: 131072), count: 2))
            smaller.add(Flavor(name: "known-0", resources: Resources(vcpus: 16, memoryMiB: 16384)), nodes: [0])
            smaller.add(Flavor(name: "known-1", resources: Resources(vcpus: 8, memoryMiB: 8192)), nodes: [1])
            for _ in 0..<2 { smaller.add(Self.flavor(8), nodes: nil) }
            #expect(LayoutVerdict.verdict(target, on: smaller) == .impossible)
        }
    }

    /// Agrees with enumerating every arrangement on hosts of 2 to 4 nodes.
    @Test func agreesWithEnumeration() async {
        await propertyCheck(count: propertyCount(200), input: Gen.int(in: 0...1_000_000), Gen.int(in: 2...4), Gen.int(in: 1...4)) { seed, nodes, unknownCount in
            var rng = SplitMix64(seed: UInt64(seed))
            let known = (0..<nodes).map { _ in Resources(vcpus: 4 * rng.below(6), memoryMiB: 4096 * rng.below(20)) }
            let unknown = (0..<unknownCount).map { _ in Self.flavor(2 * (1 + rng.below(5)), 1 + rng.below(min(2, nodes))) }
            let target = Self.flavor(2 * (1 + rng.below(8)), 1 + rng.below(nodes))
            let u = Self.usage(known: known, unknown: unknown)
            var fitsSome = false
            var fitsAll = true
            var anyValid = false
            forEachArrangement(of: unknown, on: u.freeKnown) { free in
                anyValid = true
                let fits = Fit.fit(target, free: free, capacity: u.capacity) != nil
                fitsSome = fitsSome || fits
                fitsAll = fitsAll && fits
            }
            guard anyValid else { return }  // no arrangement at all: not an inventory that loads
            let expected: FitVerdict = !fitsSome ? .impossible : (fitsAll ? .certain : .possible)
            #expect(LayoutVerdict.verdict(target, on: u) == expected, "known \(known) unknown \(unknown.map(\.name)) target \(target.name)")
        }
    }
}

@Suite struct LayoutVerdictScaleTests {
    /// The benchmark's host: 60 servers of unknown layout on 4 nodes; neither quick test decides,
    /// so both integer programs run, and the verdict is "possible".
    @Test func sixtyServersOnFourNodes() {
        let (usage, probe) = sixtyServersOfUnknownLayout()
        #expect(Fit.fit(probe, free: usage.freeWorst, capacity: usage.capacity) == nil)
        #expect(Fit.fit(probe, free: usage.freeKnown, capacity: usage.capacity) != nil)
        #expect(LayoutVerdict.verdict(probe, on: usage) == .possible)
        #expect(LayoutVerdict.verdict(Flavor(name: "big", resources: Resources(vcpus: 28, memoryMiB: 1024)), on: usage) == .impossible)
    }
}
