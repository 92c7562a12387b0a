import Foundation

/// Checks that one event extends a stream whose newest event is `head` (nil: a new stream):
/// the next version, linked to the head's hash, its content matching its own hash. What
/// restoring shipped events checks for each one before it is written, so that a segment that
/// was edited, reordered or is missing a piece is refused event by event.
public enum EventChainLink {
    /// The newest event of a stream, as far as a restore has got.
    public struct Head: Sendable, Equatable {
        public var version: Int64
        public var hash: String

        public init(version: Int64, hash: String) {
            self.version = version
            self.hash = hash
        }
    }

    /// Why `event` does not follow `head`; nil when it does.
    public static func problem(_ event: StoredEvent, after head: Head?) -> String? {
        let expectedVersion = head.map { $0.version &+ 1 } ?? 1
        if event.version != expectedVersion {
            return "version \(event.version) follows version \(expectedVersion &- 1): an event is missing or repeated"
        }
        if event.previousHash != (head?.hash ?? EventHashChain.genesis) {
            return "its previous-hash does not match the event before it"
        }
        let recomputed = EventHashChain.hash(previous: event.previousHash, stream: event.stream, version: event.version,
                                             type: event.type, recordedAt: event.recordedAtMicroseconds, payload: event.payload)
        if recomputed != event.hash {
            return "its content does not match its hash: the event was changed"
        }
        return nil
    }
}
