// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Testing
@testable import CloudAPI

/// `clouds.yaml` (OS_CLOUD): the keys dehplan reads, from the subset of YAML such files use;
/// anything outside that subset is refused with its line rather than misread.
@Suite struct CloudsFileTests {
    static let file = """
        # OpenStack client configuration
        ---
        clouds:
          staging:
            auth:
              auth_url: https://iam.example.com/v3
              username: someone-else
            region_name: xx-01
          otc-prod:   # the one we use
            profile: otc
            auth:
              auth_url: 'https://iam.eu-de.otc.t-systems.com/v3'
              username: planner
              password: "p#ss: \\"word\\""
              user_domain_name: OTC-EU-DE-00000000001000012345
              project_name: eu-de_dehplan
            regions:
              - eu-de
              - name: eu-nl
                values: {}
            region_name: eu-de
            interface: public
        """

    @Test func theNamedCloudIsRead() throws {
        let entry = try CloudsFileEntry.parse(Self.file, cloud: "otc-prod")
        #expect(entry == CloudsFileEntry(
            authURL: "https://iam.eu-de.otc.t-systems.com/v3", username: "planner", password: #"p#ss: "word""#,
            userDomainName: "OTC-EU-DE-00000000001000012345", projectID: nil, projectName: "eu-de_dehplan", regionName: "eu-de"))
        let other = try CloudsFileEntry.parse(Self.file, cloud: "staging")
        #expect(other.username == "someone-else" && other.password == nil && other.regionName == "xx-01")
    }

    @Test func anUnknownCloudNamesTheCloudsDefined() {
        #expect {
            try CloudsFileEntry.parse(Self.file, cloud: "prod", file: "/etc/openstack/clouds.yaml")
        } throws: { error in
            "\(error)" == #"/etc/openstack/clouds.yaml: no cloud "prod" (the file defines: staging, otc-prod)"#
        }
    }

    @Test(arguments: [
        ("clouds:\n  a:\n    auth: &base\n      username: x\n", "line 3"),
        ("clouds:\n  a:\n    auth:\n      password: |\n        secret\n", "line 4"),
        ("clouds:\n  a:\n    auth: {username: x}\n", "line 3"),
        ("clouds:\n  a:\n\tauth:\n", "line 3: tab in indentation"),
        ("clouds:\n  a:\n    auth:\n      username: \"open\n", "line 4: unterminated double quote"),
        ("clouds:\n  a:\n    auth:\n       username: x\n      password: y\n", "line 5: unexpected indentation"),
    ])
    func whatIsNotReadIsRefusedWithItsLine(text: String, message: String) {
        #expect {
            try CloudsFileEntry.parse(text, cloud: "a")
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func theSearchOrderFollowsTheOpenStackClient() {
        let paths = CloudsFileEntry.searchPaths(environment: ["HOME": "/home/op"])
        #expect(paths == [FileManager.default.currentDirectoryPath + "/clouds.yaml", "/home/op/.config/openstack/clouds.yaml",
                          "/etc/openstack/clouds.yaml"])
        #expect(CloudsFileEntry.searchPaths(environment: ["HOME": "/home/op", "XDG_CONFIG_HOME": "/cfg"])[1] == "/cfg/openstack/clouds.yaml")
        #expect(CloudsFileEntry.searchPaths(environment: ["OS_CLIENT_CONFIG_FILE": "/x/c.yaml"]) == ["/x/c.yaml"])
    }
}
