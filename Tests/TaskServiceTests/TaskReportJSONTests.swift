import Foundation
import ResearchCore
import Testing
@testable import TaskService

/// The report JSON's quality block counts the sub-questions a report leaves unanswered, and
/// stays readable for documents and event streams written before that count existed.
@Suite struct TaskReportJSONTests {
    static let passage = Passage(chunkId: "c1", source: "docs/wal.html", title: "WAL", headingPath: [],
                                 text: "WAL records are flushed first.", start: 0, end: 30)

    static func state(_ report: ResearchReport) throws -> TaskState {
        let plan = ResearchPlan(subQuestions: [SubQuestion(id: "sq1", text: "when is WAL flushed", queries: ["WAL flushed"]),
                                               SubQuestion(id: "sq2", text: "which zstd level", queries: ["zstd level"])])
        return try TaskState.fold([
            .submitted(question: "When is WAL flushed, and which zstd level?", principal: nil), .planned(plan),
            .subQuestionStarted(subQuestionID: "sq1", round: 1), .subQuestionStarted(subQuestionID: "sq2", round: 1),
            .evidenceFound(subQuestionID: "sq1", round: 1, evidence: []), .evidenceFound(subQuestionID: "sq2", round: 1, evidence: []),
            .critiqueIssued(round: 1, critique: Critique(coverage: 0.5, revisions: [], notes: [])),
            .synthesized(report),
            .citationsVerified(CitationCheck(supportedSentences: 1, unsupportedSentences: 0, flagged: []), report: report), .completed,
        ])
    }

    @Test func theQualityBlockCountsUnansweredSubQuestions() throws {
        let report = ResearchReport(
            answer: "WAL records are flushed first. [1]",
            sections: [.init(title: "when is WAL flushed", text: "WAL records are flushed first. [1]", citations: [1]),
                       .init(title: "which zstd level", text: "The knowledge base does not say: nothing found answers “which zstd level” closely enough to quote.", citations: [])],
            citations: [Citation(index: 1, passage: Self.passage)], markdown: "")
        let document = TaskReportJSON.document(taskID: "t1", state: try Self.state(report), totalMilliseconds: nil)
        #expect(document.quality.unansweredSubQuestions == 1)
        let json = try TaskReportJSON.encode(taskID: "t1", state: try Self.state(report), totalMilliseconds: nil)
        #expect(json.contains("\"unansweredSubQuestions\" : 1"))
    }

    @Test func aTaskWithoutAReportHasNoCount() throws {
        let state = try TaskState.fold([.submitted(question: "q", principal: nil)])
        #expect(TaskReportJSON.document(taskID: "t1", state: state, totalMilliseconds: nil).quality.unansweredSubQuestions == nil)
    }

    @Test func aReportStoredBeforeAbstentionReplaysAndIsCounted() throws {
        // `citationsVerified` exactly as the codec stored it before this change
        // (TaskEventCodecGoldenTests): its one section cites [1], so nothing is unanswered.
        let stored = try #require(Data(base64Encoded: TaskEventCodecGoldenTests.payloadsWrittenBefore[14]))
        guard case .citationsVerified(_, let report) = try TaskEventCodec.decode(stored) else {
            Issue.record("the stored payload is not a citationsVerified event")
            return
        }
        let document = TaskReportJSON.document(taskID: "t1", state: try Self.state(report), totalMilliseconds: nil)
        #expect(document.quality.unansweredSubQuestions == 0)
    }

    @Test func aDocumentWrittenBeforeTheCountStillDecodes() throws {
        let old = """
            {"taskId":"t1","state":"completed","question":"q","citations":[],"timings":{},
             "quality":{"coverage":1,"supportedSentences":1,"unsupportedSentences":0,"rounds":1,"contradictionScore":0,"contradictions":[]}}
            """
        let document = try JSONDecoder().decode(TaskReportJSON.Output.self, from: Data(old.utf8))
        #expect(document.quality.unansweredSubQuestions == nil)
        #expect(document.quality.supportedSentences == 1)
    }
}
