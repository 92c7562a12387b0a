import Foundation

/// An append-only log of event streams (one stream per research task). An acknowledged
/// append is durable; each stream is hash-chained so that an edited, removed or reordered
/// event is detected by `verify`.
public protocol EventStore: Sendable {
    /// Appends `events` to `stream` atomically. With `expectedVersion`, fails with
    /// `EventStoreError.versionConflict` unless the stream is at exactly that version (0: new).
    func append(_ events: [NewEvent], to stream: String, expectedVersion: Int64?) async throws -> [StoredEvent]
    func read(stream: String) async throws -> [StoredEvent]
    /// The events of `stream` after `version` (a reader that keeps up with a stream).
    func read(stream: String, afterVersion version: Int64) async throws -> [StoredEvent]
    /// Only the payloads of a stream, in order: what replaying a stream needs, read faster.
    func readPayloads(stream: String) async throws -> [Data]
    func streams() async throws -> [StreamInfo]
    /// The first event's payload of every stream whose name starts with `prefix`: what a
    /// listing needs to know of each stream (who opened it, for what) in one read.
    func firstPayloads(streamPrefix prefix: String) async throws -> [String: Data]
    func verify() async throws -> ChainVerification

    /// Whether the store takes writes now (nil: the backend does not track it).
    var writability: StorageWritability? { get }
    /// Removes whole streams, keeping a chain checkpoint and a summary of each (retention).
    func prune(_ requests: [PruneRequest]) async throws -> PruneOutcome
    /// The checkpoint and summary of a pruned stream; nil when it was not pruned.
    func prunedStream(_ stream: String) async throws -> PrunedStream?
    /// Pruned streams whose name starts with `prefix`, most recently pruned first.
    func prunedStreams(prefix: String) async throws -> [PrunedStream]
}

/// Defaults for backends without retention: nothing is ever pruned.
extension EventStore {
    public var writability: StorageWritability? { nil }

    public func prune(_ requests: [PruneRequest]) async throws -> PruneOutcome {
        throw EventStoreError.invalid("this event store does not support pruning")
    }

    public func prunedStream(_ stream: String) async throws -> PrunedStream? { nil }

    public func prunedStreams(prefix: String) async throws -> [PrunedStream] { [] }
}

/// Why an append was refused, worded for whoever sent it.
public enum EventStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    case versionConflict(stream: String, expected: Int64, actual: Int64)
    case invalid(String)

    public var description: String {
        switch self {
        case let .versionConflict(stream, expected, actual):
            "stream '\(stream)' is at version \(actual), not the expected \(expected): another writer appended first"
        case let .invalid(message):
            message
        }
    }
}

/// The result of checking every stream's hash chain.
public struct ChainVerification: Sendable, Equatable {
    public struct Break: Sendable, Equatable, CustomStringConvertible {
        public var stream: String
        public var version: Int64
        public var problem: String
        public var description: String { "\(stream) v\(version): \(problem)" }

        package init(stream: String, version: Int64, problem: String) {
            self.stream = stream
            self.version = version
            self.problem = problem
        }
    }

    public var streams: Int
    public var events: Int
    public var breaks: [Break]
    /// Streams removed by retention whose checkpoints were checked.
    public var prunedStreams = 0
    public var isIntact: Bool { breaks.isEmpty }

    package init(streams: Int, events: Int, breaks: [Break]) {
        self.streams = streams
        self.events = events
        self.breaks = breaks
    }
}
