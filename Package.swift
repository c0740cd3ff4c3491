// swift-tools-version: 6.1
// SPDX-License-Identifier: GPL-3.0-or-later

import PackageDescription

import class Foundation.ProcessInfo

// MARK: - Settings shared by every Swift target

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// MARK: - Package

let package = Package(
    name: "dehplan",
    // macOS 15: Synchronization.Mutex (the planner and the verdict counters lock with it).
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dehplan", targets: ["dehplan"]),
        .library(name: "Topology", targets: ["Topology"]),
        .library(name: "Planner", targets: ["Planner"]),
        .library(name: "GLPK", targets: ["GLPK"]),
        .library(name: "CloudAPI", targets: ["CloudAPI"]),
        .library(name: "Executor", targets: ["Executor"]),
        .library(name: "Report", targets: ["Report"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swhitty/FlyingFox.git", from: "0.27.1"),
    ],
    targets: [
        // MARK: C layer
        .systemLibrary(name: "CGLPK", path: "Sources/CGLPK"),
        .target(
            name: "CGLPKSupport",
            dependencies: ["CGLPK"],
            path: "Sources/CGLPKSupport"
        ),

        // MARK: Libraries
        .target(
            name: "GLPK",
            dependencies: ["CGLPK", "CGLPKSupport"],
            swiftSettings: swiftSettings
        ),
        .target(name: "Topology", swiftSettings: swiftSettings),
        .target(
            name: "CloudAPI",
            dependencies: ["Topology", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Executor",
            dependencies: ["CloudAPI", "Planner", "Topology"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FakeCloud",
            dependencies: ["CloudAPI", "Planner", "Topology", .product(name: "FlyingFox", package: "FlyingFox")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Planner",
            dependencies: ["Topology", "GLPK"],
            swiftSettings: swiftSettings
        ),
        // Seeded synthetic inventories (`dehplan generate`, tests, benchmarks).
        .target(
            name: "Generator",
            dependencies: ["Topology", "Planner"],
            swiftSettings: swiftSettings
        ),

        // MARK: Command-line tool
        .target(
            name: "Report",
            dependencies: ["Topology", "Planner"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dehplan",
            dependencies: [
                "Topology",
                "Planner",
                "GLPK",
                "Report",
                "CloudAPI",
                "Executor",
                "FakeCloud",
                "Generator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        .target(
            name: "TestSupport",
            dependencies: ["Topology", "Planner"],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GLPKTests",
            dependencies: ["GLPK", "CGLPK", "CGLPKSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TopologyTests",
            dependencies: ["Topology", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PlannerTests",
            dependencies: [
                "Planner", "Topology", "TestSupport", "GLPK", "Generator",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["fleets"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ReportTests",
            dependencies: ["Report", "Planner", "Topology", "TestSupport", "Generator"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CloudAPITests",
            dependencies: ["CloudAPI", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FakeCloudTests",
            dependencies: ["FakeCloud", "CloudAPI", "Executor", "Planner", "Topology", "TestSupport", "Generator"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LibraryExampleTests",
            dependencies: ["Planner", "Topology", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DehplanE2ETests",
            dependencies: ["dehplan", "TestSupport", "CloudAPI", "Executor", "Planner"],
            exclude: ["golden"],
            swiftSettings: swiftSettings
        ),
    ]
)

// MARK: - Benchmarks (only with ENABLE_BENCHMARKS=1, so `swift test` never builds them)

if ProcessInfo.processInfo.environment["ENABLE_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"])
    )
    package.targets.append(
        .executableTarget(
            name: "DehplanBenchmarks",
            dependencies: [
                "Topology", "Planner", "GLPK", "TestSupport", "Generator",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/DehplanBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    )
}
