import Foundation
import ResearchCore
import Storage
import Testing
@testable import TaskService

@Suite struct EpisodicMemoryTests {
    final class Scratch: @unchecked Sendable {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ares-memory-\(UUID().uuidString).sqlite").path
        deinit { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
    }

    func episode(_ id: String, _ question: String, at date: Date) -> Episode {
        Episode(taskID: id, question: question, plan: ResearchPlan(subQuestions: [SubQuestion(id: "sq1", text: question, queries: [question])]),
                sources: ["a.html"], coverage: 1, supportedSentences: 3, recordedAt: date)
    }

    @Test func recallsTheMostSimilarRecentEpisodeAboveTheThreshold() async throws {
        let scratch = Scratch()
        let now = Date()
        let memory = EventStoreEpisodicMemory(store: try SQLiteEventStore(path: scratch.path), threshold: 0.8, now: { now })
        try await memory.record(episode("task-1", "How do I restore a pg_dump archive?", at: now.addingTimeInterval(-60)))
        try await memory.record(episode("task-2", "What does VACUUM FULL lock?", at: now.addingTimeInterval(-30)))
        #expect(try await memory.recall(similarTo: "how do I restore a pg_dump archive")?.taskID == "task-1")
        #expect(try await memory.recall(similarTo: "How do I tune autovacuum?") == nil)
        try await memory.record(episode("task-3", "How do I restore a pg_dump archive?", at: now))
        #expect(try await memory.recall(similarTo: "How do I restore a pg_dump archive?")?.taskID == "task-3", "the newest of equals")
    }

    @Test func oldEpisodesDecayAndCanBeForgotten() async throws {
        let scratch = Scratch()
        let now = Date()
        let store = try SQLiteEventStore(path: scratch.path)
        let memory = EventStoreEpisodicMemory(store: store, retention: .seconds(3600), now: { now })
        try await memory.record(episode("old", "What is WAL?", at: now.addingTimeInterval(-7200)))
        #expect(try await memory.recall(similarTo: "What is WAL?") == nil, "older than the retention")
        try await memory.record(episode("recent", "What is WAL?", at: now.addingTimeInterval(-60)))
        #expect(try await memory.recall(similarTo: "What is WAL?")?.taskID == "recent")
        try await memory.forget(before: now)
        #expect(try await memory.recall(similarTo: "What is WAL?") == nil)
        #expect(try await store.verify().isIntact)
    }

    @Test func similarityIsJaccardOverWords() {
        #expect(Episode.similarity("What is WAL?", "what is wal") == 1)
        #expect(abs(Episode.similarity("a b c d", "a b c e") - 0.6) < 1e-9)
        #expect(Episode.similarity("x", "y") == 0)
    }
}
