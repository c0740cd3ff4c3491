// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Planner
import Topology

/// Shared helpers for dehplan's test targets.
public enum Fixtures {
    /// The package root (found from this file's location).
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// Path of a file under `samples/`.
    public static func sample(_ name: String) -> String {
        packageRoot.appendingPathComponent("samples").appendingPathComponent(name).path
    }

    /// A 2-node host type "c6" (32 vCPUs / 131072 MiB per node) and its flavors, as JSON-ready dictionaries.
    public static func baseDocument() -> [String: Any] {
        [
            "host_types": [
                "c6": [
                    "numa_nodes": [["vcpus": 32, "memory_mib": 131072], ["vcpus": 32, "memory_mib": 131072]],
                    "flavors": ["c6.xlarge.4", "c6.4xlarge.4", "c6.8xlarge.4"],
                ],
                "h4": [
                    "numa_nodes": Array(repeating: ["vcpus": 24, "memory_mib": 98304], count: 4),
                    "flavors": ["c6.xlarge.4", "h4.12xlarge.4"],
                ],
            ],
            "flavors": [
                "c6.xlarge.4": ["vcpus": 4, "memory_mib": 16384],
                "c6.4xlarge.4": ["vcpus": 16, "memory_mib": 65536],
                "c6.8xlarge.4": ["vcpus": 32, "memory_mib": 131072, "numa_nodes": 2],
                "h4.12xlarge.4": ["vcpus": 48, "memory_mib": 196608, "numa_nodes": 4],
            ],
            "hosts": [
                ["id": "deh-1", "name": "ONE", "host_type": "c6", "availability_zone": "az1", "state": "available"],
                ["id": "deh-2", "name": "TWO", "host_type": "c6", "availability_zone": "az1", "state": "available"],
                ["id": "deh-4n", "host_type": "h4", "availability_zone": "az1", "state": "available"],
            ],
            "servers": [
                [
                    "id": "srv-1", "name": "one", "flavor": "c6.4xlarge.4", "status": "SHUTOFF", "availability_zone": "az1",
                    "dedicated_host_id": "deh-1", "numa_nodes": [0],
                ],
                [
                    "id": "srv-2", "flavor": "c6.xlarge.4", "status": "ACTIVE", "availability_zone": "az1",
                    "dedicated_host_id": "deh-2", "numa_nodes": [1],
                ],
            ],
        ]
    }

    /// Serialises a dictionary document to JSON bytes.
    public static func bytes(_ document: [String: Any]) -> [UInt8] {
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        return [UInt8](data)
    }

    /// Decodes a dictionary document, returning the inventory or the error's issues.
    public static func decode(_ document: [String: Any]) -> Result<Inventory, InventoryError> {
        Result { () throws(InventoryError) -> Inventory in try Inventory.decode(bytes: bytes(document)) }
    }

    /// This test process's scratch directory, `dehplan-tests-<pid>` under the temporary directory.
    /// It is removed when the process exits normally, so a test run leaves nothing behind.
    static let scratch: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dehplan-tests-\(getpid())")
        try? FileManager.default.removeItem(at: dir)  // a killed run's leftovers under a reused pid
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Fixtures.scratch) }
        return dir
    }()

    /// Writes text to a new temporary file (in a directory of its own under `scratch`) and returns
    /// its path.
    public static func temporaryFile(_ text: String, name: String = "inventory.json") -> String {
        let dir = scratch.appendingPathComponent(UUID().uuidString)
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try! Data(text.utf8).write(to: url)
        return url.path
    }
}

/// Builds small inventories in code for unit tests.
public struct InventoryBuilder {
    public var hostTypes: [HostType] = []
    public var flavors: [Flavor] = []
    public var hosts: [Topology.Host] = []
    public var servers: [Server] = []
    public var groups: [ServerGroup] = []

    public init() {}

    /// Adds a host type with identical nodes.
    public mutating func hostType(_ name: String, nodes: Int, vcpus: Int, memory: Int, flavors: [String]) {
        hostTypes.append(HostType(
            name: name, numaNodes: Array(repeating: Resources(vcpus: vcpus, memoryMiB: memory), count: nodes),
            flavors: flavors))
    }

    /// Adds a flavor.
    public mutating func flavor(_ name: String, vcpus: Int, memory: Int, nodes: Int = 1) {
        flavors.append(Flavor(name: name, resources: Resources(vcpus: vcpus, memoryMiB: memory), numaNodes: nodes))
    }

    /// Adds a host.
    public mutating func host(_ id: String, type: String, az: String = "az1", state: HostState = .available) {
        hosts.append(Topology.Host(id: id, hostType: type, availabilityZone: az, state: state))
    }

    /// Adds a server.
    public mutating func server(
        _ id: String, flavor: String, on host: String?, nodes: [Int]?, status: String = "SHUTOFF", az: String = "az1",
        locked: Bool = false, taskState: String? = nil
    ) {
        servers.append(Server(
            id: id, flavor: flavor, status: status, availabilityZone: az, dedicatedHostID: host, numaNodes: nodes,
            locked: locked, taskState: taskState))
    }

    /// The inventory, validated through the same decoder as files (so tests cannot build inconsistent ones).
    public func build() throws(InventoryError) -> Inventory {
        let inventory = Inventory(hostTypes: hostTypes, flavors: flavors, hosts: hosts, servers: servers, serverGroups: groups)
        return try Inventory.decode(inventory.json())
    }
}


/// Calls `body` with the free capacity per node left by every arrangement of `unknown` servers
/// (each on as many distinct nodes as its flavor spans, never overcommitting a node), starting
/// from `free`. Brute force, for checking the exact unknown-layout verdicts on tiny hosts.
public func forEachArrangement(of unknown: [Flavor], on free: [Resources], _ body: ([Resources]) -> Void) {
    var left = free
    func go(_ i: Int) {
        if i == unknown.count {
            body(left)
            return
        }
        let f = unknown[i]
        for set in subsets(left.count, f.numaNodes) where set.allSatisfy({ left[$0].covers(f.perNode) }) {
            for n in set { left[n] -= f.perNode }
            go(i + 1)
            for n in set { left[n] += f.perNode }
        }
    }
    go(0)
}

/// Every k-element subset of 0..<n (for brute-force checks).
public func subsets(_ n: Int, _ k: Int) -> [[Int]] {
    if k == 0 { return [[]] }
    guard n >= k else { return [] }
    return subsets(n - 1, k) + subsets(n - 1, k - 1).map { $0 + [n - 1] }
}

/// The unknown-layout verdict's benchmark host, shared by the benchmark and its test: a 4-node host
/// (4 x 96 vCPUs / 393216 MiB) carrying 60 servers of unknown layout (360 of its 384 vCPUs), and
/// a 16-vCPU probe that the worst case rules out and ignoring them lets in, so both integer
/// programs of the exact verdict run.
public func sixtyServersOfUnknownLayout() -> (usage: HostUsage, probe: Flavor) {
    var usage = HostUsage(capacity: Array(repeating: Resources(vcpus: 96, memoryMiB: 393_216), count: 4))
    let small = Flavor(name: "s", resources: Resources(vcpus: 4, memoryMiB: 16384))
    let medium = Flavor(name: "m", resources: Resources(vcpus: 8, memoryMiB: 32768))
    let split = Flavor(name: "w", resources: Resources(vcpus: 8, memoryMiB: 32768), numaNodes: 2)
    for _ in 0..<30 { usage.add(small, nodes: nil) }
    for _ in 0..<20 { usage.add(medium, nodes: nil) }
    for _ in 0..<10 { usage.add(split, nodes: nil) }
    return (usage, Flavor(name: "probe", resources: Resources(vcpus: 16, memoryMiB: 65536)))
}

/// Runs synchronous, CPU-heavy work (planning) on a Dispatch worker instead of a thread of the
/// cooperative pool, so that the async tests running beside it (loopback servers) are not starved.
public func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

extension Binary {
    /// `run` on a Dispatch worker: an async test waiting for the binary does not hold a thread
    /// of the cooperative pool (with 2 cores, two such waits starve loopback servers).
    public static func runOffPool(_ arguments: [String], environment: [String: String] = [:]) async throws -> Run {
        try await offPool { try Binary.run(arguments, environment: environment) }
    }
}

extension Binary {
    /// How a run that may have been killed ended.
    public struct Killed: Sendable {
        public let reason: Process.TerminationReason
        public let status: Int32
        /// SIGKILL was sent (it was still running after the delay).
        public let killed: Bool
    }

    /// Starts the binary, sends SIGKILL after `microseconds` if it still runs, and waits for
    /// its end, on a Dispatch worker (not a thread of the cooperative pool).
    public static func runAndKill(_ arguments: [String], afterMicroseconds microseconds: UInt32) async throws -> Killed {
        let path = Binary.path
        return try await offPool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(microseconds)
            var killed = false
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killed = true
            }
            process.waitUntilExit()
            return Killed(reason: process.terminationReason, status: process.terminationStatus, killed: killed)
        }
    }
}
