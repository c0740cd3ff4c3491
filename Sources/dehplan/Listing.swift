// SPDX-License-Identifier: GPL-3.0-or-later

import ArgumentParser
import Topology

/// Output of listing commands (`targets`, `capacity`), as the OpenStack CLI offers it:
/// `-f table|text|json|value|yaml` and `-c COLUMN` (repeatable).
enum ListFormat: String, ExpressibleByArgument, CaseIterable {
    /// `text` is `table` with the surrounding lines (summary, notes); both print the same table.
    case text, table, json, value, yaml
}

struct ListingOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .long], help: ArgumentHelp(
        "Output format: text (table with summary lines), table, json (schema in docs/JSON.md), value (the selected columns of each row, space-separated, no header: for scripts) or yaml (the JSON document as YAML).",
        valueName: "format"))
    var format: ListFormat = .text

    @Option(name: [.customShort("c"), .long], help: ArgumentHelp(
        "A column to show (repeatable, in this order): a table header or JSON key, in any case (`-c \"DEDICATED HOST\"`, `-c host_id`); for json and yaml, the keys kept in each row.",
        valueName: "column"))
    var column: [String] = []
}

extension ListingOptions {
    /// What a listing command prints in the chosen format: the JSON `document` (rows under
    /// `rowsKey`, reduced to the chosen columns) for json and yaml, the rows alone for table and
    /// value (nil when there are none), else `text` with the chosen column indices. An unknown
    /// column is invalid input.
    func output(_ listing: Listing, document: JSON, rowsKey: String, style: Style, text: ([Int]) -> String) throws -> String? {
        let picked: [Int]
        switch listing.selected(column) {
        case .success(let p): picked = p
        case .failure(let e): throw CLIError.invalidInput("error: \(e.message)")
        }
        switch format {
        case .json: return document.keeping(column, inArray: rowsKey).serialized()
        case .yaml: return String(document.keeping(column, inArray: rowsKey).yaml.dropLast())
        case .value: return listing.rows.isEmpty ? nil : listing.values(picked)
        case .table: return listing.rows.isEmpty ? nil : listing.table(picked).render(style: style)
        case .text: return text(picked)
        }
    }
}

/// Rows with named columns: JSON keys, table headers.
struct Listing {
    struct Column {
        let key: String
        let header: String
        var right = false
    }
    let columns: [Column]
    var rows: [[String]] = []

    /// Indices of the selected columns (all when none is named); a failure naming an unknown one.
    func selected(_ names: [String]) -> Result<[Int], ValidationError> {
        guard !names.isEmpty else { return .success(Array(columns.indices)) }
        var out: [Int] = []
        for name in names {
            let n = name.lowercased()
            guard let i = columns.firstIndex(where: { $0.key.lowercased() == n || $0.header.lowercased() == n }) else {
                let known = columns.map(\.key).joined(separator: ", ")
                return .failure(ValidationError("-c/--column: no column \"\(name)\" here; columns: \(known)"))
            }
            out.append(i)
        }
        return .success(out)
    }

    func table(_ picked: [Int]) -> TextTable {
        var t = TextTable(picked.map { columns[$0].header }, right: Set(picked.indices.filter { columns[picked[$0]].right }))
        for row in rows { t.add(picked.map { row[$0] }) }
        return t
    }

    /// `value`: each row's selected cells, space-separated (OpenStack's value formatter).
    func values(_ picked: [Int]) -> String {
        rows.map { row in picked.map { row[$0] }.joined(separator: " ") }.joined(separator: "\n")
    }
}

extension JSON {
    /// The document with each object of the array under `key` reduced to `keys` (in that order;
    /// every key when empty).
    func keeping(_ keys: [String], inArray key: String) -> JSON {
        guard !keys.isEmpty, case .object(let fields) = self else { return self }
        let wanted = keys.map { $0.lowercased() }
        return .object(fields.map { name, value in
            guard name == key, case .array(let rows) = value else { return (name, value) }
            return (name, .array(rows.map { row in
                guard case .object(let cells) = row else { return row }
                return .object(wanted.compactMap { w in cells.first { $0.0.lowercased() == w } })
            }))
        })
    }

    /// The document as YAML (block style; strings quoted when YAML would read them otherwise).
    var yaml: String {
        var lines: [String] = []
        func scalar(_ v: JSON) -> String? {
            switch v {
            case .null: return "null"
            case .bool(let b): return b ? "true" : "false"
            case .number(let d):
                return d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
            case .string(let s): return Self.yamlString(s)
            case .array(let a) where a.isEmpty: return "[]"
            case .object(let o) where o.isEmpty: return "{}"
            default: return nil
            }
        }
        func emit(_ v: JSON, indent: String) {
            switch v {
            case .object(let fields):
                for (k, value) in fields {
                    if let s = scalar(value) {
                        lines.append("\(indent)\(Self.yamlString(k)): \(s)")
                    } else {
                        lines.append("\(indent)\(Self.yamlString(k)):")
                        emit(value, indent: indent + "  ")
                    }
                }
            case .array(let items):
                for item in items {
                    if let s = scalar(item) {
                        lines.append("\(indent)- \(s)")
                    } else {
                        // The first line of the item goes after "- ", the rest one level in.
                        let start = lines.count
                        emit(item, indent: indent + "  ")
                        if start < lines.count {
                            lines[start] = indent + "- " + lines[start].dropFirst(indent.count + 2)
                        }
                    }
                }
            default:
                if let s = scalar(v) { lines.append(indent + s) }
            }
        }
        if let s = scalar(self) { return s + "\n" }
        emit(self, indent: "")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML scalar for `s`: plain when unambiguous, else double-quoted with JSON escapes.
    static func yamlString(_ s: String) -> String {
        let reserved: Set<String> = ["", "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n"]
        let plainSafe = s.allSatisfy { $0.isLetter || $0.isNumber || "-_./@+".contains($0) }
            && !reserved.contains(s.lowercased()) && Double(s) == nil && !s.hasPrefix("-") && !s.hasPrefix(".")
        if plainSafe { return s }
        return JSON.string(s).serialized(pretty: false)
    }
}
