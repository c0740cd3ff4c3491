// SPDX-License-Identifier: GPL-3.0-or-later

/// A Dedicated Host type: per-NUMA-node capacity and the flavors it accepts.
public struct HostType: Hashable, Sendable {
    /// Type name, e.g. `c4`.
    public let name: String
    /// Capacity of each NUMA node, by node index.
    public let numaNodes: [Resources]
    /// Flavors this type accepts (the DeH API's `available_instance_capacities`), in file order.
    public let flavors: [String]
    /// The same flavors, for lookups.
    public let flavorSet: Set<String>

    /// Creates a host type.
    public init(name: String, numaNodes: [Resources], flavors: [String]) {
        self.name = name
        self.numaNodes = numaNodes
        self.flavors = flavors
        self.flavorSet = Set(flavors)
    }

    /// True when the type accepts the flavor.
    public func supports(_ flavor: String) -> Bool { flavorSet.contains(flavor) }
}
