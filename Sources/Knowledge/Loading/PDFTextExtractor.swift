import CPoppler

/// Reads the text of a PDF through Poppler (its GLib interface, `CPoppler`), page by page.
///
/// - Text: each page's text in reading order as Poppler's text layout finds it
///   (`poppler_page_get_text`, what `pdftotext` prints); its lines are joined into paragraphs,
///   a blank line ends a paragraph. Every page records where its text is
///   (`ExtractedDocument.pages`), so that passages never cross a page and cite it
///   (`source#page=N`).
/// - Title: the document information's title, else the first line of text, else the caller's
///   fallback (the file name).
/// - Refused, with a reason a user can act on: encrypted (password-protected) and damaged
///   documents, documents without any text (image-only, such as scans: ares does no OCR),
///   more than `maximumPages` pages or more than `maximumTextBytes` of text (a small
///   compressed file can inflate to gigabytes of text).
///
/// Poppler runs in ares's process: what it reports as a failure (a `GError`, a missing page)
/// is handled here and never thrown further. Every object it returns is released on every
/// path (`g_object_unref`, `g_free`, `g_bytes_unref`, `g_error_free`).
public struct PDFTextExtractor: Sendable {
    /// More pages than this and the document is skipped rather than half-read.
    public static let maximumPages = 20_000
    /// More extracted text than this (UTF-8 bytes) and the document is skipped; the same
    /// bound ingest puts on a file's size.
    public static let maximumTextBytes = 64 << 20
    /// A title taken from the first line of text is cut to this many characters.
    static let maximumDerivedTitleLength = 200

    public init() {}

    /// The text of the PDF in `bytes`, or why it cannot be read.
    public func extract(_ bytes: [UInt8], fallbackTitle: String) -> Result<ExtractedDocument, DocumentFormat.Unsupported> {
        guard !bytes.isEmpty else { return .failure(.pdf(reason: Self.damaged("the file is empty"))) }
        let data: OpaquePointer? = bytes.withUnsafeBytes { raw in g_bytes_new(raw.baseAddress, gsize(raw.count)) }
        guard let data else { return .failure(.pdf(reason: Self.damaged("cannot copy it for the PDF reader"))) }
        defer { g_bytes_unref(data) }

        var error: UnsafeMutablePointer<GError>?
        guard let document = poppler_document_new_from_bytes(data, nil, &error) else {
            defer { if let error { g_error_free(error) } }
            return .failure(.pdf(reason: Self.reason(opening: error)))
        }
        defer { g_object_unref(UnsafeMutableRawPointer(document)) }
        if let error { g_error_free(error) }

        let pageCount = Int(poppler_document_get_n_pages(document))
        guard pageCount > 0 else { return .failure(.pdf(reason: Self.damaged("it has no pages"))) }
        guard pageCount <= Self.maximumPages else {
            return .failure(.pdf(reason: "PDF with \(pageCount) pages, more than the \(Self.maximumPages) ares reads"))
        }

        var builder = DocumentTextBuilder()
        var pages: [DocumentPage] = []
        var firstLine = ""
        for index in 0..<pageCount {
            guard let pageText = Self.text(ofPage: Int32(index), in: document) else { continue }
            guard builder.bytes.count + pageText.utf8.count <= Self.maximumTextBytes else {
                return .failure(.pdf(reason: "PDF with more than \(Self.maximumTextBytes >> 20) MB of text (by page \(index + 1))"))
            }
            let blocksBefore = builder.blocks.count
            Self.append(pageText, to: &builder, firstLine: &firstLine)
            builder.endBlock()
            // The page's blocks are the ones it added; a page without text has none and no span.
            if builder.blocks.indices.contains(blocksBefore), let last = builder.blocks.last {
                pages.append(DocumentPage(number: index + 1, start: builder.blocks[blocksBefore].start, end: last.end))
            }
        }
        guard !pages.isEmpty else {
            return .failure(.pdf(reason: "PDF without text: none of its \(pageCount) page\(pageCount == 1 ? " has" : "s have") text to extract"
                                 + " (images only, as in a scan? ares does no OCR)"))
        }
        let declaredTitle = Self.title(of: document)
        let title = !declaredTitle.isEmpty ? declaredTitle : !firstLine.isEmpty ? firstLine : fallbackTitle
        var extracted = builder.build(title: title)
        extracted.pages = pages
        return .success(extracted)
    }

    // MARK: Poppler

    /// The page's text (nil when Poppler has no page or no text for it).
    private static func text(ofPage index: Int32, in document: OpaquePointer) -> String? {
        guard let page = poppler_document_get_page(document, index) else { return nil }
        defer { g_object_unref(UnsafeMutableRawPointer(page)) }
        guard let raw = poppler_page_get_text(page) else { return nil }
        defer { g_free(raw) }
        // String(cString:) repairs invalid UTF-8 with U+FFFD rather than failing.
        return String(cString: raw)
    }

    /// The title in the document information dictionary, whitespace collapsed ("" if none).
    private static func title(of document: OpaquePointer) -> String {
        guard let raw = poppler_document_get_title(document) else { return "" }
        defer { g_free(raw) }
        return collapsed(String(cString: raw), limit: DocumentPreparer.maximumLabelLength)
    }

    /// Why Poppler could not open the document, from its error (if it gave one).
    private static func reason(opening error: UnsafeMutablePointer<GError>?) -> String {
        guard let error else { return damaged("the PDF reader could not open it") }
        let message = error.pointee.message.map { String(cString: $0) } ?? ""
        if error.pointee.domain == poppler_error_quark() && error.pointee.code == Int32(POPPLER_ERROR_ENCRYPTED.rawValue) {
            return "encrypted PDF: it needs a password, and ares is given none"
        }
        return damaged(message.isEmpty ? "the PDF reader could not open it" : message)
    }

    static func damaged(_ detail: String) -> String {
        "damaged PDF: " + collapsed(detail, limit: 300)
    }

    // MARK: Text

    /// Appends a page's lines: consecutive lines form a paragraph (joined by a space), a line
    /// with nothing visible on it ends one. Records the first line of the document's text.
    private static func append(_ pageText: String, to builder: inout DocumentTextBuilder, firstLine: inout String) {
        for line in pageText.split(separator: "\n", omittingEmptySubsequences: false) {
            let visible = line.unicodeScalars.contains { !$0.properties.isWhitespace && $0.value >= 0x20 }
            guard visible else {
                builder.endBlock()
                continue
            }
            if firstLine.isEmpty { firstLine = collapsed(String(line), limit: maximumDerivedTitleLength) }
            for scalar in line.unicodeScalars { builder.appendScalar(scalar.value) }
            builder.appendWhitespace(0x20)
        }
    }

    /// `text` with runs of whitespace and control characters as single spaces, trimmed, cut to
    /// `limit` characters.
    static func collapsed(_ text: String, limit: Int) -> String {
        var scratch = DocumentTextBuilder()
        for scalar in text.unicodeScalars { scratch.appendScalar(scalar.value) }
        scratch.endBlock()
        let result = scratch.build(title: "").text
        return result.count <= limit ? result : String(result.prefix(limit))
    }
}
