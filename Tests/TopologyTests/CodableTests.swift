// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing
import Topology

/// Topology types through `Codable`: the inventory in its file format, checked like a file;
/// the element types in the shape they have inside it.
@Suite struct CodableTests {
    @Test(arguments: ["fragmented.json", "evacuation.json", "region.json"])
    func anInventoryRoundTripsThroughJSONEncoderAndDecoder(sample: String) throws {
        let original = try Inventory.load(path: Fixtures.sample(sample))
        let data = try JSONEncoder().encode(original)
        let decoded = try JSONDecoder().decode(Inventory.self, from: data)
        #expect(decoded.hosts == original.hosts)
        #expect(decoded.servers == original.servers)
        #expect(decoded.flavors == original.flavors)
        #expect(decoded.hostTypes == original.hostTypes)
        #expect(decoded.serverGroups == original.serverGroups)
        // The encoded document is the file format: the strict reader takes it as it is.
        let reread = try Inventory.decode(bytes: [UInt8](data))
        #expect(reread.servers == original.servers)
    }

    @Test(arguments: ["invalid/overcommitted.json", "invalid/unknown-flavor.json"])
    func decodingRunsTheFileChecksAndReportsEveryIssue(sample: String) throws {
        let path = Fixtures.sample(sample)
        var fromFile: [String] = []
        do {
            _ = try Inventory.load(path: path)
            Issue.record("\(sample) must be refused")
        } catch {
            fromFile = error.issues.map { "\($0.path): \($0.message)" }
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect {
            try JSONDecoder().decode(Inventory.self, from: data)
        } throws: { error in
            guard let error = error as? InventoryError else { return false }
            return error.issues.map { "\($0.path): \($0.message)" } == fromFile && !fromFile.isEmpty
        }
    }

    @Test func elementTypesUseTheFileKeys() throws {
        let server = Server(id: "s1", flavor: "c6.large.2", availabilityZone: "az1", dedicatedHostID: nil, numaNodes: nil, locked: true)
        let text = String(decoding: try JSONEncoder().encode(server), as: UTF8.self)
        #expect(text.contains(#""dedicated_host_id":null"#) && text.contains(#""numa_nodes":null"#) && text.contains(#""availability_zone":"az1""#))
        #expect(try JSONDecoder().decode(Server.self, from: Data(text.utf8)) == server)
        let flavor = Flavor(name: "w", resources: Resources(vcpus: 32, memoryMiB: 65536), numaNodes: 2)
        #expect(try JSONDecoder().decode(Flavor.self, from: JSONEncoder().encode(flavor)) == flavor)
        let type = HostType(name: "t", numaNodes: [Resources(vcpus: 48, memoryMiB: 1024)], flavors: ["w"])
        #expect(try JSONDecoder().decode(HostType.self, from: JSONEncoder().encode(type)) == type)
        let host = Host(id: "h", hostType: "t", availabilityZone: "az1", state: .fault)
        #expect(try JSONDecoder().decode(Host.self, from: JSONEncoder().encode(host)) == host)
        let group = ServerGroup(id: "g", policy: .antiAffinity, members: ["a", "b"])
        #expect(try JSONDecoder().decode(ServerGroup.self, from: JSONEncoder().encode(group)) == group)
    }
}
