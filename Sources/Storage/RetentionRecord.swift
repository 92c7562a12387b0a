import Foundation

/// The payload of an event in the `ares-retention` stream: the checkpoints of the streams one
/// prune removed. The stream is hash-chained like any other, so these records anchor the
/// checkpoints kept beside them: a checkpoint changed or removed on its own no longer matches
/// its record, and changing the record breaks the retention stream's chain.
///
/// A record names each summary by its SHA-256 only; the summary itself is kept once, beside the
/// checkpoint (`prunedStream`). Records written before kept a second copy (base64) for whoever
/// follows the log by appended events, but nobody does: continuous backup ships a new base
/// after a prune (`ContinuousBackupShipper`), and that copy was the largest part of what a
/// pruned task left behind (~820 of ~2,850 bytes a task in the retention soak, issue 12).
public struct RetentionRecord: Codable, Sendable, Equatable {
    public static let stream = "ares-retention"
    public static let eventType = "StreamsPruned"

    public struct Checkpoint: Codable, Sendable, Equatable {
        public var stream: String
        public var version: Int64
        public var headHash: String
        public var summarySHA256: String
        public var prunedAt: Int64
        /// The summary itself (base64 in JSON): only in records written before the summary was
        /// kept once; still decoded, never written.
        public var summary: Data?
    }

    public var pruned: [Checkpoint]

    package init(_ streams: [PrunedStream]) {
        pruned = streams.map { Checkpoint(stream: $0.stream, version: $0.version, headHash: $0.headHash,
                                          summarySHA256: $0.summarySHA256, prunedAt: $0.prunedAtMicroseconds, summary: nil) }
    }

    /// The record in an `ares-retention` event's payload.
    public static func decode(_ payload: Data) throws -> RetentionRecord {
        try JSONDecoder().decode(RetentionRecord.self, from: payload)
    }

    package func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(self)
    }
}
