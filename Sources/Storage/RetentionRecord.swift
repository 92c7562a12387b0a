import Foundation

/// The payload of an event in the `ares-retention` stream: the checkpoints of the streams one
/// prune removed. The stream is hash-chained like any other, so these records anchor the
/// checkpoints kept beside them: a checkpoint changed or removed on its own no longer matches
/// its record, and changing the record breaks the retention stream's chain.
///
/// A record is self-contained (it carries each summary, not only its hash), so that whoever
/// follows the log by appended events (continuous backup shipping, a replay) can apply the
/// prune: delete the named streams' events and heads and keep these checkpoints.
public struct RetentionRecord: Codable, Sendable, Equatable {
    public static let stream = "ares-retention"
    public static let eventType = "StreamsPruned"

    public struct Checkpoint: Codable, Sendable, Equatable {
        public var stream: String
        public var version: Int64
        public var headHash: String
        public var summarySHA256: String
        public var prunedAt: Int64
        /// The summary itself (base64 in JSON); absent in no record written by this version.
        public var summary: Data?

        /// The pruned stream this checkpoint describes.
        public var prunedStream: PrunedStream {
            PrunedStream(stream: stream, version: version, headHash: headHash, summary: summary ?? Data(), prunedAtMicroseconds: prunedAt)
        }
    }

    public var pruned: [Checkpoint]

    init(_ streams: [PrunedStream]) {
        pruned = streams.map { Checkpoint(stream: $0.stream, version: $0.version, headHash: $0.headHash,
                                          summarySHA256: $0.summarySHA256, prunedAt: $0.prunedAtMicroseconds, summary: $0.summary) }
    }

    /// The record in an `ares-retention` event's payload.
    public static func decode(_ payload: Data) throws -> RetentionRecord {
        try JSONDecoder().decode(RetentionRecord.self, from: payload)
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(self)
    }
}
