/// The UTF-8 bytes of one document as the markup extractors (HTML and Markdown) read them: the
/// byte-level matching and searching both scan with, and `extract`, the one way either is
/// run over a string and turned into an `ExtractedDocument`.
///
/// It holds a pointer to the document's bytes, so it lives only inside `extract`.
struct MarkupScanner {
    let bytes: UnsafeBufferPointer<UInt8>

    /// Runs `Parser` over the UTF-8 bytes of `text`. The title is the one the document declares
    /// (HTML's `<title>`, Markdown's front matter), else its first level-1 heading, else
    /// `fallbackTitle`.
    static func extract<Parser: MarkupParser>(_ text: String, fallbackTitle: String, with parser: Parser.Type) -> ExtractedDocument {
        var source = text
        // withUTF8 gives the String's own contiguous bytes (it copies only a bridged string).
        return source.withUTF8 { bytes in
            var parser = Parser(scanner: MarkupScanner(bytes: bytes))
            parser.run()
            let builder = parser.builder
            var title = parser.declaredTitle
            if title.isEmpty, let block = builder.blocks.firstIndex(where: { $0.kind == .heading(level: 1) }) {
                title = builder.text(ofBlock: block)
            }
            return builder.build(title: title.isEmpty ? fallbackTitle : title)
        }
    }

    var count: Int { bytes.count }

    @inline(__always)
    subscript(index: Int) -> UInt8 { bytes[index] }

    /// Where the text starts: after a UTF-8 byte order mark, which is not text.
    var contentStart: Int {
        count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }

    /// True when `literal` follows at `index`.
    func matches(_ literal: StaticString, at index: Int) -> Bool {
        let length = literal.utf8CodeUnitCount
        guard index >= 0, index + length <= count else { return false }
        let pointer = literal.utf8Start
        for offset in 0..<length where bytes[index + offset] != pointer[offset] {
            return false
        }
        return true
    }

    /// True when the bytes of `range` are `literal`.
    func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        range.count == literal.utf8CodeUnitCount && matches(literal, at: range.lowerBound)
    }

    /// True when the bytes of `range` are `word` (lower case) in any ASCII letter case.
    func equalsIgnoringCase(_ range: Range<Int>, _ word: StaticString) -> Bool {
        guard range.count == word.utf8CodeUnitCount else { return false }
        let pointer = word.utf8Start
        for offset in 0..<range.count where bytes[range.lowerBound + offset] | 0x20 != pointer[offset] {
            return false
        }
        return true
    }

    /// The first `byte` at or after `start`.
    func find(_ byte: UInt8, from start: Int) -> Int? {
        var cursor = start
        while cursor < count {
            if bytes[cursor] == byte { return cursor }
            cursor += 1
        }
        return nil
    }

    /// Where `literal` first lies wholly inside `range`.
    func find(_ literal: StaticString, in range: Range<Int>) -> Int? {
        let length = literal.utf8CodeUnitCount
        guard length > 0 else { return range.lowerBound }
        let first = literal.utf8Start[0]
        var cursor = range.lowerBound
        while cursor + length <= range.upperBound {
            if bytes[cursor] == first, matches(literal, at: cursor) { return cursor }
            cursor += 1
        }
        return nil
    }

    /// The index after the first `byte` at or after `start`, or the end.
    func skipPast(_ byte: UInt8, from start: Int) -> Int {
        find(byte, from: start).map { $0 + 1 } ?? count
    }

    /// The bytes of `range` with ASCII letters lower-cased.
    func lowercasedString(_ range: Range<Int>) -> String {
        String(unsafeUninitializedCapacity: range.count) { buffer in
            for offset in 0..<range.count {
                let byte = bytes[range.lowerBound + offset]
                buffer[offset] = (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
            }
            return range.count
        }
    }

    static func isASCIILetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }
}
