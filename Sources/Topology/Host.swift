// SPDX-License-Identifier: GPL-3.0-or-later

/// The state of a Dedicated Host, as the DeH API reports it.
public enum HostState: String, Hashable, Sendable, CaseIterable {
    case available, fault, released
}

/// A Dedicated Host.
public struct Host: Hashable, Sendable {
    /// The DeH id (`dedicated_host_id`).
    public let id: String
    /// Display name.
    public let name: String
    /// Name of its host type.
    public let hostType: String
    /// Availability zone.
    public let availabilityZone: String
    /// `available`, `fault` or `released`.
    public let state: HostState
    /// Per-node capacity when it differs from the type's (e.g. reserved capacity); nil uses the type's.
    public let numaNodesOverride: [Resources]?

    /// Creates a host.
    public init(
        id: String, name: String? = nil, hostType: String, availabilityZone: String,
        state: HostState = .available, numaNodesOverride: [Resources]? = nil
    ) {
        self.id = id
        self.name = name ?? id
        self.hostType = hostType
        self.availabilityZone = availabilityZone
        self.state = state
        self.numaNodesOverride = numaNodesOverride
    }
}
