// SPDX-License-Identifier: GPL-3.0-or-later

/// An aligned text table: a header row and columns separated by two spaces; numeric columns
/// right-aligned. Colour is applied after padding, so escape codes never break the alignment.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    /// Columns aligned to the right (numbers).
    var rightAligned: Set<Int> = []
    /// Tone of a body cell, given its column and text (nil: plain).
    var colour: ((Int, String) -> Tone?)?

    init(_ header: [String], right: Set<Int> = []) {
        self.header = header
        self.rightAligned = right
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render(indent: String = "", style: Style = .plain) -> String {
        let all = [header] + rows
        var widths = Array(repeating: 0, count: header.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        return all.enumerated().map { r, row in
            var line = indent
            for (i, cell) in row.enumerated() {
                let last = i == row.count - 1
                let width = i < widths.count ? widths[i] : cell.count
                let pad = String(repeating: " ", count: max(0, width - cell.count))
                var text = rightAligned.contains(i) ? pad + cell : (last ? cell : cell + pad)
                if r == 0 {
                    text = style.bold(text)
                } else if let tone = colour?(i, cell) {
                    text = style.paint(text, tone)
                }
                line += text + (last ? "" : "  ")
            }
            return line
        }.joined(separator: "\n")
    }
}
