// SPDX-License-Identifier: GPL-3.0-or-later

@testable import CloudAPI
import Foundation
import TestSupport
import Testing

/// The eight request → Authorization vectors of Tests/fixtures/signer-vectors.json (the cloud
/// API's published vectors, which an independent implementation reproduces).
@Suite struct SignerTests {
    static let file = Fixtures.packageRoot.appendingPathComponent("Tests/fixtures/signer-vectors.json")

    struct Vector: Sendable, CustomStringConvertible {
        let name: String
        let ak: String
        let sk: String
        let method: String
        let host: String
        let path: String
        let query: [[String]]
        let headers: [String: String]
        let body: String?
        let date: String
        let authorization: String
        var description: String { name }
    }

    static func vectors() -> [Vector] {
        guard let data = try? Data(contentsOf: file),
            let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let list = doc["vectors"] as? [[String: Any]]
        else { return [] }
        return list.map { v in
            Vector(
                name: v["name"] as! String, ak: v["ak"] as! String, sk: v["sk"] as! String, method: v["method"] as! String,
                host: v["host"] as! String, path: v["path"] as! String, query: v["query"] as? [[String]] ?? [],
                headers: v["headers"] as? [String: String] ?? [:], body: v["body"] as? String,
                date: v["x_sdk_date"] as! String, authorization: v["authorization"] as! String)
        }
    }

    @Test
    func thereAreEightVectors() {
        #expect(Self.vectors().count == 8)
    }

    @Test(arguments: vectors())
    func reproducesTheOfficialSigner(_ v: Vector) {
        let signer = Signer(accessKey: v.ak, secretKey: v.sk)
        let request = Signer.Request(
            method: v.method, host: v.host, path: v.path, query: v.query.map { ($0[0], $0.count > 1 ? $0[1] : "") },
            headers: v.headers, body: v.body.map { Array($0.utf8) })
        let signed = signer.sign(request, sdkDate: v.date)
        #expect(signed.authorization == v.authorization)
        #expect(!signed.authorization.contains(v.sk))
        #expect(!"\(signer)".contains(v.sk))
        #expect(!String(reflecting: signer).contains(v.sk))
    }

    @Test func canonicalPieces() {
        #expect(Signer.canonicalURI("") == "/")
        #expect(Signer.canonicalURI("/v1/a b/c") == "/v1/a%20b/c/")
        #expect(Signer.canonicalQuery([("b", "2"), ("a", "x y"), ("a", "1")]) == "a=1&a=x%20y&b=2")
        #expect(Signer.sdkDate(Date(timeIntervalSince1970: 1_704_164_645)) == "20240102T030405Z")
    }

    /// Temporary AK/SK: the security token is sent as X-Security-Token and signed (a request
    /// without it, or with another one, has a different signature); it is never printed.
    @Test func theSecurityTokenIsSentAndSigned() {
        let request = Signer.Request(method: "GET", host: "ecs.example.com", path: "/v1/p/cloudservers/detail")
        let plain = Signer(accessKey: "AK", secretKey: "SK").sign(request, sdkDate: "20261201T000000Z")
        let withToken = Signer(accessKey: "AK", secretKey: "SK", securityToken: "STS1").sign(request, sdkDate: "20261201T000000Z")
        let otherToken = Signer(accessKey: "AK", secretKey: "SK", securityToken: "STS2").sign(request, sdkDate: "20261201T000000Z")
        #expect(plain.headers["X-Security-Token"] == nil)
        #expect(withToken.headers["X-Security-Token"] == "STS1")
        #expect(withToken.authorization.contains("SignedHeaders=host;x-sdk-date;x-security-token,"))
        #expect(withToken.authorization != otherToken.authorization)
        #expect(!"\(Signer(accessKey: "AK", secretKey: "SK", securityToken: "STS1"))".contains("STS1"))
    }
}
