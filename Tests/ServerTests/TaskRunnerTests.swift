import Agents
import Foundation
import ResearchCore
import Server
import Storage
import TaskService
import Testing

/// The task runner in process, over a real SQLite event store, for races a client over the
/// network hits only now and then.
@Suite struct TaskRunnerTests {
    /// One passage that answers everything: research takes no time.
    struct OnePassage: PassageRetriever {
        func retrieve(_ query: String, limit: Int) async throws -> [RetrievedPassage] {
            let text = "Tasks are resumed from their last recorded step after a restart."
            return [RetrievedPassage(passage: Passage(chunkId: "c1", source: "tasks.md", title: "Tasks", headingPath: [],
                                                      text: text, start: 0, end: text.unicodeScalars.count), score: 1)]
        }
    }

    @Test func aTaskCanceledAsItIsTakenUpEndsCanceledNotLeftSubmitted() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ares-runner-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let agents = ResearchAgents(planner: HeuristicPlanner(), researcher: RetrievalResearcher(retriever: OnePassage()),
                                    evaluator: CoverageEvaluator(), synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker())
        let service = ResearchTaskService(store: try SQLiteEventStore(path: path), workflow: ResearchWorkflow(agents: agents))
        let runner = TaskRunner(directory: TaskDirectory(service: service), limits: .init(maximumRunning: 2, maximumQueued: 100))
        // Submitting starts the task at once (a worker is free); canceling right after reaches
        // it before it has read its own events, let alone recorded a step.
        for index in 0..<20 {
            let submitted = try await runner.submit(question: "How are tasks resumed, take \(index)?", principal: "tester", contextID: nil)
            let after = try await runner.cancel(submitted.id, reason: "canceled by the test")
            #expect(after.state.phase == .canceled, "task \(index) ended \(String(describing: after.state.phase))")
            let stored = try await service.state(of: submitted.id)
            #expect(stored.phase == .canceled, "the store says \(String(describing: stored.phase))")
        }
        #expect(try await service.unfinishedTasks().isEmpty, "no task is left for a restart to run")
    }
}
