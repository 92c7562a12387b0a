import AresTestSupport
import Agents
import Foundation
import ResearchCore
import Storage
import Synchronization
@testable import TaskService
import Testing

/// On PostgreSQL the change feed can read a replica's own commit back before the append that
/// made it returns: the directory then applies the step from the feed first, and the runner's
/// publish of it finds it applied. The listeners (push notifications, step tracing, metrics)
/// must still hear of it, once (found by TracingTests on PostgreSQL: a step's span missing).
@Suite struct TaskDirectoryFollowedStepTests {
    final class Heard: Sendable {
        private let versions = Mutex<[Int64]>([])
        func record(_ update: TaskUpdate) { versions.withLock { $0.append(update.snapshot.version) } }
        var all: [Int64] { versions.withLock { $0 } }
    }

    static func directory() throws -> (TaskDirectory, Heard) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ares-directory-\(UUID().uuidString).sqlite").path
        let agents = ResearchAgents(planner: HeuristicPlanner(), researcher: RetrievalResearcher(retriever: OnePassageRetriever()),
                                    evaluator: CoverageEvaluator(), synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker())
        let directory = TaskDirectory(service: ResearchTaskService(store: try SQLiteEventStore(path: path), workflow: ResearchWorkflow(agents: agents)))
        let heard = Heard()
        directory.addListener { heard.record($0) }
        return (directory, heard)
    }

    static func liveTask(_ id: String) throws -> TaskSnapshot {
        var state = TaskState()
        try state.apply(.submitted(question: "How are tasks resumed?", principal: nil))
        return TaskSnapshot(id: id, state: state, version: 1, updatedAt: Date())
    }

    static func stored(_ id: String, version: Int64, type: String) -> StoredEvent {
        StoredEvent(stream: id, version: version, globalPosition: version, type: type, payload: Data(),
                    recordedAtMicroseconds: Int64(Date().timeIntervalSince1970 * 1_000_000), hash: "", previousHash: "")
    }

    @Test func aStepTheFeedAppliedFirstIsHeardOnceWhenTheRunnerPublishesIt() throws {
        let (directory, heard) = try Self.directory()
        let id = "task-feed-first"
        directory.register(try Self.liveTask(id))
        directory.markStarted(id)
        let ending = Self.stored(id, version: 2, type: "TaskCanceled")
        directory.publish(id, stored: ending, event: .canceled(reason: "test"), local: false)
        #expect(heard.all.isEmpty, "the feed's copy alone is not a step recorded here")
        directory.publish(id, stored: ending, event: .canceled(reason: "test"), local: true)
        #expect(heard.all == [2], "the runner's publish tells the listeners, with the snapshot at that step")
        directory.publish(id, stored: ending, event: .canceled(reason: "test"), local: true)
        #expect(heard.all == [2], "once")
    }

    @Test func stepsOfTasksThatRunElsewhereStayUnheard() throws {
        let (directory, heard) = try Self.directory()
        let id = "task-elsewhere"
        // Live here (someone looked at it), run by another replica: its steps come from the feed.
        directory.register(try Self.liveTask(id))
        directory.publish(id, stored: Self.stored(id, version: 2, type: "TaskCanceled"), event: .canceled(reason: "test"), local: false)
        #expect(heard.all.isEmpty, "the replica that recorded the step notifies for it")
        #expect(directory.cachedSnapshot(of: id)?.version == 2)
    }
}
