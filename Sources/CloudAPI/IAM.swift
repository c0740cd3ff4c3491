// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation

/// IAM password authentication: `POST {iam}/v3/auth/tokens` with a project scope; the token
/// comes back in the `X-Subject-Token` header (201) and is valid for 24 hours.
public enum IAM {
    /// The project a token is scoped to: by id, or by name within the user's domain.
    public enum Scope: Sendable {
        case projectID(String)
        case projectName(String)
    }

    /// What IAM answers: the token, the project it is scoped to, and the service catalogue.
    public struct Session: Sendable {
        public let token: String
        public let projectID: String?
        public let catalog: [CatalogEndpoint]

        /// The public endpoint of service `type` (e.g. `ecs`, `deh`) in `region` (or the only
        /// region offering it when nil), as scheme://host[:port]: the catalogue's URLs carry a
        /// version and project path that dehplan adds itself.
        public func endpoint(type: String, region: String?) -> URL? {
            let offered = catalog.filter { $0.type == type && $0.interface == "public" && (region == nil || $0.region == region) }
            guard let first = offered.first, region != nil || Set(offered.map(\.region)).count == 1,
                var parts = URLComponents(url: first.url, resolvingAgainstBaseURL: false)
            else { return nil }
            parts.path = ""
            parts.query = nil
            return parts.url
        }
    }

    public struct CatalogEndpoint: Sendable, Equatable {
        public let type: String
        public let region: String
        public let interface: String
        public let url: URL
    }

    /// Obtains a token. The password is sent only in the request body, never logged.
    public static func token(
        endpoint: URL, user: String, password: String, domain: String, projectID: String,
        transport: any HTTPTransport = URLSessionTransport()
    ) async throws(CloudError) -> String {
        try await authenticate(endpoint: endpoint, user: user, password: password, domain: domain, scope: .projectID(projectID),
                               transport: transport).token
    }

    /// Password authentication scoped to a project; the answer's body gives the project id (a
    /// scope by name needs it) and the catalogue of endpoints.
    public static func authenticate(
        endpoint: URL, user: String, password: String, domain: String, scope: Scope,
        transport: any HTTPTransport = URLSessionTransport()
    ) async throws(CloudError) -> Session {
        try EndpointPolicy.check(endpoint)
        let request = switch scope {
        case .projectID(let id): WireTokenRequest(user: user, password: password, domain: domain, projectID: id, projectName: nil)
        case .projectName(let name): WireTokenRequest(user: user, password: password, domain: domain, projectID: nil, projectName: name)
        }
        guard let data = try? JSONEncoder().encode(request) else {
            throw CloudError(status: 0, code: nil, message: "cannot encode the IAM request")
        }
        var base = endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        if !base.hasSuffix("/v3") { base += "/v3" }
        guard let url = URL(string: base + "/auth/tokens") else {
            throw CloudError(status: 0, code: nil, message: "invalid IAM endpoint \(endpoint)")
        }
        let response: HTTPResponse
        do {
            response = try await transport.send(HTTPRequest(
                method: "POST", url: url, headers: ["Content-Type": "application/json;charset=UTF-8"], body: [UInt8](data)))
        } catch let error as CloudError {
            throw error
        } catch {
            throw CloudError.noAnswer("IAM: \(error)")
        }
        guard response.status == 201, let token = response.headers["x-subject-token"], !token.isEmpty else {
            throw CloudError.from(status: response.status, body: response.body, requestID: response.headers["x-request-id"])
        }
        // The body: {"token": {"project": {"id", "name"}, "catalog": [{"type", "endpoints":
        // [{"interface", "region" or "region_id", "url"}]}]}}; a body that says less gives less.
        let answer = (try? JSONDecoder().decode(WireTokenResponse.self, from: Data(response.body)))?.token
        let projectID = answer?.project?.id
        var catalog: [CatalogEndpoint] = []
        for service in answer?.catalog ?? [] {
            guard let type = service.type else { continue }
            for e in service.endpoints ?? [] {
                guard let text = e.url, let url = URL(string: text) else { continue }
                catalog.append(CatalogEndpoint(type: type, region: e.region_id ?? e.region ?? "", interface: e.interface ?? "public", url: url))
            }
        }
        return Session(token: token, projectID: projectID, catalog: catalog)
    }
}
