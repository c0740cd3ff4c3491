// SPDX-License-Identifier: GPL-3.0-or-later

/// Reads typed fields out of a `JSON` tree, recording an issue (with JSON path) for
/// every field that is missing or of the wrong type instead of stopping at the first.
struct JSONReader {
    var issues: [InventoryIssue] = []

    mutating func fail(_ path: String, _ message: String) {
        issues.append(InventoryIssue(path: path, message: message))
    }

    /// Reports keys that are not in `allowed` (keys starting with `_` are comments and always allowed).
    mutating func rejectUnknownKeys(_ value: JSON, at path: @autoclosure () -> String, allowed: [String]) {
        guard case .object(let pairs) = value else { return }
        for (key, _) in pairs where !allowed.contains(key) && !key.hasPrefix("_") {
            var message = "unknown field \"\(key)\""
            if let guess = closestMatch(to: key, in: allowed) { message += "; did you mean \"\(guess)\"?" }
            message += " (allowed: \(allowed.joined(separator: ", ")); prefix a key with _ for a comment)"
            fail(join(path(), key), message)
        }
    }

    mutating func object(_ value: JSON?, at path: @autoclosure () -> String, required: Bool = true) -> [(String, JSON)]? {
        guard let value else {
            if required { fail(path(), "missing; expected an object") }
            return nil
        }
        guard case .object(let pairs) = value else {
            fail(path(), "expected an object, got \(value.typeName)")
            return nil
        }
        return pairs
    }

    mutating func array(_ value: JSON?, at path: @autoclosure () -> String, required: Bool = true) -> [JSON]? {
        guard let value else {
            if required { fail(path(), "missing; expected an array") }
            return nil
        }
        if case .null = value, !required { return nil }
        guard case .array(let items) = value else {
            fail(path(), "expected an array, got \(value.typeName)")
            return nil
        }
        return items
    }

    mutating func string(_ value: JSON?, at path: @autoclosure () -> String, required: Bool = true, nonEmpty: Bool = true) -> String? {
        guard let value else {
            if required { fail(path(), "missing; expected a string") }
            return nil
        }
        guard case .string(let s) = value else {
            fail(path(), "expected a string, got \(value.typeName)")
            return nil
        }
        if nonEmpty && s.isEmpty {
            fail(path(), "must not be empty")
            return nil
        }
        return s
    }

    /// A string, or nil for JSON null / absent.
    mutating func nullableString(_ value: JSON?, at path: @autoclosure () -> String) -> String?? {
        guard let value else { return .some(nil) }
        if case .null = value { return .some(nil) }
        guard case .string(let s) = value, !s.isEmpty else {
            fail(path(), value.typeName == "a string" ? "must not be empty (use null)" : "expected a string or null, got \(value.typeName)")
            return nil
        }
        return .some(s)
    }

    mutating func bool(_ value: JSON?, at path: @autoclosure () -> String, default defaultValue: Bool) -> Bool {
        guard let value else { return defaultValue }
        if case .null = value { return defaultValue }
        guard case .bool(let b) = value else {
            fail(path(), "expected true or false, got \(value.typeName)")
            return defaultValue
        }
        return b
    }

    mutating func int(_ value: JSON?, at path: @autoclosure () -> String, required: Bool = true) -> Int? {
        guard let value else {
            if required { fail(path(), "missing; expected an integer") }
            return nil
        }
        guard case .number(let n) = value else {
            fail(path(), "expected an integer, got \(value.typeName)")
            return nil
        }
        guard n == n.rounded(), abs(n) <= 1e15 else {
            fail(path(), "expected an integer, got \(JSON.format(n))")
            return nil
        }
        return Int(n)
    }

    mutating func positiveInt(_ value: JSON?, at path: @autoclosure () -> String, required: Bool = true, unit: String) -> Int? {
        guard let n = int(value, at: path(), required: required) else { return nil }
        guard n > 0 else {
            fail(path(), "must be a positive number of \(unit), got \(n)")
            return nil
        }
        return n
    }
}

func join(_ path: String, _ key: String) -> String {
    let simple = !key.isEmpty && key.unicodeScalars.allSatisfy {
        ($0.properties.isAlphabetic && $0.isASCII) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
    }
    let part = simple ? key : "[\"\(key)\"]"
    if path.isEmpty { return simple ? key : part }
    return simple ? "\(path).\(key)" : "\(path)\(part)"
}

/// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo.
public func closestMatch(to word: String, in candidates: some Sequence<String>) -> String? {
    var best: (String, Int)?
    let limit = max(2, word.count / 3)
    for candidate in candidates {
        let d = editDistance(word.lowercased(), candidate.lowercased())
        if d <= limit, best == nil || d < best!.1 { best = (candidate, d) }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = Array(repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
