import Crypto
import Foundation

/// A stream to remove from the event store, and what to keep of it. The stream is removed only
/// if it is still at `expectedVersion` (a stream that grew since it was chosen is kept).
public struct PruneRequest: Sendable, Equatable {
    public var stream: String
    public var expectedVersion: Int64
    /// What remains readable of the stream (opaque to the store; a task's summary).
    public var summary: Data

    public init(stream: String, expectedVersion: Int64, summary: Data) {
        self.stream = stream
        self.expectedVersion = expectedVersion
        self.summary = summary
    }
}

/// What is left of a removed stream: its checkpoint (the version and hash of its newest event
/// when it was removed: the value that would have continued its chain) and its summary.
public struct PrunedStream: Sendable, Equatable {
    public var stream: String
    public var version: Int64
    public var headHash: String
    public var summary: Data
    /// Microseconds since 1970, as the event store records times.
    public var prunedAtMicroseconds: Int64

    public init(stream: String, version: Int64, headHash: String, summary: Data, prunedAtMicroseconds: Int64) {
        self.stream = stream
        self.version = version
        self.headHash = headHash
        self.summary = summary
        self.prunedAtMicroseconds = prunedAtMicroseconds
    }

    public var prunedAt: Date { Date(timeIntervalSince1970: Double(prunedAtMicroseconds) / 1_000_000) }

    /// SHA-256 of the summary, lower-case hex: what the retention record holds of it.
    public var summarySHA256: String { EventHashChain.hex(SHA256.hash(data: summary)) }
}

/// What one prune did: the streams it removed, and the size of the store's file before and
/// after (main file plus WAL), so that reclaimed space is measured rather than assumed.
public struct PruneOutcome: Sendable, Equatable {
    public var pruned: [PrunedStream]
    /// Streams that were chosen but had changed (kept).
    public var skipped: [String]
    public var bytesBefore: Int64
    public var bytesAfter: Int64

    public init(pruned: [PrunedStream], skipped: [String], bytesBefore: Int64, bytesAfter: Int64) {
        self.pruned = pruned
        self.skipped = skipped
        self.bytesBefore = bytesBefore
        self.bytesAfter = bytesAfter
    }
}
