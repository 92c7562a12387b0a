import AresTestSupport
import Foundation
import Testing
@testable import Knowledge

/// PDFs through Poppler, on PDFs generated during the test from known text (PDFFixture):
/// page text, titles, passages that cite their page, and the PDFs ares must skip with a reason.
@Suite struct PDFDocumentTests {
    static let pages: [PDFFixture.Page] = [
        ["Replication Handbook",
         "",
         "Streaming replication ships write-ahead log records to standby servers",
         "as soon as they are written on the primary.",
         "",
         "A standby in hot standby mode answers read-only queries."],
        ["Failover",
         "",
         "When the primary fails, run pg_ctl promote on the standby to make it",
         "the new primary. Clients reconnect through the connection pooler."],
        ["Logical Decoding",
         "",
         "Replication slots keep the quarantined zeppelin manifests until every",
         "subscriber has confirmed them, so a slow subscriber retains WAL."],
    ]

    func makePDF(in directory: TemporaryDirectory, name: String = "handbook.pdf", title: String? = "The Replication Handbook",
                 pages: [PDFFixture.Page] = Self.pages) throws -> URL {
        let url = directory.url.appendingPathComponent(name)
        try PDFFixture.write(pages, title: title, to: url)
        return url
    }

    func load(_ url: URL) throws -> Result<DocumentFormat.LoadedDocument, DocumentFormat.Unsupported> {
        DocumentFormat.load(path: url.lastPathComponent, bytes: try Data(contentsOf: url), fallbackTitle: "fallback")
    }

    @Test func extractsEachPagesTextInOrderWithTheTitleFromTheMetadata() throws {
        let directory = try TemporaryDirectory("ares-pdf")
        let url = try makePDF(in: directory)
        let loaded = try load(url).get()
        #expect(loaded.format == .pdf)
        let document = loaded.document
        #expect(document.title == "The Replication Handbook")
        #expect(document.pages.map(\.number) == [1, 2, 3])
        let scalars = Array(document.text.unicodeScalars)
        func pageText(_ index: Int) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[document.pages[index].start..<document.pages[index].end])
            return String(view)
        }
        #expect(pageText(0).hasPrefix("Replication Handbook"))
        // Lines are joined with a space (Poppler's text has one line per printed line).
        #expect(pageText(0).contains("Streaming replication ships write-ahead log records to standby servers as soon as they are written on the primary."))
        #expect(pageText(0).contains("A standby in hot standby mode answers read-only queries."))
        #expect(!pageText(0).contains("promote"))
        #expect(pageText(1).contains("run pg_ctl promote on the standby"))
        #expect(pageText(2).contains("quarantined zeppelin manifests"))
        // Pages are in order and do not overlap; blocks stay inside pages.
        for (previous, next) in zip(document.pages, document.pages.dropFirst()) { #expect(previous.end < next.start) }
        #expect(document.blocks.count >= 3)
        for block in document.blocks {
            #expect(document.pages.contains { $0.start <= block.start && block.end <= $0.end })
        }
    }

    @Test func passagesNeverCrossAPageAndKnowIt() throws {
        let directory = try TemporaryDirectory("ares-pdf")
        let document = try load(try makePDF(in: directory)).get().document
        // A chunker that would merge all three short pages into one passage if pages did not stop it.
        let drafts = Chunker(targetWords: 200, maxWords: 300, minWords: 150, overlapWords: 30).chunks(of: document)
        #expect(drafts.map(\.page) == [1, 2, 3])
        let scalars = Array(document.text.unicodeScalars)
        for draft in drafts {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[draft.start..<draft.end])
            #expect(String(view) == draft.text, "a passage's text is exactly its span of the document")
        }
        #expect(drafts[2].text.contains("quarantined zeppelin manifests"))
        // Long pages are cut into several passages, each on its page.
        let long = Chunker(targetWords: 8, maxWords: 12, minWords: 4, overlapWords: 2).chunks(of: document)
        #expect(long.count > 3)
        #expect(long.allSatisfy { draft in document.pages.contains { $0.number == draft.page && $0.start <= draft.start && draft.end <= $0.end } })
    }

    @Test func withoutATitleInTheMetadataTheFirstLineIsTheTitle() throws {
        let directory = try TemporaryDirectory("ares-pdf")
        let document = try load(try makePDF(in: directory, title: nil)).get().document
        #expect(document.title == "Replication Handbook")
    }

    @Test func searchCitesThePageAPassageIsOn() async throws {
        let corpus = try TemporaryDirectory("ares-pdf-corpus")
        _ = try makePDF(in: corpus, name: "handbook.pdf")
        try corpus.write("notes.md", "# Notes\n\nAn unrelated note about backups and pg_dump.\n")
        let data = try TemporaryDirectory()
        let knowledge = try KnowledgeBase(dataDirectory: data.url.appendingPathComponent("data"), embedder: HashingEmbedder(), access: .readWrite)
        let summary = try await knowledge.ingest(["."], relativeTo: corpus.url)
        #expect(summary.skipped.isEmpty, "\(summary.skipped)")
        #expect(summary.added == 2)

        for mode in SearchMode.allCases {
            let results = try await knowledge.search("quarantined zeppelin manifests", limit: 3, mode: mode)
            let top = try #require(results.first, "mode \(mode)")
            #expect(top.passage.source == "handbook.pdf#page=3", "mode \(mode)")
            #expect(top.passage.shared.source == "handbook.pdf#page=3", "the name shown to others cites the page too")
            #expect(top.passage.title == "The Replication Handbook")
            #expect(top.passage.text.contains("quarantined zeppelin manifests"))
        }
        let promote = try #require(try await knowledge.search("pg_ctl promote standby", limit: 1, mode: .keyword).first)
        #expect(promote.passage.source == "handbook.pdf#page=2")
        // Formats without pages cite the file alone.
        let backups = try #require(try await knowledge.search("pg_dump backups", limit: 1, mode: .keyword).first)
        #expect(backups.passage.source == "notes.md")
    }

    @Test func encryptedDamagedAndImageOnlyPDFsAreSkippedWithTheirReasons() async throws {
        let corpus = try TemporaryDirectory("ares-pdf-corpus")
        let good = try makePDF(in: corpus, name: "good.pdf")
        // Passwords generated per run: nothing secret is written into the test.
        try PDFFixture.encrypt(good, to: corpus.url.appendingPathComponent("locked.pdf"),
                               userPassword: UUID().uuidString, ownerPassword: UUID().uuidString)
        try PDFFixture.rasterize(good, to: corpus.url.appendingPathComponent("scan.pdf"))
        try corpus.write("garbage.pdf", Data("%PDF-1.7\n".utf8) + Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }))
        try corpus.write("not-a-pdf.pdf", "just text, no PDF header")
        let original = try Data(contentsOf: good)
        try corpus.write("truncated.pdf", original.prefix(original.count / 3))

        let data = try TemporaryDirectory()
        let knowledge = try KnowledgeBase(dataDirectory: data.url.appendingPathComponent("data"), embedder: HashingEmbedder(), access: .readWrite)
        let summary = try await knowledge.ingest(["."], relativeTo: corpus.url)
        let reasons = Dictionary(summary.skipped.map { ($0.path, $0.reason) }, uniquingKeysWith: { a, _ in a })
        #expect(reasons["locked.pdf"]?.hasPrefix("encrypted PDF") == true, "\(reasons)")
        #expect(reasons["scan.pdf"]?.hasPrefix("PDF without text") == true, "\(reasons)")
        #expect(reasons["garbage.pdf"]?.hasPrefix("damaged PDF") == true, "\(reasons)")
        #expect(reasons["not-a-pdf.pdf"]?.hasPrefix("damaged PDF") == true, "\(reasons)")
        // A truncated file is either skipped as damaged or read as far as Poppler can rebuild it.
        if let truncated = reasons["truncated.pdf"] { #expect(truncated.hasPrefix("damaged PDF") || truncated.hasPrefix("PDF without text")) }
        #expect(summary.added == summary.filesSeen - summary.skipped.count)
        #expect(reasons["good.pdf"] == nil)
        let found = try await knowledge.search("quarantined zeppelin manifests", limit: 1, mode: .keyword)
        #expect(found.first?.passage.source == "good.pdf#page=3")
    }

    @Test func aTextFileThatQuotesThePDFSignatureIsStillText() {
        let text = "Notes on file formats. A PDF starts with %PDF-1.7 and ends with %%EOF."
        #expect(DocumentFormat.detect(path: "formats.txt", firstBytes: Array(text.utf8)) == .success(.plainText))
        #expect(DocumentFormat.detect(path: "download", firstBytes: Array("%PDF-1.7\n".utf8)) == .success(.pdf))
        #expect(DocumentFormat.detect(path: "junk-first.pdf", firstBytes: Array("garbage\n%PDF-1.4\n".utf8)) == .success(.pdf))
    }
}
