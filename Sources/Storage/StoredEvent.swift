import Foundation

/// An event to append: its type name and its payload (JSON, opaque to the store).
public struct NewEvent: Sendable, Equatable {
    public var type: String
    public var payload: Data

    public init(type: String, payload: Data) {
        self.type = type
        self.payload = payload
    }
}

/// An event as the store keeps it: its place in its stream (`version`, from 1) and in the
/// whole log (`globalPosition`), when it was recorded, and its link in the stream's hash chain.
public struct StoredEvent: Sendable, Equatable {
    public var stream: String
    public var version: Int64
    public var globalPosition: Int64
    public var type: String
    public var payload: Data
    /// Microseconds since 1970: an integer, so the hash covers it exactly.
    public var recordedAtMicroseconds: Int64
    public var hash: String
    public var previousHash: String

    public var recordedAt: Date { Date(timeIntervalSince1970: Double(recordedAtMicroseconds) / 1_000_000) }

    /// For the other event stores of this package (PostgreSQL).
    package init(stream: String, version: Int64, globalPosition: Int64, type: String, payload: Data, recordedAtMicroseconds: Int64,
                 hash: String, previousHash: String) {
        self.stream = stream
        self.version = version
        self.globalPosition = globalPosition
        self.type = type
        self.payload = payload
        self.recordedAtMicroseconds = recordedAtMicroseconds
        self.hash = hash
        self.previousHash = previousHash
    }
}

/// What the store knows about one stream.
public struct StreamInfo: Sendable, Equatable {
    public var stream: String
    public var version: Int64
    public var lastType: String
    public var lastRecordedAt: Date

    package init(stream: String, version: Int64, lastType: String, lastRecordedAt: Date) {
        self.stream = stream
        self.version = version
        self.lastType = lastType
        self.lastRecordedAt = lastRecordedAt
    }
}
