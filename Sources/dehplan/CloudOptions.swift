// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import CloudAPI
import Foundation

/// Endpoint, project and credentials for commands that talk to the cloud.
struct CloudOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("ECS endpoint, e.g. https://ecs.eu-de.otc.t-systems.com (http only on loopback); without it, the IAM catalogue's (password sign-in only).", valueName: "url"))
    var endpoint: String?

    @Option(name: .long, help: ArgumentHelp("DeH endpoint when it differs from --endpoint (default: the catalogue's, else --endpoint).", valueName: "url"))
    var dehEndpoint: String?

    @Option(name: .customLong("os-cloud"), help: ArgumentHelp("A cloud of clouds.yaml (or OS_CLOUD): IAM endpoint, user, password, project and region from ./clouds.yaml, ~/.config/openstack/clouds.yaml or /etc/openstack/clouds.yaml (OS_CLIENT_CONFIG_FILE names another). Flags and environment variables win over it.", valueName: "name"))
    var osCloud: String?

    @Option(name: .long, help: ArgumentHelp("Project id (or HUAWEICLOUD_SDK_PROJECT_ID / OS_PROJECT_ID).", valueName: "id"))
    var projectID: String?

    @Option(name: .long, help: ArgumentHelp("Project name instead of an id (or OS_PROJECT_NAME), e.g. eu-de; IAM gives its id (password sign-in only).", valueName: "name"))
    var projectName: String?

    @Option(name: .long, help: ArgumentHelp("Region whose endpoints the IAM catalogue gives (or OS_REGION_NAME).", valueName: "name"))
    var region: String?

    @Option(name: .long, help: ArgumentHelp("IAM token: only for a loopback endpoint (the fake cloud), since `ps` shows arguments; otherwise OS_AUTH_TOKEN or --token-file. Never printed.", valueName: "token"))
    var token: String?

    @Option(name: .long, help: ArgumentHelp("File holding the IAM token (read once, surrounding whitespace dropped).", valueName: "file"))
    var tokenFile: String?

    @Option(name: .long, help: ArgumentHelp("Access key for AK/SK signing (or HUAWEICLOUD_SDK_AK).", valueName: "ak"))
    var ak: String?

    @Option(name: .long, help: ArgumentHelp("Secret key: only for a loopback endpoint (the fake cloud); otherwise HUAWEICLOUD_SDK_SK or --sk-file. Never printed.", valueName: "sk"))
    var sk: String?

    @Option(name: .long, help: ArgumentHelp("File holding the secret key.", valueName: "file"))
    var skFile: String?

    @Option(name: .long, help: ArgumentHelp("File holding the security token of temporary AK/SK (or HUAWEICLOUD_SDK_SECURITY_TOKEN); sent as X-Security-Token and signed.", valueName: "file"))
    var securityTokenFile: String?

    @Option(name: .long, help: ArgumentHelp("IAM endpoint for password authentication (or OS_AUTH_URL).", valueName: "url"))
    var iamEndpoint: String?

    @Option(name: .long, help: ArgumentHelp("IAM user (or OS_USERNAME); the password comes from OS_PASSWORD only.", valueName: "name"))
    var user: String?

    @Option(name: .long, help: ArgumentHelp("IAM user domain (or OS_USER_DOMAIN_NAME; default: the user name).", valueName: "name"))
    var domain: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("First wait before retrying a throttled, failed or unanswered request; it doubles per retry up to 64 times this (at most 30 s); apply retries a request for up to 5 minutes (its first reads, before anything is sent, 6 times where no answer comes at all), other commands 6 times.", valueName: "seconds"))
    var retryDelay: Double = 0.5

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("How long a migrate request whose answer was lost (or whose run was killed) may still reach the cloud; no second request goes out for that server before this has passed since the first.", valueName: "seconds"))
    var settleWindow: Double = 60

    /// A client for the endpoint; with `trace`, every request and answer is traced on standard
    /// error (method, URL, status, time, X-Request-Id; never credentials).
    ///
    /// `patient`: keep retrying transient failures for up to 5 minutes per request (`apply`,
    /// which must ride out throttling and outages mid-run); otherwise give up after the six
    /// attempts (`inventory`: a wrong endpoint is reported in seconds, not after 5 minutes).
    func client(trace verbose: Bool, patient: Bool = false, quiet: Bool = false) async throws -> CloudClient {
        let env = ProcessInfo.processInfo.environment
        guard retryDelay.isFinite && retryDelay > 0 && retryDelay <= 60 else {
            throw CLIError.invalidInput("error: --retry-delay must be a number of seconds in (0, 60]")
        }
        guard settleWindow.isFinite && settleWindow >= 0 && settleWindow <= 3600 else {
            throw CLIError.invalidInput("error: --settle-window must be a number of seconds in [0, 3600]")
        }
        // clouds.yaml (OS_CLOUD) under the environment, the environment under the flags.
        var cloud = CloudsFileEntry()
        if let name = osCloud ?? env["OS_CLOUD"], !name.isEmpty {
            do {
                cloud = try CloudsFileEntry.load(name, paths: CloudsFileEntry.searchPaths(environment: env))
            } catch {
                throw CLIError.invalidInput("error: --os-cloud: \(error)")
            }
        }
        let projectIDValue = projectID ?? env["HUAWEICLOUD_SDK_PROJECT_ID"] ?? env["OS_PROJECT_ID"] ?? cloud.projectID
        let projectNameValue = projectName ?? env["OS_PROJECT_NAME"] ?? cloud.projectName
        guard projectIDValue?.isEmpty == false || projectNameValue?.isEmpty == false else {
            throw CLIError.invalidInput("error: --project-id is required (or set HUAWEICLOUD_SDK_PROJECT_ID / OS_PROJECT_ID; with password sign-in, --project-name / OS_PROJECT_NAME, or OS_CLOUD)")
        }
        let regionValue = region ?? env["OS_REGION_NAME"] ?? cloud.regionName
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
        var ecs = try endpoint.map { try endpointURL($0, flag: "--endpoint") }
        var deh = try dehEndpoint.map { try endpointURL($0, flag: "--deh-endpoint") }
        // Secrets as arguments are visible to every user of the machine (`ps`, shell history):
        // accepted only where the endpoint is this machine's loopback (the fake cloud).
        let local = ecs != nil && [ecs, deh].compactMap { $0 }.allSatisfy { EndpointPolicy.isLoopback($0.host ?? "") }
        for (flag, value, instead) in [("--token", token, "OS_AUTH_TOKEN or --token-file FILE"), ("--sk", sk, "HUAWEICLOUD_SDK_SK or --sk-file FILE")]
        where value != nil && !local {
            throw CLIError.invalidInput(
                "error: \(flag): a secret on the command line is visible to every user of this machine (ps); use \(instead) (\(flag) is accepted only for a loopback endpoint such as the fake cloud)")
        }
        func secret(_ file: String?, flag: String) throws -> String? {
            guard let file else { return nil }
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw CLIError.invalidInput("error: \(flag): cannot read \(file): \(error.localizedDescription)")
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { throw CLIError.invalidInput("error: \(flag): \(file) is empty") }
            return value
        }
        // Flags (and their files) before the environment.
        let tokenValue = try token ?? secret(tokenFile, flag: "--token-file") ?? env["OS_AUTH_TOKEN"]
        let skValue = try sk ?? secret(skFile, flag: "--sk-file") ?? env["HUAWEICLOUD_SDK_SK"]
        let securityToken = try secret(securityTokenFile, flag: "--security-token-file") ?? env["HUAWEICLOUD_SDK_SECURITY_TOKEN"]
        let credentials: Credentials
        var project = projectIDValue.flatMap { $0.isEmpty ? nil : $0 }
        let passwordSignIn = project == nil || ecs == nil
        if let ak = ak ?? env["HUAWEICLOUD_SDK_AK"], let sk = skValue, !passwordSignIn {
            credentials = .accessKey(Signer(accessKey: ak, secretKey: sk, securityToken: securityToken))
        } else if let token = tokenValue, !passwordSignIn {
            credentials = .token(token)
        } else if let iamText = iamEndpoint ?? env["OS_AUTH_URL"] ?? cloud.authURL, let iam = Optional(try endpointURL(iamText, flag: "--iam-endpoint")),
            let user = user ?? env["OS_USERNAME"] ?? cloud.username, let password = env["OS_PASSWORD"] ?? cloud.password
        {
            let session: IAM.Session
            do {
                session = try await IAM.authenticate(
                    endpoint: iam, user: user, password: password, domain: domain ?? env["OS_USER_DOMAIN_NAME"] ?? cloud.userDomainName ?? user,
                    scope: project.map { IAM.Scope.projectID($0) } ?? IAM.Scope.projectName(projectNameValue!))
            } catch {
                throw CLIError.runtime("error: IAM authentication at \(EndpointPolicy.redacted(iam)) failed: \(error)")
            }
            credentials = .token(session.token)
            if project == nil {
                guard let id = session.projectID else {
                    throw CLIError.runtime("error: IAM at \(EndpointPolicy.redacted(iam)) did not say the id of project \"\(projectNameValue!)\"; pass --project-id")
                }
                project = id
            }
            // Endpoints the flags did not give come from the catalogue.
            if ecs == nil {
                guard let found = session.endpoint(type: "ecs", region: regionValue) else {
                    let regions = Set(session.catalog.filter { $0.type == "ecs" }.map(\.region)).sorted()
                    throw CLIError.invalidInput("error: --endpoint: the IAM catalogue has no public ECS endpoint"
                        + (regionValue.map { " in region \($0)" } ?? (regions.count > 1 ? " for one region (it lists \(regions.joined(separator: ", ")); pass --region)" : ""))
                        + "; pass --endpoint")
                }
                ecs = try endpointURL(found.absoluteString, flag: "--endpoint (from the IAM catalogue)")
                if deh == nil, let found = session.endpoint(type: "deh", region: regionValue) {
                    deh = try endpointURL(found.absoluteString, flag: "--deh-endpoint (from the IAM catalogue)")
                }
            }
        } else if ecs == nil {
            throw CLIError.invalidInput(
                "error: --endpoint is required (or sign in with a password: --iam-endpoint / OS_AUTH_URL, --user / OS_USERNAME and OS_PASSWORD, or OS_CLOUD; the IAM catalogue then names the endpoints)")
        } else if project == nil {
            throw CLIError.invalidInput(
                "error: --project-name needs password sign-in (IAM gives the id): set --iam-endpoint / OS_AUTH_URL, --user / OS_USERNAME and OS_PASSWORD, or pass --project-id")
        } else {
            throw CLIError.invalidInput(
                "error: no credentials: set OS_AUTH_TOKEN (or --token-file), or --ak with HUAWEICLOUD_SDK_SK (or --sk-file; HUAWEICLOUD_SDK_AK for the key too), or --iam-endpoint and --user with OS_PASSWORD (or OS_CLOUD with clouds.yaml)")
        }
        guard let ecs, let project else { throw CLIError.invalidInput("error: --endpoint is required") }
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
        case .success(var client):
            // A request that keeps failing is reported on standard error (`CloudClient.notice`),
            // so that an endpoint that does not answer is not a silent wait.
            if !quiet { client.notice = { @Sendable line in FileHandle.standardError.write(Data(("warning: " + line + "\n").utf8)) } }
            return client
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
