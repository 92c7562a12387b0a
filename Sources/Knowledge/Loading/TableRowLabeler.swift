/// Writes table rows so that each can be found, quoted and cited on its own: every cell is
/// paired with its column's header.
///
/// Under a header row "Item | Upper Limit | Comment" (HTML `<th>` cells or a `<thead>` row,
/// a Markdown table's first row), the row "relation size | 32 TB | with the default BLCKSZ"
/// reads
///
///     relation size — Upper Limit: 32 TB; Comment: with the default BLCKSZ
///
/// - The first column's cell names the row and comes first, unlabelled, then " — ".
/// - Every other cell with text follows as "Header: value", separated by "; "; an empty cell
///   is left out, a cell whose column has no header (a ragged row) or whose text is its header
///   appears as its value alone. A body cell spanning columns (`colspan`) takes its first
///   column's header; a header cell spanning columns labels each of them.
/// - A row without a first-column cell starts with its first labelled cell.
/// - Header rows themselves, and rows of tables without one, keep the cells joined with " | ".
///
/// Hostile tables cannot make it blow up: labels are cut to `maximumLabelLength` characters,
/// columns past `maximumColumns` get none, and once the labels added to a document reach its
/// budget (about the size of its input) the remaining rows keep the plain " | " form.
struct TableRowLabeler {
    /// One cell of the open row: its first column, whether it is a header cell, and where its
    /// text is in the builder's bytes (`byteEnd` is set when the next cell starts).
    struct Cell {
        var column: Int
        /// How many columns it covers (`colspan`), at least 1.
        var span: Int
        var isHeader: Bool
        var byteStart: Int
        var byteEnd: Int
    }

    static let maximumColumns = 1024
    static let maximumLabelLength = 100
    static let stubSeparator = " — "
    static let cellSeparator = "; "

    /// The header labels of the current table, by column ("" where there is none).
    private(set) var headers: [String] = []
    /// UTF-8 bytes of labels the document may still add.
    var labelBudget: Int

    init(labelBudget: Int) {
        self.labelBudget = max(0, labelBudget)
    }

    /// A new table starts (or one ends): its rows get no headers until its header row.
    mutating func resetHeaders() {
        headers.removeAll()
    }

    /// The text a finished row should have instead of its cells joined with " | ", or nil to
    /// keep that (a header row, whose labels are recorded, or a row with nothing to pair).
    /// `texts` are the cells' texts, parallel to `cells`.
    mutating func rowText(cells: [Cell], texts: [String]) -> String? {
        guard !cells.isEmpty, cells.count == texts.count else { return nil }
        if cells.allSatisfy(\.isHeader) {
            recordHeaders(cells: cells, texts: texts)
            return nil
        }
        guard !headers.isEmpty else { return nil }
        var result = ""
        var added = 0
        var hasStub = false
        for (index, (cell, text)) in zip(cells, texts).enumerated() {
            if index == 0 && cell.column == 0 {
                result = text
                hasStub = true
                continue
            }
            let label = cell.column < headers.count ? headers[cell.column] : ""
            let separator = result.isEmpty ? "" : (hasStub && added == 0 ? Self.stubSeparator : Self.cellSeparator)
            if !label.isEmpty && label != Self.label(text) {
                result += separator + label + ": " + text
                added += label.utf8.count + 2
            } else {
                result += separator + text
            }
            added += separator.utf8.count
        }
        // Within budget the labelled row is used; past it the document keeps the plain form.
        guard added <= labelBudget else {
            labelBudget = 0
            return nil
        }
        labelBudget -= added
        return result
    }

    private mutating func recordHeaders(cells: [Cell], texts: [String]) {
        var labels: [String] = []
        for (cell, text) in zip(cells, texts) where cell.column < Self.maximumColumns {
            let end = min(Self.maximumColumns, cell.column + max(1, min(cell.span, Self.maximumColumns)))
            if labels.count < end { labels.append(contentsOf: repeatElement("", count: end - labels.count)) }
            let label = Self.label(text)
            for column in cell.column..<end { labels[column] = label }
        }
        headers = labels
    }

    /// A header's text as a label: without a trailing colon, at most `maximumLabelLength` characters.
    static func label(_ text: String) -> String {
        var label = Substring(text)
        while let last = label.last, last == ":" || last == " " { label = label.dropLast() }
        return label.count <= maximumLabelLength ? String(label) : String(label.prefix(maximumLabelLength))
    }
}
