// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation
import Testing

extension Tag {
    /// Suites that take a minute or more on 2 cores: the fault and crash soaks, the interrupt
    /// run and the 500-fleet placement-safety property.
    @Tag public static var slow: Self
}

extension Trait where Self == ConditionTrait {
    /// Skips a slow suite when `DEHPLAN_FAST` is set: `DEHPLAN_FAST=1 swift test` is the quick
    /// local loop; `scripts/test` and CI never set it and run everything.
    public static var skippedWhenFast: Self {
        .enabled(if: ProcessInfo.processInfo.environment["DEHPLAN_FAST"] == nil, "DEHPLAN_FAST is set: slow suite skipped")
    }
}

/// How many cases a property test runs: `base`, times `DEHPLAN_PROPERTY_SCALE` when set (a
/// longer local soak, e.g. `DEHPLAN_PROPERTY_SCALE=20 swift test --filter PropertyTests`).
/// Cases are drawn afresh on every run; a failure prints the seed to replay it.
public func propertyCount(_ base: Int) -> Int {
    base * max(1, Int(ProcessInfo.processInfo.environment["DEHPLAN_PROPERTY_SCALE"] ?? "") ?? 1)
}
