import AresTestSupport
import Agents
import Foundation
import Logging
import PostgresStorage
import ResearchCore
import Storage
import Synchronization
import TaskService
import Testing

/// Two replicas (each its own pool, event store, directory, runner, change feed and follower)
/// on one real PostgreSQL: a subscriber on B sees the steps A records, live, to the end; a
/// cancel on B stops the task where it runs (A) or waits (A's queue), once and durably.
@Suite struct CrossReplicaTaskTests {
    typealias OnePassage = OnePassageRetriever
    typealias Gate = GatedRetriever

    struct Replica {
        var store: PostgresEventStore
        var service: ResearchTaskService
        var runner: TaskRunner
        var feed: PostgresChangeFeed
        var follower: TaskChangeFollower
        var directory: TaskDirectory { runner.directory }
    }

    static func replica(_ database: PostgresDatabase, retriever: any PassageRetriever, running: Int = 2) -> Replica {
        let agents = ResearchAgents(planner: HeuristicPlanner(), researcher: RetrievalResearcher(retriever: retriever),
                                    evaluator: CoverageEvaluator(), synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker())
        let store = PostgresEventStore(database: database)
        let service = ResearchTaskService(store: store, workflow: ResearchWorkflow(agents: agents))
        let runner = TaskRunner(directory: TaskDirectory(service: service), limits: .init(maximumRunning: running, maximumQueued: 100),
                                logger: .quiet)
        let feed = PostgresChangeFeed(database: database, logger: .quiet)
        return Replica(store: store, service: service, runner: runner, feed: feed,
                       follower: TaskChangeFollower(runner: runner, feed: feed, logger: .quiet))
    }

    /// Two replicas, A with `retrieverA`, each with its own pool, all running for `body`.
    static func withReplicas(retrieverA: any PassageRetriever, runningA: Int = 2,
                             _ body: (Replica, Replica) async throws -> Void) async throws {
        let database = try await PostgresTestDatabase.make("replicas")
        let settings = try database.settings()
        try await PostgresDatabase.withDatabase(settings: settings, logger: .quiet) { first in
            try await PostgresDatabase.withDatabase(settings: settings, logger: .quiet) { second in
                let a = replica(first, retriever: retrieverA, running: runningA)
                let b = replica(second, retriever: OnePassage())
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for replica in [a, b] {
                        group.addTask { try await replica.feed.run() }
                        group.addTask { await replica.follower.run() }
                        group.addTask { await replica.runner.run() }
                    }
                    defer { group.cancelAll() }
                    // Both feeds have made their first read: what is committed from now on reaches them.
                    #expect(try await PostgresChangeFeedTests.eventually { a.feed.readsCompleted > 0 && b.feed.readsCompleted > 0 })
                    try await body(a, b)
                    a.runner.stop()
                    b.runner.stop()
                }
            }
        }
    }

    @Test func aSubscriberOnBSeesTheStepsARecordsLiveToTheEnd() async throws {
        let gate = Gate()
        try await Self.withReplicas(retrieverA: gate) { a, b in
            let submitted = try await a.runner.submit(question: "How are tasks resumed after a restart?", principal: "tester", contextID: nil)
            #expect(try await PostgresChangeFeedTests.eventually { gate.entered.withLock { $0 } > 0 }, "the task runs on A")
            // B has never seen the task: looking at it makes it live there.
            let seen = try await b.directory.snapshot(of: submitted.id)
            #expect(!seen.state.isTerminal)
            let subscription = try #require(b.directory.subscribe(to: submitted.id), "a task running on A is live on B")
            gate.release()
            var versions: [Int64] = []
            var last = subscription.snapshot
            for await update in subscription.updates {
                versions.append(update.stored.version)
                last = update.snapshot
            }
            let stored = try await a.store.read(stream: submitted.id)
            #expect(last.state.phase == .completed, "B's subscription ended with the task")
            #expect(last.version == stored.last?.version)
            #expect(versions == Array((subscription.snapshot.version + 1)...(stored.last?.version ?? 0)),
                    "every step after B's snapshot, once, in order")
            // Ended: B answers from memory, with what the store holds.
            let cached = try #require(b.directory.cachedSnapshot(of: submitted.id))
            #expect(cached.state.phase == .completed && cached.version == stored.last?.version)
            #expect(cached.state.report == (try await a.service.state(of: submitted.id)).report)
            // B lists A's task, as it ended.
            #expect(try await PostgresChangeFeedTests.eventually {
                (try await b.service.listing.page(TaskListingQuery())).entries.contains { $0.id == submitted.id && $0.coarseState == .completed }
            })
        }
    }

    @Test func aCancelOnBStopsTheRunOnAAndIsRecordedOnce() async throws {
        let gate = Gate()
        try await Self.withReplicas(retrieverA: gate) { a, b in
            let submitted = try await a.runner.submit(question: "How are tasks resumed after a restart?", principal: "tester", contextID: nil)
            #expect(try await PostgresChangeFeedTests.eventually { gate.entered.withLock { $0 } > 0 && a.runner.runningCount == 1 })
            let asked = ContinuousClock.now
            let canceled = try await b.runner.cancel(submitted.id, reason: "canceled on replica B")
            #expect(canceled.state.phase == .canceled)
            #expect(try await PostgresChangeFeedTests.eventually { a.runner.runningCount == 0 }, "the run on A stopped")
            let stopped = ContinuousClock.now - asked
            print("MEASURE cross-replica cancel: CancelTask on B to the run stopping on A: \(stopped)")
            // Canceled once, by B's event, and A recorded nothing after it.
            let events = try await a.service.events(of: submitted.id)
            #expect(events.filter { if case .canceled = $0.event { true } else { false } }.count == 1)
            if case let .canceled(reason)? = events.last?.event { #expect(reason == "canceled on replica B") } else { Issue.record("the last event is \(String(describing: events.last?.event))") }
            #expect(try await a.store.verify().isIntact)
            // A's directory ended the task too, and a second cancel changes nothing.
            #expect(try await PostgresChangeFeedTests.eventually { a.directory.cachedSnapshot(of: submitted.id)?.state.phase == .canceled })
            let again = try await b.runner.cancel(submitted.id, reason: "once more")
            #expect(again.state.phase == .canceled)
            #expect(try await a.store.read(stream: submitted.id).count == events.count, "canceling again records nothing")
        }
    }

    @Test func aCancelOnBTakesATaskWaitingOnAOutOfAsQueue() async throws {
        let gate = Gate()
        try await Self.withReplicas(retrieverA: gate, runningA: 1) { a, b in
            let first = try await a.runner.submit(question: "How are tasks resumed after a restart?", principal: "tester", contextID: nil)
            let waiting = try await a.runner.submit(question: "What does a restart resume?", principal: "tester", contextID: nil)
            #expect(try await PostgresChangeFeedTests.eventually { a.runner.runningCount == 1 })
            #expect(a.runner.queuedCount == 1)
            let canceled = try await b.runner.cancel(waiting.id, reason: "canceled on replica B")
            #expect(canceled.state.phase == .canceled)
            #expect(try await PostgresChangeFeedTests.eventually { a.runner.queuedCount == 0 }, "A took it out of its queue")
            gate.release()
            #expect(try await PostgresChangeFeedTests.eventually { (try? await a.service.state(of: first.id))?.isTerminal == true })
            #expect(try await a.store.read(stream: waiting.id).map(\.type) == ["TaskSubmitted", "TaskCanceled"], "it never ran")
        }
    }
}
