import Foundation

/// Recognizes a table row as `TableRowLabeler` wrote it at ingest, in a passage's text:
/// "relation size — Upper Limit: 32 TB; Comment: with the default BLCKSZ".
///
/// Passages carry text, not block kinds, so the row's own form is its mark: its first cell,
/// then " — " and at least one "Header: value" cell, all on one line (each row is a block of
/// its own, separated from the next by a blank line). A row of a table without a first-column
/// cell counts when it has at least two labelled cells ("Upper Limit: 32 TB; Comment: …"),
/// so that a prose line such as "Note: see below" is not taken for a row.
///
/// Readers use it to treat such a row as a statement, although it ends without a full stop.
public enum LabelledTableRow {
    /// True when `text` has the form of a labelled table row.
    public static func matches(_ text: Substring) -> Bool {
        guard !text.isEmpty, !text.contains("\n") else { return false }
        var cells = Substring(text)
        var hasStub = false
        if let stubEnd = text.range(of: TableRowLabeler.stubSeparator) {
            let stub = text[..<stubEnd.lowerBound]
            // The stub is the row's first cell: something, and not itself a run of labels.
            guard !stub.trimmingSpaces.isEmpty, !stub.contains(TableRowLabeler.cellSeparator) else { return false }
            cells = text[stubEnd.upperBound...]
            hasStub = true
        }
        let labelled = cells.split(separator: TableRowLabeler.cellSeparator, omittingEmptySubsequences: true).filter(isLabelledCell).count
        return hasStub ? labelled >= 1 : labelled >= 2
    }

    public static func matches(_ text: String) -> Bool {
        matches(Substring(text))
    }

    /// The row's first cell and values without the column labels ("relation size 32 TB with
    /// the default BLCKSZ"), and the labels ("Upper Limit", "Comment"). Every row of a table
    /// repeats the same labels, so they tell the table's subject, not which row answers: a
    /// reader weighs them like a heading. For text that is not a labelled row: it, and none.
    public static func split(_ text: String) -> (content: String, labels: [String]) {
        guard matches(text) else { return (text, []) }
        var content: [Substring] = []
        var labels: [String] = []
        var cells = Substring(text)
        if let stubEnd = text.range(of: TableRowLabeler.stubSeparator) {
            content.append(text[..<stubEnd.lowerBound])
            cells = text[stubEnd.upperBound...]
        }
        for cell in cells.split(separator: TableRowLabeler.cellSeparator, omittingEmptySubsequences: true) {
            if isLabelledCell(cell), let colon = cell.range(of: ": ") {
                labels.append(String(cell[..<colon.lowerBound]))
                content.append(cell[colon.upperBound...])
            } else {
                content.append(cell)
            }
        }
        return (content.joined(separator: " "), labels)
    }

    /// "Header: value": a label of at most `TableRowLabeler.maximumLabelLength` characters,
    /// then a value.
    static func isLabelledCell(_ cell: Substring) -> Bool {
        guard let colon = cell.range(of: ": ") else { return false }
        let label = cell[..<colon.lowerBound]
        let value = cell[colon.upperBound...]
        return !label.trimmingSpaces.isEmpty && label.count <= TableRowLabeler.maximumLabelLength && !value.trimmingSpaces.isEmpty
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var result = self
        while let first = result.first, first.isWhitespace { result = result.dropFirst() }
        while let last = result.last, last.isWhitespace { result = result.dropLast() }
        return result
    }
}
