// SPDX-License-Identifier: GPL-3.0-or-later

/// A JSON value that keeps object keys in document order.
///
/// dehplan parses inventories with its own small parser so that every error can
/// name a line and column (syntax) or a JSON path (content), and writes its
/// output with keys in the documented order.
public indirect enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.number(a), .number(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// The value for `key` when this is an object.
    public subscript(key: String) -> JSON? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    /// A short name of the value's type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// An integer JSON number from a Swift integer.
    public static func int(_ value: Int) -> JSON { .number(Double(value)) }
    /// A string or null.
    public static func optionalString(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }
}

/// A JSON syntax error with its position.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line of the offending character.
    public let line: Int
    /// 1-based column (in bytes) of the offending character.
    public let column: Int
    /// What the parser expected or found.
    public let message: String

    /// Creates a syntax error.
    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

// MARK: - Parsing

extension JSON {
    /// Parses UTF-8 JSON text (RFC 8259). Duplicate keys in one object are an error.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSON {
        var parser = JSONParser(bytes: bytes)
        return try parser.parseDocument()
    }

    /// Parses JSON text.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSON {
        try parse(Array(text.utf8))
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    var depth = 0
    static let maxDepth = 512

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSON {
        // A UTF-8 byte-order mark is tolerated.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
        skipWhitespace()
        if index >= bytes.count { throw error("the file is empty; expected a JSON object") }
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count { throw error("unexpected \(describe(bytes[index])) after the end of the JSON value") }
        return value
    }

    func position(_ at: Int) -> (Int, Int) {
        var line = 1
        var column = 1
        var i = 0
        let end = min(at, bytes.count)
        while i < end {
            if bytes[i] == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if bytes[i] & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return (line, column)
    }

    func error(_ message: String, at: Int? = nil) -> JSONSyntaxError {
        let (line, column) = position(at ?? index)
        return JSONSyntaxError(line: line, column: column, message: message)
    }

    func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return "character '\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(JSONSyntaxError) -> JSON {
        guard index < bytes.count else { throw error("unexpected end of file; the JSON is truncated") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected \(describe(bytes[index])); expected a value")
        }
    }

    mutating func parseLiteral(_ word: String, _ value: JSON) throws(JSONSyntaxError) -> JSON {
        let start = index
        for byte in word.utf8 {
            guard index < bytes.count else { throw error("unexpected end of file; the JSON is truncated") }
            guard bytes[index] == byte else { throw error("invalid literal; expected \(word)", at: start) }
            index += 1
        }
        return value
    }

    mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maxDepth { throw error("nesting deeper than \(Self.maxDepth) levels") }
    }

    mutating func parseObject() throws(JSONSyntaxError) -> JSON {
        try enter()
        defer { depth -= 1 }
        index += 1
        var pairs: [(String, JSON)] = []
        var seen: Set<String>?  // only for large objects; small ones are scanned
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(pairs)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of file inside an object; the JSON is truncated") }
            guard bytes[index] == UInt8(ascii: "\"") else {
                throw error("unexpected \(describe(bytes[index])); expected a quoted key")
            }
            let keyStart = index
            let key = try parseString()
            let duplicate: Bool
            if pairs.count < 16 {
                duplicate = pairs.contains { $0.0 == key }
            } else {
                if seen == nil { seen = Set(pairs.map(\.0)) }
                duplicate = !seen!.insert(key).inserted
            }
            if duplicate { throw error("duplicate key \"\(key)\"", at: keyStart) }
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of file inside an object; the JSON is truncated") }
            guard bytes[index] == UInt8(ascii: ":") else { throw error("unexpected \(describe(bytes[index])); expected ':' after key \"\(key)\"") }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            pairs.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of file inside an object; the JSON is truncated") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(pairs)
            }
            throw error("unexpected \(describe(bytes[index])); expected ',' or '}'")
        }
    }

    mutating func parseArray() throws(JSONSyntaxError) -> JSON {
        try enter()
        defer { depth -= 1 }
        index += 1
        var items: [JSON] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of file inside an array; the JSON is truncated") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            throw error("unexpected \(describe(bytes[index])); expected ',' or ']'")
        }
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
        let start = index
        index += 1
        var runStart = index
        var buffer: [UInt8] = []
        var ascii = true
        while true {
            guard index < bytes.count else { throw error("unterminated string; the JSON is truncated", at: start) }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                if buffer.isEmpty {
                    // No escapes: decode straight from the input, no intermediate buffer. ASCII
                    // needs no validation (ids and names nearly always are: a third of the time
                    // reading a 10,000-host inventory went to validating them).
                    let end = index
                    index += 1
                    let string = bytes.withUnsafeBufferPointer { all -> String? in
                        let run = UnsafeBufferPointer(rebasing: all[runStart..<end])
                        return ascii ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self)
                    }
                    guard let string else { throw error("string is not valid UTF-8", at: start) }
                    return string
                }
                if index > runStart { buffer.append(contentsOf: bytes[runStart..<index]) }
                index += 1
                break
            }
            if byte < 0x20 { throw error("control character inside a string (escape it)") }
            if byte >= 0x80 { ascii = false }
            if byte == UInt8(ascii: "\\") {
                if index > runStart { buffer.append(contentsOf: bytes[runStart..<index]) }
                index += 1
                guard index < bytes.count else { throw error("unterminated string; the JSON is truncated", at: start) }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): buffer.append(0x22)
                case UInt8(ascii: "\\"): buffer.append(0x5C)
                case UInt8(ascii: "/"): buffer.append(0x2F)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired UTF-16 surrogate in \\u escape")
                        }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid UTF-16 surrogate pair") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw error("unpaired UTF-16 surrogate in \\u escape")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                    buffer.append(contentsOf: Array(String(scalar).utf8))
                default:
                    throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))'", at: index - 2)
                }
                runStart = index
                continue
            }
            index += 1
        }
        guard let string = String(validating: buffer, as: UTF8.self) else {
            throw error("string is not valid UTF-8", at: start)
        }
        return string
    }

    mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("unterminated \\u escape; the JSON is truncated") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> JSON {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        guard isDigit(index) else { throw error("invalid number: expected a digit") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(index) { throw error("invalid number: leading zero", at: start) }
        } else {
            while isDigit(index) { index += 1 }
        }
        let integerEnd = index  // digits end here unless a fraction or exponent follows
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw error("invalid number: expected a digit after '.'") }
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw error("invalid number: expected a digit in the exponent") }
            while isDigit(index) { index += 1 }
        }
        // Integers of up to 15 digits (all counts and sizes) are exact in a Double: read them
        // without going through text.
        let negative = bytes[start] == UInt8(ascii: "-")
        let first = negative ? start + 1 : start
        if integerEnd == index, index - first <= 15 {
            let whole = bytes[first..<index].reduce(0) { $0 * 10 + Int($1 - 0x30) }
            return .number(negative ? -Double(whole) : Double(whole))
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw error("number \(text) is out of range", at: start) }
        return .number(value)
    }
}

// MARK: - Writing

extension JSON {
    /// Serialises the value. `pretty` indents by two spaces; keys keep their order.
    public func serialized(pretty: Bool = true) -> String {
        String(decoding: serializedUTF8(pretty: pretty), as: UTF8.self)
    }

    /// The same text as `serialized`, as UTF-8 bytes. Written byte by byte rather than by
    /// appending strings: a plan of 8,000 hosts is 10 MB of JSON, and writing it as strings
    /// took 0.26-0.37 s of a 1 s plan.
    public func serializedUTF8(pretty: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(to: &out, indent: pretty ? 0 : nil)
        return out
    }

    private static func append(_ text: StaticString, to out: inout [UInt8]) {
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    private static func indent(_ level: Int, to out: inout [UInt8]) {
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * level))
    }

    private func write(to out: inout [UInt8], indent: Int?) {
        switch self {
        case .null: JSON.append("null", to: &out)
        case .bool(let b): JSON.append(b ? "true" : "false", to: &out)
        case .number(let n): JSON.writeNumber(n, to: &out)
        case .string(let s): JSON.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty {
                JSON.append("[]", to: &out)
                return
            }
            // Short arrays of scalars stay on one line: node lists read better that way.
            let scalarOnly = items.allSatisfy(\.isScalar)
            if indent == nil || (scalarOnly && items.count <= 16) {
                out.append(UInt8(ascii: "["))
                for (i, item) in items.enumerated() {
                    if i > 0 { JSON.append(indent == nil ? "," : ", ", to: &out) }
                    item.write(to: &out, indent: nil)
                }
                out.append(UInt8(ascii: "]"))
                return
            }
            let level = indent!
            JSON.append("[\n", to: &out)
            for (i, item) in items.enumerated() {
                JSON.indent(level + 1, to: &out)
                item.write(to: &out, indent: level + 1)
                JSON.append(i + 1 < items.count ? ",\n" : "\n", to: &out)
            }
            JSON.indent(level, to: &out)
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            if pairs.isEmpty {
                JSON.append("{}", to: &out)
                return
            }
            guard let level = indent else {
                out.append(UInt8(ascii: "{"))
                for (i, (key, value)) in pairs.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    JSON.writeString(key, to: &out)
                    out.append(UInt8(ascii: ":"))
                    value.write(to: &out, indent: nil)
                }
                out.append(UInt8(ascii: "}"))
                return
            }
            if pairs.allSatisfy({ $0.1.isScalar }) {
                // Small flat objects ({"node": 0, "vcpus": 8, ...}) read better on one line.
                let mark = out.count
                out.append(UInt8(ascii: "{"))
                for (i, (key, value)) in pairs.enumerated() {
                    if i > 0 { JSON.append(", ", to: &out) }
                    JSON.writeString(key, to: &out)
                    JSON.append(": ", to: &out)
                    value.write(to: &out, indent: nil)
                }
                out.append(UInt8(ascii: "}"))
                // At most 72 characters (the byte count bounds the character count).
                if out.count - mark <= 72 || String(decoding: out[mark...], as: UTF8.self).count <= 72 { return }
                out.removeSubrange(mark...)
            }
            JSON.append("{\n", to: &out)
            for (i, (key, value)) in pairs.enumerated() {
                JSON.indent(level + 1, to: &out)
                JSON.writeString(key, to: &out)
                JSON.append(": ", to: &out)
                value.write(to: &out, indent: level + 1)
                JSON.append(i + 1 < pairs.count ? ",\n" : "\n", to: &out)
            }
            JSON.indent(level, to: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// True for null, booleans, numbers and strings.
    var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }

    /// Formats a number: integers without a fraction, others with up to 6 significant decimals.
    static func format(_ n: Double) -> String {
        guard n.isFinite else { return "null" }
        if n == n.rounded(), abs(n) < 1e15 { return String(Int64(n)) }
        var s = String(n)
        if s.contains("e") { return s }
        // Trim representation noise such as 0.30000000000000004.
        let rounded = (n * 1e6).rounded() / 1e6
        s = String(rounded)
        return s
    }

    /// Integers as digits without a fraction (written directly: ids and sizes make most of
    /// a plan's numbers), others as `format` gives them.
    static func writeNumber(_ n: Double, to out: inout [UInt8]) {
        guard n.isFinite, n == n.rounded(), abs(n) < 1e15 else {
            out.append(contentsOf: format(n).utf8)
            return
        }
        var v = Int64(n)
        if v == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        if v < 0 {
            out.append(UInt8(ascii: "-"))
            v = -v
        }
        let first = out.count
        while v > 0 {
            out.append(UInt8(ascii: "0") + UInt8(v % 10))
            v /= 10
        }
        out[first...].reverse()
    }

    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (ids, names) need no escape: appended whole, not scalar by scalar (the
        // inventory's fingerprint serializes every id: 0.2 s of a 1 s plan of 8,000 hosts).
        // Bytes of multi-byte UTF-8 sequences are all 0x80 or more.
        func plain(_ bytes: some Sequence<UInt8>) -> Bool {
            !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        if s.utf8.withContiguousStorageIfAvailable(plain) ?? plain(s.utf8) {
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": append("\\\"", to: &out)
            case "\\": append("\\\\", to: &out)
            case "\n": append("\\n", to: &out)
            case "\r": append("\\r", to: &out)
            case "\t": append("\\t", to: &out)
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            default: out.append(contentsOf: String(scalar).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
