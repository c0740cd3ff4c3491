// SPDX-License-Identifier: GPL-3.0-or-later
//
// Run: ENABLE_BENCHMARKS=1 swift package --scratch-path .build-bench benchmark --target DehplanBenchmarks

import Benchmark
import GLPK
import Generator
import Planner
import TestSupport
import Topology

/// 10,000 hosts of the 4-NUMA-node type h4 with 50,000 servers (the scale of issue #2).
let largeConfig = InventoryGenerator.Config(
    seed: 2026, hosts: 10_000, servers: 50_000, availabilityZones: ["eu-de-01", "eu-de-02", "eu-de-03"],
    unknownLayoutFraction: 0.02, shutoffFraction: 0.8, antiAffinityGroups: 200, hostTypeNames: ["h4"], maxFill: 0.9)

let benchmarks: @Sendable () -> Void = {
    // As the dehplan command does (Entry.swift): keep freed memory for GLPK's next simplex call.
    GLPKMemory.retainFreedMemory()
    planBenchmarks()
    lookupBenchmarks()
    verdictAndWaveBenchmarks()
}

/// The exact unknown-layout verdict for one host with 60 servers, and wave ordering of 1,000 moves.
let verdictAndWaveBenchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal]

    // 60 servers of unknown layout on a 4-node host: both integer programs of the verdict run
    // (the same host as LayoutVerdictScaleTests checks).
    let (usage, probe) = sixtyServersOfUnknownLayout()

    Benchmark(
        "unknown-layout verdict: one host, 60 servers of unknown layout (certain/possible/impossible)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(10), maxIterations: 200)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(LayoutVerdict.verdict(probe, on: usage, remembered: false))
        }
    }

    Benchmark(
        "unknown-layout verdict: the same question again (remembered answer)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(10), maxIterations: 200)
    ) { benchmark in
        _ = LayoutVerdict.verdict(probe, on: usage)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(LayoutVerdict.verdict(probe, on: usage))
        }
        benchmark.stopMeasurement()
    }

    // The same kind of question on an 8-node host (48 vCPUs and 192 GiB a node, two thirds in
    // use by 40 servers of unknown layout: one-, two- and four-node flavors), with and without
    // three concurrent arrivals: the search over arrangements grows with the nodes.
    var eight = HostUsage(capacity: Array(repeating: Resources(vcpus: 48, memoryMiB: 196_608), count: 8))
    let one = Flavor(name: "s", resources: Resources(vcpus: 4, memoryMiB: 16384))
    let two = Flavor(name: "w", resources: Resources(vcpus: 8, memoryMiB: 32768), numaNodes: 2)
    let four = Flavor(name: "q", resources: Resources(vcpus: 16, memoryMiB: 65536), numaNodes: 4)
    for _ in 0..<24 { eight.add(one, nodes: nil) }
    for _ in 0..<12 { eight.add(two, nodes: nil) }
    for _ in 0..<4 { eight.add(four, nodes: nil) }
    let eightProbe = Flavor(name: "probe", resources: Resources(vcpus: 24, memoryMiB: 98304))
    for concurrent in [[:], [two: 3]] as [[Flavor: Int]] {
        Benchmark(
            "unknown-layout verdict: 8-node host, 40 servers of unknown layout, \(concurrent.isEmpty ? "no" : "3") concurrent arrivals",
            configuration: .init(metrics: metrics, maxDuration: .seconds(10), maxIterations: 200)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(LayoutVerdict.verdict(eightProbe, on: eight, concurrent: concurrent, remembered: false))
            }
        }
    }

    // 1,000 moves: evacuate hosts of a generated region until 1,000 servers must leave.
    let region = InventoryGenerator.generate(.init(
        seed: 1000, hosts: 700, servers: 2800, availabilityZones: ["az1"], unknownLayoutFraction: 0, shutoffFraction: 1,
        faultFraction: 0, antiAffinityGroups: 0, hostTypeNames: ["c6", "m6"], maxFill: 0.5))
    let (sources, _) = hostsToEvacuate(region.hosts, of: region, until: 1000)
    let planner = BatchPlanner(region)
    let options = PlanOptions(mode: .evacuate(sources), timeLimit: 10, maxParallel: 50, maxPerHostParallel: 4)
    let moves = (try? planner.plan(options).moves) ?? []

    Benchmark(
        "waves: order \(moves.count) moves (max 50 per wave, 4 per host)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(10), maxIterations: 50)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(planner.orderWaves(moves, options: options))
        }
    }
}

let lookupBenchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal]

    // Built once, outside the measured closures.
    let inventory = InventoryGenerator.generate(largeConfig)
    let bytes = Array(inventory.json().serialized(pretty: false).utf8)
    let checker = Checker(inventory)
    let movable = inventory.servers.filter { $0.dedicatedHostID != nil && $0.isStopped }.prefix(64).map(\.id)

    Benchmark(
        "inventory load: 10,000 hosts x 4 nodes, 50,000 servers",
        configuration: .init(metrics: metrics, maxDuration: .seconds(20), maxIterations: 10)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Inventory.decode(bytes: bytes))
        }
    }

    Benchmark(
        "checker setup (per-node usage index) for the same inventory",
        configuration: .init(metrics: metrics, maxDuration: .seconds(10), maxIterations: 20)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Checker(inventory))
        }
    }

    Benchmark(
        "targets: one server over 10,000 hosts x 4 nodes",
        configuration: .init(metrics: metrics, maxDuration: .seconds(10), maxIterations: 2_000)
    ) { benchmark in
        var i = 0
        for _ in benchmark.scaledIterations {
            blackHole(checker.targets(serverID: movable[i % movable.count]))
            i += 1
        }
    }

    Benchmark(
        "check: one server against one host (with explanations)",
        configuration: .init(metrics: metrics, scalingFactor: .kilo, maxDuration: .seconds(5))
    ) { benchmark in
        let hosts = inventory.hosts
        var i = 0
        for _ in benchmark.scaledIterations {
            blackHole(checker.check(serverID: movable[i % movable.count], target: .host(hosts[i % hosts.count].id)))
            i += 1
        }
    }
}

/// Plan benchmarks at the three sizes of the planner issue. Inventories come from the generator
/// (2-node host types c6 and m6, one AZ); see docs/PERFORMANCE.md for how each is built.
let planBenchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal]

    // Evacuation: 50 partly filled targets plus the hosts whose 40+ SHUTOFF servers leave.
    let evacuation = InventoryGenerator.generate(.init(
        seed: 40, hosts: 60, servers: 260, availabilityZones: ["az1"], unknownLayoutFraction: 0, shutoffFraction: 1,
        faultFraction: 0, antiAffinityGroups: 0, hostTypeNames: ["c6", "m6"], maxFill: 0.6))
    let (sources, leaving) = hostsToEvacuate(evacuation.hosts.reversed(), of: evacuation, until: 40)
    let consolidate400 = InventoryGenerator.generate(.init(
        seed: 400, hosts: 100, servers: 400, availabilityZones: ["az1"], hostTypeNames: ["c6", "m6"]))
    let consolidate4000 = InventoryGenerator.generate(.init(
        seed: 4000, hosts: 1000, servers: 4000, availabilityZones: ["az1"], hostTypeNames: ["c6", "m6"]))

    Benchmark(
        "plan evacuate: \(leaving) servers off \(sources.count) hosts onto \(evacuation.hosts.count - sources.count) partly filled 2-node hosts",
        configuration: .init(metrics: metrics, maxDuration: .seconds(10), maxIterations: 50)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try BatchPlanner(evacuation).plan(PlanOptions(mode: .evacuate(sources), timeLimit: 30)))
        }
    }

    Benchmark(
        "plan consolidate: 400 servers on 100 hosts",
        configuration: .init(metrics: metrics, maxDuration: .seconds(20), maxIterations: 10)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try BatchPlanner(consolidate400).plan(PlanOptions(mode: .consolidate, timeLimit: 30)))
        }
    }

    Benchmark(
        "plan consolidate: 4,000 servers on 1,000 hosts (10 s limit)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(40), maxIterations: 3)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try BatchPlanner(consolidate4000).plan(PlanOptions(mode: .consolidate, timeLimit: 10)))
        }
    }
}

/// Hosts taken in order until at least `count` servers are on them; returns their ids and the server count.
func hostsToEvacuate(_ hosts: some Sequence<Host>, of inventory: Inventory, until count: Int) -> ([String], Int) {
    var ids: [String] = []
    var servers = 0
    for host in hosts where servers < count {
        ids.append(host.id)
        servers += inventory.servers.filter { $0.dedicatedHostID == host.id }.count
    }
    return (ids, servers)
}
