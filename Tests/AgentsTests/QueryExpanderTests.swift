import Testing
import ResearchCore
@testable import Agents

/// Query expansion by pseudo-relevance feedback, with corpus statistics from a fake port.
@Suite struct QueryExpanderTests {
    /// Document frequencies of a pretend 100-passage corpus; terms not listed occur in 3 passages.
    struct FakeStatistics: CorpusStatistics {
        var frequencies: [String: Int]
        func documentFrequencies(of terms: [String]) async throws -> (passages: Int, frequencies: [String: Int]) {
            (100, Dictionary(uniqueKeysWithValues: terms.map { ($0, frequencies[$0] ?? 3) }))
        }
    }

    static let grant = Passage(chunkId: "g1", source: "sql-grant.html", title: "GRANT", headingPath: [],
                               text: "GRANT gives privileges on a table to a role. Privileges such as SELECT are granted per table; col1 is an example.",
                               start: 0, end: 112)
    static let roles = Passage(chunkId: "r1", source: "user-manag.html", title: "Roles", headingPath: [],
                               text: "A role can own tables and hold privileges.", start: 0, end: 42)

    @Test func relatedTermsAreTheFeedbacksWeightiestWordsAsTheCorpusSpellsThem() async throws {
        // "table" is in half the corpus: it says nothing; "example" is in one passage only: a name, likely.
        let expander = QueryExpander(statistics: FakeStatistics(frequencies: ["tabl": 50, "exampl": 1]))
        let terms = try await expander.relatedTerms(to: "permission to read a table", feedback: [Self.grant, Self.roles], limit: 3)
        #expect(terms == ["privileges", "role", "grant"])
        #expect(!terms.contains("col1") && !terms.contains("table") && !terms.contains("example"))
        #expect(try await expander.relatedTerms(to: "permission", feedback: [], limit: 3).isEmpty)
        #expect(try await expander.relatedTerms(to: "the", feedback: [Self.grant], limit: 3).isEmpty, "no query terms, no expansion")
    }

    @Test func theExpandedQueryFindsAPassageInTheCorpusWords() async throws {
        // The question's words reach the GRANT page only; the expanded query also reaches the roles page.
        let retriever = FakeRetriever(passages: [Self.grant, Self.roles])
        let subQuestion = SubQuestion(id: "sq1", text: "who may grant access", queries: ["grant access"])
        let plain = try await RetrievalResearcher(retriever: retriever).passages(for: subQuestion)
        #expect(plain.map(\.passage.chunkId) == ["g1"])
        let expanded = try await RetrievalResearcher(retriever: retriever, expander: QueryExpander(statistics: FakeStatistics(frequencies: [:])))
            .passages(for: subQuestion)
        #expect(expanded.map(\.passage.chunkId) == ["g1", "r1"])
    }
}
