import Foundation
import Storage
import TaskService

/// An event store that refuses at once, with a retryable `StorageUnavailableError`, while its
/// database is known to be away (not yet connected at start, or silent for a while), and
/// otherwise passes every call through.
///
/// Why: a connection pool whose server is gone holds each query until it gives up connecting,
/// about a minute; clients would wait that long for an answer. Refusing before anything is
/// sent also keeps the answer honest: nothing of the refused request reached the database
/// (a write cut off by a timeout instead could still commit). Running tasks that meet the
/// refusal pause at their last recorded step and try again (TaskRunner), requests answer
/// JSON-RPC -32050 / HTTP 503 with Retry-After.
public struct AvailabilityGatedEventStore: TaskQueueingEventStore {
    let base: any EventStore
    /// Why the store cannot be used now; nil when it can. Cheap: called on every operation.
    let unavailability: @Sendable () -> StorageUnavailableError?
    /// Why writes are refused while reads go on (PostgreSQL's notification queue nearly
    /// full); nil when they are not. Cheap: called on every write.
    let writeRefusal: @Sendable () -> StorageUnavailableError?

    public init(base: any EventStore, unavailability: @escaping @Sendable () -> StorageUnavailableError?,
                writeRefusal: @escaping @Sendable () -> StorageUnavailableError? = { nil }) {
        self.base = base
        self.unavailability = unavailability
        self.writeRefusal = writeRefusal
    }

    private func admit() throws {
        if let refused = unavailability() { throw refused }
    }

    private func admitWrite() throws {
        try admit()
        if let refused = writeRefusal() { throw refused }
    }

    public func append(_ events: [NewEvent], to stream: String, expectedVersion: Int64?) async throws -> [StoredEvent] {
        try admitWrite()
        return try await base.append(events, to: stream, expectedVersion: expectedVersion)
    }

    public func read(stream: String) async throws -> [StoredEvent] {
        try admit()
        return try await base.read(stream: stream)
    }

    public func read(stream: String, afterVersion version: Int64) async throws -> [StoredEvent] {
        try admit()
        return try await base.read(stream: stream, afterVersion: version)
    }

    public func readPayloads(stream: String) async throws -> [Data] {
        try admit()
        return try await base.readPayloads(stream: stream)
    }

    public func streams() async throws -> [StreamInfo] {
        try admit()
        return try await base.streams()
    }

    public func firstPayloads(streamPrefix prefix: String) async throws -> [String: Data] {
        try admit()
        return try await base.firstPayloads(streamPrefix: prefix)
    }

    public func verify() async throws -> ChainVerification {
        try admit()
        return try await base.verify()
    }

    public var writability: StorageWritability? { base.writability }

    /// The base store's, when it can queue tasks with their first event (PostgreSQL).
    public var queueDomain: ObjectIdentifier? { (base as? any TaskQueueingEventStore)?.queueDomain }

    public func appendQueueing(_ events: [NewEvent], toNewStream stream: String, owner: String?,
                               leasedTo lease: TaskQueueLease?) async throws -> [StoredEvent] {
        try admitWrite()
        guard let queueing = base as? any TaskQueueingEventStore else {
            throw EventStoreError.invalid("this event store cannot queue tasks with their first event")
        }
        return try await queueing.appendQueueing(events, toNewStream: stream, owner: owner, leasedTo: lease)
    }

    public func prune(_ requests: [PruneRequest]) async throws -> PruneOutcome {
        try admitWrite()
        return try await base.prune(requests)
    }

    public func prunedStream(_ stream: String) async throws -> PrunedStream? {
        try admit()
        return try await base.prunedStream(stream)
    }

    public func prunedStreams(prefix: String) async throws -> [PrunedStream] {
        try admit()
        return try await base.prunedStreams(prefix: prefix)
    }
}
