// SPDX-License-Identifier: GPL-3.0-or-later

import Testing
import Topology

@Suite struct JSONTests {
    @Test func parsesAllValueKinds() throws {
        let value = try JSON.parse(#"{"a": [1, -2.5, 3e2, true, false, null], "b": "x\"y\u00e9\n", "c": {}}"#)
        #expect(value["a"] == .array([.number(1), .number(-2.5), .number(300), .bool(true), .bool(false), .null]))
        #expect(value["b"] == .string("x\"yé\n"))
        #expect(value["c"] == .object([]))
    }

    /// Numbers are read as Swift's `Double(String)` reads their text: plain integers of up to 15
    /// digits take a path of their own, everything else the text.
    @Test(arguments: [
        "0", "-0", "7", "-12", "999999999999999", "-999999999999999", "1000000000000000", "9007199254740993",
        "12345678901234567890", "0.5", "-2.25", "1e3", "1E-2", "-0.0", "123456789012345.5",
    ])
    func numbersAreReadAsTheirText(text: String) throws {
        guard case .array(let items) = try JSON.parse("[\(text)]"), case .number(let n)? = items.first else {
            Issue.record("\(text) did not parse as a number")
            return
        }
        #expect(n.bitPattern == Double(text)!.bitPattern)
    }

    /// Strings without escapes are taken straight from the input: non-ASCII text is kept and
    /// bytes that are not UTF-8 are still refused.
    @Test func unescapedStringsAreValidated() throws {
        #expect(try JSON.parse("[\"deh-01\", \"节点 é\"]") == .array([.string("deh-01"), .string("节点 é")]))
        #expect(throws: JSONSyntaxError(line: 1, column: 2, message: "string is not valid UTF-8")) {
            try JSON.parse(Array("[\"ab".utf8) + [0xC3, 0x28] + Array("\"]".utf8))
        }
    }

    @Test func keepsKeyOrderWhenWriting() throws {
        let value = try JSON.parse(#"{"z": 1, "a": [1, 2], "m": {"y": null, "b": "s"}}"#)
        #expect(value.serialized(pretty: false) == #"{"z":1,"a":[1,2],"m":{"y":null,"b":"s"}}"#)
        #expect(try JSON.parse(value.serialized()) == value)
    }

    @Test func surrogatePairsAndEscapesRoundTrip() throws {
        let value = try JSON.parse(#""\ud83d\ude00 tab\t""#)
        #expect(value == .string("😀 tab\t"))
        #expect(try JSON.parse(value.serialized()) == value)
    }

    /// Strings are written whole when nothing in them needs an escape, and escaped exactly
    /// otherwise (the inventory fingerprint hashes these bytes).
    @Test(arguments: [
        ("deh-01", #""deh-01""#),
        ("节点 é 😀", #""节点 é 😀""#),
        ("a\"b", #""a\"b""#),
        ("back\\slash", #""back\\slash""#),
        ("line\nfeed\r\ttab", #""line\nfeed\r\ttab""#),
        ("bell\u{07}", #""bell\u0007""#),
        ("", "\"\""),
    ])
    func stringsAreWrittenExactly(text: String, written: String) throws {
        #expect(JSON.string(text).serialized(pretty: false) == written)
        #expect(try JSON.parse(written) == .string(text))
    }

    /// Numbers: integers as digits (written directly, not through `String`), others as
    /// `format` gives them.
    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (7, "7"), (-12, "-12"), (1_048_576, "1048576"), (999_999_999_999_999, "999999999999999"),
        (-999_999_999_999_999, "-999999999999999"), (2.5, "2.5"), (-0.25, "-0.25"), (0.1 + 0.2, "0.3"), (1e15, "1000000000000000.0"), (1e16, "1e+16"),
        (.infinity, "null"),
    ] as [(Double, String)])
    func numbersAreWrittenExactly(value: Double, written: String) {
        #expect(JSON.number(value).serialized(pretty: false) == written)
        #expect(JSON.number(value).serialized() == written)
    }

    /// The pretty layout: nested values indented by two spaces, short scalar arrays and flat
    /// objects of at most 72 characters on one line (characters, not bytes).
    @Test func prettyLayoutIsExact() {
        let wide = String(repeating: "é", count: 40)  // 80 bytes, 40 characters
        let value = JSON.object([
            ("moves", .array([
                .object([("server_id", .string("s1")), ("numa_nodes", .array([.number(0), .number(1)])), ("wave", .number(1))]),
                .object([("server_id", .string("s2")), ("to", .null), ("wave", .number(2))]),
            ])),
            ("name", .object([("text", .string(wide)), ("ok", .bool(true))])),
            ("long", .object([("a", .string(String(repeating: "x", count: 70))), ("b", .number(1))])),
            ("empty", .array([])),
            ("none", .object([])),
        ])
        let expected = """
            {
              "moves": [
                {
                  "server_id": "s1",
                  "numa_nodes": [0, 1],
                  "wave": 1
                },
                {"server_id": "s2", "to": null, "wave": 2}
              ],
              "name": {"text": "\(wide)", "ok": true},
              "long": {
                "a": "\(String(repeating: "x", count: 70))",
                "b": 1
              },
              "empty": [],
              "none": {}
            }
            """
        #expect(value.serialized() == expected)
        #expect(value.serializedUTF8() == Array(expected.utf8))
    }

    @Test(arguments: [
        ("{\"a\": 1,", 1, 9, "unexpected end of file inside an object; the JSON is truncated"),
        ("{\n  \"a\": [1, 2\n", 3, 1, "unexpected end of file inside an array; the JSON is truncated"),
        ("{\"a\": 1,}", 1, 9, "unexpected character '}'; expected a quoted key"),
        ("{\"a\": 1, \"a\": 2}", 1, 10, "duplicate key \"a\""),
        ("[01]", 1, 2, "invalid number: leading zero"),
        ("{\"a\": tru}", 1, 7, "invalid literal; expected true"),
        ("", 1, 1, "the file is empty; expected a JSON object"),
        ("{} x", 1, 4, "unexpected character 'x' after the end of the JSON value"),
        ("\"abc", 1, 1, "unterminated string; the JSON is truncated"),
        ("{\"a\":\n\n   ]}", 3, 4, "unexpected character ']'; expected a value"),
    ])
    func syntaxErrorsNameLineAndColumn(text: String, line: Int, column: Int, message: String) {
        #expect(throws: JSONSyntaxError(line: line, column: column, message: message)) {
            try JSON.parse(text)
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let text = String(repeating: "[", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try JSON.parse(text) }
    }
}
