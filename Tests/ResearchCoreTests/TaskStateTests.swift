import Foundation
import Testing
import ResearchCore

@Suite struct TaskStateTests {
    let passage = Passage(chunkId: "c1", source: "docs/wal.html", title: "WAL", headingPath: ["WAL"],
                          text: "WAL records are flushed before data pages.", start: 10, end: 52)

    func subQuestion(_ id: String) -> SubQuestion {
        SubQuestion(id: id, text: "what about \(id)?", queries: ["\(id) query"])
    }

    func evidence(_ id: String) -> Evidence {
        Evidence(subQuestionID: id, sentence: "WAL records are flushed before data pages.", passage: passage, start: 10, end: 52, score: 0.9)
    }

    var report: ResearchReport {
        ResearchReport(answer: "WAL first [1].", sections: [.init(title: "a", text: "WAL first [1].", citations: [1])],
                       citations: [Citation(index: 1, passage: passage)], markdown: "WAL first [1].")
    }

    /// A complete two-round task.
    var happyPath: [TaskEvent] {
        [
            .submitted(question: "How does WAL work and why?", principal: "alice"),
            .planned(ResearchPlan(subQuestions: [subQuestion("a"), subQuestion("b")])),
            .subQuestionStarted(subQuestionID: "a", round: 1),
            .subQuestionStarted(subQuestionID: "b", round: 1),
            .evidenceFound(subQuestionID: "b", round: 1, evidence: [evidence("b")]),
            .evidenceFound(subQuestionID: "a", round: 1, evidence: []),
            .critiqueIssued(round: 1, critique: Critique(coverage: 0.5, revisions: [subQuestion("a")], notes: ["a has no evidence"])),
            .revised(round: 2, subQuestions: [subQuestion("a")]),
            .subQuestionStarted(subQuestionID: "a", round: 2),
            .evidenceFound(subQuestionID: "a", round: 2, evidence: [evidence("a")]),
            .critiqueIssued(round: 2, critique: Critique(coverage: 1, revisions: [], notes: [])),
            .synthesized(report),
            .citationsVerified(CitationCheck(supportedSentences: 1, unsupportedSentences: 0, flagged: []), report: report),
            .completed,
        ]
    }

    @Test func foldsACompleteTaskWithTwoRounds() throws {
        let state = try TaskState.fold(happyPath)
        #expect(state.phase == .completed)
        #expect(state.isTerminal)
        #expect(state.question == "How does WAL work and why?")
        #expect(state.principal == "alice")
        #expect(state.round == 2)
        #expect(state.evidence["a"]?.count == 1)
        #expect(state.evidence["b"]?.count == 1)
        #expect(state.critiques.map(\.coverage) == [0.5, 1])
        #expect(state.citationCheck?.supportedSentences == 1)
        #expect(state.report == report)
        #expect(state.eventCount == happyPath.count)
    }

    @Test func everyPrefixIsAValidStateAndResumeKnowsWhatIsPending() throws {
        for length in 0...happyPath.count {
            _ = try TaskState.fold(happyPath.prefix(length))
        }
        let midRound = try TaskState.fold(happyPath.prefix(5))
        #expect(midRound.phase == .researching)
        #expect(midRound.pendingSubQuestions.map(\.id) == ["a"])
        let roundDone = try TaskState.fold(happyPath.prefix(6))
        #expect(roundDone.phase == .evaluating)
        #expect(roundDone.pendingSubQuestions.isEmpty)
    }

    @Test func refusesEventsThatCannotFollow() {
        #expect(throws: TaskStateError.self) { try TaskState.fold([.completed]) }
        #expect(throws: TaskStateError.self) {
            try TaskState.fold([.submitted(question: "q", principal: nil), .synthesized(report)])
        }
        // Evidence for another round than the current one.
        #expect(throws: TaskStateError.self) {
            try TaskState.fold(Array(happyPath.prefix(2)) + [.evidenceFound(subQuestionID: "a", round: 2, evidence: [])])
        }
        // Nothing follows a terminal event.
        #expect(throws: TaskStateError.self) { try TaskState.fold(happyPath + [.canceled(reason: "late")]) }
    }

    @Test func cancelAndFailRecordWhy() throws {
        let canceled = try TaskState.fold(Array(happyPath.prefix(3)) + [.canceled(reason: "user asked")])
        #expect(canceled.phase == .canceled)
        #expect(canceled.endReason == "user asked")
        let failed = try TaskState.fold([.submitted(question: "q", principal: nil), .failed(reason: "no documents")])
        #expect(failed.phase == .failed)
        #expect(failed.endReason == "no documents")
    }

    @Test func eventsRoundTripThroughJSON() throws {
        let encoded = try happyPath.map { try JSONEncoder().encode($0) }
        let decoded = try encoded.map { try JSONDecoder().decode(TaskEvent.self, from: $0) }
        #expect(decoded == happyPath)
        #expect(Set(happyPath.map(\.typeName)).count == 9, "every kind of event in the path has its own type name")
    }
}
