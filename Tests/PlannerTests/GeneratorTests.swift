// SPDX-License-Identifier: GPL-3.0-or-later

import Generator
import Planner
import Testing
import Topology

@Suite struct GeneratorTests {
    @Test func sameSeedSameInventory() throws {
        let config = InventoryGenerator.Config(seed: 99, hosts: 25, servers: 120)
        let a = InventoryGenerator.generate(config).json().serialized()
        let b = InventoryGenerator.generate(config).json().serialized()
        #expect(a == b)
        var other = config
        other.seed = 100
        #expect(InventoryGenerator.generate(other).json().serialized() != a)
    }

    @Test func generatedInventoriesAreValidAndVaried() throws {
        let inventory = InventoryGenerator.generate(.init(seed: 5, hosts: 40, servers: 300, unknownLayoutFraction: 0.1))
        let decoded = try Inventory.decode(inventory.json())  // the loader's validation, overcommit included
        #expect(decoded.servers.count == 300)
        #expect(Set(decoded.hosts.map(\.availabilityZone)).count == 2)
        #expect(decoded.servers.contains { $0.numaNodes == nil && $0.dedicatedHostID != nil })
        #expect(decoded.servers.contains { ($0.numaNodes?.count ?? 0) >= 2 })
        #expect(decoded.hostTypes.values.contains { $0.numaNodes.count == 4 })
        #expect(decoded.serverGroups.allSatisfy { g in
            Set(g.members.compactMap { decoded.server($0)?.dedicatedHostID }).count == g.members.count
        })
        // Partly filled: no host is above its fill ceiling, some hosts have room.
        let state = PlacementState(decoded)
        #expect(state.usage.contains { $0.freeTotal.vcpus > 0 })
    }
}
