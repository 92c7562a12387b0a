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

    public init(title: String, text: String, blocks: [TextBlock]) {
        self.title = title
        self.text = text
        self.blocks = blocks
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

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
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

    /// Closes the open block, if any. The next visible character starts a new block.
    mutating func endBlock() {
        pendingWhitespace.removeAll(keepingCapacity: true)
        pendingSpace = false
        pendingSeparator = false
        guard hasOpenBlock else { return }
        hasOpenBlock = false
        blocks.append(TextBlock(kind: kind, start: blockStart, end: scalarCount))
        blockByteRanges.append(blockByteStart..<bytes.count)
    }

    /// The text of a finished block (by its index in `blocks`), for titles and headings.
    func text(ofBlock index: Int) -> String {
        guard blockByteRanges.indices.contains(index) else { return "" }
        return String(decoding: bytes[blockByteRanges[index]], as: UTF8.self)
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
            bytes.append(contentsOf: [0x20, 0x7C, 0x20])
            scalarCount += 3
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
