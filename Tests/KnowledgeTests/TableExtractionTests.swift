import Foundation
import Testing
@testable import Knowledge

/// Table rows keep their column headers ("relation size — Upper Limit: 32 TB; Comment: …"),
/// in HTML and Markdown, on small fixtures, hostile tables and the real PostgreSQL limits page.
@Suite struct TableExtractionTests {
    static func rows(_ document: ExtractedDocument) -> [String] {
        HTMLTextExtractorTests.blocks(document).filter { $0.0 == .tableRow }.map(\.1)
    }

    static func html(_ body: String) -> ExtractedDocument {
        let document = HTMLTextExtractor().extract("<html><body>\(body)</body></html>", fallbackTitle: "t")
        HTMLTextExtractorTests.checkLayout(document)
        return document
    }

    static func markdown(_ text: String) -> ExtractedDocument {
        let document = MarkdownTextExtractor().extract(text, fallbackTitle: "t")
        HTMLTextExtractorTests.checkLayout(document)
        return document
    }

    @Test func htmlRowsUnderATheadArePairedWithTheirHeaders() {
        let document = Self.html("""
            <p>Limits.</p>
            <table><thead><tr><th>Item</th><th>Upper Limit</th><th>Comment</th></tr></thead>
            <tbody><tr><td>database size</td><td>unlimited</td><td> </td></tr>
            <tr><td>relation size</td><td>32 TB</td><td>with the default <code>BLCKSZ</code> of 8192 bytes</td></tr>
            <tr><td></td><td>7</td><td>no label cell</td></tr></tbody></table>
            <p>After the table.</p>
            """)
        #expect(Self.rows(document) == [
            "Item | Upper Limit | Comment",
            "database size — Upper Limit: unlimited",
            "relation size — Upper Limit: 32 TB; Comment: with the default BLCKSZ of 8192 bytes",
            "Upper Limit: 7; Comment: no label cell",
        ])
        #expect(document.text.hasSuffix("\n\nAfter the table."))
    }

    @Test func aRowOfThCellsIsAHeaderRowAndARowHeaderCellIsNot() {
        let document = Self.html("""
            <table><tr><th>Setting</th><th>Default:</th></tr>
            <tr><th>work_mem</th><td>4MB</td></tr>
            <tr><td>shared_buffers</td><td>Default:</td></tr></table>
            """)
        // The header's trailing colon is not doubled; a cell that repeats its header stays unlabelled.
        #expect(Self.rows(document) == ["Setting | Default:", "work_mem — Default: 4MB", "shared_buffers — Default:"])
    }

    @Test func colspanMovesCellsToTheirColumns() {
        let document = Self.html("""
            <table><tr><th>Name</th><th colspan="2">Size</th><th>Note</th></tr>
            <tr><td colspan=2>wide label</td><td>10 MB</td><td>spans</td></tr>
            <tr><td>a</td><td>1</td><td>2</td><td>3</td></tr>
            <tr><td colspan="99999999999999999999">huge span</td><td>after it</td></tr></table>
            """)
        #expect(Self.rows(document) == [
            "Name | Size | Note",
            "wide label — Size: 10 MB; Note: spans",
            "a — Size: 1; Size: 2; Note: 3",
            "huge span — after it",
        ])
    }

    @Test func tablesWithoutHeadersKeepTheirCellsJoinedAndHeadersDoNotLeakIntoTheNextTable() {
        let document = Self.html("""
            <table><tr><th>Key</th><th>Value</th></tr><tr><td>k1</td><td>v1</td></tr></table>
            <table><tr><td>plain</td><td>row</td></tr></table>
            """)
        #expect(Self.rows(document) == ["Key | Value", "k1 — Value: v1", "plain | row"])
    }

    @Test func aNestedTableStaysInsideItsCellAndRaggedRowsKeepTheirExtraCells() {
        let document = Self.html("""
            <table><tr><th>Outer</th><th>Detail</th></tr>
            <tr><td>o1</td><td>before <table><tr><th>In</th></tr><tr><td>inner cell</td><td>second</td></tr></table> after</td><td>extra</td></tr>
            </table>
            """)
        #expect(Self.rows(document) == ["Outer | Detail", "o1 — Detail: before | In | inner cell | second after; extra"])
    }

    @Test func markdownTablesPairRowsWithTheHeaderRow() {
        let document = Self.markdown("""
            # Limits

            | Item | Upper Limit | Comment |
            |:-----|------------:|---------|
            | relation size | 32 TB | with the default `BLCKSZ` |
            | field size | 1 GB | |
            | ragged | 1 | 2 | 3 |
            | | only value |

            After.
            """)
        #expect(Self.rows(document) == [
            "Item | Upper Limit | Comment",
            "relation size — Upper Limit: 32 TB; Comment: with the default BLCKSZ",
            "field size — Upper Limit: 1 GB",
            "ragged — Upper Limit: 1; Comment: 2; 3",
            "Upper Limit: only value",
        ])
    }

    @Test func hostileTablesStayBoundedAndNeverTrap() {
        // A long header and many small rows: labels are cut and the document's label budget
        // stops labelling, so the text stays within a small multiple of the input.
        let header = String(repeating: "H", count: 5000)
        var html = "<table><tr><th>k</th><th>\(header)</th><th>\(header)</th></tr>"
        for index in 0..<20_000 { html += "<tr><td>\(index)</td><td>v</td><td>w</td>" }
        html += "</table>"
        let document = Self.html(html)
        #expect(document.text.utf8.count <= 3 * html.utf8.count)
        let rows = Self.rows(document)
        #expect(rows.count == 20_001)
        #expect(rows[1] == "0 — \(String(repeating: "H", count: TableRowLabeler.maximumLabelLength)): v; \(String(repeating: "H", count: TableRowLabeler.maximumLabelLength)): w")
        #expect(rows.last == "19999 | v | w", "past the budget rows keep the plain form")

        // Malformed structure of every kind: only the layout is checked (checkLayout in html()).
        for fragment in [
            "<table><th>a<td>b<tr><td>c", "<tr><td>no table</td></tr>", "<td>cell</td><th>head</th>",
            "<table><thead><tr><td>x</td></tr><table><tr><th>y<td>z</table></table>", "<table><tr><td colspan=0>a<td colspan=-3>b",
            "<table>" + String(repeating: "<table><tr><th>h", count: 300) + String(repeating: "<td>d</table>", count: 300),
            "<table><tr>" + String(repeating: "<th colspan=1000>x", count: 50) + "<tr>" + String(repeating: "<td>y", count: 2000),
        ] {
            _ = Self.html(fragment)
        }
        for text in ["| a |\n|---|\n| b | c | d |", "|\n|-|\n||", "| x | y |\n| - | - |\n" + String(repeating: "| 1 | 2 |\n", count: 1000)] {
            _ = Self.markdown(text)
        }
    }

    /// Appendix K of the PostgreSQL 15 docs (Fixtures/pgdocs/limits.html, copied from Debian's
    /// postgresql-doc-15): the row a reader needs is quotable on its own and found by search.
    @Test func thePostgreSQLLimitsTableIsQuotableAndFound() async throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/pgdocs/limits.html")
        let page = try String(contentsOf: fixture, encoding: .utf8)
        let rows = Self.rows(HTMLTextExtractor().extract(page, fallbackTitle: "limits"))
        #expect(rows.contains("relation size — Upper Limit: 32 TB; Comment: with the default BLCKSZ of 8192 bytes"), "\(rows)")
        #expect(rows.contains("columns per table — Upper Limit: 1,600; Comment: further limited by tuple size fitting on a single page; see note below"))
        #expect(rows.contains("database size — Upper Limit: unlimited"))
        #expect(!rows.contains { $0.contains("Prev") }, "the navigation tables stay dropped")

        let corpus = try TemporaryDirectory("ares-tables")
        try corpus.write("limits.html", page)
        try corpus.write("storage.html", """
            <html><head><title>Database File Layout</title></head><body><h1>Database File Layout</h1>
            <p>Each table and index is stored in a separate file. When a table or index exceeds 1 GB, it is divided into
            gigabyte-sized segments. The size of a table includes its TOAST table.</p></body></html>
            """)
        let data = try TemporaryDirectory()
        let knowledge = try KnowledgeBase(dataDirectory: data.url.appendingPathComponent("data"), embedder: HashingEmbedder(), access: .readWrite)
        _ = try await knowledge.ingest(["."], relativeTo: corpus.url)
        for mode in SearchMode.allCases {
            let results = try await knowledge.search("maximum size of a table", limit: 5, mode: mode)
            #expect(results.contains { $0.passage.source == "limits.html" && $0.passage.text.contains("Upper Limit: 32 TB") }, "mode \(mode)")
        }
    }
}
