/// Turns Markdown (CommonMark with the common GitHub extensions) into plain text with its
/// heading and block structure.
///
/// - Headings: ATX (`#` ... `######`) and Setext (a line underlined with `===` or `---`).
/// - Paragraphs, list items (`-`, `*`, `+`, `1.`, `1)`; task boxes dropped), block quotes
///   (their text becomes ordinary blocks), GitHub tables (one block per row, cells joined with
///   " | ", the delimiter row dropped).
/// - Fenced (``` and ~~~) and indented code blocks are kept verbatim, line breaks included.
/// - Inline markup is stripped: emphasis and strike-through markers go, `code` keeps its text
///   without the backticks, links keep their text (`[text](url)` → "text"), autolinks keep
///   the address, images (usually badges and screenshots) are dropped, inline HTML tags are
///   removed, backslash escapes and entities are decoded.
/// - Front matter (YAML `---` or TOML `+++` at the very top) is skipped; its `title` is the
///   document title, else the first level-1 heading, else the caller's fallback.
///
/// Like the HTML extractor it is a single pass over the UTF-8 bytes and never fails: text it
/// cannot read as markup is kept as text.
public struct MarkdownTextExtractor: Sendable {
    public init() {}

    public func extract(_ markdown: String, fallbackTitle: String) -> ExtractedDocument {
        var source = markdown
        return source.withUTF8 { bytes in
            var parser = MarkdownParser(input: bytes)
            parser.run()
            return parser.document(fallbackTitle: fallbackTitle)
        }
    }
}

/// Block-level parsing state for one document; lives only inside `extract`, because it holds
/// a pointer to the document's bytes.
struct MarkdownParser {
    private let input: UnsafeBufferPointer<UInt8>
    private var builder: DocumentTextBuilder
    /// Each line's bytes, without its line break (and without the CR of CR LF).
    private var lines: [Range<Int>] = []
    private var frontMatterTitle = ""

    /// The open paragraph (or list item) text, lines joined with "\n", rendered when it ends.
    private var paragraph: [UInt8] = []
    private var paragraphKind: TextBlock.Kind?
    private var inList = false
    private var previousLineBlank = true
    private var previousQuoteDepth = 0

    private struct Fence {
        var marker: UInt8
        var length: Int
        var indent: Int
    }

    private struct Line {
        /// After block-quote markers.
        var start: Int
        var end: Int
        /// Columns of leading white space (a tab advances to the next multiple of 4).
        var indent: Int
        /// First byte that is not white space (`end` for a blank line).
        var text: Int
        var quoteDepth: Int
        var isBlank: Bool { text == end }
    }

    init(input: UnsafeBufferPointer<UInt8>) {
        self.input = input
        self.builder = DocumentTextBuilder(capacity: input.count)
    }

    func document(fallbackTitle: String) -> ExtractedDocument {
        var title = frontMatterTitle
        if title.isEmpty, let block = builder.blocks.firstIndex(where: { $0.kind == .heading(level: 1) }) {
            title = builder.text(ofBlock: block)
        }
        return builder.build(title: title.isEmpty ? fallbackTitle : title)
    }

    mutating func run() {
        splitLines()
        var index = skipFrontMatter()
        while index < lines.count {
            index = processLine(at: index)
        }
        flushParagraph()
        builder.endBlock()
    }

    // MARK: Lines

    private mutating func splitLines() {
        var start = 0
        if input.count >= 3, input[0] == 0xEF, input[1] == 0xBB, input[2] == 0xBF { start = 3 }
        while start <= input.count {
            var end = start
            while end < input.count, input[end] != 0x0A { end += 1 }
            var contentEnd = end
            if contentEnd > start, input[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            if end < input.count || start < input.count { lines.append(start..<contentEnd) }
            start = end + 1
        }
    }

    private func line(_ index: Int) -> Line {
        let range = lines[index]
        var start = range.lowerBound
        var depth = 0
        // Block-quote markers: up to three spaces, ">", one optional space; repeated.
        while true {
            var cursor = start
            while cursor < range.upperBound, cursor - start < 3, input[cursor] == 0x20 { cursor += 1 }
            guard cursor < range.upperBound, input[cursor] == UInt8(ascii: ">") else { break }
            cursor += 1
            if cursor < range.upperBound, input[cursor] == 0x20 { cursor += 1 }
            start = cursor
            depth += 1
        }
        var end = range.upperBound
        var text = start
        var indent = 0
        while text < end {
            if input[text] == 0x20 {
                indent += 1
            } else if input[text] == 0x09 {
                indent += 4 - indent % 4
            } else {
                break
            }
            text += 1
        }
        if text == end { end = text }
        return Line(start: start, end: end, indent: indent, text: text, quoteDepth: depth)
    }

    /// YAML (`---` ... `---` or `...`) or TOML (`+++` ... `+++`) front matter at the top.
    /// Returns the index of the first line after it (0 when there is none).
    private mutating func skipFrontMatter() -> Int {
        guard let first = lines.first else { return 0 }
        let opening = trimmed(first)
        let isYAML = equals(opening, "---")
        guard isYAML || equals(opening, "+++") else { return 0 }
        for index in 1..<max(1, lines.count) {
            let candidate = trimmed(lines[index])
            let closes = isYAML ? (equals(candidate, "---") || equals(candidate, "...")) : equals(candidate, "+++")
            guard closes else { continue }
            for field in 1..<index {
                if let title = frontMatterValue(lines[field], key: "title", separator: isYAML ? ":" : "=") {
                    frontMatterTitle = title
                    break
                }
            }
            return index + 1
        }
        return 0
    }

    private func frontMatterValue(_ line: Range<Int>, key: StaticString, separator: Unicode.Scalar) -> String? {
        let keyLength = key.utf8CodeUnitCount
        guard line.count > keyLength, equals(line.lowerBound..<(line.lowerBound + keyLength), key) else { return nil }
        var cursor = line.lowerBound + keyLength
        while cursor < line.upperBound, input[cursor] == 0x20 { cursor += 1 }
        guard cursor < line.upperBound, input[cursor] == UInt8(ascii: separator) else { return nil }
        var value = trimmed((cursor + 1)..<line.upperBound)
        if value.count >= 2, input[value.lowerBound] == input[value.upperBound - 1],
           input[value.lowerBound] == UInt8(ascii: "\"") || input[value.lowerBound] == UInt8(ascii: "'") {
            value = (value.lowerBound + 1)..<(value.upperBound - 1)
        }
        return String(decoding: UnsafeBufferPointer(rebasing: input[value]), as: UTF8.self)
    }

    // MARK: Blocks

    /// Handles the line at `index` (and any lines that belong to the same construct) and
    /// returns the index of the next line to handle.
    private mutating func processLine(at index: Int) -> Int {
        let current = line(index)
        defer { previousQuoteDepth = current.quoteDepth }
        if current.isBlank {
            flushParagraph()
            previousLineBlank = true
            return index + 1
        }
        // A deeper block quote interrupts a paragraph; a shallower line continues it lazily.
        if current.quoteDepth > previousQuoteDepth { flushParagraph() }
        let wasBlank = previousLineBlank
        previousLineBlank = false
        let structural = current.indent <= 3 || inList
        if structural, let fence = openingFence(current) {
            flushParagraph()
            return emitFencedCode(from: index + 1, fence: fence)
        }
        if structural, let level = atxLevel(current) {
            flushParagraph()
            emitHeading(current, level: level)
            inList = false
            return index + 1
        }
        if current.indent <= 3, paragraphKind == .paragraph, let level = setextLevel(current) {
            emitParagraph(as: .heading(level: level))
            return index + 1
        }
        if structural && isThematicBreak(current) {
            flushParagraph()
            return index + 1
        }
        if structural, matches("<!--", at: current.text) {
            if find("-->", in: (current.text + 4)..<current.end) == nil {
                flushParagraph()
                return skipComment(from: index + 1)
            }
            if paragraphKind == nil && trimmedAfterComment(current) { return index + 1 }
        }
        if paragraphKind == nil, index + 1 < lines.count, contains(UInt8(ascii: "|"), current),
           isTableDelimiter(line(index + 1)) {
            return emitTable(from: index)
        }
        if structural, let itemText = listItemText(current) {
            flushParagraph()
            inList = true
            paragraphKind = .listItem
            appendToParagraph(itemText..<current.end)
            return index + 1
        }
        if paragraphKind == nil, current.indent <= 3, isReferenceDefinition(current) {
            return index + 1
        }
        if paragraphKind == nil && current.indent >= 4 && !inList {
            return emitIndentedCode(from: index)
        }
        if paragraphKind == nil {
            if inList && wasBlank && current.indent == 0 { inList = false }
            paragraphKind = inList ? .listItem : .paragraph
        }
        appendToParagraph(current.text..<current.end)
        return index + 1
    }

    private mutating func appendToParagraph(_ range: Range<Int>) {
        if !paragraph.isEmpty { paragraph.append(0x0A) }
        paragraph.append(contentsOf: UnsafeBufferPointer(rebasing: input[range]))
    }

    private mutating func flushParagraph() {
        guard let kind = paragraphKind else { return }
        emitParagraph(as: kind)
    }

    private mutating func emitParagraph(as kind: TextBlock.Kind) {
        let text = paragraph
        text.withUnsafeBufferPointer { buffer in
            emitInline(buffer, 0..<buffer.count, kind: kind)
        }
        paragraph.removeAll(keepingCapacity: true)
        paragraphKind = nil
    }

    private mutating func emitInline(_ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, kind: TextBlock.Kind) {
        builder.endBlock()
        builder.nextKind = kind
        builder.nextPreservesWhitespace = false
        var memo = MarkdownInline.Memo()
        MarkdownInline.render(buffer, range, into: &builder, depth: 0, memo: &memo)
        builder.endBlock()
    }

    private mutating func emitHeading(_ current: Line, level: Int) {
        var start = current.text + level
        while start < current.end, input[start] == 0x20 || input[start] == 0x09 { start += 1 }
        var end = current.end
        while end > start, input[end - 1] == 0x20 || input[end - 1] == 0x09 { end -= 1 }
        // An optional closing run of "#" (after a space, or making up the whole content).
        var hashes = end
        while hashes > start, input[hashes - 1] == UInt8(ascii: "#") { hashes -= 1 }
        if hashes == start || input[hashes - 1] == 0x20 || input[hashes - 1] == 0x09 {
            end = hashes
            while end > start, input[end - 1] == 0x20 || input[end - 1] == 0x09 { end -= 1 }
        }
        emitInline(input, start..<end, kind: .heading(level: level))
    }

    private func atxLevel(_ current: Line) -> Int? {
        var cursor = current.text
        while cursor < current.end, input[cursor] == UInt8(ascii: "#") { cursor += 1 }
        let level = cursor - current.text
        guard (1...6).contains(level) else { return nil }
        guard cursor == current.end || input[cursor] == 0x20 || input[cursor] == 0x09 else { return nil }
        return level
    }

    private func setextLevel(_ current: Line) -> Int? {
        let marker = input[current.text]
        guard marker == UInt8(ascii: "=") || marker == UInt8(ascii: "-") else { return nil }
        var cursor = current.text
        while cursor < current.end, input[cursor] == marker { cursor += 1 }
        while cursor < current.end, input[cursor] == 0x20 || input[cursor] == 0x09 { cursor += 1 }
        guard cursor == current.end else { return nil }
        return marker == UInt8(ascii: "=") ? 1 : 2
    }

    private func isThematicBreak(_ current: Line) -> Bool {
        let marker = input[current.text]
        guard marker == UInt8(ascii: "*") || marker == UInt8(ascii: "-") || marker == UInt8(ascii: "_") else { return false }
        var count = 0
        for index in current.text..<current.end {
            let byte = input[index]
            if byte == marker {
                count += 1
            } else if byte != 0x20 && byte != 0x09 {
                return false
            }
        }
        return count >= 3
    }

    /// The start of a list item's text after its marker ("- ", "* ", "+ ", "12. ", "3) ")
    /// and an optional task box ("[ ] ", "[x] "), or nil when the line is no list item.
    private func listItemText(_ current: Line) -> Int? {
        var cursor = current.text
        let first = input[cursor]
        if first == UInt8(ascii: "-") || first == UInt8(ascii: "*") || first == UInt8(ascii: "+") {
            cursor += 1
        } else {
            while cursor < current.end, cursor - current.text < 9, input[cursor] >= UInt8(ascii: "0"), input[cursor] <= UInt8(ascii: "9") {
                cursor += 1
            }
            guard cursor > current.text, cursor < current.end,
                  input[cursor] == UInt8(ascii: ".") || input[cursor] == UInt8(ascii: ")") else { return nil }
            cursor += 1
        }
        guard cursor == current.end || input[cursor] == 0x20 || input[cursor] == 0x09 else { return nil }
        while cursor < current.end, input[cursor] == 0x20 || input[cursor] == 0x09 { cursor += 1 }
        if cursor + 3 <= current.end, input[cursor] == UInt8(ascii: "["), input[cursor + 2] == UInt8(ascii: "]"),
           input[cursor + 1] == 0x20 || input[cursor + 1] | 0x20 == UInt8(ascii: "x"),
           cursor + 3 == current.end || input[cursor + 3] == 0x20 {
            cursor += 3
            while cursor < current.end, input[cursor] == 0x20 { cursor += 1 }
        }
        return cursor
    }

    /// "[label]: destination" — a link reference definition, invisible in rendered text.
    private func isReferenceDefinition(_ current: Line) -> Bool {
        guard input[current.text] == UInt8(ascii: "[") else { return false }
        var cursor = current.text + 1
        while cursor < current.end, input[cursor] != UInt8(ascii: "]") {
            if input[cursor] == UInt8(ascii: "[") { return false }
            cursor += 1
        }
        return cursor > current.text + 1 && cursor + 1 < current.end && input[cursor + 1] == UInt8(ascii: ":")
    }

    // MARK: Code

    private func openingFence(_ current: Line) -> Fence? {
        let marker = input[current.text]
        guard marker == UInt8(ascii: "`") || marker == UInt8(ascii: "~") else { return nil }
        var cursor = current.text
        while cursor < current.end, input[cursor] == marker { cursor += 1 }
        let length = cursor - current.text
        guard length >= 3 else { return nil }
        // A backtick fence's info string cannot contain a backtick (it would be inline code).
        if marker == UInt8(ascii: "`") {
            for index in cursor..<current.end where input[index] == marker { return nil }
        }
        return Fence(marker: marker, length: length, indent: min(current.indent, inList ? current.indent : 3))
    }

    private mutating func emitFencedCode(from first: Int, fence: Fence) -> Int {
        var index = first
        var codeLines: [Range<Int>] = []
        while index < lines.count {
            let current = line(index)
            if !current.isBlank, input[current.text] == fence.marker {
                var cursor = current.text
                while cursor < current.end, input[cursor] == fence.marker { cursor += 1 }
                var rest = cursor
                while rest < current.end, input[rest] == 0x20 || input[rest] == 0x09 { rest += 1 }
                if cursor - current.text >= fence.length && rest == current.end {
                    index += 1
                    break
                }
            }
            // Remove up to the fence's own indentation, so code inside a list item is not
            // indented more than the author meant.
            var start = current.start
            var removed = 0
            while start < current.end, removed < fence.indent, input[start] == 0x20 {
                start += 1
                removed += 1
            }
            codeLines.append(start..<current.end)
            index += 1
        }
        emitCode(codeLines)
        return index
    }

    private mutating func emitIndentedCode(from first: Int) -> Int {
        var index = first
        var codeLines: [Range<Int>] = []
        while index < lines.count {
            let current = line(index)
            guard current.isBlank || current.indent >= 4 else { break }
            var start = current.start
            var column = 0
            while start < current.end, column < 4 {
                column += input[start] == 0x09 ? 4 - column % 4 : 1
                start += 1
            }
            codeLines.append(start..<current.end)
            index += 1
        }
        previousLineBlank = false
        emitCode(codeLines)
        return index
    }

    private mutating func emitCode(_ codeLines: [Range<Int>]) {
        builder.endBlock()
        builder.nextKind = .code
        builder.nextPreservesWhitespace = true
        for (offset, range) in codeLines.enumerated() {
            if offset > 0 { builder.appendWhitespace(0x0A) }
            var end = range.upperBound
            while end > range.lowerBound, input[end - 1] == 0x20 || input[end - 1] == 0x09 { end -= 1 }
            for index in range.lowerBound..<end {
                let byte = input[index]
                if byte == 0x20 || byte == 0x09 {
                    builder.appendWhitespace(byte)
                } else if byte >= 0x20 && byte != 0x7F {
                    builder.appendByte(byte)
                }
            }
        }
        builder.endBlock()
    }

    // MARK: Tables and comments

    private func isTableDelimiter(_ current: Line) -> Bool {
        guard !current.isBlank else { return false }
        var sawDash = false
        var sawPipe = false
        for index in current.text..<current.end {
            switch input[index] {
            case UInt8(ascii: "-"): sawDash = true
            case UInt8(ascii: "|"): sawPipe = true
            case UInt8(ascii: ":"), 0x20, 0x09: break
            default: return false
            }
        }
        return sawDash && (sawPipe || contains(UInt8(ascii: "|"), current))
    }

    private mutating func emitTable(from first: Int) -> Int {
        emitTableRow(line(first))
        var index = first + 2
        while index < lines.count {
            let current = line(index)
            guard !current.isBlank, contains(UInt8(ascii: "|"), current) else { break }
            emitTableRow(current)
            index += 1
        }
        return index
    }

    private mutating func emitTableRow(_ current: Line) {
        builder.endBlock()
        builder.nextKind = .tableRow
        builder.nextPreservesWhitespace = false
        var start = current.text
        var end = current.end
        while end > start, input[end - 1] == 0x20 || input[end - 1] == 0x09 { end -= 1 }
        if start < end, input[start] == UInt8(ascii: "|") { start += 1 }
        if end > start, input[end - 1] == UInt8(ascii: "|"), end - 2 < start || input[end - 2] != UInt8(ascii: "\\") { end -= 1 }
        var cellStart = start
        var cursor = start
        while cursor <= end {
            let isBoundary = cursor == end
                || (input[cursor] == UInt8(ascii: "|") && (cursor == start || input[cursor - 1] != UInt8(ascii: "\\")))
            if isBoundary {
                builder.separateCell()
                var memo = MarkdownInline.Memo()
                MarkdownInline.render(input, cellStart..<cursor, into: &builder, depth: 0, memo: &memo)
                cellStart = cursor + 1
            }
            cursor += 1
        }
        builder.endBlock()
    }

    private func trimmedAfterComment(_ current: Line) -> Bool {
        guard let close = find("-->", in: current.text..<current.end) else { return false }
        var cursor = close + 3
        while cursor < current.end, input[cursor] == 0x20 || input[cursor] == 0x09 { cursor += 1 }
        return cursor == current.end
    }

    private mutating func skipComment(from first: Int) -> Int {
        var index = first
        while index < lines.count {
            let range = lines[index]
            index += 1
            if find("-->", in: range) != nil { break }
        }
        previousLineBlank = true
        return index
    }

    // MARK: Byte helpers

    private func trimmed(_ range: Range<Int>) -> Range<Int> {
        var start = range.lowerBound
        var end = range.upperBound
        while start < end, input[start] == 0x20 || input[start] == 0x09 { start += 1 }
        while end > start, input[end - 1] == 0x20 || input[end - 1] == 0x09 { end -= 1 }
        return start..<end
    }

    private func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        return matches(literal, at: range.lowerBound)
    }

    private func matches(_ literal: StaticString, at index: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= input.count else { return false }
        let pointer = literal.utf8Start
        for offset in 0..<count where input[index + offset] != pointer[offset] {
            return false
        }
        return true
    }

    private func find(_ literal: StaticString, in range: Range<Int>) -> Int? {
        let count = literal.utf8CodeUnitCount
        var cursor = range.lowerBound
        while cursor + count <= range.upperBound {
            if matches(literal, at: cursor) { return cursor }
            cursor += 1
        }
        return nil
    }

    private func contains(_ byte: UInt8, _ current: Line) -> Bool {
        for index in current.text..<current.end where input[index] == byte { return true }
        return false
    }
}

/// Inline Markdown: strips the markup from a span of text and feeds what a reader sees to the
/// builder.
enum MarkdownInline {
    /// Links nested deeper than this (only adversarial input does that) are left as text, so
    /// recursion stays shallow.
    private static let maximumDepth = 8
    /// Bracketed link text and destinations longer than this are not looked for, which keeps
    /// unmatched brackets from making rendering quadratic.
    private static let maximumLinkSpan = 2048

    /// What earlier searches in the same span found missing: searching again would find
    /// nothing either, and a span full of unmatched openers would otherwise take quadratic time.
    struct Memo {
        /// Bit n: a run of n backticks has no closing run later in the span.
        var unmatchedBackticks: UInt64 = 0
        /// No "-->" closes an HTML comment later in the span.
        var unclosedComment = false
    }

    static func render(
        _ s: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into builder: inout DocumentTextBuilder,
        depth: Int, memo: inout Memo
    ) {
        var index = range.lowerBound
        let end = range.upperBound
        while index < end {
            let byte = s[index]
            switch byte {
            case UInt8(ascii: "\\"):
                if index + 1 < end, isASCIIPunctuation(s[index + 1]) {
                    builder.appendByte(s[index + 1])
                    index += 2
                } else if index + 1 < end, s[index + 1] == 0x0A {
                    builder.appendWhitespace(0x20)
                    index += 2
                } else {
                    builder.appendByte(byte)
                    index += 1
                }
            case UInt8(ascii: "`"):
                index = renderCodeSpan(s, at: index, end: end, into: &builder, unmatchedBackticks: &memo.unmatchedBackticks)
            case UInt8(ascii: "!") where index + 1 < end && s[index + 1] == UInt8(ascii: "["):
                if let link = parseLink(s, open: index + 1, end: end) {
                    index = link.after
                } else {
                    builder.appendByte(byte)
                    index += 1
                }
            case UInt8(ascii: "["):
                if depth < maximumDepth, let link = parseLink(s, open: index, end: end) {
                    // A memo is only valid for its own span: the link text is a shorter one.
                    var linkMemo = Memo()
                    render(s, link.text, into: &builder, depth: depth + 1, memo: &linkMemo)
                    index = link.after
                } else {
                    builder.appendByte(byte)
                    index += 1
                }
            case UInt8(ascii: "<"):
                index = renderAngleBracket(s, at: index, end: end, into: &builder, memo: &memo)
            case UInt8(ascii: "&"):
                if let (value, next) = HTMLEntities.decode(s, at: index, end: end) {
                    builder.appendScalar(value)
                    index = next
                } else {
                    builder.appendByte(byte)
                    index += 1
                }
            case UInt8(ascii: "*"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                index = renderDelimiterRun(s, at: index, range: range, into: &builder)
            case 0x20, 0x09, 0x0A, 0x0D:
                builder.appendWhitespace(0x20)
                index += 1
            case 0..<0x20, 0x7F:
                index += 1
            default:
                builder.appendByte(byte)
                index += 1
            }
        }
    }

    private static func renderCodeSpan(
        _ s: UnsafeBufferPointer<UInt8>, at start: Int, end: Int, into builder: inout DocumentTextBuilder,
        unmatchedBackticks: inout UInt64
    ) -> Int {
        var cursor = start
        while cursor < end, s[cursor] == UInt8(ascii: "`") { cursor += 1 }
        let length = cursor - start
        let bit: UInt64 = length < 64 ? 1 << UInt64(length) : 0
        var close = -1
        if unmatchedBackticks & bit == 0 {
            var search = cursor
            while search < end {
                if s[search] == UInt8(ascii: "`") {
                    var runEnd = search
                    while runEnd < end, s[runEnd] == UInt8(ascii: "`") { runEnd += 1 }
                    if runEnd - search == length {
                        close = search
                        break
                    }
                    search = runEnd
                } else {
                    search += 1
                }
            }
            if close < 0 { unmatchedBackticks |= bit }
        }
        guard close >= 0 else {
            for _ in 0..<length { builder.appendByte(UInt8(ascii: "`")) }
            return cursor
        }
        for index in cursor..<close {
            let byte = s[index]
            if byte <= 0x20 { builder.appendWhitespace(0x20) } else if byte != 0x7F { builder.appendByte(byte) }
        }
        return close + length
    }

    /// `[text](destination "title")`, `[text][label]` or `[text][]`: the range of the text and
    /// the index after the whole link. A lone `[text]` is not taken (it may be literal).
    private static func parseLink(_ s: UnsafeBufferPointer<UInt8>, open: Int, end: Int) -> (text: Range<Int>, after: Int)? {
        let limit = min(end, open + maximumLinkSpan)
        var cursor = open + 1
        var nesting = 0
        while cursor < limit {
            let byte = s[cursor]
            if byte == UInt8(ascii: "\\") {
                cursor += 2
                continue
            }
            if byte == UInt8(ascii: "[") { nesting += 1 }
            if byte == UInt8(ascii: "]") {
                if nesting == 0 { break }
                nesting -= 1
            }
            cursor += 1
        }
        guard cursor < limit, s[cursor] == UInt8(ascii: "]") else { return nil }
        let text = (open + 1)..<cursor
        let next = cursor + 1
        guard next < end else { return nil }
        if s[next] == UInt8(ascii: "(") {
            let destinationLimit = min(end, next + maximumLinkSpan)
            var position = next + 1
            var parentheses = 0
            while position < destinationLimit {
                let byte = s[position]
                if byte == UInt8(ascii: "\\") {
                    position += 2
                    continue
                }
                if byte == UInt8(ascii: "(") { parentheses += 1 }
                if byte == UInt8(ascii: ")") {
                    if parentheses == 0 { return (text, position + 1) }
                    parentheses -= 1
                }
                position += 1
            }
            return nil
        }
        if s[next] == UInt8(ascii: "[") {
            let labelLimit = min(end, next + maximumLinkSpan)
            var position = next + 1
            while position < labelLimit {
                if s[position] == UInt8(ascii: "]") { return (text, position + 1) }
                if s[position] == UInt8(ascii: "[") { return nil }
                position += 1
            }
        }
        return nil
    }

    /// An autolink (`<https://...>`, `<a@b.org>`) keeps its address; an HTML tag or comment
    /// disappears (a `<br>` leaves a space); anything else is a literal "<".
    private static func renderAngleBracket(
        _ s: UnsafeBufferPointer<UInt8>, at start: Int, end: Int, into builder: inout DocumentTextBuilder, memo: inout Memo
    ) -> Int {
        let next = start + 1
        guard next < end else {
            builder.appendByte(UInt8(ascii: "<"))
            return next
        }
        if next + 2 < end, s[next] == UInt8(ascii: "!"), s[next + 1] == UInt8(ascii: "-"), s[next + 2] == UInt8(ascii: "-") {
            var cursor = next + 3
            while !memo.unclosedComment && cursor + 2 < end {
                if s[cursor] == UInt8(ascii: "-"), s[cursor + 1] == UInt8(ascii: "-"), s[cursor + 2] == UInt8(ascii: ">") {
                    return cursor + 3
                }
                cursor += 1
            }
            memo.unclosedComment = true
            builder.appendByte(UInt8(ascii: "<"))
            return next
        }
        // Find the closing ">" on the same tag: no "<" or line break before it.
        var close = next
        var sawColon = false
        var sawAt = false
        var sawSpace = false
        while close < end, close - start < maximumLinkSpan {
            let byte = s[close]
            if byte == UInt8(ascii: ">") || byte == UInt8(ascii: "<") { break }
            if byte == UInt8(ascii: ":") { sawColon = true }
            if byte == UInt8(ascii: "@") { sawAt = true }
            if byte <= 0x20 { sawSpace = true }
            close += 1
        }
        guard close < end, s[close] == UInt8(ascii: ">"), close > next else {
            builder.appendByte(UInt8(ascii: "<"))
            return next
        }
        let first = s[next]
        let isLetter = (first | 0x20) >= UInt8(ascii: "a") && (first | 0x20) <= UInt8(ascii: "z")
        if isLetter && !sawSpace && (sawColon || sawAt) {
            for index in next..<close { builder.appendByte(s[index]) }
            return close + 1
        }
        if isLetter || (first == UInt8(ascii: "/") && close > next + 1) {
            let nameStart = first == UInt8(ascii: "/") ? next + 1 : next
            if close - nameStart >= 2, s[nameStart] | 0x20 == UInt8(ascii: "b"), s[nameStart + 1] | 0x20 == UInt8(ascii: "r") {
                builder.appendWhitespace(0x20)
            }
            return close + 1
        }
        builder.appendByte(UInt8(ascii: "<"))
        return next
    }

    /// Emphasis and strike-through markers are dropped when they can open or close emphasis
    /// (CommonMark's "flanking" rules): "**bold**" → "bold", while "2 * 3" and snake_case keep
    /// their characters.
    private static func renderDelimiterRun(_ s: UnsafeBufferPointer<UInt8>, at start: Int, range: Range<Int>, into builder: inout DocumentTextBuilder) -> Int {
        let marker = s[start]
        var cursor = start
        while cursor < range.upperBound, s[cursor] == marker { cursor += 1 }
        let before: UInt8 = start > range.lowerBound ? s[start - 1] : 0x20
        let after: UInt8 = cursor < range.upperBound ? s[cursor] : 0x20
        let beforeSpace = before <= 0x20
        let afterSpace = after <= 0x20
        let beforePunctuation = isASCIIPunctuation(before)
        let afterPunctuation = isASCIIPunctuation(after)
        let leftFlanking = !afterSpace && (!afterPunctuation || beforeSpace || beforePunctuation)
        let rightFlanking = !beforeSpace && (!beforePunctuation || afterSpace || afterPunctuation)
        let strip: Bool
        switch marker {
        case UInt8(ascii: "*"):
            strip = leftFlanking || rightFlanking
        case UInt8(ascii: "_"):
            strip = (leftFlanking && (!rightFlanking || beforePunctuation)) || (rightFlanking && (!leftFlanking || afterPunctuation))
        default:
            strip = cursor - start <= 2 && (leftFlanking || rightFlanking)
        }
        if !strip {
            for _ in start..<cursor { builder.appendByte(marker) }
        }
        return cursor
    }

    private static func isASCIIPunctuation(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: true
        default: false
        }
    }
}
