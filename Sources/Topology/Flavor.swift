// SPDX-License-Identifier: GPL-3.0-or-later

/// An ECS flavor: its size and how many NUMA nodes of one host it spans.
public struct Flavor: Hashable, Sendable {
    /// Flavor name, e.g. `c4.xlarge.4`.
    public let name: String
    /// Total vCPUs and memory.
    public let resources: Resources
    /// How many distinct NUMA nodes of one host the flavor spans (its size split evenly); at least 1.
    public let numaNodes: Int

    /// Creates a flavor. `resources` must divide evenly by `numaNodes` (the loader checks this).
    public init(name: String, resources: Resources, numaNodes: Int = 1) {
        self.name = name
        self.resources = resources
        self.numaNodes = numaNodes
    }

    /// What the flavor takes on each node it spans.
    public var perNode: Resources {
        Resources(vcpus: resources.vcpus / numaNodes, memoryMiB: resources.memoryMiB / numaNodes)
    }
}
