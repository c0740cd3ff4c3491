// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import CloudAPI
import Foundation

/// Endpoint, project and credentials for commands that talk to the cloud.
struct CloudOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("ECS endpoint, e.g. https://ecs.eu-de.otc.t-systems.com (http only on loopback).", valueName: "url"))
    var endpoint: String

    @Option(name: .long, help: ArgumentHelp("DeH endpoint when it differs from --endpoint.", valueName: "url"))
    var dehEndpoint: String?

    @Option(name: .long, help: ArgumentHelp("Project id (or HUAWEICLOUD_SDK_PROJECT_ID / OS_PROJECT_ID).", valueName: "id"))
    var projectID: String?

    @Option(name: .long, help: ArgumentHelp("IAM token (or OS_AUTH_TOKEN). Never printed.", valueName: "token"))
    var token: String?

    @Option(name: .long, help: ArgumentHelp("Access key for AK/SK signing (or HUAWEICLOUD_SDK_AK).", valueName: "ak"))
    var ak: String?

    @Option(name: .long, help: ArgumentHelp("Secret key for AK/SK signing (or HUAWEICLOUD_SDK_SK). Never printed.", valueName: "sk"))
    var sk: String?

    func client() throws -> CloudClient {
        let env = ProcessInfo.processInfo.environment
        guard let project = projectID ?? env["HUAWEICLOUD_SDK_PROJECT_ID"] ?? env["OS_PROJECT_ID"], !project.isEmpty else {
            throw CLIError.invalidInput("error: --project-id is required (or set HUAWEICLOUD_SDK_PROJECT_ID / OS_PROJECT_ID)")
        }
        let credentials: Credentials
        if let ak = ak ?? env["HUAWEICLOUD_SDK_AK"], let sk = sk ?? env["HUAWEICLOUD_SDK_SK"] {
            credentials = .accessKey(Signer(accessKey: ak, secretKey: sk))
        } else if let token = token ?? env["OS_AUTH_TOKEN"] {
            credentials = .token(token)
        } else {
            throw CLIError.invalidInput(
                "error: no credentials: pass --token (or OS_AUTH_TOKEN), or --ak and --sk (or HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK)")
        }
        guard let ecs = URL(string: endpoint) else { throw CLIError.invalidInput("error: --endpoint: not a URL: \(endpoint)") }
        let deh = try dehEndpoint.map { text -> URL in
            guard let url = URL(string: text) else { throw CLIError.invalidInput("error: --deh-endpoint: not a URL: \(text)") }
            return url
        }
        do {
            return try CloudClient(ecsEndpoint: ecs, dehEndpoint: deh, projectID: project, credentials: credentials)
        } catch {
            throw CLIError.invalidInput("error: \(error.message)")
        }
    }
}
