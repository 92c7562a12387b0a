import AresTestSupport
import Agents
import Foundation
import ResearchCore
import Storage
import TaskService
import Testing

/// The in-memory task listing against the store's own listing (`TaskListing.page(in:)`, what
/// ListTasks read before): same tasks, same totals, same filters, newest first, over tasks from
/// an earlier run (rebuilt from the log), tasks submitted, run and canceled since, retention,
/// a capacity that overflows, and events of tasks the projection never saw begin.
@Suite struct TaskListingProjectionTests {
    typealias OnePassage = OnePassageRetriever

    static func service(_ store: SQLiteEventStore, capacity: Int = TaskListingProjection.defaultCapacity) -> ResearchTaskService {
        let agents = ResearchAgents(planner: HeuristicPlanner(), researcher: RetrievalResearcher(retriever: OnePassage()),
                                    evaluator: CoverageEvaluator(), synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker())
        return ResearchTaskService(store: store, workflow: ResearchWorkflow(agents: agents), listingCapacity: capacity)
    }

    static func temporaryStore() throws -> (SQLiteEventStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ares-listing-\(UUID().uuidString).sqlite").path
        return (try SQLiteEventStore(path: path), path)
    }

    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Filters worth comparing: everyone's and one owner's, by context, by state, by time,
    /// pages in the middle and past the end, and an owner with no task.
    static func queries(after: Date) -> [TaskListingQuery] {
        var queries: [TaskListingQuery] = []
        for owner in [nil, "alice", "bob", "nobody"] as [String?] {
            queries.append(TaskListingQuery(owner: owner, limit: 1000))
            queries.append(TaskListingQuery(owner: owner, offset: 3, limit: 4))
            queries.append(TaskListingQuery(owner: owner, contextID: "ctx-1", limit: 1000))
            queries.append(TaskListingQuery(owner: owner, states: [.completed], limit: 1000))
            queries.append(TaskListingQuery(owner: owner, states: [.submitted, .canceled], limit: 1000))
            queries.append(TaskListingQuery(owner: owner, states: [], limit: 1000))
            queries.append(TaskListingQuery(owner: owner, updatedAfter: after, limit: 1000))
            queries.append(TaskListingQuery(owner: owner, offset: 500, limit: 10))
        }
        return queries
    }

    /// The projection answers as the store does. Equal times may be ordered either way by the
    /// store, so a page is compared as a set when it is the whole listing, and ordering is
    /// checked as newest first.
    static func expectSameAsStore(_ service: ResearchTaskService, _ queries: [TaskListingQuery],
                                  sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for query in queries {
            let memory = try await service.listing.page(query)
            let stored = try await TaskListing.page(in: service.store, query)
            #expect(memory.totalSize == stored.totalSize, "totalSize for \(query)", sourceLocation: sourceLocation)
            #expect(memory.entries.count == stored.entries.count, "page size for \(query)", sourceLocation: sourceLocation)
            let dates = memory.entries.map(\.updatedAt)
            #expect(dates == dates.sorted(by: >), "newest first for \(query)", sourceLocation: sourceLocation)
            if query.offset == 0, stored.totalSize <= query.limit {
                func describe(_ page: TaskListingPage) -> [String] {
                    page.entries.map { "\($0.id) \($0.owner ?? "-") \($0.contextID) \($0.lastType) \($0.version) \($0.updatedAt.timeIntervalSince1970)" }.sorted()
                }
                #expect(describe(memory) == describe(stored), "entries for \(query)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func listsWhatTheStoreListsAcrossARestartAndLaterSteps() async throws {
        let (store, path) = try Self.temporaryStore()
        defer { Self.remove(path) }
        // An earlier run: submitted, completed and canceled tasks of two owners and the CLI.
        let earlier = Self.service(store)
        var waiting: [String] = []
        for index in 0..<12 {
            let owner: String? = index % 5 == 4 ? nil : (index % 2 == 0 ? "alice" : "bob")
            let id = try await earlier.submit(question: "How are tasks resumed, take \(index)?", principal: owner,
                                              contextID: index % 3 == 0 ? "ctx-1" : nil)
            switch index % 4 {
            case 0: _ = try await earlier.run(id)
            case 1: _ = try await earlier.cancelNotRunning(id, reason: "not needed")
            default: waiting.append(id)
            }
        }
        // This run: steps of tasks from the earlier run recorded before the first listing
        // (kept until the log is read), then new tasks.
        let service = Self.service(store)
        _ = try await service.run(waiting[0])
        _ = try await service.cancelNotRunning(waiting[1], reason: "canceled after the restart")
        let after = Date()
        let fresh = try await service.submit(question: "What is new?", principal: "alice", contextID: "ctx-1")
        try await Self.expectSameAsStore(service, Self.queries(after: after))
        #expect(service.listing.count == 13)
        // After the log was read: every step arrives as it is recorded.
        _ = try await service.run(fresh)
        _ = try await service.run(waiting[2])
        for index in 0..<5 { _ = try await service.submit(question: "Later question \(index)?", principal: "bob", contextID: nil) }
        _ = try await service.cancelNotRunning(waiting[3], reason: "later")
        try await Self.expectSameAsStore(service, Self.queries(after: after))
        let newest = try await service.listing.page(TaskListingQuery(owner: "bob", limit: 1))
        #expect(newest.entries.first?.id == waiting[3], "the task canceled last is the newest")
        #expect(newest.entries.first?.coarseState == .canceled)
    }

    @Test func concurrentFirstListingsAgree() async throws {
        let (store, path) = try Self.temporaryStore()
        defer { Self.remove(path) }
        let earlier = Self.service(store)
        for index in 0..<30 { _ = try await earlier.submit(question: "Question \(index)?", principal: index % 2 == 0 ? "alice" : "bob") }
        let service = Self.service(store)
        let totals = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 { group.addTask { try await service.listing.page(TaskListingQuery(owner: "alice", limit: 5)).totalSize } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(totals == Array(repeating: 15, count: 16))
        #expect(service.listing.count == 30)
    }

    @Test func retentionRemovesTasksFromTheListing() async throws {
        let (store, path) = try Self.temporaryStore()
        defer { Self.remove(path) }
        let service = Self.service(store)
        var ids: [String] = []
        for index in 0..<4 {
            let id = try await service.submit(question: "Question \(index)?", principal: "alice")
            _ = try await service.run(id)
            ids.append(id)
        }
        try await service.listing.load()
        let report = try await TaskRetention(service: service).prune(endedBefore: Date().addingTimeInterval(60))
        #expect(report.prunedTasks == 4)
        #expect(try await service.listing.page(TaskListingQuery(limit: 10)).totalSize == 0)
        try await Self.expectSameAsStore(service, Self.queries(after: .distantPast))
        // ListTasks drops a listed task the store no longer has (pruned by another process).
        let kept = try await service.submit(question: "Still here?", principal: "alice")
        service.listing.remove([kept])
        #expect(try await service.listing.page(TaskListingQuery(limit: 10)).entries.isEmpty)
    }

    @Test func pastItsCapacityTheStoreAnswers() async throws {
        let (store, path) = try Self.temporaryStore()
        defer { Self.remove(path) }
        let service = Self.service(store, capacity: 5)
        for index in 0..<8 { _ = try await service.submit(question: "Question \(index)?", principal: "alice") }
        #expect(service.listing.count == 0, "over its capacity the projection keeps nothing")
        try await Self.expectSameAsStore(service, Self.queries(after: .distantPast))
        #expect(try await service.listing.page(TaskListingQuery(limit: 100)).totalSize == 8)

        let (other, otherPath) = try Self.temporaryStore()
        defer { Self.remove(otherPath) }
        let storeOnly = Self.service(other, capacity: 0)
        _ = try await storeOnly.submit(question: "Listed from the store?", principal: "bob")
        #expect(try await storeOnly.listing.page(TaskListingQuery(owner: "bob", limit: 10)).totalSize == 1)
        #expect(storeOnly.listing.count == 0)
    }

    @Test func aStepOfATaskItNeverSawBeginMakesItReadTheLogAgain() async throws {
        let (store, path) = try Self.temporaryStore()
        defer { Self.remove(path) }
        let service = Self.service(store)
        _ = try await service.submit(question: "Known here?", principal: "alice")
        try await service.listing.load()
        // Another writer (a replica) submits a task and the change feed delivers only its
        // second event.
        let elsewhere = Self.service(store, capacity: 0)
        let id = try await elsewhere.submit(question: "Submitted elsewhere?", principal: "bob")
        let canceled = try await elsewhere.recordCancellation(id, reason: "elsewhere")
        let stored = try #require(canceled.stored)
        service.listing.record(stored)
        let bob = try await service.listing.page(TaskListingQuery(owner: "bob", limit: 10))
        #expect(bob.entries.map(\.id) == [id])
        #expect(bob.entries.first?.coarseState == .canceled)
        // Recording an event twice, or an older one, changes nothing.
        service.listing.record(stored)
        let first = try #require(try await store.read(stream: id).first)
        service.listing.record(first)
        #expect(try await service.listing.page(TaskListingQuery(owner: "bob", limit: 10)).entries.first?.coarseState == .canceled)
        try await Self.expectSameAsStore(service, Self.queries(after: .distantPast))
    }
}
