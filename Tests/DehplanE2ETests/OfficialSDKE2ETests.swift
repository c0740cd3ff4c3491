// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import TestSupport
import Testing

/// The official Python SDK (huaweicloudsdkecs, huaweicloudsdkdeh) drives `dehplan fake-cloud`
/// unchanged. scripts/test installs the SDK in a virtual environment and sets DEHPLAN_SDK_PYTHON.
@Suite struct OfficialSDKE2ETests {
    static let python = ProcessInfo.processInfo.environment["DEHPLAN_SDK_PYTHON"]

    @Test(.enabled(if: python != nil)) func officialSDKAcceptsTheFakeCloud() throws {
        let fakeCloud = try FakeCloudProcess(["--inventory", Fixtures.sample("fragmented.json"), "--project-id", "proj", "--ak", "SDKAK", "--sk", "SDKSK", "--job-seconds", "0.3"])
        defer { fakeCloud.stop() }
        let port = fakeCloud.port

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
