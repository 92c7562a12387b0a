/// Turns an HTML page into plain text with its heading and block structure.
///
/// A tolerant hand-written scanner over the page's UTF-8 bytes, not an XML parser: real HTML
/// is rarely well-formed XML. It never fails: unclosed or stray tags, comments, CDATA,
/// quoted `>` in attributes and any letter case are all read the way a browser would roughly
/// read them, and anything unrecognisable is kept as text.
///
/// What it keeps: the `<title>` (as `ExtractedDocument.title`), headings `h1`–`h6` as heading
/// blocks, and `p`, `li`, `dt`/`dd`, `blockquote`, `pre` (line breaks kept, as a code block)
/// and table rows (cells joined with " | ") as blocks; text directly inside `div`, `section`
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
        var source = html
        // withUTF8 gives the String's own contiguous bytes (it copies only a bridged string).
        return source.withUTF8 { bytes in
            var scanner = HTMLScanner(input: bytes)
            scanner.run()
            return scanner.document(fallbackTitle: fallbackTitle)
        }
    }
}

/// The elements the scanner treats specially; every other tag is inline and ignored.
enum HTMLElement: UInt8 {
    case inline
    // Dropped with their content, which is raw text up to the matching end tag.
    case script, style, noscript, textarea, xmp, iframe, noembed, noframes
    /// Raw text too, but kept as the document title.
    case title
    // Dropped with their content, which is ordinary markup.
    case template, svg, math, nav, object, canvas, video, audio, select, button, datalist
    // Navigation when at page level, content inside article/main/section.
    case header, footer
    // Block containers: they separate blocks but give them no kind of their own.
    case address, article, aside, center, details, dialog, dir, div, dl, fieldset, figure, form
    case hgroup, legend, main, menu, ol, section, summary, table, tbody, tfoot, thead, ul
    // Elements whose text becomes a block of a particular kind.
    case h1, h2, h3, h4, h5, h6, p, li, dt, dd, pre, blockquote, caption, figcaption, tr, td, th
    // Void elements with an effect on the text.
    case br, hr
    /// Void elements without one (img, input, meta...): only matters for nesting counts.
    case void
    case body, html

    static func named(_ name: String) -> HTMLElement {
        byName[name] ?? .inline
    }

    private static let byName: [String: HTMLElement] = [
        "script": .script, "style": .style, "noscript": .noscript, "textarea": .textarea, "xmp": .xmp,
        "iframe": .iframe, "noembed": .noembed, "noframes": .noframes, "title": .title,
        "template": .template, "svg": .svg, "math": .math, "nav": .nav, "object": .object, "canvas": .canvas,
        "video": .video, "audio": .audio, "select": .select, "button": .button, "datalist": .datalist,
        "header": .header, "footer": .footer,
        "address": .address, "article": .article, "aside": .aside, "center": .center, "details": .details,
        "dialog": .dialog, "dir": .dir, "div": .div, "dl": .dl, "fieldset": .fieldset, "figure": .figure,
        "form": .form, "hgroup": .hgroup, "legend": .legend, "main": .main, "menu": .menu, "ol": .ol,
        "section": .section, "summary": .summary, "table": .table, "tbody": .tbody, "tfoot": .tfoot,
        "thead": .thead, "ul": .ul,
        "h1": .h1, "h2": .h2, "h3": .h3, "h4": .h4, "h5": .h5, "h6": .h6, "p": .p, "li": .li, "dt": .dt,
        "dd": .dd, "pre": .pre, "blockquote": .blockquote, "caption": .caption, "figcaption": .figcaption,
        "tr": .tr, "td": .td, "th": .th, "br": .br, "hr": .hr,
        "img": .void, "input": .void, "meta": .void, "link": .void, "wbr": .void, "area": .void, "base": .void,
        "col": .void, "embed": .void, "param": .void, "source": .void, "track": .void, "keygen": .void,
        "body": .body, "html": .html,
    ]

    /// Content up to the matching end tag is raw text, not markup.
    var hasRawTextContent: Bool {
        switch self {
        case .script, .style, .noscript, .textarea, .xmp, .iframe, .noembed, .noframes, .title: true
        default: false
        }
    }

    /// Dropped with all its content wherever it appears.
    var isAlwaysDropped: Bool {
        switch self {
        case .template, .svg, .math, .nav, .object, .canvas, .video, .audio, .select, .button, .datalist: true
        default: false
        }
    }

    /// Opens a block context: pushed on the scanner's stack and separating blocks.
    var isBlock: Bool {
        rawValue >= HTMLElement.header.rawValue && rawValue <= HTMLElement.th.rawValue
    }

    var isVoid: Bool { self == .br || self == .hr || self == .void }

    var headingLevel: Int? {
        switch self {
        case .h1: 1
        case .h2: 2
        case .h3: 3
        case .h4: 4
        case .h5: 5
        case .h6: 6
        default: nil
        }
    }

    /// Opening this element closes an open `<p>`, as in the HTML parsing algorithm.
    var closesParagraph: Bool {
        isBlock && self != .td && self != .th && self != .tr && self != .caption && self != .tbody
            && self != .thead && self != .tfoot && self != .dt && self != .dd
    }
}

/// The scanner's state for one page. Lives only inside `HTMLTextExtractor.extract`, because it
/// holds a pointer to the page's bytes.
struct HTMLScanner {
    private let input: UnsafeBufferPointer<UInt8>
    private var builder: DocumentTextBuilder
    /// Open block elements, innermost last. Inline elements are never pushed: they do not
    /// affect the structure, and unclosed ones are common.
    private var stack: [HTMLElement] = []
    /// Parallel to `stack`: whether the element is an admonition box (DocBook's
    /// `<div class="note">`), whose "Note"/"Tip"/"Warning" heading labels the box rather than
    /// naming a section, so it becomes a paragraph and stays out of heading paths.
    private var isAdmonition: [Bool] = []
    /// How many `<tr>` are on the stack: inside a row, nested blocks do not split it.
    private var rowDepth = 0
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

    init(input: UnsafeBufferPointer<UInt8>) {
        self.input = input
        self.builder = DocumentTextBuilder(capacity: input.count / 2)
    }

    func document(fallbackTitle: String) -> ExtractedDocument {
        var chosen = title
        if chosen.isEmpty, let block = builder.blocks.firstIndex(where: { $0.kind == .heading(level: 1) }) {
            chosen = builder.text(ofBlock: block)
        }
        return builder.build(title: chosen.isEmpty ? fallbackTitle : chosen)
    }

    mutating func run() {
        var index = 0
        let end = input.count
        // A UTF-8 byte order mark is not text.
        if end >= 3, input[0] == 0xEF, input[1] == 0xBB, input[2] == 0xBF { index = 3 }
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
            if matches("<!--", at: index) {
                // An unclosed comment runs to the end of the page, as in a browser.
                return find("-->", from: index + 4).map { $0 + 3 } ?? end
            }
            if matches("<![CDATA[", at: index) {
                let close = find("]]>", from: index + 9) ?? end
                if skipDepth == 0 {
                    var cursor = index + 9
                    while cursor < close { cursor = appendText(at: cursor, decodingEntities: false) }
                }
                return min(end, close + 3)
            }
            return skipPast(UInt8(ascii: ">"), from: next)
        }
        if first == UInt8(ascii: "?") {
            return skipPast(UInt8(ascii: ">"), from: next)
        }
        if first == UInt8(ascii: "/") {
            let nameStart = next + 1
            guard nameStart < end, isASCIILetter(input[nameStart]) else {
                // "</>" is nothing; "</ junk>" is a bogus comment.
                return skipPast(UInt8(ascii: ">"), from: nameStart)
            }
            let (name, nameEnd) = readName(from: nameStart)
            let after = skipPast(UInt8(ascii: ">"), from: nameEnd)
            handleEndTag(name: name, element: HTMLElement.named(name))
            return after
        }
        guard isASCIILetter(first) else {
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
            isNavigation: attributes.isNavigation, isAdmonition: attributes.isAdmonition)
        return attributes.end
    }

    /// Skips the content of a raw-text element (`<script>`, `<style>`...) up to its end tag;
    /// the title's content is decoded and kept.
    private mutating func scanRawText(of element: HTMLElement, name: String, from start: Int) -> Int {
        let end = input.count
        var cursor = start
        var contentEnd = end
        var after = end
        while let open = find(UInt8(ascii: "<"), from: cursor) {
            if open + 1 < end, input[open + 1] == UInt8(ascii: "/"), matchesName(name, at: open + 2) {
                contentEnd = open
                after = skipPast(UInt8(ascii: ">"), from: open + 2 + name.utf8.count)
                break
            }
            cursor = open + 1
        }
        if element == .title && title.isEmpty && skipDepth == 0 {
            title = collapsedText(start..<contentEnd)
        }
        return after
    }

    private mutating func handleStartTag(name: String, element: HTMLElement, selfClosing: Bool, isNavigation: Bool, isAdmonition: Bool) {
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
            openBlock(element, selfClosing: selfClosing, isAdmonition: isAdmonition)
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

    private mutating func openBlock(_ element: HTMLElement, selfClosing: Bool, isAdmonition admonition: Bool) {
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
        }
        switch element {
        case .tr where rowDepth <= 1:
            builder.endBlock()
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
            if stack.removeLast() == .tr { rowDepth -= 1 }
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
        let length = cursor - start
        let name = String(unsafeUninitializedCapacity: length) { buffer in
            for offset in 0..<length {
                let byte = input[start + offset]
                buffer[offset] = (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
            }
            return length
        }
        return (name, cursor)
    }

    private struct Attributes {
        var end: Int
        var selfClosing: Bool
        var isNavigation: Bool
        var isAdmonition: Bool
    }

    /// Reads attributes up to the closing ">" (a ">" inside a quoted value does not close the
    /// tag) and notes whether `class` or `role` marks the element as navigation.
    private func readAttributes(from start: Int) -> Attributes {
        let end = input.count
        var cursor = start
        var isNavigation = false
        var isAdmonition = false
        var selfClosing = false
        while cursor < end {
            let byte = input[cursor]
            if byte == UInt8(ascii: ">") {
                return Attributes(end: cursor + 1, selfClosing: selfClosing, isNavigation: isNavigation, isAdmonition: isAdmonition)
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
                if let close = find(quote, from: cursor + 1) {
                    valueRange = (cursor + 1)..<close
                    cursor = close + 1
                } else {
                    // An unclosed quote: end the tag at the next ">" rather than swallow the page.
                    let close = find(UInt8(ascii: ">"), from: cursor + 1) ?? end
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
        }
        return Attributes(end: end, selfClosing: selfClosing, isNavigation: isNavigation, isAdmonition: isAdmonition)
    }

    /// Whether a `class` or `role` attribute marks its element as navigation or as an
    /// admonition box.
    private func classify(name: Range<Int>, value: Range<Int>) -> (navigation: Bool, admonition: Bool) {
        if equalsIgnoringCase(name, "class") {
            var admonition = false
            var cursor = value.lowerBound
            while cursor < value.upperBound {
                while cursor < value.upperBound, input[cursor] <= 0x20 { cursor += 1 }
                let tokenStart = cursor
                while cursor < value.upperBound, input[cursor] > 0x20 { cursor += 1 }
                let length = cursor - tokenStart
                if length > 0 && length <= 16 {
                    let token = String(unsafeUninitializedCapacity: length) { buffer in
                        for offset in 0..<length {
                            let byte = input[tokenStart + offset]
                            buffer[offset] = (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
                        }
                        return length
                    }
                    if Self.navigationClasses.contains(token) { return (true, false) }
                    if Self.admonitionClasses.contains(token) { admonition = true }
                }
            }
            return (false, admonition)
        }
        if equalsIgnoringCase(name, "role") {
            return (equalsIgnoringCase(value, "navigation"), false)
        }
        return (false, false)
    }

    private func equalsIgnoringCase(_ range: Range<Int>, _ word: StaticString) -> Bool {
        guard range.count == word.utf8CodeUnitCount else { return false }
        let pointer = word.utf8Start
        for offset in 0..<range.count where input[range.lowerBound + offset] | 0x20 != pointer[offset] {
            return false
        }
        return true
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

    private func matches(_ literal: StaticString, at index: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= input.count else { return false }
        let pointer = literal.utf8Start
        for offset in 0..<count where input[index + offset] != pointer[offset] {
            return false
        }
        return true
    }

    private func find(_ byte: UInt8, from start: Int) -> Int? {
        var cursor = start
        while cursor < input.count {
            if input[cursor] == byte { return cursor }
            cursor += 1
        }
        return nil
    }

    private func find(_ literal: StaticString, from start: Int) -> Int? {
        let pointer = literal.utf8Start
        var cursor = start
        while let candidate = find(pointer[0], from: cursor) {
            if matches(literal, at: candidate) { return candidate }
            cursor = candidate + 1
        }
        return nil
    }

    private func skipPast(_ byte: UInt8, from start: Int) -> Int {
        find(byte, from: start).map { $0 + 1 } ?? input.count
    }

    private func isASCIILetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
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

/// Character references (`&amp;`, `&#233;`, `&#x1F600;`) as HTML defines them, shared by the
/// HTML and Markdown extractors.
enum HTMLEntities {
    /// Decodes the reference starting at `bytes[index]`, which must be "&". Returns the scalar
    /// value (U+FFFD for a number that is not a Unicode scalar) and the index just past the
    /// reference, or nil when this "&" starts no reference and is literal text.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, end: Int) -> (value: UInt32, next: Int)? {
        var cursor = index + 1
        guard cursor < end else { return nil }
        if bytes[cursor] == UInt8(ascii: "#") {
            return decodeNumeric(bytes, from: cursor + 1, end: end)
        }
        let nameStart = cursor
        // The longest name in the table is 8 letters; stop looking well past that.
        while cursor < end, cursor - nameStart < 32, isAlphanumeric(bytes[cursor]) {
            cursor += 1
        }
        guard cursor > nameStart else { return nil }
        let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[nameStart..<cursor]), as: UTF8.self)
        guard let value = named[name] else { return nil }
        if cursor < end, bytes[cursor] == UInt8(ascii: ";") {
            return (value, cursor + 1)
        }
        // Browsers accept a few legacy references without the semicolon ("&amp" "&lt").
        if legacyWithoutSemicolon.contains(name) {
            return (value, cursor)
        }
        return nil
    }

    private static func decodeNumeric(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, end: Int) -> (value: UInt32, next: Int)? {
        var cursor = start
        var hexadecimal = false
        if cursor < end, bytes[cursor] | 0x20 == UInt8(ascii: "x") {
            hexadecimal = true
            cursor += 1
        }
        let digitsStart = cursor
        var value: UInt32 = 0
        var overflowed = false
        while cursor < end {
            let byte = bytes[cursor]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where hexadecimal: digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where hexadecimal: digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: digit = 99
            }
            if digit == 99 { break }
            if value > 0x10FFFF { overflowed = true } else { value = value * (hexadecimal ? 16 : 10) + digit }
            cursor += 1
        }
        guard cursor > digitsStart else { return nil }
        if cursor < end, bytes[cursor] == UInt8(ascii: ";") { cursor += 1 }
        if overflowed || value == 0 || value > 0x10FFFF || (0xD800...0xDFFF).contains(value) {
            return (0xFFFD, cursor)
        }
        // Pages written in Windows-1252 put its punctuation at 128...159; HTML maps them back.
        if (0x80...0x9F).contains(value) {
            return (windows1252[Int(value - 0x80)], cursor)
        }
        return (value, cursor)
    }

    @inline(__always)
    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: false
        }
    }

    private static let legacyWithoutSemicolon: Set<String> = ["amp", "lt", "gt", "quot", "nbsp", "copy", "reg"]

    /// Code points 0x80...0x9F as Windows-1252 characters.
    private static let windows1252: [UInt32] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
        0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
    ]

    /// The HTML 4 entity set (Latin-1, symbols, Greek, special characters) plus `&apos;`:
    /// what real documentation pages use. The rarer HTML5-only names stay literal text.
    static let named: [String: UInt32] = {
        var table: [String: UInt32] = [
            "quot": 34, "amp": 38, "apos": 39, "lt": 60, "gt": 62,
            "OElig": 338, "oelig": 339, "Scaron": 352, "scaron": 353, "Yuml": 376, "fnof": 402, "circ": 710, "tilde": 732,
            "thetasym": 977, "upsih": 978, "piv": 982,
            "ensp": 8194, "emsp": 8195, "thinsp": 8201, "zwnj": 8204, "zwj": 8205, "lrm": 8206, "rlm": 8207,
            "ndash": 8211, "mdash": 8212, "lsquo": 8216, "rsquo": 8217, "sbquo": 8218, "ldquo": 8220, "rdquo": 8221,
            "bdquo": 8222, "dagger": 8224, "Dagger": 8225, "bull": 8226, "hellip": 8230, "permil": 8240, "prime": 8242,
            "Prime": 8243, "lsaquo": 8249, "rsaquo": 8250, "oline": 8254, "frasl": 8260, "euro": 8364, "image": 8465,
            "weierp": 8472, "real": 8476, "trade": 8482, "alefsym": 8501, "larr": 8592, "uarr": 8593, "rarr": 8594,
            "darr": 8595, "harr": 8596, "crarr": 8629, "lArr": 8656, "uArr": 8657, "rArr": 8658, "dArr": 8659, "hArr": 8660,
            "forall": 8704, "part": 8706, "exist": 8707, "empty": 8709, "nabla": 8711, "isin": 8712, "notin": 8713,
            "ni": 8715, "prod": 8719, "sum": 8721, "minus": 8722, "lowast": 8727, "radic": 8730, "prop": 8733,
            "infin": 8734, "ang": 8736, "and": 8743, "or": 8744, "cap": 8745, "cup": 8746, "int": 8747, "there4": 8756,
            "sim": 8764, "cong": 8773, "asymp": 8776, "ne": 8800, "equiv": 8801, "le": 8804, "ge": 8805, "sub": 8834,
            "sup": 8835, "nsub": 8836, "sube": 8838, "supe": 8839, "oplus": 8853, "otimes": 8855, "perp": 8869,
            "sdot": 8901, "lceil": 8968, "rceil": 8969, "lfloor": 8970, "rfloor": 8971, "lang": 10216, "rang": 10217,
            "loz": 9674, "spades": 9824, "clubs": 9827, "hearts": 9829, "diams": 9830,
        ]
        let latin1 = """
            nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 \
            acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml \
            Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde \
            Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig \
            ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide \
            oslash ugrave uacute ucirc uuml yacute thorn yuml
            """
        for (offset, name) in latin1.split(separator: " ").enumerated() {
            table[String(name)] = 160 + UInt32(offset)
        }
        let greekUpper = "Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi Omicron Pi Rho"
        for (offset, name) in greekUpper.split(separator: " ").enumerated() {
            table[String(name)] = 913 + UInt32(offset)
        }
        for (offset, name) in "Sigma Tau Upsilon Phi Chi Psi Omega".split(separator: " ").enumerated() {
            table[String(name)] = 931 + UInt32(offset)
        }
        let greekLower = """
            alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigmaf sigma \
            tau upsilon phi chi psi omega
            """
        for (offset, name) in greekLower.split(separator: " ").enumerated() {
            table[String(name)] = 945 + UInt32(offset)
        }
        return table
    }()
}
