// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing

/// The official Python SDK (huaweicloudsdkecs, huaweicloudsdkdeh) drives `dehplan fake-cloud`
/// unchanged. scripts/test installs the SDK in a virtual environment and sets DEHPLAN_SDK_PYTHON.
@Suite struct OfficialSDKE2ETests {
    static let python = ProcessInfo.processInfo.environment["DEHPLAN_SDK_PYTHON"]

    @Test(.enabled(if: python != nil)) func officialSDKAcceptsTheFakeCloud() throws {
        let fake = Process()
        fake.executableURL = URL(fileURLWithPath: Binary.path)
        fake.arguments = [
            "fake-cloud", "--inventory", Fixtures.sample("fragmented.json"), "--project-id", "proj", "--ak", "SDKAK",
            "--sk", "SDKSK", "--job-seconds", "0.3",
        ]
        let out = Pipe()
        fake.standardOutput = out
        fake.standardError = FileHandle.nullDevice
        try fake.run()
        defer {
            fake.terminate()
            fake.waitUntilExit()
        }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        let port = try #require(text.split(separator: ":").last?.split(separator: " ").first.flatMap { Int($0) }, "\(text)")

        let check = Process()
        check.executableURL = URL(fileURLWithPath: Self.python!)
        check.arguments = [
            Fixtures.packageRoot.appendingPathComponent("Tests/sdk/official_sdk_check.py").path,
            "http://127.0.0.1:\(port)", "proj", "SDKAK", "SDKSK", "app-big", "deh-frag-b",
        ]
        let result = Pipe()
        check.standardOutput = result
        check.standardError = result
        try check.run()
        let output = String(decoding: result.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        #expect(check.terminationStatus == 0, "\(output)")
        #expect(output.contains("sdk: 6 passed, 0 failed"), "\(output)")
    }
}
