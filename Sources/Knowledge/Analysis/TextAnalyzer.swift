import Foundation

/// Turns text into the index terms of the BM25 index. Queries must go through the same analyzer
/// (same options) as the documents, or their terms will not meet.
///
/// Rules, in the order they apply:
/// - A token is a maximal run of letters, digits and combining marks of any script. Everything
///   else separates tokens, so "8.3" gives "8" and "3" and "read-only" gives "read" and "only".
/// - Han ideographs (Chinese characters, kanji) are one token each, as in Lucene's standard
///   tokenizer: CJK text has no spaces, so a whole run would be one huge, unmatchable token.
/// - An apostrophe (' or ’) between two letters or digits joins them and is deleted ("don't" ->
///   "dont"); a final possessive "'s" is dropped ("PostgreSQL's" -> "postgresql").
/// - Underscores join identifiers: "shared_buffers" gives the terms of each part ("share",
///   "buffer": stop-word-filtered and stemmed like any word), then the whole identifier, lower-case
///   and unstemmed ("shared_buffers"), so both a search for "buffers" and one for the exact
///   setting name match. Leading and trailing underscores are not part of an identifier.
/// - Case is folded, and so are diacritics and full-width forms ("Café" -> "cafe",
///   "Ａ１" -> "a1"); ASCII text never leaves the byte fast path.
/// - Terms longer than `maxTermLength` (64) characters are dropped: in this corpus they are
///   base64, hashes or other noise no one searches for.
/// - A single ASCII letter is dropped (initials, "e.g." fragments, list markers); single digits
///   ("8.3") and single characters of other scripts ("日", "π") are kept.
/// - Stop words (`EnglishStopWords`) are removed, tested before stemming.
/// - Only words made purely of ASCII letters (after folding) are stemmed with `PorterStemmer`;
///   words with digits ("utf8", "ipv6") or other scripts pass through folded but unstemmed.
public struct TextAnalyzer: Sendable {
    /// Longest term kept, in Unicode scalars of the folded term (bytes, for ASCII).
    public static let maxTermLength = 64

    public let stemming: Bool
    public let removeStopWords: Bool

    public init(stemming: Bool = true, removeStopWords: Bool = true) {
        self.stemming = stemming
        self.removeStopWords = removeStopWords
    }

    /// The index terms of `text`, in order: word tokens, case-folded (and diacritics folded:
    /// "Café" -> "cafe"), stop words removed, stemmed.
    public func terms(_ text: String) -> [String] {
        var result: [String] = []
        result.reserveCapacity(text.utf8.count / 8)
        forEachTerm(in: text) { result.append($0) }
        return result
    }

    /// Same terms, passed one at a time without building an array (hot path for indexing).
    public func forEachTerm(in text: String, _ body: (String) -> Void) {
        var text = text
        // A native Swift string is already contiguous UTF-8, so this does not copy.
        text.withUTF8 { utf8 in
            guard let base = utf8.baseAddress, !utf8.isEmpty else { return }
            let capacity = TermScanner.bufferCapacity
            // Scratch space on the stack, reused for every token of the text.
            let scratchSize = 2 * capacity + TermScanner.foldingCapacity
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: scratchSize) { scratch in
                guard let scratchBase = scratch.baseAddress else { return }
                var scanner = TermScanner(
                    text: base, count: utf8.count,
                    part: scratchBase, whole: scratchBase + capacity,
                    folding: scratchBase + 2 * capacity,
                    stemming: stemming,
                    stopWords: removeStopWords ? EnglishStopWords.table : nil
                )
                scanner.scan(body)
            }
        }
    }

    /// Letters, digits and combining marks of any script belong to words.
    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 {
            let lower = UInt8(truncatingIfNeeded: value) | 0x20
            return lower &- 0x61 < 26 || UInt8(truncatingIfNeeded: value) &- 0x30 < 10
        }
        // No-break space and the General Punctuation block (dashes, quotes, zero-width space) are
        // most of the non-ASCII characters in English HTML text; skip the property lookup.
        if value == 0xA0 || (value >= 0x2000 && value <= 0x206F) { return false }
        let properties = scalar.properties
        if properties.isAlphabetic { return true }
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber, .nonspacingMark, .spacingMark,
            .enclosingMark:
            return true
        default:
            return false
        }
    }

    /// The folding every non-ASCII token gets (the table of `ScalarFoldTable` is made with it).
    static func foundationFold(_ text: String) -> String {
        let options: String.CompareOptions = [.caseInsensitive, .diacriticInsensitive, .widthInsensitive]
        return text.folding(options: options, locale: nil)
    }
}

/// One pass over the UTF-8 bytes of a text. Tokens are built in a byte buffer (`part`); when an
/// underscore turns a token into an identifier, the parts are also collected in `whole`.
private struct TermScanner {
    /// Bytes kept per token. 64 scalars of up to 4 bytes, plus room for combining marks that
    /// folding will remove; anything longer cannot fold to a 64-character term and is dropped.
    static let bufferCapacity = 512
    /// Folding can lengthen a token (ß -> ss); a result this long is far over 64 characters.
    static let foldingCapacity = 3 * bufferCapacity

    let text: UnsafePointer<UInt8>
    let count: Int
    let part: UnsafeMutablePointer<UInt8>
    let whole: UnsafeMutablePointer<UInt8>
    let folding: UnsafeMutablePointer<UInt8>
    let stemming: Bool
    let stopWords: StopWordTable?

    // The token being read.
    var partLength = 0
    var partOverflow = false
    var partNonASCII = false
    var partHasDigit = false
    /// Where in `part` the last deleted apostrophe stood, to recognise a possessive "'s".
    var apostropheAt = -1

    // The identifier being read, if the token has underscores.
    var partCount = 0
    var wholeLength = 0
    var wholeOverflow = false
    var wholeNonASCII = false

    init(
        text: UnsafePointer<UInt8>, count: Int,
        part: UnsafeMutablePointer<UInt8>, whole: UnsafeMutablePointer<UInt8>,
        folding: UnsafeMutablePointer<UInt8>, stemming: Bool, stopWords: StopWordTable?
    ) {
        self.text = text
        self.count = count
        self.part = part
        self.whole = whole
        self.folding = folding
        self.stemming = stemming
        self.stopWords = stopWords
    }

    mutating func scan(_ body: (String) -> Void) {
        var i = 0
        while i < count {
            let byte = text[i]
            if byte < 0x80 {
                let lower = byte | 0x20
                if lower &- 0x61 < 26 {
                    appendASCII(lower)
                    i += 1
                    continue
                }
                if byte &- 0x30 < 10 {
                    appendASCII(byte)
                    partHasDigit = true
                    i += 1
                    continue
                }
                if byte == 0x27, hasOpenPart, wordScalarLength(at: i + 1) > 0 {
                    apostropheAt = partLength
                    i += 1
                    continue
                }
                if byte == 0x5F, hasOpenPart {
                    var next = i + 1
                    while next < count && text[next] == 0x5F { next += 1 }
                    if wordScalarLength(at: next) > 0 {
                        closePart(intoWhole: true, body)
                        appendToWhole(text + i, length: next - i)
                        i = next
                        continue
                    }
                }
                endToken(body)
                i += 1
                continue
            }
            let (scalar, length) = Self.decodeScalar(text, at: i, count: count)
            if scalar == 0x2019, hasOpenPart, wordScalarLength(at: i + length) > 0 {
                // Right single quotation mark: the apostrophe of typeset English text.
                apostropheAt = partLength
            } else if let unicode = Unicode.Scalar(scalar), TextAnalyzer.isWordScalar(unicode) {
                if unicode.properties.isIdeographic {
                    endToken(body)
                    emitIdeograph(text + i, length: length, scalar: scalar, body)
                } else if hasOpenPart || !Self.isMark(unicode) {
                    appendNonASCII(text + i, length: length)
                }
                // A combining mark with no letter or digit before it has nothing to modify:
                // dropped, like a separator.
            } else {
                endToken(body)
            }
            i += length
        }
        endToken(body)
    }

    private var hasOpenPart: Bool { partLength > 0 || partOverflow }

    // MARK: Building tokens

    @inline(__always)
    private mutating func appendASCII(_ byte: UInt8) {
        if partLength < Self.bufferCapacity {
            part[partLength] = byte
            partLength += 1
        } else {
            partOverflow = true
        }
    }

    private mutating func appendNonASCII(_ bytes: UnsafePointer<UInt8>, length: Int) {
        partNonASCII = true
        guard partLength + length <= Self.bufferCapacity else {
            partOverflow = true
            return
        }
        for index in 0..<length { part[partLength + index] = bytes[index] }
        partLength += length
    }

    private mutating func appendToWhole(_ bytes: UnsafePointer<UInt8>, length: Int) {
        guard wholeLength + length <= Self.bufferCapacity else {
            wholeOverflow = true
            return
        }
        for index in 0..<length { whole[wholeLength + index] = bytes[index] }
        wholeLength += length
    }

    /// Ends the current token (and identifier, if any) at a separator.
    @inline(__always)
    private mutating func endToken(_ body: (String) -> Void) {
        guard hasOpenPart else { return }
        let isIdentifier = partCount > 0
        closePart(intoWhole: isIdentifier, body)
        partCount = 0
        if isIdentifier {
            if !wholeOverflow {
                emitIdentifier(body)
            }
            wholeLength = 0
            wholeOverflow = false
            wholeNonASCII = false
        }
    }

    /// Emits the current token as a term and, inside an identifier, adds it to `whole` first
    /// (emitting stems the buffer in place).
    private mutating func closePart(intoWhole: Bool, _ body: (String) -> Void) {
        if apostropheAt >= 0 && apostropheAt == partLength - 1 && part[partLength - 1] == 0x73 {
            partLength -= 1  // Possessive "'s".
        }
        if intoWhole {
            if partOverflow {
                wholeOverflow = true
            } else {
                appendToWhole(part, length: partLength)
            }
            wholeNonASCII = wholeNonASCII || partNonASCII
        }
        if !partOverflow && partLength > 0 {
            if partNonASCII {
                emitFolded(part, length: partLength, body)
            } else {
                emitPart(length: partLength, hasDigit: partHasDigit, body)
            }
        }
        partCount += 1
        partLength = 0
        partOverflow = false
        partNonASCII = false
        partHasDigit = false
        apostropheAt = -1
    }

    // MARK: Emitting terms

    /// Applies the length and single-letter rules, stop words and stemming to the lower-case
    /// ASCII token in `part`. Stemming rewrites `part`, so identifiers copy it out beforehand.
    @inline(__always)
    private func emitPart(length: Int, hasDigit: Bool, _ body: (String) -> Void) {
        guard length <= TextAnalyzer.maxTermLength else { return }
        if length == 1 && !hasDigit { return }
        if !hasDigit, let stopWords, stopWords.contains(part, count: length) { return }
        var length = length
        if stemming && !hasDigit {
            length = PorterStemmer.stem(part, count: length)
            guard length > 0 else { return }  // Only "s" stems to nothing, and it is one letter.
        }
        body(Self.makeString(part, length: length))
    }

    /// Tokens with non-ASCII characters: fold them, then continue on the ASCII path if folding
    /// produced plain ASCII ("Cafés" -> "cafes" -> "cafe").
    private func emitFolded(_ bytes: UnsafePointer<UInt8>, length: Int, _ body: (String) -> Void) {
        guard let folded = fold(bytes, length: length, keepUnderscores: false) else { return }
        if folded.isASCII {
            guard folded.length <= TextAnalyzer.maxTermLength else { return }
            // `part` is free: its token was read (and copied into `whole`) before folding.
            part.update(from: folding, count: folded.length)
            let folded = UnsafeBufferPointer(start: part, count: folded.length)
            let hasDigit = folded.contains { $0 &- 0x30 < 10 }
            emitPart(length: folded.count, hasDigit: hasDigit, body)
        } else if folded.scalarCount <= TextAnalyzer.maxTermLength {
            body(Self.makeString(folding, length: folded.length))
        }
    }

    /// A Han ideograph is a term by itself; folding leaves the unified ideographs unchanged, so
    /// only the compatibility ones (which fold to unified ones) take the folding path.
    private func emitIdeograph(
        _ bytes: UnsafePointer<UInt8>, length: Int, scalar: UInt32, _ body: (String) -> Void
    ) {
        if (0xF900...0xFAFF).contains(scalar) || (0x2F800...0x2FA1F).contains(scalar) {
            emitFolded(bytes, length: length, body)
        } else {
            body(Self.makeString(bytes, length: length))
        }
    }

    /// The whole identifier: folded like a word but neither stemmed nor stop-word-filtered.
    private func emitIdentifier(_ body: (String) -> Void) {
        if wholeNonASCII {
            if let folded = fold(whole, length: wholeLength, keepUnderscores: true),
                folded.scalarCount <= TextAnalyzer.maxTermLength
            {
                body(Self.makeString(folding, length: folded.length))
            }
        } else if wholeLength <= TextAnalyzer.maxTermLength {
            body(Self.makeString(whole, length: wholeLength))
        }
    }

    /// Folds case, diacritics and width of a token into `folding`, keeping only word characters
    /// (and underscores, for identifiers). Scalars below U+0500 use `ScalarFoldTable`; a token
    /// with any other non-ASCII character is folded by Foundation, about ten times slower.
    /// Nil when nothing is left or the result does not fit (it would be far over 64 characters).
    private func fold(
        _ bytes: UnsafePointer<UInt8>, length: Int, keepUnderscores: Bool
    ) -> (length: Int, scalarCount: Int, isASCII: Bool)? {
        let table = ScalarFoldTable.shared
        var written = 0
        var index = 0
        var usedTable = true
        var afterStrippingBase = false
        while index < length {
            let byte = bytes[index]
            if byte < 0x80 {
                // Tokens hold only lower-case ASCII letters, digits and identifier underscores.
                guard written < Self.foldingCapacity else { return nil }
                folding[written] = byte
                written += 1
                index += 1
                afterStrippingBase = table.stripsFollowingMarks(UInt32(byte))
                continue
            }
            let (scalar, scalarLength) = Self.decodeScalar(bytes, at: index, count: length)
            guard
                table.fold(
                    scalar, into: folding, at: &written, capacity: Self.foldingCapacity,
                    afterStrippingBase: &afterStrippingBase)
            else {
                usedTable = false
                break
            }
            index += scalarLength
        }
        if !usedTable {
            written = Self.foundationFold(
                bytes, length: length, keepUnderscores: keepUnderscores, into: folding)
        }
        guard written > 0 else { return nil }
        var scalarCount = 0
        var isASCII = true
        for offset in 0..<written {
            let byte = folding[offset]
            if byte & 0xC0 != 0x80 { scalarCount += 1 }  // Not a continuation byte.
            if byte >= 0x80 { isASCII = false }
        }
        return (written, scalarCount, isASCII)
    }

    /// Folds with Foundation and writes the word characters of the result to `destination`;
    /// returns the bytes written (0 when nothing is left or it does not fit).
    private static func foundationFold(
        _ bytes: UnsafePointer<UInt8>, length: Int, keepUnderscores: Bool,
        into destination: UnsafeMutablePointer<UInt8>
    ) -> Int {
        let original = makeString(bytes, length: length)
        var written = 0
        // Folding compatibility characters can produce punctuation (e.g. a fraction slash);
        // keep the word characters only, as the tokenizer would have.
        for scalar in TextAnalyzer.foundationFold(original).unicodeScalars
        where TextAnalyzer.isWordScalar(scalar) || (keepUnderscores && scalar == "_") {
            for byte in UTF8.encode(scalar) ?? UTF8.EncodedScalar() {
                guard written < foldingCapacity else { return 0 }
                destination[written] = byte
                written += 1
            }
        }
        return written
    }

    @inline(__always)
    private static func makeString(_ bytes: UnsafePointer<UInt8>, length: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    @inline(__always)
    private static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// The byte length of the character at `index` if it can continue a word across an
    /// apostrophe or underscore, else 0. Ideographs cannot (each one is a token of its own),
    /// nor can combining marks (a part starts with a letter or digit).
    private func wordScalarLength(at index: Int) -> Int {
        guard index < count else { return 0 }
        let byte = text[index]
        if byte < 0x80 {
            let lower = byte | 0x20
            return lower &- 0x61 < 26 || byte &- 0x30 < 10 ? 1 : 0
        }
        let (value, length) = Self.decodeScalar(text, at: index, count: count)
        guard let scalar = Unicode.Scalar(value), TextAnalyzer.isWordScalar(scalar),
            !scalar.properties.isIdeographic, !Self.isMark(scalar)
        else { return 0 }
        return length
    }

    /// Decodes the UTF-8 sequence starting at `index` (a non-ASCII lead byte). Swift strings are
    /// valid UTF-8, but a malformed or truncated sequence still yields U+FFFD over one byte
    /// rather than a read past the end.
    static func decodeScalar(
        _ text: UnsafePointer<UInt8>, at index: Int, count: Int
    ) -> (UInt32, Int) {
        let lead = UInt32(text[index])
        let length: Int
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; value = lead & 0x1F
        case 0xE0...0xEF: length = 3; value = lead & 0x0F
        case 0xF0...0xF4: length = 4; value = lead & 0x07
        default: return (0xFFFD, 1)
        }
        guard index + length <= count else { return (0xFFFD, 1) }
        for offset in 1..<length {
            let continuation = UInt32(text[index + offset])
            guard continuation & 0xC0 == 0x80 else { return (0xFFFD, 1) }
            value = value << 6 | (continuation & 0x3F)
        }
        return (value, length)
    }
}

/// Case and diacritic folding of single scalars in U+0000..<U+0500 (Latin-1, Latin Extended,
/// IPA, combining diacritics, Greek, Cyrillic), computed once with Foundation.
///
/// Foundation's folding costs about a microsecond per token; European text would spend most of
/// its time there. For these scripts folding maps each scalar independently, except that a
/// combining mark disappears after most base characters (not at the very start, nor after a
/// few letters such as "Ⱥ"), so the table gives the same result at table-lookup speed. Every
/// entry is verified when the table is built, by folding the scalar alone and next to letters
/// and digits; a scalar that behaves otherwise, or folds to a non-word character, is marked
/// unusable and sends its token to Foundation. (A test compares the two on every letter and
/// every letter-mark pair.)
private struct ScalarFoldTable: Sendable {
    static let shared = ScalarFoldTable()
    static let end: UInt32 = 0x500

    private enum Kind: UInt8 {
        case unusable
        /// Folds to `bytes[starts[v] ..< starts[v + 1]]` wherever it stands.
        case mapped
        /// A combining mark: folds to nothing after a base character that strips marks.
        case droppedAfterBase
    }

    /// The UTF-8 of every mapped scalar's folded form, concatenated.
    private let bytes: [UInt8]
    private let starts: [Int]
    private let kinds: [Kind]
    /// Whether folding removes a combining mark that follows this scalar.
    private let stripsMarks: [Bool]

    private init() {
        var bytes: [UInt8] = []
        var starts: [Int] = [0]
        var kinds: [Kind] = []
        var stripsMarks: [Bool] = []
        for value in 0..<Self.end {
            var kind = Kind.unusable
            var strips = false
            if let scalar = Unicode.Scalar(value), TextAnalyzer.isWordScalar(scalar) {
                let character = String(scalar)
                let alone = TextAnalyzer.foundationFold(character)
                let betweenLetters = TextAnalyzer.foundationFold("a" + character + "a")
                let betweenDigits = TextAnalyzer.foundationFold("1" + character + "1")
                if betweenLetters == "a" + alone + "a" && betweenDigits == "1" + alone + "1"
                    && alone.unicodeScalars.allSatisfy(TextAnalyzer.isWordScalar)
                {
                    kind = .mapped
                    bytes.append(contentsOf: alone.utf8)
                    strips = TextAnalyzer.foundationFold(character + "\u{301}a") == alone + "a"
                } else if betweenLetters == "aa" && betweenDigits == "11" {
                    kind = .droppedAfterBase
                }
            }
            kinds.append(kind)
            stripsMarks.append(strips)
            starts.append(bytes.count)
        }
        self.bytes = bytes
        self.starts = starts
        self.kinds = kinds
        self.stripsMarks = stripsMarks
    }

    @inline(__always)
    func stripsFollowingMarks(_ scalar: UInt32) -> Bool {
        scalar < Self.end && stripsMarks[Int(scalar)]
    }

    /// Appends the folded form of non-ASCII `scalar` at `destination[written...]`; false when
    /// the table cannot fold it (outside the range, unusable, a mark after a base that keeps
    /// marks or at the start) or it does not fit. `afterStrippingBase` carries whether the last
    /// base character (marks are skipped) strips the marks that follow it.
    @inline(__always)
    func fold(
        _ scalar: UInt32, into destination: UnsafeMutablePointer<UInt8>, at written: inout Int,
        capacity: Int, afterStrippingBase: inout Bool
    ) -> Bool {
        guard scalar < Self.end else { return false }
        let index = Int(scalar)
        switch kinds[index] {
        case .unusable:
            return false
        case .droppedAfterBase:
            return afterStrippingBase
        case .mapped:
            let start = starts[index]
            let end = starts[index + 1]
            guard written + (end - start) <= capacity else { return false }
            for offset in start..<end {
                destination[written] = bytes[offset]
                written += 1
            }
            afterStrippingBase = stripsMarks[index]
            return true
        }
    }
}
