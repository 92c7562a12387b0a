import Foundation
import ResearchCore
import Storage

/// What one retention pass did.
public struct TaskPruneReport: Sendable, Equatable {
    /// Tasks removed (each leaving a summary and a chain checkpoint).
    public var prunedTasks = 0
    /// Chosen tasks that were kept: they changed meanwhile, or their events cannot be replayed
    /// (a damaged task is left for `ares verify` to report, never removed unseen).
    public var keptTasks = 0
    /// The event store's size (file + WAL) before and after.
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0

    public init() {}
}

/// Removes tasks that ended before a cutoff (retention), keeping for each a summary (who asked
/// what, how it ended, the report's hash) and, in the store, its chain checkpoint. Only ended
/// tasks are removed: a task that is still queued or running is never touched, however old.
/// A task's push-notification configs go with it.
public struct TaskRetention: Sendable {
    /// Tasks summarized and removed per store transaction.
    public static let batchSize = 200

    public let store: any EventStore
    /// The listing of a service in this process, which drops pruned tasks (nil: none here,
    /// as for `ares tasks prune` on a shared database).
    public let listing: TaskListingProjection?
    /// Forgets pruned tasks cached in memory (a server's), so that reads answer "pruned".
    public let directory: TaskDirectory?

    public init(service: ResearchTaskService, directory: TaskDirectory? = nil) {
        self.init(store: service.store, listing: service.listing, directory: directory)
    }

    /// Retention over a store alone (other replicas learn of it from the `ares-retention`
    /// record, through their change feed).
    public init(store: any EventStore, listing: TaskListingProjection? = nil, directory: TaskDirectory? = nil) {
        self.store = store
        self.listing = listing
        self.directory = directory
    }

    /// Prunes every task whose last event is an end recorded before `cutoff`.
    public func prune(endedBefore cutoff: Date) async throws -> TaskPruneReport {
        let streams = try await store.streams()
        let versions = Dictionary(streams.map { ($0.stream, $0.version) }, uniquingKeysWith: { first, _ in first })
        let ending: Set<String> = ["TaskCompleted", "TaskFailed", "TaskCanceled"]
        let candidates = streams.filter { $0.stream.hasPrefix("task-") && ending.contains($0.lastType) && $0.lastRecordedAt < cutoff }
        var report = TaskPruneReport()
        var start = candidates.startIndex
        var first = true
        while start < candidates.endIndex {
            let end = min(start + Self.batchSize, candidates.endIndex)
            var requests: [PruneRequest] = []
            for candidate in candidates[start..<end] {
                guard let request = try await pruneRequest(for: candidate.stream) else {
                    report.keptTasks += 1
                    continue
                }
                requests.append(request)
                let push = PushNotificationConfigStore.stream(candidate.stream)
                if let version = versions[push] { requests.append(PruneRequest(stream: push, expectedVersion: version, summary: Data())) }
            }
            start = end
            guard !requests.isEmpty else { continue }
            let outcome = try await store.prune(requests)
            if first { report.bytesBefore = outcome.bytesBefore }
            first = false
            report.bytesAfter = outcome.bytesAfter
            let prunedTasks = outcome.pruned.map(\.stream).filter { $0.hasPrefix("task-") }
            report.prunedTasks += prunedTasks.count
            report.keptTasks += outcome.skipped.filter { $0.hasPrefix("task-") }.count
            directory?.forget(prunedTasks)
            listing?.remove(prunedTasks)
        }
        return report
    }

    /// The request that removes the task, with its summary; nil when it has not ended (it
    /// changed since it was chosen) or cannot be replayed.
    private func pruneRequest(for id: String) async throws -> PruneRequest? {
        let events = try await store.read(stream: id)
        guard let last = events.last else { return nil }
        var state = TaskState()
        var decoder = TaskEventStreamDecoder()
        for event in events {
            guard let decoded = try? decoder.decode(event.payload).event, (try? state.apply(decoded)) != nil else { return nil }
        }
        guard state.isTerminal else { return nil }
        let summary = PrunedTaskSummary(taskID: id, state: state, events: events)
        return PruneRequest(stream: id, expectedVersion: last.version, summary: try summary.encoded())
    }
}
