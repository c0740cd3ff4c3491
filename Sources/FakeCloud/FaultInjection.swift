// SPDX-License-Identifier: GPL-3.0-or-later

import CloudAPI
import Foundation
import Planner
import Topology

/// Seeded fault injection for the fake cloud: throttling, server errors, lost answers.
public struct FaultInjection: Sendable {
    /// Share of requests answered 429 `Common.1503` (not executed).
    public var throttleRate: Double
    /// Share of requests answered 500 `Common.0001` (not executed).
    public var errorRate: Double
    /// Share of requests executed whose answer is then lost (the connection closes).
    public var dropRate: Double
    public var seed: UInt64

    public init(throttleRate: Double = 0, errorRate: Double = 0, dropRate: Double = 0, seed: UInt64 = 1) {
        self.throttleRate = throttleRate
        self.errorRate = errorRate
        self.dropRate = dropRate
        self.seed = seed
    }

    public var isActive: Bool { throttleRate > 0 || errorRate > 0 || dropRate > 0 }
}

/// What the fault injector decided for one request.
enum Fault: Sendable { case none, throttle, error, drop }

/// Draws faults from a seeded generator (same seed, same sequence).
actor FaultDice {
    var faults: FaultInjection
    var rng: SplitMix64

    init(_ faults: FaultInjection) {
        self.faults = faults
        self.rng = SplitMix64(seed: faults.seed)
    }

    /// New rates from now on (the sequence goes on from where it is).
    func set(throttleRate: Double?, errorRate: Double?, dropRate: Double?) {
        if let throttleRate { faults.throttleRate = throttleRate }
        if let errorRate { faults.errorRate = errorRate }
        if let dropRate { faults.dropRate = dropRate }
    }

    func roll() -> Fault {
        guard faults.isActive else { return .none }
        let x = Double(rng.next() >> 11) / Double(1 << 53)
        if x < faults.throttleRate { return .throttle }
        if x < faults.throttleRate + faults.errorRate { return .error }
        if x < faults.throttleRate + faults.errorRate + faults.dropRate { return .drop }
        return .none
    }
}

extension FakeCloud {
    /// Answers a request through the fault injector: throttled and failed requests are not
    /// executed; dropped ones are executed and their answer is withheld (nil).
    func handle(_ request: CloudAPI.HTTPRequest, dice: FaultDice) async -> CloudAPI.HTTPResponse? {
        // The test endpoints never fail. POST /_fake/faults changes the rates while running:
        // {"throttle_rate", "error_rate", "drop_rate", "fail_rate"}, each optional.
        if request.url.path == "/_fake/faults" && request.method == "POST" {
            if let denial = authenticate(request) { return denial }
            guard let doc = try? JSON.parse(request.body ?? []), case .object = doc else {
                return Self.error(400, "Ecs.0005", "expected a JSON object of rates")
            }
            func rate(_ key: String) -> Double? {
                if case .number(let n)? = doc[key], n >= 0, n <= 1 { return n }
                return nil
            }
            await dice.set(throttleRate: rate("throttle_rate"), errorRate: rate("error_rate"), dropRate: rate("drop_rate"))
            if let fail = rate("fail_rate") { setFailRate(fail) }
            return Self.json(200, #"{"ok": true}"#)
        }
        if request.url.path.hasPrefix("/_fake/") { return handle(request) }
        switch await dice.roll() {
        case .none: return handle(request)
        case .throttle: return Self.error(429, "Common.1503", "API flow control: too many requests.")
        case .error: return Self.error(500, "Common.0001", "System exception.")
        case .drop:
            _ = handle(request)
            return nil
        }
    }
}
