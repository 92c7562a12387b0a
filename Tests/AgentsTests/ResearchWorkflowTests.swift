import Foundation
import Synchronization
import Testing
import ResearchCore
@testable import Agents

/// The workflow with the built-in agents over an in-memory retriever (a fake port).
@Suite struct ResearchWorkflowTests {
    static let passages = [
        Passage(chunkId: "w1", source: "wal.html", title: "WAL", headingPath: [],
                text: "Write-ahead logging ensures data integrity. WAL records are flushed to disk before data pages are written.", start: 0, end: 104),
        Passage(chunkId: "v1", source: "vacuum.html", title: "VACUUM", headingPath: [],
                text: "VACUUM reclaims storage occupied by dead tuples. Autovacuum runs VACUUM automatically.", start: 0, end: 86),
    ]

    /// Records events in memory; can simulate a crash by failing once `crashAfter` events are stored.
    final class MemoryLog: Sendable {
        let events = Mutex<[TaskEvent]>([])
        let crashAfter: Int?
        init(crashAfter: Int? = nil) { self.crashAfter = crashAfter }
        struct Crash: Error {}
        var recorder: ResearchWorkflow.Recorder {
            { event in
                try self.events.withLock { events in
                    if let limit = self.crashAfter, events.count >= limit { throw Crash() }
                    events.append(event)
                }
            }
        }
        var all: [TaskEvent] { events.withLock { $0 } }
    }

    func workflow(evaluator: any ResearchEvaluator = CoverageEvaluator(), budget: ResearchBudget = ResearchBudget()) -> ResearchWorkflow {
        ResearchWorkflow(agents: ResearchAgents(
            planner: HeuristicPlanner(),
            researcher: RetrievalResearcher(retriever: FakeRetriever(passages: Self.passages)),
            evaluator: evaluator, synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker()), budget: budget)
    }

    func submitted(_ question: String) throws -> TaskState {
        try TaskState.fold([.submitted(question: question, principal: nil)])
    }

    @Test func runsACompoundQuestionToACitedReport() async throws {
        let log = MemoryLog()
        let start = try submitted("When are WAL records flushed to disk and what does VACUUM reclaim?")
        try await log.recorder(.submitted(question: start.question, principal: nil))
        let final = try await workflow().run(from: start, record: log.recorder)
        #expect(final.phase == .completed)
        #expect(final.plan?.subQuestions.count == 2)
        let report = try #require(final.report)
        #expect(report.citations.map(\.passage.chunkId).sorted() == ["v1", "w1"])
        #expect(report.markdown.contains("WAL records are flushed to disk before data pages are written. [1]"))
        #expect(final.citationCheck?.unsupportedSentences == 0)
        // The recorded log folds to exactly the state the workflow returned.
        #expect(try TaskState.fold(log.all) == final)
    }

    @Test func aCrashAtAnyStepResumesWithoutLosingOrRepeatingWork() async throws {
        let question = "When are WAL records flushed to disk and what does VACUUM reclaim?"
        let complete = MemoryLog()
        try await complete.recorder(.submitted(question: question, principal: nil))
        _ = try await workflow().run(from: try submitted(question), record: complete.recorder)
        let total = complete.all.count

        for crashPoint in 1..<total {
            let crashed = MemoryLog(crashAfter: crashPoint)
            try await crashed.recorder(.submitted(question: question, principal: nil))
            _ = try? await workflow().run(from: try submitted(question), record: crashed.recorder)
            // Restart: fold what was durably recorded and continue into the same log.
            let survived = crashed.all
            let resumedLog = MemoryLog()
            for event in survived { try await resumedLog.recorder(event) }
            let final = try await workflow().run(from: try TaskState.fold(survived), record: resumedLog.recorder)
            #expect(final.phase == .completed, "crash after \(crashPoint) events")
            let kinds = resumedLog.all.map(\.typeName)
            #expect(kinds.filter { $0 == "TaskPlanned" }.count == 1)
            #expect(kinds.filter { $0 == "ReportSynthesized" }.count == 1)
            #expect(kinds.filter { $0 == "TaskCompleted" }.count == 1)
            #expect(final.report?.citations.count == 2)
        }
    }

    /// A researcher whose knowledge base is away (its database lost) until `available` is set.
    final class AwayResearcher: SubQuestionResearcher {
        struct Away: Error {}
        let inner: RetrievalResearcher
        let available = Mutex(false)
        init(inner: RetrievalResearcher) { self.inner = inner }
        func research(_ subQuestion: SubQuestion) async throws -> [Evidence] {
            guard available.withLock({ $0 }) else { throw Away() }
            return try await inner.research(subQuestion)
        }
    }

    @Test func anInterruptionLeavesTheTaskAtItsLastStepAndAFailureEndsIt() async throws {
        let question = "what does VACUUM reclaim"
        let researcher = AwayResearcher(inner: RetrievalResearcher(retriever: FakeRetriever(passages: Self.passages)))
        var flow = workflow()
        flow.agents.researcher = researcher
        flow.isInterruption = { $0 is AwayResearcher.Away }
        let log = MemoryLog()
        try await log.recorder(.submitted(question: question, principal: nil))
        // Away: the workflow throws it on and records no failure; the task stays planned.
        await #expect(throws: AwayResearcher.Away.self) { try await flow.run(from: try submitted(question), record: log.recorder) }
        #expect(!log.all.map(\.typeName).contains("TaskFailed"))
        let paused = try TaskState.fold(log.all)
        #expect(!paused.isTerminal)
        // Back: the same task resumes from its recorded steps and completes.
        researcher.available.withLock { $0 = true }
        let final = try await flow.run(from: paused, record: log.recorder)
        #expect(final.phase == .completed)
        #expect(log.all.map(\.typeName).filter { $0 == "TaskPlanned" }.count == 1)
        // Without the classification the same error is a failure of the research.
        researcher.available.withLock { $0 = false }
        var strict = flow
        strict.isInterruption = { _ in false }
        let failed = try await strict.run(from: try submitted(question), record: MemoryLog().recorder)
        #expect(failed.phase == .failed)
    }

    /// An evaluator that is never satisfied.
    struct NeverSatisfied: ResearchEvaluator {
        func evaluate(subQuestions: [SubQuestion], evidence: [String: [Evidence]], round: Int) async throws -> Critique {
            Critique(coverage: 0, revisions: subQuestions, notes: ["more"])
        }
    }

    @Test func theSelfCorrectionLoopAlwaysEnds() async throws {
        // Out of research time: no second round starts; the report is written from round one.
        let timed = try await workflow(evaluator: NeverSatisfied(), budget: ResearchBudget(researchTime: .zero))
            .run(from: try submitted("what does VACUUM reclaim"), record: MemoryLog().recorder)
        #expect(timed.phase == .completed)
        #expect(timed.round == 1)
        // Plenty of time (an hour: a starved main run once took over 60 s for these rounds, and
        // then research time ended it first): the step budget stops it, and the failure says why.
        let bounded = try await workflow(evaluator: NeverSatisfied(), budget: ResearchBudget(researchTime: .seconds(3600), maximumEvents: 40))
            .run(from: try submitted("what does VACUUM reclaim"), record: MemoryLog().recorder)
        #expect(bounded.phase == .failed)
        #expect(bounded.endReason?.contains("budget of 40 steps") == true)
        // The built-in evaluator's round limit ends it with a report.
        let limited = try await workflow(evaluator: CoverageEvaluator(threshold: 2, maximumRounds: 3))
            .run(from: try submitted("what does VACUUM reclaim"), record: MemoryLog().recorder)
        #expect(limited.phase == .completed)
        #expect(limited.round == 3)
    }

    /// A researcher that says something about how it worked, as an LLM one does when it falls back.
    struct NotingResearcher: SubQuestionResearcher {
        let inner: RetrievalResearcher
        func research(_ subQuestion: SubQuestion) async throws -> [Evidence] { try await inner.research(subQuestion) }
        func findings(for subQuestion: SubQuestion) async throws -> ResearchFindings {
            ResearchFindings(evidence: try await research(subQuestion), notes: ["the built-in researcher stood in"])
        }
    }

    @Test func notesOfResearchersAndCritiquesReachTheReportOnceAndSurviveAResume() async throws {
        let question = "When are WAL records flushed to disk and what does VACUUM reclaim?"
        var flow = workflow()
        flow.agents.researcher = NotingResearcher(inner: RetrievalResearcher(retriever: FakeRetriever(passages: Self.passages)))
        let log = MemoryLog()
        try await log.recorder(.submitted(question: question, principal: nil))
        let final = try await flow.run(from: try submitted(question), record: log.recorder)
        let report = try #require(final.report)
        #expect(report.notes == ["the built-in researcher stood in"], "two sub-questions, one note")
        #expect(report.markdown.contains("> Note: the built-in researcher stood in"))
        // The notes are in the log, so a restart's fold has them too.
        #expect(try TaskState.fold(log.all).reportNotes == ["the built-in researcher stood in"])
    }

    @Test func aCanceledTaskRecordsWhy() async throws {
        let log = MemoryLog()
        let task = Task { try await workflow().run(from: try submitted("what does VACUUM reclaim"), record: log.recorder) }
        task.cancel()
        let final = try await task.value
        #expect(final.phase == .canceled)
        #expect(final.endReason?.hasPrefix("canceled while") == true)
    }
}
