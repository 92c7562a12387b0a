import Foundation
import ResearchCore
import Storage

/// One line of a task listing, known without folding the task: its owner and context from
/// its first event, its coarse state and time from the stream's last event.
public struct TaskListingEntry: Sendable {
    public var id: String
    public var owner: String?
    public var contextID: String
    public var lastType: String
    public var updatedAt: Date
    /// The stream's version (its number of events) when this entry was read.
    public var version: Int64

    /// The state implied by the last recorded event.
    public var coarseState: CoarseTaskState { CoarseTaskState(lastType: lastType) }
}

/// Where a task stands, as far as its last event type tells.
public enum CoarseTaskState: Sendable, Hashable, CaseIterable {
    case submitted, working, completed, failed, canceled

    public init(lastType: String) {
        switch lastType {
        case "TaskCompleted": self = .completed
        case "TaskFailed": self = .failed
        case "TaskCanceled": self = .canceled
        case "TaskSubmitted": self = .submitted
        default: self = .working
        }
    }
}

/// Lists tasks from the event store in two queries (stream heads and first events), newest
/// first, so that filtering by owner, context, state or time needs no replay.
public enum TaskListing {
    public static func entries(in store: any EventStore) async throws -> [TaskListingEntry] {
        async let streams = store.streams()
        async let firsts = store.firstPayloads(streamPrefix: "task-")
        let (heads, payloads) = try await (streams, firsts)
        var entries: [TaskListingEntry] = []
        entries.reserveCapacity(payloads.count)
        for head in heads where head.stream.hasPrefix("task-") {
            guard let payload = payloads[head.stream],
                  case let .submitted(_, principal, contextID)? = try? TaskEventCodec.decode(payload) else { continue }
            entries.append(TaskListingEntry(id: head.stream, owner: principal, contextID: contextID ?? head.stream,
                                            lastType: head.lastType, updatedAt: head.lastRecordedAt, version: head.version))
        }
        return entries
    }

    /// One page of a listing read from the store (every task scanned): what a listing costs
    /// without the in-memory projection, and the projection's reference in tests.
    public static func page(in store: any EventStore, _ query: TaskListingQuery) async throws -> TaskListingPage {
        TaskListingPage.paging(try await entries(in: store), query)
    }
}
