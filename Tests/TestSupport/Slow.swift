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
