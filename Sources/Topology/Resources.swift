// SPDX-License-Identifier: GPL-3.0-or-later

/// An amount of vCPUs and memory (MiB). Used for capacities, demands and free space.
public struct Resources: Hashable, Sendable, CustomStringConvertible {
    /// Number of vCPUs.
    public var vcpus: Int
    /// Memory in MiB.
    public var memoryMiB: Int

    /// Creates an amount.
    public init(vcpus: Int, memoryMiB: Int) {
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
    }

    /// Nothing.
    public static let zero = Resources(vcpus: 0, memoryMiB: 0)

    public static func + (a: Resources, b: Resources) -> Resources {
        Resources(vcpus: a.vcpus + b.vcpus, memoryMiB: a.memoryMiB + b.memoryMiB)
    }

    public static func - (a: Resources, b: Resources) -> Resources {
        Resources(vcpus: a.vcpus - b.vcpus, memoryMiB: a.memoryMiB - b.memoryMiB)
    }

    public static func += (a: inout Resources, b: Resources) { a = a + b }
    public static func -= (a: inout Resources, b: Resources) { a = a - b }

    public static func * (a: Resources, k: Int) -> Resources {
        Resources(vcpus: a.vcpus * k, memoryMiB: a.memoryMiB * k)
    }

    /// True when both dimensions are at least those of `demand`.
    public func covers(_ demand: Resources) -> Bool {
        vcpus >= demand.vcpus && memoryMiB >= demand.memoryMiB
    }

    /// Component-wise maximum with zero.
    public var clampedAtZero: Resources { Resources(vcpus: max(0, vcpus), memoryMiB: max(0, memoryMiB)) }

    public var description: String { "\(vcpus) vCPUs / \(memoryMiB) MiB" }
}

extension Array where Element == Resources {
    /// Sum of all amounts.
    public var total: Resources { reduce(.zero, +) }
}
