import Testing
import ResearchCore
@testable import Agents

@Suite struct ContradictionDetectorTests {
    func evidence(_ id: String, _ sentence: String, source: String, score: Double = 0.9) -> Evidence {
        let passage = Passage(chunkId: source + "#1", source: source, title: source, headingPath: [], text: sentence,
                              start: 0, end: sentence.unicodeScalars.count)
        return Evidence(subQuestionID: id, sentence: sentence, passage: passage, start: 0, end: sentence.unicodeScalars.count, score: score)
    }

    @Test func aNegatedStatementFromAnotherSourceContradicts() {
        let found = ["sq1": [evidence("sq1", "VACUUM FULL locks the whole table while it runs.", source: "a.html"),
                             evidence("sq1", "VACUUM FULL does not lock the whole table while it runs.", source: "b.html"),
                             evidence("sq1", "Autovacuum workers run in the background.", source: "c.html")]]
        let contradictions = ContradictionDetector().contradictions(in: found)
        #expect(contradictions.count == 1)
        #expect(contradictions.first?.reason.hasPrefix("negation") == true)
        #expect(contradictions.first.map { [$0.first.source, $0.second.source] } == ["a.html", "b.html"])
        #expect(abs(ContradictionDetector.score(contradictions, evidence: found) - 2.0 / 3.0) < 1e-9)
    }

    @Test func differentNumbersForTheSameQuantityContradict() {
        let found = ["sq1": [evidence("sq1", "The default value of shared_buffers is 128 megabytes.", source: "a.html")],
                     "sq2": [evidence("sq2", "The default value of shared_buffers is 32 megabytes.", source: "b.html")]]
        let contradictions = ContradictionDetector().contradictions(in: found)
        #expect(contradictions.map(\.reason) == ["numbers differ: 128 vs 32"])
        #expect(contradictions.first.map { [$0.first.subQuestionID, $0.second.subQuestionID] } == ["sq1", "sq2"])
    }

    @Test func agreementUnrelatedStatementsAndOneSourceAreNotContradictions() {
        let detector = ContradictionDetector()
        // The same claim from two sources.
        #expect(detector.contradictions(in: ["sq1": [
            evidence("sq1", "The default value of shared_buffers is 128 megabytes.", source: "a.html"),
            evidence("sq1", "By default the value of shared_buffers is 128 megabytes.", source: "b.html")]]).isEmpty)
        // A negation about something else.
        #expect(detector.contradictions(in: ["sq1": [
            evidence("sq1", "VACUUM FULL locks the whole table while it runs.", source: "a.html"),
            evidence("sq1", "Checkpoints do not write the WAL archive to tape.", source: "b.html")]]).isEmpty)
        // A document that qualifies its own statement is not two sources disagreeing.
        #expect(detector.contradictions(in: ["sq1": [
            evidence("sq1", "VACUUM FULL locks the whole table while it runs.", source: "a.html"),
            evidence("sq1", "VACUUM FULL does not lock the whole table while it runs.", source: "a.html")]]).isEmpty)
        #expect(ContradictionDetector.numbers(in: "Version 8.3 added 1,000 slots, see 2.") == ["8.3", "1,000", "2"])
    }

    @Test func theEvaluatorRoutesAContradictionOnceAndReportsIt() async throws {
        let subQuestions = [SubQuestion(id: "sq1", text: "does VACUUM FULL lock the table", queries: ["VACUUM FULL lock"]),
                            SubQuestion(id: "sq2", text: "what do autovacuum workers do", queries: ["autovacuum workers"])]
        let found = ["sq1": [evidence("sq1", "VACUUM FULL locks the whole table while it runs.", source: "a.html"),
                             evidence("sq1", "VACUUM FULL does not lock the whole table while it runs.", source: "b.html")],
                     "sq2": [evidence("sq2", "Autovacuum workers run in the background.", source: "c.html")]]
        let evaluator = CoverageEvaluator(maximumRounds: 3)
        let first = try await evaluator.evaluate(subQuestions: subQuestions, evidence: found, round: 1)
        #expect(first.coverage == 1)
        #expect(first.contradictions.count == 1)
        #expect(first.revisions.map(\.id) == ["sq1"], "the disputed sub-question is researched again")
        #expect(first.revisions.first?.queries == ["vacuum full locks whole table runs"])
        #expect(first.reportNotes.count == 1 && first.reportNotes[0].hasPrefix("sources disagree"))
        #expect(first.notes.contains("1 contradiction(s) between sources"))
        // The next round reports the contradiction that remains but does not chase it again.
        let second = try await evaluator.evaluate(subQuestions: subQuestions, evidence: found, round: 2)
        #expect(second.isSatisfied)
        #expect(second.contradictions == first.contradictions)
        #expect(second.contradictionScore > 0)
        // And the round limit holds: with one round allowed, nothing is routed.
        #expect(try await CoverageEvaluator(maximumRounds: 1).evaluate(subQuestions: subQuestions, evidence: found, round: 1).isSatisfied)
    }
}
