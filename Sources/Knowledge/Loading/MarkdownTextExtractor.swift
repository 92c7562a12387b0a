/// Turns Markdown (CommonMark with the common GitHub extensions) into plain text with its
/// heading and block structure.
///
/// - Headings: ATX (`#` ... `######`) and Setext (a line underlined with `===` or `---`).
/// - Paragraphs, list items (`-`, `*`, `+`, `1.`, `1)`; task boxes dropped), block quotes
///   (their text becomes ordinary blocks), GitHub tables (one block per row, the delimiter row
///   dropped; the header row's cells joined with " | ", every other row's cells paired with
///   their column headers: see `TableRowLabeler`).
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
        MarkupScanner.extract(markdown, fallbackTitle: fallbackTitle, with: MarkdownParser.self)
    }
}

/// Block-level parsing state for one document; lives only inside `extract`, because it holds
/// a pointer to the document's bytes.
struct MarkdownParser: MarkupParser {
    private let scanner: MarkupScanner
    private let input: UnsafeBufferPointer<UInt8>
    private(set) var builder: DocumentTextBuilder
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

    init(scanner: MarkupScanner) {
        self.scanner = scanner
        self.input = scanner.bytes
        self.builder = DocumentTextBuilder(capacity: input.count)
    }

    /// The `title` of the front matter.
    var declaredTitle: String { frontMatterTitle }

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
        var start = scanner.contentStart
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
        let isYAML = scanner.equals(opening, "---")
        guard isYAML || scanner.equals(opening, "+++") else { return 0 }
        for index in 1..<max(1, lines.count) {
            let candidate = trimmed(lines[index])
            let closes = isYAML ? (scanner.equals(candidate, "---") || scanner.equals(candidate, "...")) : scanner.equals(candidate, "+++")
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
        guard line.count > keyLength, scanner.equals(line.lowerBound..<(line.lowerBound + keyLength), key) else { return nil }
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
        if structural, scanner.matches("<!--", at: current.text) {
            if scanner.find("-->", in: (current.text + 4)..<current.end) == nil {
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
        builder.resetTableHeaders()
        emitTableRow(line(first), isHeader: true)
        var index = first + 2
        while index < lines.count {
            let current = line(index)
            guard !current.isBlank, contains(UInt8(ascii: "|"), current) else { break }
            emitTableRow(current, isHeader: false)
            index += 1
        }
        builder.resetTableHeaders()
        return index
    }

    private mutating func emitTableRow(_ current: Line, isHeader: Bool) {
        builder.beginRow()
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
                builder.beginCell(span: 1, isHeader: isHeader)
                var memo = MarkdownInline.Memo()
                MarkdownInline.render(input, cellStart..<cursor, into: &builder, depth: 0, memo: &memo)
                cellStart = cursor + 1
            }
            cursor += 1
        }
        builder.endBlock()
    }

    private func trimmedAfterComment(_ current: Line) -> Bool {
        guard let close = scanner.find("-->", in: current.text..<current.end) else { return false }
        var cursor = close + 3
        while cursor < current.end, input[cursor] == 0x20 || input[cursor] == 0x09 { cursor += 1 }
        return cursor == current.end
    }

    private mutating func skipComment(from first: Int) -> Int {
        var index = first
        while index < lines.count {
            let range = lines[index]
            index += 1
            if scanner.find("-->", in: range) != nil { break }
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

    private func contains(_ byte: UInt8, _ current: Line) -> Bool {
        for index in current.text..<current.end where input[index] == byte { return true }
        return false
    }
}
