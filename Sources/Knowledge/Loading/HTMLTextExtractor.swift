/// Turns an HTML page into plain text with its heading and block structure.
///
/// A tolerant hand-written scanner over the page's UTF-8 bytes, not an XML parser: real HTML
/// is rarely well-formed XML. It never fails: unclosed or stray tags, comments, CDATA,
/// quoted `>` in attributes and any letter case are all read the way a browser would roughly
/// read them, and anything unrecognisable is kept as text.
///
/// What it keeps: the `<title>` (as `ExtractedDocument.title`), headings `h1`–`h6` as heading
/// blocks, and `p`, `li`, `dt`/`dd`, `blockquote`, `pre` (line breaks kept, as a code block)
/// and table rows as blocks (cells joined with " | ", or paired with their column headers from
/// `<th>` cells or a `<thead>` row, honouring `colspan`: see `TableRowLabeler`); text directly inside `div`, `section`
/// and the like becomes paragraphs. Inline elements (`a`, `code`, `em`, `span`, ...) never
/// break the text. Entities are decoded and whitespace is collapsed within each block.
///
/// What it drops, with everything inside: scripts, styles, `noscript`, `template`, `svg`,
/// embedded objects, form controls, `nav`, page-level `header`/`footer` (those inside an
/// `article`, `main` or `section` are content and stay), and any element whose `class` or
/// `role` marks it as navigation — the PostgreSQL documentation's `navheader`/`navfooter`
/// divs, Sphinx sidebars, permalink anchors ("¶", "#") next to headings.
public struct HTMLTextExtractor: Sendable {
    public init() {}

    public func extract(_ html: String, fallbackTitle: String) -> ExtractedDocument {
        MarkupScanner.extract(html, fallbackTitle: fallbackTitle, with: HTMLScanner.self)
    }
}

/// The scanner's state for one page. Lives only inside `HTMLTextExtractor.extract`, because it
/// holds a pointer to the page's bytes.
struct HTMLScanner: MarkupParser {
    private let scanner: MarkupScanner
    private let input: UnsafeBufferPointer<UInt8>
    private(set) var builder: DocumentTextBuilder
    /// Open block elements, innermost last. Inline elements are never pushed: they do not
    /// affect the structure, and unclosed ones are common.
    private var stack: [HTMLElement] = []
    /// Parallel to `stack`: whether the element is an admonition box (DocBook's
    /// `<div class="note">`), whose "Note"/"Tip"/"Warning" heading labels the box rather than
    /// naming a section, so it becomes a paragraph and stays out of heading paths.
    private var isAdmonition: [Bool] = []
    /// How many `<tr>` are on the stack: inside a row, nested blocks do not split it.
    private var rowDepth = 0
    /// How many `<table>` are on the stack: only the outermost table's cells are paired with
    /// its headers (a nested table's cells stay text of the outer cell).
    private var tableDepth = 0
    /// While dropping an element: its lower-case name and how many of it are open.
    private var skippedName = ""
    private var skipDepth = 0
    private var title = ""

    /// Deeper nesting than this is not tracked (pages that never close their divs would
    /// otherwise grow the stack without bound); the extra elements are treated as inline.
    private static let maximumDepth = 256

    private static let admonitionClasses: Set<String> = ["note", "tip", "warning", "caution", "important", "admonition"]

    private static let navigationClasses: Set<String> = [
        "nav", "navbar", "navheader", "navfooter", "navigation", "breadcrumb", "breadcrumbs",
        "sphinxsidebar", "headerlink", "id_link", "hash-link", "anchorjs-link", "skip-link", "skiplink",
    ]

    init(scanner: MarkupScanner) {
        self.scanner = scanner
        self.input = scanner.bytes
        self.builder = DocumentTextBuilder(capacity: input.count / 2, tableLabelBudget: input.count)
    }

    /// The page's `<title>`.
    var declaredTitle: String { title }

    mutating func run() {
        var index = scanner.contentStart
        let end = input.count
        while index < end {
            let byte = input[index]
            if byte == UInt8(ascii: "<") {
                index = scanMarkup(at: index)
                continue
            }
            if skipDepth > 0 {
                index += 1
                continue
            }
            index = appendText(at: index, decodingEntities: true)
        }
        builder.endBlock()
    }

    // MARK: Text

    /// Appends one character of text (an entity, a whitespace byte or a byte of visible text)
    /// and returns the index after it.
    @inline(__always)
    private mutating func appendText(at index: Int, decodingEntities: Bool) -> Int {
        let byte = input[index]
        switch byte {
        case UInt8(ascii: "&") where decodingEntities:
            if let (value, next) = HTMLEntities.decode(input, at: index, end: input.count) {
                builder.appendScalar(value)
                return next
            }
            builder.appendByte(byte)
        case 0x20, 0x0A, 0x09, 0x0D, 0x0C:
            builder.appendWhitespace(byte)
        case 0..<0x20, 0x7F:
            // Other control characters are invisible noise.
            break
        case 0xC2 where index + 1 < input.count && input[index + 1] == 0xA0:
            // A literal no-break space separates words like a space.
            builder.appendWhitespace(0x20)
            return index + 2
        default:
            builder.appendByte(byte)
        }
        return index + 1
    }

    // MARK: Markup

    /// Reads the markup starting with "<" at `index` and returns the index after it.
    private mutating func scanMarkup(at index: Int) -> Int {
        let end = input.count
        let next = index + 1
        guard next < end else {
            if skipDepth == 0 { builder.appendByte(UInt8(ascii: "<")) }
            return end
        }
        let first = input[next]
        if first == UInt8(ascii: "!") {
            if scanner.matches("<!--", at: index) {
                // An unclosed comment runs to the end of the page, as in a browser.
                return scanner.find("-->", in: (index + 4)..<end).map { $0 + 3 } ?? end
            }
            if scanner.matches("<![CDATA[", at: index) {
                let close = scanner.find("]]>", in: (index + 9)..<end) ?? end
                if skipDepth == 0 {
                    var cursor = index + 9
                    while cursor < close { cursor = appendText(at: cursor, decodingEntities: false) }
                }
                return min(end, close + 3)
            }
            return scanner.skipPast(UInt8(ascii: ">"), from: next)
        }
        if first == UInt8(ascii: "?") {
            return scanner.skipPast(UInt8(ascii: ">"), from: next)
        }
        if first == UInt8(ascii: "/") {
            let nameStart = next + 1
            guard nameStart < end, MarkupScanner.isASCIILetter(input[nameStart]) else {
                // "</>" is nothing; "</ junk>" is a bogus comment.
                return scanner.skipPast(UInt8(ascii: ">"), from: nameStart)
            }
            let (name, nameEnd) = readName(from: nameStart)
            let after = scanner.skipPast(UInt8(ascii: ">"), from: nameEnd)
            handleEndTag(name: name, element: HTMLElement.named(name))
            return after
        }
        guard MarkupScanner.isASCIILetter(first) else {
            // "a < b" in text: the "<" is literal.
            if skipDepth == 0 { builder.appendByte(UInt8(ascii: "<")) }
            return next
        }
        let (name, nameEnd) = readName(from: next)
        let element = HTMLElement.named(name)
        let attributes = readAttributes(from: nameEnd)
        if element.hasRawTextContent && !attributes.selfClosing {
            return scanRawText(of: element, name: name, from: attributes.end)
        }
        handleStartTag(
            name: name, element: element, selfClosing: attributes.selfClosing,
            isNavigation: attributes.isNavigation, isAdmonition: attributes.isAdmonition, columnSpan: attributes.columnSpan)
        return attributes.end
    }

    /// Skips the content of a raw-text element (`<script>`, `<style>`...) up to its end tag;
    /// the title's content is decoded and kept.
    private mutating func scanRawText(of element: HTMLElement, name: String, from start: Int) -> Int {
        let end = input.count
        var cursor = start
        var contentEnd = end
        var after = end
        while let open = scanner.find(UInt8(ascii: "<"), from: cursor) {
            if open + 1 < end, input[open + 1] == UInt8(ascii: "/"), matchesName(name, at: open + 2) {
                contentEnd = open
                after = scanner.skipPast(UInt8(ascii: ">"), from: open + 2 + name.utf8.count)
                break
            }
            cursor = open + 1
        }
        if element == .title && title.isEmpty && skipDepth == 0 {
            title = collapsedText(start..<contentEnd)
        }
        return after
    }

    private mutating func handleStartTag(name: String, element: HTMLElement, selfClosing: Bool, isNavigation: Bool, isAdmonition: Bool,
                                         columnSpan: Int) {
        if skipDepth > 0 {
            if name == skippedName && !selfClosing && !element.isVoid { skipDepth += 1 }
            return
        }
        let dropped = element.isAlwaysDropped || isNavigation
            || ((element == .header || element == .footer) && !isInsideContentSection)
        if dropped {
            guard !selfClosing && !element.isVoid else { return }
            if element.isBlock || element == .nav { endBlockUnlessInRow() }
            skippedName = name
            skipDepth = 1
            return
        }
        switch element {
        case .br:
            builder.appendWhitespace(builder.isPreservingWhitespace ? 0x0A : 0x20)
        case .hr:
            endBlockUnlessInRow()
        case _ where element.isBlock:
            openBlock(element, selfClosing: selfClosing, isAdmonition: isAdmonition, columnSpan: columnSpan)
        default:
            break
        }
    }

    private mutating func handleEndTag(name: String, element: HTMLElement) {
        if skipDepth > 0 {
            if name == skippedName {
                skipDepth -= 1
            } else if element == .body || element == .html {
                // An unclosed dropped element must not swallow the rest of the page.
                skipDepth = 0
            }
            return
        }
        if element == .br {
            builder.appendWhitespace(builder.isPreservingWhitespace ? 0x0A : 0x20)
            return
        }
        guard element.isBlock else { return }
        guard let position = stack.lastIndex(of: element) else {
            // A stray end tag: ignored, except that "</p>" still ends a paragraph.
            if element == .p { endBlockUnlessInRow() }
            return
        }
        pop(to: position)
        if element == .td || element == .th {
            // The next cell adds its separator; nothing to do here.
        } else {
            endBlockUnlessInRow()
        }
        updateNextKind()
    }

    private mutating func openBlock(_ element: HTMLElement, selfClosing: Bool, isAdmonition admonition: Bool, columnSpan: Int) {
        // Implied end tags: HTML lets authors leave these elements open.
        if element.closesParagraph, stack.last == .p { pop(to: stack.count - 1) }
        switch element {
        case .li:
            popOpen(.li, stoppingAt: [.ul, .ol, .menu, .dir, .table])
        case .dt, .dd:
            popOpen(.dt, .dd, stoppingAt: [.dl, .table])
        case .tr:
            popOpen(.tr, stoppingAt: [.table])
        case .td, .th:
            popOpen(.td, .th, stoppingAt: [.tr, .table])
        case .h1, .h2, .h3, .h4, .h5, .h6:
            if let last = stack.last, last.headingLevel != nil { pop(to: stack.count - 1) }
        default:
            break
        }
        if !selfClosing && stack.count < Self.maximumDepth {
            stack.append(element)
            isAdmonition.append(admonition)
            if element == .tr { rowDepth += 1 }
            if element == .table {
                tableDepth += 1
                if tableDepth == 1 { builder.resetTableHeaders() }
            }
        }
        switch element {
        case .tr where rowDepth <= 1:
            builder.beginRow()
        case .td where rowDepth == 1 && tableDepth <= 1, .th where rowDepth == 1 && tableDepth <= 1:
            builder.beginCell(span: columnSpan, isHeader: element == .th || stack.contains(.thead))
        case .td, .th, .tr:
            if rowDepth > 0 { builder.separateCell() } else { builder.endBlock() }
        default:
            endBlockUnlessInRow()
        }
        updateNextKind()
    }

    /// Ends the current block, or, inside a table row (whose cells may hold paragraphs and
    /// lists), only separates words so that the row stays one block.
    private mutating func endBlockUnlessInRow() {
        if rowDepth > 0 {
            builder.appendWhitespace(0x20)
        } else {
            builder.endBlock()
            updateNextKind()
        }
    }

    private mutating func popOpen(_ first: HTMLElement, _ second: HTMLElement? = nil, stoppingAt boundaries: [HTMLElement]) {
        var position = stack.count - 1
        while position >= 0 {
            let element = stack[position]
            if element == first || element == second {
                pop(to: position)
                return
            }
            if boundaries.contains(element) { return }
            position -= 1
        }
    }

    private mutating func pop(to position: Int) {
        while stack.count > position {
            isAdmonition.removeLast()
            switch stack.removeLast() {
            case .tr: rowDepth -= 1
            case .table:
                tableDepth -= 1
                if tableDepth == 0 { builder.resetTableHeaders() }
            default: break
            }
        }
    }

    private var isInsideContentSection: Bool {
        stack.contains { $0 == .article || $0 == .main || $0 == .section }
    }

    /// The kind of block the next text opens, from the innermost element that decides it.
    private mutating func updateNextKind() {
        var kind = TextBlock.Kind.paragraph
        if rowDepth > 0 {
            kind = .tableRow
        } else {
            search: for position in stack.indices.reversed() {
                let element = stack[position]
                switch element {
                case .pre: kind = .code; break search
                case .li: kind = .listItem; break search
                case .dd, .dt, .blockquote, .caption, .figcaption: kind = .paragraph; break search
                default:
                    if let level = element.headingLevel {
                        let labelsAdmonition = isAdmonition[..<position].contains(true)
                        kind = labelsAdmonition ? .paragraph : .heading(level: level)
                        break search
                    }
                }
            }
        }
        builder.nextKind = kind
        builder.nextPreservesWhitespace = kind == .code
    }

    // MARK: Lexing helpers

    /// Reads a tag name (letters, digits and anything else up to whitespace, "/" or ">"),
    /// lower-cased.
    private func readName(from start: Int) -> (String, Int) {
        var cursor = start
        let end = input.count
        while cursor < end {
            let byte = input[cursor]
            if byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte <= 0x20 { break }
            cursor += 1
        }
        return (scanner.lowercasedString(start..<cursor), cursor)
    }

    private struct Attributes {
        var end: Int
        var selfClosing: Bool
        var isNavigation: Bool
        var isAdmonition: Bool
        /// `colspan` (1 when absent or unreadable, at most `TableRowLabeler.maximumColumns`).
        var columnSpan = 1
    }

    /// Reads attributes up to the closing ">" (a ">" inside a quoted value does not close the
    /// tag) and notes whether `class` or `role` marks the element as navigation.
    private func readAttributes(from start: Int) -> Attributes {
        let end = input.count
        var cursor = start
        var isNavigation = false
        var isAdmonition = false
        var selfClosing = false
        var columnSpan = 1
        while cursor < end {
            let byte = input[cursor]
            if byte == UInt8(ascii: ">") {
                return Attributes(end: cursor + 1, selfClosing: selfClosing, isNavigation: isNavigation, isAdmonition: isAdmonition,
                                  columnSpan: columnSpan)
            }
            if byte <= 0x20 {
                cursor += 1
                continue
            }
            if byte == UInt8(ascii: "/") {
                selfClosing = true
                cursor += 1
                continue
            }
            selfClosing = false
            let nameStart = cursor
            while cursor < end {
                let current = input[cursor]
                if current <= 0x20 || current == UInt8(ascii: "=") || current == UInt8(ascii: ">")
                    || (current == UInt8(ascii: "/") && cursor > nameStart) {
                    break
                }
                cursor += 1
            }
            let nameRange = nameStart..<cursor
            while cursor < end, input[cursor] <= 0x20 { cursor += 1 }
            guard cursor < end, input[cursor] == UInt8(ascii: "=") else { continue }
            cursor += 1
            while cursor < end, input[cursor] <= 0x20 { cursor += 1 }
            guard cursor < end else { break }
            var valueRange = cursor..<cursor
            let quote = input[cursor]
            if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
                if let close = scanner.find(quote, from: cursor + 1) {
                    valueRange = (cursor + 1)..<close
                    cursor = close + 1
                } else {
                    // An unclosed quote: end the tag at the next ">" rather than swallow the page.
                    let close = scanner.find(UInt8(ascii: ">"), from: cursor + 1) ?? end
                    return Attributes(end: min(end, close + 1), selfClosing: false, isNavigation: isNavigation, isAdmonition: isAdmonition)
                }
            } else {
                let valueStart = cursor
                while cursor < end, input[cursor] > 0x20, input[cursor] != UInt8(ascii: ">") { cursor += 1 }
                valueRange = valueStart..<cursor
            }
            let (navigation, admonition) = classify(name: nameRange, value: valueRange)
            isNavigation = isNavigation || navigation
            isAdmonition = isAdmonition || admonition
            if scanner.equalsIgnoringCase(nameRange, "colspan") { columnSpan = readColumnSpan(valueRange) }
        }
        return Attributes(end: end, selfClosing: selfClosing, isNavigation: isNavigation, isAdmonition: isAdmonition, columnSpan: columnSpan)
    }

    /// A `colspan` value: its leading digits (after spaces) as a number in
    /// 1...`TableRowLabeler.maximumColumns`, 1 when there are none (as browsers read it).
    private func readColumnSpan(_ range: Range<Int>) -> Int {
        var cursor = range.lowerBound
        while cursor < range.upperBound, input[cursor] <= 0x20 { cursor += 1 }
        var value = 0
        while cursor < range.upperBound, input[cursor] >= UInt8(ascii: "0"), input[cursor] <= UInt8(ascii: "9") {
            // Saturates: "99999999999999999999" must not overflow.
            value = min(TableRowLabeler.maximumColumns, value * 10 + Int(input[cursor] - UInt8(ascii: "0")))
            cursor += 1
        }
        return max(1, value)
    }

    /// Whether a `class` or `role` attribute marks its element as navigation or as an
    /// admonition box.
    private func classify(name: Range<Int>, value: Range<Int>) -> (navigation: Bool, admonition: Bool) {
        if scanner.equalsIgnoringCase(name, "class") {
            var admonition = false
            var cursor = value.lowerBound
            while cursor < value.upperBound {
                while cursor < value.upperBound, input[cursor] <= 0x20 { cursor += 1 }
                let tokenStart = cursor
                while cursor < value.upperBound, input[cursor] > 0x20 { cursor += 1 }
                let length = cursor - tokenStart
                if length > 0 && length <= 16 {
                    let token = scanner.lowercasedString(tokenStart..<cursor)
                    if Self.navigationClasses.contains(token) { return (true, false) }
                    if Self.admonitionClasses.contains(token) { admonition = true }
                }
            }
            return (false, admonition)
        }
        if scanner.equalsIgnoringCase(name, "role") {
            return (scanner.equalsIgnoringCase(value, "navigation"), false)
        }
        return (false, false)
    }

    /// True when `name` (lower case) follows at `index`, ended by whitespace, "/" or ">".
    private func matchesName(_ name: String, at index: Int) -> Bool {
        var cursor = index
        for unit in name.utf8 {
            guard cursor < input.count else { return false }
            let byte = input[cursor]
            let lowered = (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
            if lowered != unit { return false }
            cursor += 1
        }
        guard cursor < input.count else { return true }
        let after = input[cursor]
        return after <= 0x20 || after == UInt8(ascii: ">") || after == UInt8(ascii: "/")
    }

    /// Decoded text of a range with whitespace collapsed, for the title.
    private func collapsedText(_ range: Range<Int>) -> String {
        var scratch = DocumentTextBuilder()
        var cursor = range.lowerBound
        while cursor < range.upperBound {
            let byte = input[cursor]
            if byte == UInt8(ascii: "&"), let (value, next) = HTMLEntities.decode(input, at: cursor, end: range.upperBound) {
                scratch.appendScalar(value)
                cursor = next
                continue
            }
            if byte <= 0x20 { scratch.appendWhitespace(0x20) } else { scratch.appendByte(byte) }
            cursor += 1
        }
        scratch.endBlock()
        return scratch.build(title: "").text
    }
}
