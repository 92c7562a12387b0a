import ResearchCore
import Synchronization

/// A retriever with one passage that answers every question: research takes no time (or
/// `delay` per retrieval), so task-engine tests measure the engine, not the search.
public struct OnePassageRetriever: PassageRetriever {
    public var delay: Duration

    public init(delay: Duration = .zero) {
        self.delay = delay
    }

    public func retrieve(_ query: String, limit: Int) async throws -> [RetrievedPassage] {
        if delay > .zero { try await Task.sleep(for: delay) }
        let text = "Tasks are resumed from their last recorded step after a restart."
        return [RetrievedPassage(passage: Passage(chunkId: "c1", source: "tasks.md", title: "Tasks", headingPath: [],
                                                  text: text, start: 0, end: text.unicodeScalars.count), score: 1)]
    }
}

/// Holds every retrieval until `release()` (or the task is canceled): the tasks that reach
/// research stay running, so a test can act on running tasks. `entered` counts retrievals begun.
public final class GatedRetriever: PassageRetriever {
    private let open = Mutex(false)
    public let entered = Mutex(0)

    public init() {}

    public func release() { open.withLock { $0 = true } }

    public func retrieve(_ query: String, limit: Int) async throws -> [RetrievedPassage] {
        entered.withLock { $0 += 1 }
        while !open.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        return try await OnePassageRetriever().retrieve(query, limit: limit)
    }
}
