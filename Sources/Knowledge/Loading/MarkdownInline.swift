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
        guard let close = balancedClose(s, from: open + 1, limit: min(end, open + maximumLinkSpan), opening: "[", closing: "]") else {
            return nil
        }
        let text = (open + 1)..<close
        let next = close + 1
        guard next < end else { return nil }
        if s[next] == UInt8(ascii: "(") {
            let destinationLimit = min(end, next + maximumLinkSpan)
            return balancedClose(s, from: next + 1, limit: destinationLimit, opening: "(", closing: ")").map { (text, $0 + 1) }
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

    /// The `closing` byte that balances a bracket opened just before `start` (nested pairs and
    /// backslash escapes skipped), searched for before `limit`.
    private static func balancedClose(
        _ s: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int, opening: Unicode.Scalar, closing: Unicode.Scalar
    ) -> Int? {
        var cursor = start
        var depth = 0
        while cursor < limit {
            let byte = s[cursor]
            if byte == UInt8(ascii: "\\") {
                cursor += 2
                continue
            }
            if byte == UInt8(ascii: opening) { depth += 1 }
            if byte == UInt8(ascii: closing) {
                if depth == 0 { return cursor }
                depth -= 1
            }
            cursor += 1
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
