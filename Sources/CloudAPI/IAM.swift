// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation

/// IAM password authentication: `POST {iam}/v3/auth/tokens` with a project scope; the token
/// comes back in the `X-Subject-Token` header (201) and is valid for 24 hours.
public enum IAM {
    /// Obtains a token. The password is sent only in the request body, never logged.
    public static func token(
        endpoint: URL, user: String, password: String, domain: String, projectID: String,
        transport: any HTTPTransport = URLSessionTransport()
    ) async throws(CloudError) -> String {
        try EndpointPolicy.check(endpoint)
        let body: [String: Any] = [
            "auth": [
                "identity": [
                    "methods": ["password"],
                    "password": ["user": ["name": user, "password": password, "domain": ["name": domain]]],
                ],
                "scope": ["project": ["id": projectID]],
            ]
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: body) else {
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
        return token
    }
}
