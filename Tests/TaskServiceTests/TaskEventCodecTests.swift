import Foundation
import ResearchCore
import Testing
@testable import TaskService

@Suite struct TaskEventCodecTests {
    static let passage = Passage(chunkId: "c1", source: "docs/wal.html", title: "WAL — «log»", headingPath: ["A", "B"],
                                 text: "WAL records are flushed first. 😀", start: 3, end: 36)
    static let subQuestion = SubQuestion(id: "sq1", text: "when is WAL flushed?", queries: ["WAL flushed", "wal"])
    static let report = ResearchReport(
        answer: "First [1].", sections: [.init(title: "t", text: "First [1].", citations: [1])],
        citations: [Citation(index: 1, passage: passage)], markdown: "# q\n\nFirst [1].", notes: ["a note"])
    static let everyKind: [TaskEvent] = [
        .submitted(question: "How does WAL work?", principal: nil),
        .submitted(question: "q", principal: "alice"),
        .submitted(question: "q", principal: "alice", contextID: "ctx-1"),
        .planned(ResearchPlan(subQuestions: [subQuestion], reusedFromTask: "task-1")),
        .planned(ResearchPlan(subQuestions: [])),
        .subQuestionStarted(subQuestionID: "sq1", round: 2),
        .evidenceFound(subQuestionID: "sq1", round: 1, evidence: [
            Evidence(subQuestionID: "sq1", sentence: "WAL records are flushed first.", passage: passage, start: 3, end: 33, score: 0.875)]),
        .critiqueIssued(round: 1, critique: Critique(coverage: 0.5, revisions: [subQuestion], notes: ["n"])),
        .revised(round: 2, subQuestions: [subQuestion]),
        .synthesized(report),
        .citationsVerified(CitationCheck(supportedSentences: 3, unsupportedSentences: 1, flagged: ["x"]), report: report),
        .completed, .failed(reason: "boom"), .canceled(reason: "user"),
    ]

    @Test func everyEventRoundTrips() throws {
        for event in Self.everyKind {
            #expect(try TaskEventCodec.decode(TaskEventCodec.encode(event)) == event)
        }
    }

    @Test func jsonPayloadsOfEarlierStoresStillDecode() throws {
        for event in Self.everyKind {
            #expect(try TaskEventCodec.decode(try JSONEncoder().encode(event)) == event)
        }
    }

    @Test func damagedPayloadsThrowInsteadOfCrashing() {
        let encoded = TaskEventCodec.encode(Self.everyKind[5])
        for cut in [1, 2, 10, encoded.count / 2, encoded.count - 1] {
            #expect(throws: (any Error).self) { try TaskEventCodec.decode(encoded.prefix(cut)) }
        }
        #expect(throws: (any Error).self) { try TaskEventCodec.decode(Data([0xA1, 99])) }
        #expect(throws: (any Error).self) { try TaskEventCodec.decode(encoded + Data([0])) }
    }
}
