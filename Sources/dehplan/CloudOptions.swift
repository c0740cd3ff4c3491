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

    @Option(name: .long, help: ArgumentHelp("IAM endpoint for password authentication (or OS_AUTH_URL).", valueName: "url"))
    var iamEndpoint: String?

    @Option(name: .long, help: ArgumentHelp("IAM user (or OS_USERNAME); the password comes from OS_PASSWORD only.", valueName: "name"))
    var user: String?

    @Option(name: .long, help: ArgumentHelp("IAM user domain (or OS_USER_DOMAIN_NAME; default: the user name).", valueName: "name"))
    var domain: String?

    @Option(name: .long, help: ArgumentHelp("First wait before retrying a throttled, failed or unanswered request; it doubles per retry up to 64 times this (at most 30 s); apply retries a request for up to 5 minutes, other commands 6 times.", valueName: "seconds"))
    var retryDelay: Double = 0.5

    @Option(name: .long, help: ArgumentHelp("How long a migrate request whose answer was lost (or whose run was killed) may still reach the cloud; no second request goes out for that server before this has passed since the first.", valueName: "seconds"))
    var settleWindow: Double = 60

    /// A client for the endpoint; with `trace`, every request and answer is traced on standard
    /// error (method, URL, status, time, X-Request-Id; never credentials).
    ///
    /// `patient`: keep retrying transient failures for up to 5 minutes per request (`apply`,
    /// which must ride out throttling and outages mid-run); otherwise give up after the six
    /// attempts (`inventory`: a wrong endpoint is reported in seconds, not after 5 minutes).
    func client(trace verbose: Bool, patient: Bool = false) async throws -> CloudClient {
        let env = ProcessInfo.processInfo.environment
        guard retryDelay.isFinite && retryDelay > 0 && retryDelay <= 60 else {
            throw CLIError.invalidInput("error: --retry-delay must be a number of seconds in (0, 60]")
        }
        guard settleWindow.isFinite && settleWindow >= 0 && settleWindow <= 3600 else {
            throw CLIError.invalidInput("error: --settle-window must be a number of seconds in [0, 3600]")
        }
        guard let project = projectID ?? env["HUAWEICLOUD_SDK_PROJECT_ID"] ?? env["OS_PROJECT_ID"], !project.isEmpty else {
            throw CLIError.invalidInput("error: --project-id is required (or set HUAWEICLOUD_SDK_PROJECT_ID / OS_PROJECT_ID)")
        }
        // The endpoints are checked before any credential is used: a password never goes out for
        // an endpoint that would then be refused.
        func endpointURL(_ text: String, flag: String) throws -> URL {
            guard let url = URL(string: text), url.scheme != nil else { throw CLIError.invalidInput("error: \(flag): not a URL (expected https://host[:port])") }
            do {
                try EndpointPolicy.check(url)
            } catch {
                throw CLIError.invalidInput("error: \(flag): \(error.message)")
            }
            return url
        }
        let ecs = try endpointURL(endpoint, flag: "--endpoint")
        let deh = try dehEndpoint.map { try endpointURL($0, flag: "--deh-endpoint") }
        let credentials: Credentials
        if let ak = ak ?? env["HUAWEICLOUD_SDK_AK"], let sk = sk ?? env["HUAWEICLOUD_SDK_SK"] {
            credentials = .accessKey(Signer(accessKey: ak, secretKey: sk))
        } else if let token = token ?? env["OS_AUTH_TOKEN"] {
            credentials = .token(token)
        } else if let iamText = iamEndpoint ?? env["OS_AUTH_URL"], let iam = Optional(try endpointURL(iamText, flag: "--iam-endpoint")),
            let user = user ?? env["OS_USERNAME"], let password = env["OS_PASSWORD"]
        {
            do {
                credentials = .token(try await IAM.token(
                    endpoint: iam, user: user, password: password, domain: domain ?? env["OS_USER_DOMAIN_NAME"] ?? user,
                    projectID: project))
            } catch {
                throw CLIError.runtime("error: IAM authentication at \(EndpointPolicy.redacted(iam)) failed: \(error)")
            }
        } else {
            throw CLIError.invalidInput(
                "error: no credentials: pass --token (or OS_AUTH_TOKEN), or --ak and --sk (or HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK), or --iam-endpoint and --user with OS_PASSWORD")
        }
        var trace: (@Sendable (String) -> Void)?
        if verbose {
            trace = { @Sendable line in FileHandle.standardError.write(Data(("trace: " + line + "\n").utf8)) }
        }
        let made = Result { () throws(CloudError) -> CloudClient in
            try CloudClient(
                ecsEndpoint: ecs, dehEndpoint: deh, projectID: project, credentials: credentials,
                retry: RetryPolicy(maxAttempts: 6, baseDelay: retryDelay, maxDelay: min(30, retryDelay * 64), patience: patient ? 300 : 0, settleWindow: settleWindow),
                trace: trace)
        }
        switch made {
        case .success(let client): return client
        case .failure(let error):
            throw CLIError.invalidInput("error: \(error.message)")
        }
    }
}

/// A runtime error from the cloud, with what to do next when there is something to say.
func cloudFailure(_ what: String, _ error: any Error) -> CLIError {
    var message = "error: \(what): \(error)"
    if let cloud = error as? CloudError, let next = cloud.nextStep { message += "\nnext: \(next)" }
    return CLIError.runtime(message)
}
