/// A document reduced to plain text with its structure.
///
/// `text` is what gets stored and searched. Blocks are separated in it by exactly "\n\n" and
/// heading text is part of it, so headings are searchable like any other words. Every offset
/// (`TextBlock.start`/`end`, and the chunk offsets built on them) counts Unicode scalars
/// (code points) from the start of `text`: a client in another language (Python slices
/// strings by code point) can cut the same passage out of the same text with the same numbers.
public struct ExtractedDocument: Sendable, Equatable {
    /// The page's `<title>` (or first `<h1>`) for HTML, the front-matter title or first
    /// level-1 heading for Markdown, otherwise the fallback the caller passed (usually the file
    /// name without its extension).
    public var title: String
    public var text: String
    /// In text order, non-overlapping, never empty.
    public var blocks: [TextBlock]
    /// For paged formats (PDF): where each page with text is, in page order. Passages are
    /// cut within one page and cite it. Empty for formats without pages.
    public var pages: [DocumentPage]

    public init(title: String, text: String, blocks: [TextBlock], pages: [DocumentPage] = []) {
        self.title = title
        self.text = text
        self.blocks = blocks
        self.pages = pages
    }
}

/// One page of a paged document: its number as a reader counts it (from 1) and its text,
/// `start..<end` in Unicode scalars into `ExtractedDocument.text`, from the start of its first
/// block to the end of its last.
public struct DocumentPage: Sendable, Equatable {
    public var number: Int
    public var start: Int
    public var end: Int

    public init(number: Int, start: Int, end: Int) {
        self.number = number
        self.start = start
        self.end = end
    }
}

/// One structural unit of an extracted document: `start..<end` in Unicode scalars into
/// `ExtractedDocument.text`.
public struct TextBlock: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `level` is 1...6, as in `<h1>`...`<h6>` or `#`...`######`.
        case heading(level: Int)
        case paragraph
        case listItem
        /// Preformatted text; its line breaks are kept in `text`.
        case code
        /// One table row, its cells joined with " | ".
        case tableRow
    }

    public var kind: Kind
    public var start: Int
    public var end: Int

    public init(kind: Kind, start: Int, end: Int) {
        self.kind = kind
        self.start = start
        self.end = end
    }
}

/// Accumulates the UTF-8 bytes of an extracted document block by block, counting Unicode
/// scalars as it goes so that block offsets come out in scalars without a second pass.
///
/// Extractors feed it one byte or scalar at a time. A block opens lazily at its first visible
/// character, so tags or lines that produce nothing never leave empty blocks behind. Outside
/// preformatted blocks, any run of whitespace becomes one space and leading/trailing
/// whitespace is dropped; inside them, whitespace is kept except blank lines before the first
/// line and whitespace after the last character.
struct DocumentTextBuilder {
    private(set) var bytes: [UInt8] = []
    private(set) var scalarCount = 0
    private(set) var blocks: [TextBlock] = []
    /// The byte range of each block in `bytes`, parallel to `blocks`.
    private var blockByteRanges: [Range<Int>] = []

    /// The kind and whitespace mode of the block the next visible character will open.
    /// Changing them while a block is open has no effect on that block.
    var nextKind: TextBlock.Kind = .paragraph
    var nextPreservesWhitespace = false

    private(set) var hasOpenBlock = false
    private var kind: TextBlock.Kind = .paragraph
    private var preservesWhitespace = false
    private var blockStart = 0
    private var blockByteStart = 0
    private var lastWhitespaceWasCarriageReturn = false
    private var pendingSpace = false
    private var pendingSeparator = false
    private var pendingWhitespace: [UInt8] = []

    /// Table rows (see `TableRowLabeler`): the current table's header labels, the cells of the
    /// open row block, the cell the next visible text starts and the column after the last cell.
    private var tableLabeler: TableRowLabeler
    private var rowCells: [TableRowLabeler.Cell] = []
    private var pendingCell: (column: Int, span: Int, isHeader: Bool)?
    private var nextColumn = 0

    /// `tableLabelBudget`: how many bytes of column headers table rows may add to the text
    /// (by default `capacity`); extractors pass their input's size.
    init(capacity: Int = 0, tableLabelBudget: Int? = nil) {
        bytes.reserveCapacity(capacity)
        tableLabeler = TableRowLabeler(labelBudget: tableLabelBudget ?? capacity)
    }

    /// True when whitespace fed now would be kept verbatim.
    var isPreservingWhitespace: Bool {
        hasOpenBlock ? preservesWhitespace : nextPreservesWhitespace
    }

    /// Appends one byte of visible text (never whitespace; use `appendWhitespace`). Bytes of a
    /// multi-byte UTF-8 sequence must be appended consecutively.
    @inline(__always)
    mutating func appendByte(_ byte: UInt8) {
        lastWhitespaceWasCarriageReturn = false
        if !hasOpenBlock || pendingSpace || pendingSeparator || !pendingWhitespace.isEmpty {
            prepareForContent()
        }
        bytes.append(byte)
        // Continuation bytes (10xxxxxx) do not start a scalar.
        if byte & 0xC0 != 0x80 { scalarCount += 1 }
    }

    /// Appends whitespace: remembered, and written (collapsed or verbatim) only if more visible
    /// text follows in the same block.
    @inline(__always)
    mutating func appendWhitespace(_ byte: UInt8) {
        if isPreservingWhitespace {
            // CR LF and a lone CR both end one line.
            if byte == 0x0A && lastWhitespaceWasCarriageReturn {
                lastWhitespaceWasCarriageReturn = false
                return
            }
            lastWhitespaceWasCarriageReturn = byte == 0x0D
            pendingWhitespace.append(byte == 0x0D ? 0x0A : byte)
        } else if hasOpenBlock {
            pendingSpace = true
        }
    }

    /// Appends a decoded scalar (from an entity, say). Whitespace scalars are routed to
    /// `appendWhitespace`; a no-break space counts as a space and soft hyphens, zero-width
    /// spaces and byte order marks, invisible in rendered text, are dropped so they cannot
    /// split a word.
    mutating func appendScalar(_ value: UInt32) {
        switch value {
        case 0x09, 0x0A, 0x0C, 0x0D, 0x20:
            appendWhitespace(UInt8(value))
            return
        case 0xA0:
            appendWhitespace(0x20)
            return
        case 0xAD, 0x200B, 0xFEFF:
            return
        case 0..<0x20, 0x7F:
            return
        default:
            break
        }
        // Surrogates and values past U+10FFFF are not scalars.
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        for unit in String(scalar).utf8 {
            appendByte(unit)
        }
    }

    /// Inserts " | " before the next visible character if the block already has text: cells
    /// of a table row are joined this way, and empty cells leave no separator.
    mutating func separateCell() {
        if hasOpenBlock { pendingSeparator = true }
    }

    /// A table starts or ends: its rows are not labelled until it has a header row.
    mutating func resetTableHeaders() {
        tableLabeler.resetHeaders()
    }

    /// Ends the open block; the next one is a table row whose cells count columns from 0.
    mutating func beginRow() {
        endBlock()
        nextColumn = 0
        pendingCell = nil
    }

    /// The next visible text starts a cell of the row, covering `span` columns, separated from
    /// the previous cell by " | ". When the row block ends, its cells are paired with the
    /// table's headers (`TableRowLabeler`); a row of header cells becomes the headers.
    mutating func beginCell(span: Int, isHeader: Bool) {
        let limit = TableRowLabeler.maximumColumns
        let span = min(max(1, span), limit)
        pendingCell = (min(nextColumn, limit), span, isHeader)
        nextColumn = min(nextColumn, limit) + span
        separateCell()
    }

    /// Closes the open block, if any. The next visible character starts a new block.
    mutating func endBlock() {
        pendingWhitespace.removeAll(keepingCapacity: true)
        pendingSpace = false
        pendingSeparator = false
        defer {
            rowCells.removeAll(keepingCapacity: true)
            pendingCell = nil
        }
        guard hasOpenBlock else { return }
        hasOpenBlock = false
        if kind == .tableRow && !preservesWhitespace && !rowCells.isEmpty { labelRow() }
        blocks.append(TextBlock(kind: kind, start: blockStart, end: scalarCount))
        blockByteRanges.append(blockByteStart..<bytes.count)
    }

    /// The text of a finished block (by its index in `blocks`), for titles and headings.
    func text(ofBlock index: Int) -> String {
        guard blockByteRanges.indices.contains(index) else { return "" }
        return String(decoding: bytes[blockByteRanges[index]], as: UTF8.self)
    }

    /// Rewrites the open row block (its bytes run to the end of `bytes`) with its cells paired
    /// with their headers, when the labeler says so.
    private mutating func labelRow() {
        guard let last = rowCells.indices.last else { return }
        rowCells[last].byteEnd = bytes.count
        var texts: [String] = []
        texts.reserveCapacity(rowCells.count)
        for cell in rowCells {
            // Offsets recorded in this block only; checked anyway so that no input can trap.
            guard blockByteStart <= cell.byteStart, cell.byteStart <= cell.byteEnd, cell.byteEnd <= bytes.count else { return }
            texts.append(String(decoding: bytes[cell.byteStart..<cell.byteEnd], as: UTF8.self))
        }
        guard let text = tableLabeler.rowText(cells: rowCells, texts: texts) else { return }
        bytes.removeSubrange(blockByteStart...)
        bytes.append(contentsOf: text.utf8)
        scalarCount = blockStart + text.unicodeScalars.count
    }

    /// Opens a cell at `byteStart` for the text about to be written in a row block: the one
    /// `beginCell` announced, or (text in a row outside any cell) the next column.
    private mutating func startCell(at byteStart: Int) {
        guard kind == .tableRow, !preservesWhitespace else { return }
        let cell = pendingCell ?? (column: min(nextColumn, TableRowLabeler.maximumColumns), span: 1, isHeader: false)
        if pendingCell == nil { nextColumn = min(nextColumn, TableRowLabeler.maximumColumns) + 1 }
        pendingCell = nil
        rowCells.append(.init(column: cell.column, span: cell.span, isHeader: cell.isHeader, byteStart: byteStart, byteEnd: byteStart))
    }

    func build(title: String) -> ExtractedDocument {
        ExtractedDocument(title: title, text: String(decoding: bytes, as: UTF8.self), blocks: blocks)
    }

    private mutating func prepareForContent() {
        if !hasOpenBlock {
            hasOpenBlock = true
            kind = nextKind
            preservesWhitespace = nextPreservesWhitespace
            if !bytes.isEmpty {
                bytes.append(0x0A)
                bytes.append(0x0A)
                scalarCount += 2
            }
            blockStart = scalarCount
            blockByteStart = bytes.count
            pendingSpace = false
            pendingSeparator = false
            startCell(at: blockByteStart)
            if preservesWhitespace, !pendingWhitespace.isEmpty {
                // Keep the indentation of the first line, not the blank lines before it.
                var keepFrom = 0
                for (offset, byte) in pendingWhitespace.enumerated() where byte == 0x0A {
                    keepFrom = offset + 1
                }
                for byte in pendingWhitespace[keepFrom...] {
                    bytes.append(byte)
                    scalarCount += 1
                }
            }
            pendingWhitespace.removeAll(keepingCapacity: true)
            return
        }
        if pendingSeparator {
            let cellStarts = pendingCell != nil
            if cellStarts, let last = rowCells.indices.last { rowCells[last].byteEnd = bytes.count }
            bytes.append(contentsOf: [0x20, 0x7C, 0x20])
            scalarCount += 3
            if cellStarts { startCell(at: bytes.count) }
            pendingSeparator = false
            pendingSpace = false
            pendingWhitespace.removeAll(keepingCapacity: true)
        } else if pendingSpace {
            bytes.append(0x20)
            scalarCount += 1
            pendingSpace = false
        } else if !pendingWhitespace.isEmpty {
            bytes.append(contentsOf: pendingWhitespace)
            scalarCount += pendingWhitespace.count
            pendingWhitespace.removeAll(keepingCapacity: true)
        }
    }
}
