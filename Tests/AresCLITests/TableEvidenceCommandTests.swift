import AresTestSupport
import Foundation
import Testing

/// Table rows are evidence (issue 17 §4): a row labelled at ingest ("table size — Upper Limit:
/// 32 TB; …") has no full stop, and the researcher used to drop it as a fragment, so a
/// question whose answer is only in a table was answered with padding or not at all.
@Suite struct TableEvidenceCommandTests {
    struct AskOutput: Decodable {
        struct Report: Decodable {
            struct Section: Decodable { var title: String; var text: String; var citations: [Int] }
            var answer: String
            var sections: [Section]
        }
        struct Citation: Decodable { var index: Int; var source: String; var text: String }
        var state: String
        var report: Report?
        var citations: [Citation]
    }

    /// The answer (32 TB) is only in the table; the prose around it shares the question's words
    /// without answering it.
    static let limits = """
        # Limits

        The server has limits on the size of many objects, and a table can grow large over time.
        Most of the limits below depend on the block size chosen when the server was built.

        | Item | Upper Limit | Comment |
        |------|-------------|---------|
        | database size | unlimited | |
        | table size | 32 TB | with the default block size of 8192 bytes |
        | columns per table | 1600 | further limited by how wide a row may be |

        Large tables are often split into partitions, each a table of its own.
        """

    @Test func aQuestionAnsweredOnlyByATableRowCitesTheRow() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ares-table-evidence-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("corpus"), withIntermediateDirectories: true)
        try Data(Self.limits.utf8).write(to: root.appendingPathComponent("corpus/limits.md"))

        let ingest = try await AresProcess.run(["ingest", "corpus", "--data-dir", "kb"], in: root)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let ask = try await AresProcess.run(["ask", "What is the upper limit of the table size?", "--data-dir", "kb", "--format", "json"], in: root)
        #expect(ask.status == 0, "\(ask.stderr)")
        let output = try JSONDecoder().decode(AskOutput.self, from: Data(ask.stdout.utf8))
        #expect(output.state == "completed")
        let report = try #require(output.report)
        let row = "table size — Upper Limit: 32 TB; Comment: with the default block size of 8192 bytes"
        // The row is quoted in the report, with a citation of the passage that holds it.
        let section = try #require(report.sections.first { $0.text.contains(row) }, "no section quotes the row: \(report.sections.map(\.text))")
        let marker = try #require(section.citations.first)
        let citation = try #require(output.citations.first { $0.index == marker })
        #expect(citation.source == "corpus/limits.md")
        #expect(citation.text.contains(row))

        // A sub-question the table does not answer is named on standard error (and said in its section).
        let compound = try await AresProcess.run(["ask", "What is the upper limit of the table size, and which zstd level suits archives?", "--data-dir", "kb"],
                                                 in: root)
        #expect(compound.status == 0, "\(compound.stderr)")
        #expect(compound.stdout.contains("The knowledge base does not say"), "\(compound.stdout)")
        #expect(compound.stderr.contains("1 of 2 sub-questions not answered by the knowledge base: “which zstd level suits archives”"), "\(compound.stderr)")
    }
}
