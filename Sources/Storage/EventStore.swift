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
    }

    public var streams: Int
    public var events: Int
    public var breaks: [Break]
    public var isIntact: Bool { breaks.isEmpty }
}
