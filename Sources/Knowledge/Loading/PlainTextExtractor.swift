/// Turns plain text into paragraphs: blank (whitespace-only) lines separate them, and line
/// breaks inside a paragraph are kept, because in a plain text file they may be meaningful
/// (lists, addresses, verse, code). Trailing whitespace on each line, carriage returns and
/// control characters other than tab are dropped. The title is the caller's fallback
/// (usually the file name without its extension): plain text has no reliable title.
public struct PlainTextExtractor: Sendable {
    public init() {}

    public func extract(_ text: String, fallbackTitle: String) -> ExtractedDocument {
        var source = text
        return source.withUTF8 { bytes in
            var builder = DocumentTextBuilder(capacity: bytes.count)
            builder.nextKind = .paragraph
            builder.nextPreservesWhitespace = true
            var lineStart = 0
            // A UTF-8 byte order mark is not text.
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { lineStart = 3 }
            while lineStart < bytes.count {
                var lineEnd = lineStart
                while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
                appendLine(bytes, lineStart..<lineEnd, to: &builder)
                lineStart = lineEnd + 1
            }
            builder.endBlock()
            return builder.build(title: fallbackTitle)
        }
    }

    private func appendLine(_ bytes: UnsafeBufferPointer<UInt8>, _ line: Range<Int>, to builder: inout DocumentTextBuilder) {
        var end = line.upperBound
        // Trailing whitespace (including the CR of CR LF and form feeds) is invisible.
        while end > line.lowerBound, bytes[end - 1] <= 0x20 || bytes[end - 1] == 0x7F { end -= 1 }
        var hasText = false
        for index in line.lowerBound..<end where bytes[index] > 0x20 && bytes[index] != 0x7F {
            hasText = true
            break
        }
        guard hasText else {
            builder.endBlock()
            return
        }
        if builder.hasOpenBlock { builder.appendWhitespace(0x0A) }
        var index = line.lowerBound
        while index < end {
            let byte = bytes[index]
            if byte == 0x20 || byte == 0x09 {
                builder.appendWhitespace(byte)
            } else if byte == 0x0C || byte == 0x0D || byte == 0x0B {
                builder.appendWhitespace(0x20)
            } else if byte >= 0x20 && byte != 0x7F {
                builder.appendByte(byte)
            }
            index += 1
        }
    }
}
