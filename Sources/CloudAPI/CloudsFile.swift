// SPDX-License-Identifier: GPL-3.0-or-later

import Foundation

/// One cloud of an OpenStack-style `clouds.yaml` (what `OS_CLOUD` names): the IAM endpoint,
/// user, password, project and region. Only these keys are read; the rest of the file is left
/// alone.
///
/// ```yaml
/// clouds:
///   otc-prod:
///     auth:
///       auth_url: https://iam.eu-de.otc.t-systems.com/v3
///       username: planner
///       password: "..."            # or OS_PASSWORD
///       user_domain_name: OTC-EU-DE-000000000010000xxxxx
///       project_name: eu-de        # or project_id
///     region_name: eu-de
/// ```
public struct CloudsFileEntry: Equatable, Sendable {
    public var authURL: String?
    public var username: String?
    public var password: String?
    public var userDomainName: String?
    public var projectID: String?
    public var projectName: String?
    public var regionName: String?

    public init(
        authURL: String? = nil, username: String? = nil, password: String? = nil, userDomainName: String? = nil,
        projectID: String? = nil, projectName: String? = nil, regionName: String? = nil
    ) {
        self.authURL = authURL
        self.username = username
        self.password = password
        self.userDomainName = userDomainName
        self.projectID = projectID
        self.projectName = projectName
        self.regionName = regionName
    }

    /// Where `clouds.yaml` is looked for, in order (as the OpenStack client does): the current
    /// directory, `$XDG_CONFIG_HOME/openstack` (or `~/.config/openstack`), `/etc/openstack`.
    /// `OS_CLIENT_CONFIG_FILE` names one file instead.
    public static func searchPaths(environment env: [String: String]) -> [String] {
        if let file = env["OS_CLIENT_CONFIG_FILE"], !file.isEmpty { return [file] }
        let home = env["HOME"] ?? NSHomeDirectory()
        let config = env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.config"
        return [FileManager.default.currentDirectoryPath + "/clouds.yaml", config + "/openstack/clouds.yaml", "/etc/openstack/clouds.yaml"]
    }

    /// The cloud `name` from the first of `paths` that exists. Errors name the file, the line
    /// and, for an unknown cloud, the clouds the file defines.
    public static func load(_ name: String, paths: [String]) throws(CloudsFileError) -> CloudsFileEntry {
        guard let path = paths.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw CloudsFileError(message: "OS_CLOUD \"\(name)\": no clouds.yaml in \(paths.joined(separator: ", "))")
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CloudsFileError(message: "\(path): cannot read: \(error.localizedDescription)")
        }
        return try parse(text, cloud: name, file: path)
    }

    /// The cloud `name` of a `clouds.yaml` text.
    public static func parse(_ text: String, cloud name: String, file: String = "clouds.yaml") throws(CloudsFileError) -> CloudsFileEntry {
        let root: BlockYAML
        do {
            root = try BlockYAML.parse(text)
        } catch {
            throw CloudsFileError(message: "\(file): \(error.message)")
        }
        guard let clouds = root["clouds"] else { throw CloudsFileError(message: "\(file): no \"clouds:\" mapping") }
        guard let cloud = clouds[name] else {
            let known = clouds.keys
            throw CloudsFileError(message: "\(file): no cloud \"\(name)\"" + (known.isEmpty ? "" : " (the file defines: \(known.joined(separator: ", ")))"))
        }
        let auth = cloud["auth"]
        return CloudsFileEntry(
            authURL: auth?["auth_url"]?.scalar, username: auth?["username"]?.scalar, password: auth?["password"]?.scalar,
            userDomainName: auth?["user_domain_name"]?.scalar ?? auth?["domain_name"]?.scalar,
            projectID: auth?["project_id"]?.scalar, projectName: auth?["project_name"]?.scalar,
            regionName: cloud["region_name"]?.scalar)
    }
}

public struct CloudsFileError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// The part of YAML a `clouds.yaml` uses: nested block mappings of scalars (plain, single- or
/// double-quoted), comments, `---`. Block sequences are kept as opaque items (clouds.yaml has
/// some, e.g. `regions:`, that dehplan does not read). Anchors, aliases, tags, flow
/// collections and block scalars are refused with their line, rather than misread.
indirect enum BlockYAML: Equatable {
    case scalar(String)
    case mapping([(key: String, value: BlockYAML)])
    case sequence(Int)

    static func == (a: BlockYAML, b: BlockYAML) -> Bool {
        switch (a, b) {
        case (.scalar(let x), .scalar(let y)): x == y
        case (.sequence(let x), .sequence(let y)): x == y
        case (.mapping(let x), .mapping(let y)): x.map(\.key) == y.map(\.key) && zip(x, y).allSatisfy { $0.value == $1.value }
        default: false
        }
    }

    var scalar: String? { if case .scalar(let s) = self { s } else { nil } }
    var keys: [String] { if case .mapping(let m) = self { m.map(\.key) } else { [] } }
    subscript(key: String) -> BlockYAML? {
        guard case .mapping(let m) = self else { return nil }
        return m.last { $0.key == key }?.value
    }

    struct ParseError: Error {
        let message: String
    }

    /// One meaningful line: its number, indentation and text without the comment.
    private struct Line {
        let number: Int
        let indent: Int
        let text: String
    }

    static func parse(_ text: String) throws(ParseError) -> BlockYAML {
        var lines: [Line] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var body = String(raw)
            if body.hasSuffix("\r") { body.removeLast() }
            if body.contains("\t") && body.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                throw ParseError(message: "line \(i + 1): tab in indentation")
            }
            let stripped = try stripComment(body, line: i + 1)
            let trimmed = stripped.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed == "---" || trimmed == "..." { continue }
            lines.append(Line(number: i + 1, indent: body.prefix(while: { $0 == " " }).count, text: trimmed))
        }
        var index = 0
        guard !lines.isEmpty else { return .mapping([]) }
        let value = try block(&index, lines, indent: lines[0].indent)
        if index < lines.count { throw ParseError(message: "line \(lines[index].number): unexpected indentation") }
        return value
    }

    /// Drops a `#` comment that is not inside quotes.
    private static func stripComment(_ s: String, line: Int) throws(ParseError) -> String {
        var quote: Character?
        var previous: Character = " "
        var escaped = false
        for (offset, c) in s.enumerated() {
            if let q = quote {
                if escaped {
                    escaped = false
                } else if c == "\\" && q == "\"" {
                    escaped = true
                } else if c == q {
                    quote = nil
                }
            } else if (c == "\"" || c == "'") && (previous == " " || offset == 0) {
                quote = c  // a quote opens a scalar only at its start (o'brien is plain)
            } else if c == "#" && (previous == " " || offset == 0) {
                return String(s.prefix(offset))
            }
            previous = c
        }
        return s
    }

    private static func block(_ index: inout Int, _ lines: [Line], indent: Int) throws(ParseError) -> BlockYAML {
        if lines[index].text.hasPrefix("- ") || lines[index].text == "-" {
            // A sequence: its items (and anything nested in them) are skipped, counted only.
            var count = 0
            while index < lines.count && lines[index].indent >= indent {
                if lines[index].indent == indent {
                    guard lines[index].text.hasPrefix("-") else { throw ParseError(message: "line \(lines[index].number): expected \"- \"") }
                    count += 1
                }
                index += 1
            }
            return .sequence(count)
        }
        var entries: [(key: String, value: BlockYAML)] = []
        while index < lines.count && lines[index].indent >= indent {
            let line = lines[index]
            guard line.indent == indent else { throw ParseError(message: "line \(line.number): unexpected indentation") }
            let (key, rest) = try keyValue(line)
            index += 1
            if rest.isEmpty {
                if index < lines.count && lines[index].indent > indent {
                    entries.append((key, try block(&index, lines, indent: lines[index].indent)))
                } else if index < lines.count && lines[index].indent == indent && lines[index].text.hasPrefix("-") {
                    entries.append((key, try block(&index, lines, indent: indent)))  // "key:\n- a" at the same indent
                } else {
                    entries.append((key, .scalar("")))
                }
            } else {
                entries.append((key, .scalar(try scalar(rest, line: line.number))))
            }
        }
        return .mapping(entries)
    }

    private static func keyValue(_ line: Line) throws(ParseError) -> (String, String) {
        let text = line.text
        var key: String
        var rest: Substring
        if let q = text.first, q == "\"" || q == "'" {
            guard let close = text.dropFirst().firstIndex(of: q) else { throw ParseError(message: "line \(line.number): unterminated quote") }
            key = String(text[text.index(after: text.startIndex)..<close])
            rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ParseError(message: "line \(line.number): expected \"key: value\"") }
            rest = rest.dropFirst()
        } else {
            guard let colon = text.range(of: ": ")?.lowerBound ?? (text.hasSuffix(":") ? text.index(before: text.endIndex) : nil) else {
                throw ParseError(message: "line \(line.number): expected \"key: value\"")
            }
            key = String(text[..<colon]).trimmingCharacters(in: .whitespaces)
            rest = text[text.index(after: colon)...]
        }
        if key.isEmpty { throw ParseError(message: "line \(line.number): empty key") }
        return (key, rest.trimmingCharacters(in: .whitespaces))
    }

    private static func scalar(_ s: String, line: Int) throws(ParseError) -> String {
        if let first = s.first, "&*!{[|>%@`".contains(first) {
            throw ParseError(message: "line \(line): \"\(first)\" (anchors, aliases, tags, flow collections and block scalars are not read here; write the value as a plain or quoted string)")
        }
        if s.hasPrefix("\"") {
            guard s.count >= 2, s.hasSuffix("\"") else { throw ParseError(message: "line \(line): unterminated double quote") }
            var out = ""
            var escaped = false
            for c in s.dropFirst().dropLast() {
                if escaped {
                    switch c {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    case "\\", "\"", "/": out.append(c)
                    default: throw ParseError(message: "line \(line): escape \\\(c) is not read here")
                    }
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else {
                    out.append(c)
                }
            }
            return out
        }
        if s.hasPrefix("'") {
            guard s.count >= 2, s.hasSuffix("'") else { throw ParseError(message: "line \(line): unterminated single quote") }
            return String(s.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'")
        }
        return s
    }
}
