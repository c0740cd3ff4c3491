// SPDX-License-Identifier: GPL-3.0-or-later
//
// Run: ENABLE_BENCHMARKS=1 swift package --scratch-path .build-bench benchmark --target DehplanBenchmarks

import Benchmark
import Planner
import Topology

/// 10,000 hosts of the 4-NUMA-node type h4 with 50,000 servers (the scale of issue #2).
let largeConfig = InventoryGenerator.Config(
    seed: 2026, hosts: 10_000, servers: 50_000, availabilityZones: ["eu-de-01", "eu-de-02", "eu-de-03"],
    unknownLayoutFraction: 0.02, shutoffFraction: 0.8, antiAffinityGroups: 200, hostTypeNames: ["h4"], maxFill: 0.9)

let benchmarks: @Sendable () -> Void = {
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
