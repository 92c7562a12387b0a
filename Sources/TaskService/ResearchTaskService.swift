import Foundation
import ResearchCore
import Storage

/// Failures of task handling, worded for the person who asked.
public enum ResearchTaskError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidQuestion(String)
    case unknownTask(String)
    case damagedTask(String, String)
    /// The task ended long enough ago that retention removed its events; its summary remains.
    case prunedTask(PrunedTaskSummary)

    public var description: String {
        switch self {
        case let .invalidQuestion(reason): reason
        case let .unknownTask(id): "there is no task '\(id)' (see `ares tasks list`)"
        case let .prunedTask(summary): "\(summary); its events are gone, only this summary and its chain checkpoint remain"
        case let .damagedTask(id, reason): "the event log of task '\(id)' cannot be replayed: \(reason)"
        }
    }
}

/// Submits research tasks and runs them durably: each task is an event stream in the event
/// store, every workflow step is appended (with the expected stream version, so two runners
/// can never interleave one task) before the workflow moves on, and a task's state is the
/// fold of its stored events, from which an interrupted task resumes.
public final class ResearchTaskService: Sendable {
    public static let maximumQuestionLength = 4000

    public let store: any EventStore
    public let workflow: ResearchWorkflow
    /// The task listing in memory, told of every event appended here.
    public let listing: TaskListingProjection
    /// Where evidence stored as references finds its passages' text (the knowledge base); nil:
    /// every referenced passage reads as no longer in the knowledge base.
    public let passages: (any PassageTextSource)?

    /// Which tags the task steps are written with (see `TaskEventFormat`).
    public let eventFormat: TaskEventFormat

    public init(store: any EventStore, workflow: ResearchWorkflow, passages: (any PassageTextSource)? = nil,
                eventFormat: TaskEventFormat = .compact, listingCapacity: Int = TaskListingProjection.defaultCapacity) {
        self.eventFormat = eventFormat
        self.store = store
        self.workflow = workflow
        self.passages = passages
        self.listing = TaskListingProjection(store: store, capacity: listingCapacity)
    }

    /// Records a new task and returns its id; nothing runs yet.
    public func submit(question: String, principal: String? = nil, contextID: String? = nil) async throws -> String {
        try await submitTask(question: question, principal: principal, contextID: contextID).id
    }

    /// Records a new task and returns it as recorded: its id, its state (the fold of its one
    /// event) and when, so that a caller needs no read to show it.
    /// `id`: the task's id when the caller chose it (`taskID(forMessage:principal:)`); a task
    /// with that id that exists already fails the append with `EventStoreError.versionConflict`.
    public func submitTask(question: String, principal: String? = nil, contextID: String? = nil, id chosenID: String? = nil) async throws
        -> (id: String, state: TaskState, recordedAt: Date) {
        let (event, state) = try Self.submission(question: question, principal: principal, contextID: contextID)
        let id = chosenID ?? Self.newTaskID()
        let stored = try await store.append([try Self.encode(event)], to: id, expectedVersion: 0)
        if let first = stored.first { listing.recordSubmitted(first, owner: principal, contextID: contextID) }
        return (id, state, stored.last?.recordedAt ?? Date())
    }

    /// A fresh task id (the stream of its events).
    public static func newTaskID() -> String {
        "task-" + UUID().uuidString.lowercased()
    }

    /// The id of the task that the message `messageID` of `principal` creates: the same for a
    /// retry of that message, on any replica, so that the store's one stream per id makes the
    /// submission idempotent (a second append at version 0 conflicts) in the commit that
    /// records it, with nothing to remember beside the task itself. Shaped like the random ids
    /// (a UUID, version 8: application-defined), from SHA-256 over both strings, each prefixed
    /// with its length so that no two pairs hash the same input; another principal's message
    /// never names this principal's task.
    public static func taskID(forMessage messageID: String, principal: String) -> String {
        let input = "ares-task-for-message|\(principal.utf8.count)|\(principal)|\(messageID.utf8.count)|\(messageID)"
        var hex = Array(ContentSHA256.hex(Data(input.utf8)).prefix(32))
        guard hex.count == 32 else { return newTaskID() }
        hex[12] = "8"
        // The variant bits (10xx): the first hex digit of the fourth group is 8, 9, a or b.
        let variant: [Character] = ["8", "9", "a", "b"]
        hex[16] = variant[(hex[16].hexDigitValue ?? 0) & 3]
        let text = String(hex)
        var groups: [Substring] = []
        var start = text.startIndex
        for length in [8, 4, 4, 4, 12] {
            let end = text.index(start, offsetBy: length)
            groups.append(text[start..<end])
            start = end
        }
        return "task-" + groups.joined(separator: "-")
    }

    /// The store, when it can queue a task in the commit that records it into the queue that
    /// holds its rows in `domain` (see `TaskQueueingEventStore`); nil otherwise.
    public func queueingStore(for domain: ObjectIdentifier?) -> (any TaskQueueingEventStore)? {
        guard let domain, let queueing = store as? any TaskQueueingEventStore, queueing.queueDomain == domain else { return nil }
        return queueing
    }

    /// Records the new task `id` and queues it in the same commit (`queueing` is this service's
    /// store, from `queueingStore(for:)`): both happen or neither. The caller chose the id and
    /// validated the question (`submission`), so it can make the task live and count it as
    /// waiting before a worker can claim it. Returns when the event was recorded.
    /// With `leasedTo`, the task is queued already claimed by that lease's holder.
    public func submitQueuedTask(id: String, _ submission: TaskEvent, owner: String, contextID: String?,
                                 queueing: any TaskQueueingEventStore, leasedTo lease: TaskQueueLease? = nil) async throws -> Date {
        let stored = try await queueing.appendQueueing([try Self.encode(submission)], toNewStream: id, owner: owner, leasedTo: lease)
        if let first = stored.first { listing.recordSubmitted(first, owner: owner, contextID: contextID) }
        return stored.last?.recordedAt ?? Date()
    }

    /// The submitted event of a valid question, and the state it folds to; throws
    /// `ResearchTaskError.invalidQuestion` for an empty or overlong question.
    public static func submission(question: String, principal: String?, contextID: String?) throws -> (TaskEvent, TaskState) {
        let trimmed = question.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ResearchTaskError.invalidQuestion("the question is empty: ask something") }
        guard trimmed.count <= Self.maximumQuestionLength else {
            throw ResearchTaskError.invalidQuestion(
                "the question has \(trimmed.count) characters; the limit is \(Self.maximumQuestionLength) (ask about one thing at a time)")
        }
        let event = TaskEvent.submitted(question: trimmed, principal: principal, contextID: contextID)
        var state = TaskState()
        try state.apply(event)
        return (event, state)
    }

    /// Runs (or resumes) a task to its end, calling `observe` after each recorded step with the
    /// event as stored. `beforeRecording` may throw to stop the task before its next step is
    /// recorded (a server shutting down): the task then stays unfinished and resumes from its
    /// last recorded step.
    public func run(_ id: String,
                    beforeRecording: @escaping @Sendable (TaskEvent) throws -> Void = { _ in },
                    observe: @escaping @Sendable (StoredEvent, TaskEvent) -> Void = { _, _ in }) async throws -> TaskState {
        let (state, version) = try await load(id)
        var context = TaskEventCodec.Context(state: state)
        context.format = eventFormat
        let versionCounter = VersionCounter(version, context: context)
        let store = self.store
        let listing = self.listing
        return try await workflow.run(from: state, taskID: id) { event in
            try beforeRecording(event)
            let expected = versionCounter.value
            let appended = try await store.append([try Self.encode(event, context: versionCounter.context)], to: id, expectedVersion: expected)
            versionCounter.advance(past: event)
            if let stored = appended.last {
                listing.record(stored)
                observe(stored, event)
            }
        }
    }

    /// The task's state, folded from its events.
    public func state(of id: String) async throws -> TaskState {
        try await load(id).state
    }

    /// The task's state with its stream version and the time of its last event.
    public func snapshot(of id: String) async throws -> (state: TaskState, version: Int64, updatedAt: Date) {
        let stored = try await store.read(stream: id)
        guard let last = stored.last else { throw try await absence(of: id) }
        return (try await fold(stored.map(\.payload), task: id), last.version, last.recordedAt)
    }

    /// Records that a task which is not running (queued, or interrupted) was canceled.
    /// Returns the state after it; a task that already ended is returned unchanged.
    public func cancelNotRunning(_ id: String, reason: String) async throws -> TaskState {
        try await recordCancellation(id, reason: reason).state
    }

    /// `cancelNotRunning`, with the event as stored (nil when the task had already ended).
    /// The task may be running on another replica (issue 16): when that replica records a
    /// step first, the cancellation is folded onto the new state and tried again.
    public func recordCancellation(_ id: String, reason: String) async throws -> (state: TaskState, stored: StoredEvent?, event: TaskEvent) {
        let event = TaskEvent.canceled(reason: reason)
        var attempt = 1
        while true {
            var (state, version) = try await load(id)
            guard !state.isTerminal else { return (state, nil, event) }
            do {
                let appended = try await store.append([try Self.encode(event)], to: id, expectedVersion: version)
                if let stored = appended.last { listing.record(stored) }
                try state.apply(event)
                return (state, appended.last, event)
            } catch EventStoreError.versionConflict where attempt < 20 {
                attempt += 1
            }
        }
    }

    public func events(of id: String) async throws -> [(stored: StoredEvent, event: TaskEvent)] {
        let stored = try await store.read(stream: id)
        guard !stored.isEmpty else { throw try await absence(of: id) }
        var decoder = TaskEventStreamDecoder()
        let decoded = try stored.map { try Self.decode($0, task: id, with: &decoder) }
        return zip(stored, try await EvidenceReference.resolve(decoded, from: passages)).map { ($0, $1) }
    }

    /// Tasks whose last recorded step is not an end: what a restart resumes.
    public func unfinishedTasks() async throws -> [String] {
        let ending: Set<String> = ["TaskCompleted", "TaskFailed", "TaskCanceled"]
        return try await store.streams().filter { $0.stream.hasPrefix("task-") && !ending.contains($0.lastType) }.map(\.stream)
    }

    private func load(_ id: String) async throws -> (state: TaskState, version: Int64) {
        let payloads = try await store.readPayloads(stream: id)
        guard !payloads.isEmpty else { throw try await absence(of: id) }
        return (try await fold(payloads, task: id), Int64(payloads.count))
    }

    /// Why a task has no events: retention removed them (its summary remains), or it never existed.
    private func absence(of id: String) async throws -> ResearchTaskError {
        guard let pruned = try await store.prunedStream(id) else { return .unknownTask(id) }
        return .prunedTask(PrunedTaskSummary.decode(pruned))
    }

    /// The summaries of tasks removed by retention, most recently pruned first.
    public func prunedTasks() async throws -> [PrunedTaskSummary] {
        try await store.prunedStreams(prefix: "task-").map(PrunedTaskSummary.decode)
    }

    /// The state a task's stored payloads fold to, its evidence's text filled in from the
    /// knowledge base; a payload that does not decode or cannot follow the state before it
    /// makes the task damaged.
    private func fold(_ payloads: [Data], task id: String) async throws -> TaskState {
        var decoder = TaskEventStreamDecoder()
        var decoded: [(event: TaskEvent, references: [EvidenceReference])] = []
        decoded.reserveCapacity(payloads.count)
        for (index, payload) in payloads.enumerated() {
            do {
                decoded.append(try decoder.decode(payload))
            } catch {
                throw ResearchTaskError.damagedTask(id, "event \(index + 1) does not decode: \(error)")
            }
        }
        var state = TaskState()
        for event in try await EvidenceReference.resolve(decoded, from: passages) {
            do {
                try state.apply(event)
            } catch {
                throw ResearchTaskError.damagedTask(id, "\(error)")
            }
        }
        return state
    }

    static func encode(_ event: TaskEvent, context: TaskEventCodec.Context = TaskEventCodec.Context()) throws -> NewEvent {
        NewEvent(type: event.typeName, payload: TaskEventCodec.encode(event, context: context))
    }

    /// A step recorded elsewhere (another replica) of a task whose state here is `state`: decoded
    /// with what it may refer to, its evidence's text filled in from the knowledge base.
    public func decodeFollowed(_ stored: StoredEvent, after state: TaskState) async throws -> TaskEvent {
        var decoder = TaskEventStreamDecoder(context: TaskEventCodec.Context(state: state))
        let decoded = try Self.decode(stored, task: stored.stream, with: &decoder)
        return try await EvidenceReference.resolve([decoded], from: passages).first ?? decoded.event
    }

    static func decode(_ stored: StoredEvent, task: String,
                       with decoder: inout TaskEventStreamDecoder) throws -> (event: TaskEvent, references: [EvidenceReference]) {
        do {
            return try decoder.decode(stored.payload)
        } catch {
            throw ResearchTaskError.damagedTask(task, "event \(stored.version) (\(stored.type)) does not decode: \(error)")
        }
    }
}

/// The stream version the next append expects, and what its encoding may refer to (the
/// question, the synthesized report); the workflow records one step at a time.
final class VersionCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Int64
    private var encodingContext: TaskEventCodec.Context
    init(_ start: Int64, context: TaskEventCodec.Context) {
        current = start
        encodingContext = context
    }
    var value: Int64 { lock.withLock { current } }
    var context: TaskEventCodec.Context { lock.withLock { encodingContext } }
    func advance(past event: TaskEvent) {
        lock.withLock {
            current += 1
            encodingContext.record(event)
        }
    }
}
