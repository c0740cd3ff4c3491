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
