// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing
import Topology

/// Every rejection rule of the inventory contract, with the JSON path it must name.
@Suite struct InventoryValidationTests {
    func issues(_ mutate: (inout [String: Any]) -> Void) -> [String] {
        var doc = Fixtures.baseDocument()
        mutate(&doc)
        switch Fixtures.decode(doc) {
        case .success: return []
        case .failure(let error): return error.issues.map(\.description)
        }
    }

    func servers(_ doc: [String: Any]) -> [[String: Any]] { doc["servers"] as! [[String: Any]] }
    func hosts(_ doc: [String: Any]) -> [[String: Any]] { doc["hosts"] as! [[String: Any]] }

    @Test func baseDocumentIsValid() throws {
        let inventory = try Fixtures.decode(Fixtures.baseDocument()).get()
        #expect(inventory.hosts.map(\.id) == ["deh-1", "deh-2", "deh-4n"])
        #expect(inventory.servers.count == 2)
        #expect(inventory.flavors["c6.8xlarge.4"]?.perNode == Resources(vcpus: 16, memoryMiB: 65536))
        #expect(inventory.capacity(of: inventory.hosts[2]).count == 4)
        #expect(inventory.hosts[2].name == "deh-4n")
    }

    @Test func samplesAreValid() throws {
        for name in ["fragmented.json", "region.json", "evacuation.json"] {
            let inventory = try Inventory.load(path: Fixtures.sample(name))
            #expect(!inventory.hosts.isEmpty, "\(name)")
        }
    }

    @Test func regionSampleHasWhatTheIssueAsks() throws {
        let inventory = try Inventory.load(path: Fixtures.sample("region.json"))
        #expect(Set(inventory.hosts.map(\.availabilityZone)).count >= 2)
        #expect(inventory.hostTypes.count >= 3)
        #expect(inventory.hostTypes.values.contains { $0.numaNodes.count == 4 })
        #expect(inventory.hosts.count >= 20)
        #expect(inventory.servers.count >= 150)
        #expect(inventory.servers.contains { inventory.flavors[$0.flavor]!.numaNodes > 1 })
        #expect(inventory.servers.contains { $0.dedicatedHostID != nil && $0.numaNodes == nil })
        #expect(inventory.serverGroups.contains { $0.policy == .antiAffinity && $0.members.count >= 2 })
    }

    @Test func unknownFlavorNamesPathAndSuggests() {
        let found = issues { doc in
            var s = servers(doc)
            s[1]["flavor"] = "c6.xlarge.8"
            doc["servers"] = s
        }
        #expect(found == [#"servers[1].flavor: unknown flavor "c6.xlarge.8"; did you mean "c6.xlarge.4"?"#])
    }

    @Test func duplicateIds() {
        let found = issues { doc in
            var h = hosts(doc)
            h[1]["id"] = "deh-1"
            doc["hosts"] = h
            var s = servers(doc)
            s[1]["id"] = "srv-1"
            s[1]["dedicated_host_id"] = "deh-1"
            doc["servers"] = s
        }
        #expect(found.contains(#"hosts[1].id: duplicate host id "deh-1" (first used by hosts[0])"#))
        #expect(found.contains(#"servers[1].id: duplicate server id "srv-1" (first used by servers[0])"#))
    }

    @Test func unknownHostTypeAndHost() {
        let found = issues { doc in
            var h = hosts(doc)
            h[1]["host_type"] = "c7"
            doc["hosts"] = h
            var s = servers(doc)
            s[0]["dedicated_host_id"] = "deh-9"
            doc["servers"] = s
        }
        #expect(found.contains(#"hosts[1].host_type: unknown host type "c7"; did you mean "c6"?"#))
        #expect(found.contains { $0.hasPrefix(#"servers[0].dedicated_host_id: unknown host "deh-9""#) })
    }

    @Test func nonPositiveCapacities() {
        let found = issues { doc in
            var types = doc["host_types"] as! [String: [String: Any]]
            types["c6"]!["numa_nodes"] = [["vcpus": 0, "memory_mib": 131072], ["vcpus": 32, "memory_mib": -1]]
            doc["host_types"] = types
            var flavors = doc["flavors"] as! [String: [String: Any]]
            flavors["c6.xlarge.4"]!["vcpus"] = -4
            doc["flavors"] = flavors
        }
        #expect(found.contains("host_types.c6.numa_nodes[0].vcpus: must be a positive number of vCPUs, got 0"))
        #expect(found.contains("host_types.c6.numa_nodes[1].memory_mib: must be a positive number of MiB, got -1"))
        #expect(found.contains(#"flavors["c6.xlarge.4"].vcpus: must be a positive number of vCPUs, got -4"#))
    }

    @Test func nodeIndexOutOfRange() {
        let found = issues { doc in
            var s = servers(doc)
            s[0]["numa_nodes"] = [2]
            doc["servers"] = s
        }
        #expect(found == [#"servers[0].numa_nodes[0]: NUMA node 2 out of range; host "deh-1" has nodes 0...1"#])
    }

    @Test func layoutCountMustMatchFlavor() {
        let found = issues { doc in
            var s = servers(doc)
            s[0]["numa_nodes"] = [0, 1]
            doc["servers"] = s
        }
        #expect(found == [#"servers[0].numa_nodes: flavor "c6.4xlarge.4" spans 1 NUMA node; got 2 (0, 1)"#])
    }

    @Test func flavorSpanningMoreNodesThanTheHostType() {
        let found = issues { doc in
            var types = doc["host_types"] as! [String: [String: Any]]
            types["c6"]!["flavors"] = ["c6.xlarge.4", "c6.4xlarge.4", "h4.12xlarge.4"]
            doc["host_types"] = types
        }
        #expect(found == [#"host_types.c6.flavors[2]: flavor "h4.12xlarge.4" spans 4 NUMA nodes but host type "c6" has only 2"#])
    }

    @Test func splitMustDivideEvenly() {
        let found = issues { doc in
            var flavors = doc["flavors"] as! [String: [String: Any]]
            flavors["c6.8xlarge.4"]!["vcpus"] = 33
            doc["flavors"] = flavors
        }
        #expect(found.contains(#"flavors["c6.8xlarge.4"].numa_nodes: 33 vCPUs do not split evenly over 2 NUMA nodes"#))
    }

    @Test func overcommittedNodeNamesHostNodeAndAmount() {
        let found = issues { doc in
            var s = servers(doc)
            for i in 0..<2 {
                s.append([
                    "id": "extra-\(i)", "flavor": "c6.4xlarge.4", "status": "SHUTOFF", "availability_zone": "az1",
                    "dedicated_host_id": "deh-1", "numa_nodes": [0],
                ])
            }
            doc["servers"] = s
        }
        #expect(found == [
            #"hosts[0]: host "deh-1" NUMA node 0 is overcommitted by 16 vCPUs (48 used of 32) and 65536 MiB (196608 used of 131072) by servers with known layout: srv-1, extra-0, extra-1"#
        ])
    }

    @Test func unknownLayoutsOvercommittingTheTotal() {
        let found = issues { doc in
            var s = servers(doc)
            for i in 0..<4 {
                s.append([
                    "id": "u-\(i)", "flavor": "c6.4xlarge.4", "status": "SHUTOFF", "availability_zone": "az1",
                    "dedicated_host_id": "deh-1",
                ])
            }
            doc["servers"] = s
        }
        #expect(found == [#"hosts[0]: host "deh-1" is overcommitted in total: its servers use 80 vCPUs / 327680 MiB of 64 vCPUs / 262144 MiB"#])
    }

    @Test func typeErrorsAndMissingFields() {
        let found = issues { doc in
            var s = servers(doc)
            s[0]["status"] = 3
            s[1].removeValue(forKey: "availability_zone")
            s[1]["locked"] = "yes"
            doc["servers"] = s
        }
        #expect(found.contains("servers[0].status: expected a string, got a number"))
        #expect(found.contains("servers[1].availability_zone: missing; expected a string"))
        #expect(found.contains("servers[1].locked: expected true or false, got a string"))
    }

    @Test func unknownFieldsAreRejectedWithASuggestion() {
        let found = issues { doc in
            var s = servers(doc)
            s[0]["dedicated_host"] = "deh-2"
            doc["servers"] = s
            doc["_comment"] = "comments are fine"
        }
        #expect(found.count == 1)
        #expect(found[0].hasPrefix(#"servers[0].dedicated_host: unknown field "dedicated_host"; did you mean "dedicated_host_id"?"#))
    }

    @Test func azMismatchWithHostAndPoolLayouts() {
        let found = issues { doc in
            var s = servers(doc)
            s[0]["availability_zone"] = "az2"
            s[1]["dedicated_host_id"] = NSNull()
            doc["servers"] = s
        }
        #expect(found.contains(#"servers[0].availability_zone: server is in "az2" but its host "deh-1" is in "az1""#))
        #expect(found.contains { $0.hasPrefix("servers[1].numa_nodes: a server in the public pool") })
    }

    @Test func groupsAndStates() {
        let found = issues { doc in
            doc["server_groups"] = [["id": "g", "policy": "affinity", "members": ["srv-1", "srv-9"]]]
            var h = hosts(doc)
            h[0]["state"] = "broken"
            doc["hosts"] = h
        }
        #expect(found.contains(#"hosts[0].state: unknown state "broken"; expected one of available, fault, released"#))
        #expect(found.contains(#"server_groups[0].policy: unsupported policy "affinity"; dehplan enforces "anti-affinity""#))
        #expect(found.contains { $0.hasPrefix(#"server_groups[0].members[1]: unknown server "srv-9""#) })
    }

    /// A flavor, host type or host that the file defines with an error of its own is reported
    /// once, where the error is: the servers, hosts and host types that name it are not told it is
    /// unknown (with a guess at another name).
    @Test func anInvalidDefinitionIsNotReportedAgainWhereItIsNamed() {
        let found = issues { doc in
            var flavors = doc["flavors"] as! [String: Any]
            flavors["c6.xlarge.4"] = ["vcpus": 4, "memory_mib": 3.5]
            doc["flavors"] = flavors
            var types = doc["host_types"] as! [String: Any]
            types["h4"] = ["numa_nodes": [], "flavors": ["h4.12xlarge.4"]]
            doc["host_types"] = types
            var h = hosts(doc)
            h[0]["state"] = "AVAILABLE"
            doc["hosts"] = h
        }
        #expect(found == [
            #"flavors["c6.xlarge.4"].memory_mib: expected an integer, got 3.5"#,
            "host_types.h4.numa_nodes: must list at least one NUMA node",
            #"hosts[0].state: unknown state "AVAILABLE"; expected one of available, fault, released"#,
        ], "\(found)")
    }

    @Test func wrongTopLevelAndTruncatedFile() throws {
        #expect(throws: InventoryError.self) { try Inventory.decode(bytes: Array("[1, 2]".utf8)) }
        do {
            _ = try Inventory.decode(bytes: Array(#"{"hosts": ["#.utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.issues.map(\.description) == [
                "invalid JSON at line 1, column 12: unexpected end of file; the JSON is truncated"
            ])
        }
    }

    @Test func missingFileIsAnError() {
        do {
            _ = try Inventory.load(path: "/nonexistent/inventory.json")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "/nonexistent/inventory.json: no such file")
        }
    }

    @Test func encodeThenDecodeIsIdentity() throws {
        let inventory = try Inventory.load(path: Fixtures.sample("region.json"))
        let again = try Inventory.decode(inventory.json())
        #expect(again.json() == inventory.json())
        #expect(again.servers == inventory.servers)
        #expect(again.hosts == inventory.hosts)
    }
}

@Suite struct InventoryCascadeTests {
    /// A server with a bad flavor is still a known server: its group membership is not reported again.
    @Test func oneBadFieldDoesNotCascade() {
        var doc = Fixtures.baseDocument()
        var servers = doc["servers"] as! [[String: Any]]
        servers[0]["flavor"] = "nope"
        doc["servers"] = servers
        doc["server_groups"] = [["id": "g", "policy": "anti-affinity", "members": ["srv-1", "srv-2"]]]
        guard case .failure(let error) = Fixtures.decode(doc) else {
            Issue.record("expected an error")
            return
        }
        #expect(error.issues.map(\.description) == [#"servers[0].flavor: unknown flavor "nope""#])
    }
}
