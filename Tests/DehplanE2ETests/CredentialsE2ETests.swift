// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing

/// Secrets never as arguments `ps` would show (except for a loopback endpoint such as the fake
/// cloud): files and the environment instead; temporary AK/SK with a security token.
@Suite struct CredentialsE2ETests {
    @Test func secretsOnTheCommandLineAreRefusedForARealEndpoint() throws {
        for (flag, value) in [("--token", "SECRET-TOKEN"), ("--sk", "SECRET-SK")] {
            var args = ["inventory", "--endpoint", "https://ecs.example.com", "--project-id", "p", flag, value]
            if flag == "--sk" { args += ["--ak", "AK"] }
            let run = try Binary.run(args)
            #expect(run.status == 2, "\(flag): exit \(run.status)")
            #expect(run.stderr.contains("\(flag): a secret on the command line is visible"), "\(run.stderr)")
            #expect(run.stderr.contains(flag == "--token" ? "--token-file" : "--sk-file"))
            #expect(!run.stderr.contains(value) && !run.stdout.contains(value))
        }
        // An unreadable or empty file is named.
        let missing = try Binary.run(["inventory", "--endpoint", "https://ecs.example.com", "--project-id", "p", "--token-file", "/nonexistent/token"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("--token-file: cannot read /nonexistent/token"))
        let empty = Fixtures.temporaryFile("\n", name: "token")
        let blank = try Binary.run(["inventory", "--endpoint", "https://ecs.example.com", "--project-id", "p", "--token-file", empty])
        #expect(blank.status == 2)
        #expect(blank.stderr.contains("is empty"))
    }

    @Test func filesAndTheEnvironmentCarryTheSecrets() throws {
        let fakeCloud = try FakeCloudProcess(["--inventory", Fixtures.sample("fragmented.json"), "--project-id", "proj", "--token", "TOK",
                                              "--ak", "AK1", "--sk", "SK1"])
        defer { fakeCloud.stop() }
        let endpoint = "http://127.0.0.1:\(fakeCloud.port)"
        let out = Fixtures.temporaryFile("", name: "inv.json")
        let base = ["inventory", "--endpoint", endpoint, "--project-id", "proj", "--out", out]

        let tokenFile = Fixtures.temporaryFile("TOK\n", name: "token")
        let byTokenFile = try Binary.run(base + ["--token-file", tokenFile])
        #expect(byTokenFile.status == 0, "\(byTokenFile.stderr)")
        // The flag's file beats the environment.
        let wrongEnv = try Binary.run(base + ["--token-file", tokenFile], environment: ["OS_AUTH_TOKEN": "WRONG"])
        #expect(wrongEnv.status == 0, "\(wrongEnv.stderr)")
        let envOnly = try Binary.run(base, environment: ["OS_AUTH_TOKEN": "WRONG"])
        #expect(envOnly.status == 1, "a wrong token from the environment is used, and refused")

        let skFile = Fixtures.temporaryFile("SK1", name: "sk")
        let bySKFile = try Binary.run(base + ["--ak", "AK1", "--sk-file", skFile])
        #expect(bySKFile.status == 0, "\(bySKFile.stderr)")
        let wrongSK = try Binary.run(base + ["--ak", "AK1", "--sk-file", Fixtures.temporaryFile("SK2", name: "sk")])
        #expect(wrongSK.status == 1, "a wrong secret key fails the signature")

        // Temporary AK/SK: the security token goes out as X-Security-Token, inside the signature
        // (the fake cloud checks every signed header).
        let stsFile = Fixtures.temporaryFile("STS-TOKEN-must-not-leak", name: "sts")
        let temporary = try Binary.run(base + ["--ak", "AK1", "--sk-file", skFile, "--security-token-file", stsFile, "--verbose"])
        #expect(temporary.status == 0, "\(temporary.stderr)")
        let fromEnv = try Binary.run(base + ["--ak", "AK1", "--verbose"],
                                     environment: ["HUAWEICLOUD_SDK_SK": "SK1", "HUAWEICLOUD_SDK_SECURITY_TOKEN": "STS-TOKEN-must-not-leak"])
        #expect(fromEnv.status == 0, "\(fromEnv.stderr)")
        for run in [temporary, fromEnv] {
            #expect(!run.stderr.contains("STS-TOKEN-must-not-leak") && !run.stdout.contains("STS-TOKEN-must-not-leak"))
        }
    }
}

/// OpenStack conventions: `OS_CLOUD` with `clouds.yaml`, a project by name, and the endpoints
/// from the IAM catalogue (the fake cloud's IAM names itself for ECS and DeH).
@Suite struct CloudsYAMLE2ETests {
    @Test func osCloudSignsInAndTheCatalogueGivesTheEndpoints() throws {
        let fakeCloud = try FakeCloudProcess(["--inventory", Fixtures.sample("fragmented.json"), "--project-id", "proj-42", "--token", "TOK",
                                              "--user", "planner", "--password", "pw#1: secret"])
        defer { fakeCloud.stop() }
        let yaml = """
            clouds:
              staging:
                auth:
                  auth_url: https://iam.example.com/v3
                  username: someone-else
              fake:
                auth:
                  auth_url: http://127.0.0.1:\(fakeCloud.port)/v3
                  username: planner
                  password: "pw#1: secret"   # quoted: it holds '#' and ': '
                  user_domain_name: planner
                  project_name: eu-de
                region_name: eu-de
            """
        let file = Fixtures.temporaryFile(yaml, name: "clouds.yaml")
        let out = Fixtures.temporaryFile("", name: "inv.json")
        let environment = ["OS_CLIENT_CONFIG_FILE": file]

        // No --endpoint, no --project-id: IAM gives the project's id and the endpoints.
        let run = try Binary.run(["inventory", "--os-cloud", "fake", "--out", out, "--verbose"], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let written = try String(contentsOfFile: out, encoding: .utf8)
        #expect(written.contains("\"hosts\""))
        #expect(run.stderr.contains("/v1/proj-42/"), "requests go to the project IAM named: \(run.stderr)")
        #expect(!run.stderr.contains("pw#1") && !run.stdout.contains("pw#1"))

        // OS_CLOUD in the environment; the environment beats the file (a wrong password from
        // OS_PASSWORD is used, and refused).
        let byEnv = try Binary.run(["inventory", "--out", out], environment: environment.merging(["OS_CLOUD": "fake"]) { $1 })
        #expect(byEnv.status == 0, "\(byEnv.stderr)")
        let wrong = try Binary.run(["inventory", "--out", out],
                                   environment: environment.merging(["OS_CLOUD": "fake", "OS_PASSWORD": "nope"]) { $1 })
        #expect(wrong.status == 1 && wrong.stderr.contains("IAM authentication at"), "\(wrong.stderr)")

        // A region the catalogue does not list, an unknown project name, an unknown cloud.
        let region = try Binary.run(["inventory", "--os-cloud", "fake", "--region", "xx-01", "--out", out], environment: environment)
        #expect(region.status == 2 && region.stderr.contains("no public ECS endpoint in region xx-01"), "\(region.stderr)")
        let project = try Binary.run(["inventory", "--os-cloud", "fake", "--project-name", "other", "--out", out], environment: environment)
        #expect(project.status == 1 && project.stderr.contains("no project named other"), "\(project.stderr)")
        let unknown = try Binary.run(["inventory", "--os-cloud", "prod", "--out", out], environment: environment)
        #expect(unknown.status == 2 && unknown.stderr.contains(#"no cloud "prod" (the file defines: staging, fake)"#), "\(unknown.stderr)")

        // Without password sign-in there is no catalogue: --endpoint is required, and says why.
        let noEndpoint = try Binary.run(["inventory", "--project-id", "proj-42", "--out", out], environment: ["OS_AUTH_TOKEN": "TOK"])
        #expect(noEndpoint.status == 2 && noEndpoint.stderr.contains("--endpoint is required"), "\(noEndpoint.stderr)")
    }
}
