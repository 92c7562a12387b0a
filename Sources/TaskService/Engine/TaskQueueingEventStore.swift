import Storage

/// An event store that can queue a new task in the same commit that records the task's first
/// event: a backend whose work-queue rows live in its own database (PostgreSQL, where
/// `ares_task_queue` sits beside `ares_events`).
///
/// Why one commit: recording a task and then queueing it costs a second durable flush per
/// submission, and leaves a moment in which the task is recorded but not queued. A submitter
/// that dies in that moment leaves a task only a restart would run, and a replica that starts
/// then and resumes unfinished tasks races the submitter for the queue row. Recorded and queued
/// together, a submission is both or neither.
///
/// `TaskRunner.submit` uses it only when the store and the runner's queue name the same
/// database (`queueDomain`), so a row is never written into a queue that nobody claims from;
/// otherwise (SQLite, an in-process queue) it records, then enqueues, as before.
public protocol TaskQueueingEventStore: EventStore {
    /// The database whose transactions hold the queue rows `appendQueueing` writes; nil when
    /// this store cannot write them (a wrapper around a store that cannot).
    var queueDomain: ObjectIdentifier? { get }
    /// Appends `events` as the first events of the new stream `stream` (expected version 0:
    /// a stream that exists fails with `EventStoreError.versionConflict`) and queues the task
    /// `stream`, submitted by `owner`, in the same transaction: both are committed or neither.
    ///
    /// With `leasedTo`, the row is written already claimed (by that replica, attempt 1, for
    /// that long), as `TaskWorkQueue.claim` would leave it: the replica that takes a submission
    /// and has a free worker runs it without a claim of its own.
    func appendQueueing(_ events: [NewEvent], toNewStream stream: String, owner: String?,
                        leasedTo lease: TaskQueueLease?) async throws -> [StoredEvent]
}

extension TaskQueueingEventStore {
    /// Queued unclaimed: any runner may claim it.
    public func appendQueueing(_ events: [NewEvent], toNewStream stream: String, owner: String?) async throws -> [StoredEvent] {
        try await appendQueueing(events, toNewStream: stream, owner: owner, leasedTo: nil)
    }
}
