import BinaryCoding
/// The formats ares reads, and how a file's format is decided.
///
/// `detect` looks at the content before trusting the name: a PDF is recognised by its
/// `%PDF-` signature (a file named `.pdf` without one is refused as damaged), content with NUL
/// bytes or mostly non-text bytes is refused as binary whatever its name, and only then does
/// the extension choose between HTML, Markdown and plain text. PDFs are read by
/// `PDFTextExtractor` (Poppler), which refuses encrypted, damaged and image-only ones. Files with no or an unknown extension are sniffed: HTML by its
/// doctype or `<html>`/`<head>`/`<body>` tag, Markdown by front matter or a leading `# `
/// heading, anything else that is text is plain text.
///
/// Text encoding policy (see `decodeText`): content is read as UTF-8 (a UTF-8 byte order mark
/// is dropped; UTF-16 with a byte order mark is converted). Invalid UTF-8 sequences are not
/// fatal: each becomes U+FFFD (the replacement character, as browsers do) and the document
/// is still ingested, with `isValidUTF8 == false` so the caller can report it.
public enum DocumentFormat: String, Sendable, CaseIterable {
    case html
    case markdown
    case plainText
    /// Read from the file's bytes by `PDFTextExtractor`, not decoded as text.
    case pdf

    /// Why content cannot be ingested.
    public enum Unsupported: Error, Sendable, Equatable, CustomStringConvertible {
        case binary
        case pdf(reason: String)

        public var description: String {
            switch self {
            case .binary: "binary file"
            case let .pdf(reason): reason
            }
        }
    }

    /// How many leading bytes `detect` needs: pass at least this many (or the whole file).
    public static let sniffLength = 8192

    /// Decides the format of a file from its path (only the extension is used) and its first
    /// bytes (`sniffLength` is enough; more is ignored).
    public static func detect(path: String, firstBytes: some Collection<UInt8>) -> Result<DocumentFormat, Unsupported> {
        let sample = Array(firstBytes.prefix(sniffLength))
        let fileExtension = Self.fileExtension(of: path)
        if hasPDFSignature(sample, anywhereInFirstKilobyte: fileExtension == "pdf") { return .success(.pdf) }
        if fileExtension == "pdf" {
            return .failure(.pdf(reason: PDFTextExtractor.damaged("no %PDF- header in its first kilobyte")))
        }
        if looksBinary(sample) { return .failure(.binary) }
        switch fileExtension {
        case "html", "htm", "xhtml", "shtml", "xht": return .success(.html)
        case "md", "markdown", "mdown", "mkd", "mkdn", "mdwn", "mdx": return .success(.markdown)
        case "txt", "text", "log", "rst", "adoc", "asciidoc", "org", "csv", "tsv": return .success(.plainText)
        default: return .success(sniffTextFormat(sample))
        }
    }

    /// Extracts `text` as this format. A PDF is not text (`load` reads it from its bytes with
    /// `PDFTextExtractor`); given as text it is read as plain text so that the call cannot fail.
    public func extract(_ text: String, fallbackTitle: String) -> ExtractedDocument {
        switch self {
        case .html: HTMLTextExtractor().extract(text, fallbackTitle: fallbackTitle)
        case .markdown: MarkdownTextExtractor().extract(text, fallbackTitle: fallbackTitle)
        case .plainText, .pdf: PlainTextExtractor().extract(text, fallbackTitle: fallbackTitle)
        }
    }

    /// Text decoded from a file's bytes, and whether the bytes were valid.
    public struct DecodedText: Sendable, Equatable {
        public var text: String
        /// False when some bytes were not valid UTF-8 (or UTF-16).
        public var isValidUTF8: Bool
        /// True when the bytes were read as Latin-1 rather than UTF-8 with replacements.
        public var decodedAsLatin1 = false
    }

    /// Decodes file content to a String. UTF-8 is expected and its byte order mark dropped;
    /// a UTF-16 byte order mark (FF FE or FE FF) selects UTF-16. Invalid sequences become
    /// U+FFFD and are reported through `isValidUTF8`, never thrown: one bad byte should not
    /// cost a whole document.
    public static func decodeText(_ bytes: some Collection<UInt8>) -> DecodedText {
        let array = Array(bytes)
        if array.count >= 2, (array[0] == 0xFF && array[1] == 0xFE) || (array[0] == 0xFE && array[1] == 0xFF) {
            return decodeUTF16(array, littleEndian: array[0] == 0xFF)
        }
        let body = array.starts(with: [0xEF, 0xBB, 0xBF]) ? array[3...] : array[...]
        if let valid = String(validating: body, as: UTF8.self) {
            return DecodedText(text: valid, isValidUTF8: true)
        }
        // Text with no valid multi-byte UTF-8 sequence at all was almost certainly written
        // in a single-byte encoding: Latin-1 maps every byte to a character, losing nothing.
        // Mostly-valid UTF-8 with a few damaged bytes keeps its UTF-8 and gets U+FFFD.
        let bytesArray = Array(body)
        var validMultiByte = 0
        var index = 0
        while index < bytesArray.count {
            if bytesArray[index] < 0x80 {
                index += 1
                continue
            }
            let length = validSequenceLength(bytesArray, at: index)
            if length > 0 { validMultiByte += 1 }
            index += max(1, length)
        }
        if validMultiByte == 0 {
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: bytesArray.map { Unicode.Scalar($0) })
            return DecodedText(text: String(scalars), isValidUTF8: false, decodedAsLatin1: true)
        }
        return DecodedText(text: String(decoding: body, as: UTF8.self), isValidUTF8: false)
    }

    /// Reads a whole file's bytes: detects the format, decodes the text and extracts it.
    /// `fallbackTitle` is used when the content has no title of its own.
    public static func load(path: String, bytes: some Collection<UInt8>, fallbackTitle: String) -> Result<LoadedDocument, Unsupported> {
        let array = Array(bytes)
        switch detect(path: path, firstBytes: array.prefix(sniffLength)) {
        case let .failure(reason):
            return .failure(reason)
        case .success(.pdf):
            return PDFTextExtractor().extract(array, fallbackTitle: fallbackTitle)
                .map { LoadedDocument(format: .pdf, document: $0, isValidUTF8: true) }
        case let .success(format):
            let decoded = decodeText(array)
            let document = format.extract(decoded.text, fallbackTitle: fallbackTitle)
            return .success(LoadedDocument(format: format, document: document, isValidUTF8: decoded.isValidUTF8,
                                           decodedAsLatin1: decoded.decodedAsLatin1))
        }
    }

    /// The result of `load`.
    public struct LoadedDocument: Sendable, Equatable {
        public var format: DocumentFormat
        public var document: ExtractedDocument
        /// False when the bytes were not valid UTF-8: worth a note in the ingest summary.
        public var isValidUTF8: Bool
        /// True when the text was read as Latin-1 (else invalid bytes became U+FFFD).
        public var decodedAsLatin1 = false
    }

    // MARK: Sniffing

    /// A PDF starts with "%PDF-". Readers (Poppler among them) accept it anywhere in the first
    /// kilobyte, after junk some producers write first; that is believed of files named .pdf
    /// only, since a text about PDFs may quote the signature near its start.
    static func hasPDFSignature(_ sample: [UInt8], anywhereInFirstKilobyte: Bool) -> Bool {
        let signature = Array("%PDF-".utf8)
        if sample.starts(with: signature) { return true }
        guard anywhereInFirstKilobyte else { return false }
        let window = sample.prefix(1024)
        guard window.count >= signature.count else { return false }
        for offset in 0...(window.count - signature.count) where window[offset] == signature[0] {
            if window[offset..<(offset + signature.count)].elementsEqual(signature) { return true }
        }
        return false
    }

    static func fileExtension(of path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }

    /// Binary: a NUL byte (text never has one, UTF-16 aside), or more than 10% of the sample
    /// being control characters, or more than 30% invalid UTF-8 (random bytes). Some invalid
    /// UTF-8 is no evidence: Latin-1 text has it, and `decodeText` reads such text as Latin-1.
    static func looksBinary(_ sample: [UInt8]) -> Bool {
        guard !sample.isEmpty else { return false }
        if sample.count >= 2, (sample[0] == 0xFF && sample[1] == 0xFE) || (sample[0] == 0xFE && sample[1] == 0xFF) {
            return false
        }
        var suspicious = 0
        var invalid = 0
        var index = 0
        while index < sample.count {
            let byte = sample[index]
            if byte == 0 { return true }
            if byte < 0x80 {
                // Tab, line feed, form feed, carriage return and escape (ANSI colours in logs)
                // appear in text; other control characters do not.
                if (byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0C && byte != 0x0D && byte != 0x1B) || byte == 0x7F {
                    suspicious += 1
                }
                index += 1
                continue
            }
            let length = validSequenceLength(sample, at: index)
            // A sequence cut off by the end of the sample is not evidence.
            if length == 0, sample.count - index >= 4 { invalid += 1 }
            index += max(1, length)
        }
        return suspicious * 10 > sample.count || invalid * 10 > sample.count * 3
    }

    /// The length of the valid UTF-8 sequence starting at `index`, or 0 if it is invalid.
    private static func validSequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
        UTF8Sequence.validLength(in: bytes, at: index)
    }

    private static func sniffTextFormat(_ sample: [UInt8]) -> DocumentFormat {
        var start = 0
        if sample.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        while start < sample.count, sample[start] <= 0x20 { start += 1 }
        let head = String(decoding: sample[start...].prefix(1024), as: UTF8.self).lowercased()
        if head.hasPrefix("<!doctype html") || head.hasPrefix("<html") || head.hasPrefix("<head") || head.hasPrefix("<body") {
            return .html
        }
        if head.hasPrefix("<?xml") && head.contains("<html") { return .html }
        if head.hasPrefix("---\n") || head.hasPrefix("---\r\n") || head.hasPrefix("# ") { return .markdown }
        return .plainText
    }

    private static func decodeUTF16(_ bytes: [UInt8], littleEndian: Bool) -> DecodedText {
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var index = 2
        while index + 1 < bytes.count {
            let (first, second) = (UInt16(bytes[index]), UInt16(bytes[index + 1]))
            units.append(littleEndian ? first | second << 8 : first << 8 | second)
            index += 2
        }
        var valid = bytes.count % 2 == 0
        var text = ""
        text.reserveCapacity(units.count)
        var decoder = UTF16()
        var iterator = units.makeIterator()
        loop: while true {
            switch decoder.decode(&iterator) {
            case let .scalarValue(scalar): text.unicodeScalars.append(scalar)
            case .emptyInput: break loop
            case .error:
                valid = false
                text.unicodeScalars.append("\u{FFFD}")
            }
        }
        return DecodedText(text: text, isValidUTF8: valid)
    }
}
