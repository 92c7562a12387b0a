import Foundation

/// Checks one stream's hash chain from its stored events, the same three checks as
/// `EventStore.verify()` does for the whole log (no version missing, each event linked to the
/// one before it, each event's content matching its hash), so that a client may ask whether
/// one task's record is intact without the cost of verifying every stream.
public enum StreamChainVerification {
    /// The breaks in `events` (one stream's events in version order, as `read(stream:)` returns
    /// them); empty when the chain is intact.
    public static func breaks(in events: [StoredEvent]) -> [ChainVerification.Break] {
        var breaks: [ChainVerification.Break] = []
        var expectedVersion: Int64 = 1
        var previous = EventHashChain.genesis
        for event in events {
            if event.version != expectedVersion {
                breaks.append(.init(stream: event.stream, version: event.version, problem: "expected version \(expectedVersion): an event is missing"))
            }
            if event.previousHash != previous {
                breaks.append(.init(stream: event.stream, version: event.version, problem: "its previous-hash does not match the event before it"))
            }
            let recomputed = EventHashChain.hash(previous: event.previousHash, stream: event.stream, version: event.version,
                                                 type: event.type, recordedAt: event.recordedAtMicroseconds, payload: event.payload)
            if recomputed != event.hash {
                breaks.append(.init(stream: event.stream, version: event.version, problem: "its content does not match its hash: the event was changed"))
            }
            previous = event.hash
            // A stored version of Int64.max must be reported, not overflow.
            expectedVersion = event.version &+ 1
        }
        return breaks
    }
}
