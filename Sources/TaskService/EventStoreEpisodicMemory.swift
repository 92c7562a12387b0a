import Foundation
import ResearchCore
import Storage
import Synchronization

/// Episodic memory kept as one stream of the event store ("memory-episodes"): durable,
/// hash-chained and readable with the other tasks. Old episodes decay: those older than
/// `retention` are never recalled, and `forget(before:)` records that everything earlier
/// is forgotten. Recall keeps up with the stream incrementally and searches the most recent
/// `capacity` episodes (default 2,000: a few MB) through an index of their words.
public final class EventStoreEpisodicMemory: EpisodicMemory {
    public static let stream = "memory-episodes"
    static let recordedType = "EpisodeRecorded"
    static let forgottenType = "EpisodesForgotten"

    public let store: any EventStore
    /// Questions at least this similar (Jaccard over words) reuse the earlier plan.
    public let threshold: Double
    public let retention: Duration
    private let now: @Sendable () -> Date

    private struct Recall {
        var version: Int64 = 0
        var index: EpisodeIndex
        var forgottenBefore = Date.distantPast
    }

    private let cache: Mutex<Recall>

    public init(store: any EventStore, threshold: Double = 0.8, retention: Duration = .seconds(30 * 24 * 3600),
                capacity: Int = 2_000, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.threshold = threshold
        self.retention = retention
        self.now = now
        cache = Mutex(Recall(index: EpisodeIndex(capacity: capacity)))
    }

    public func record(_ episode: Episode) async throws {
        _ = try await store.append([NewEvent(type: Self.recordedType, payload: try JSONEncoder().encode(episode))], to: Self.stream, expectedVersion: nil)
    }

    /// Records that episodes recorded before `cutoff` are forgotten.
    public func forget(before cutoff: Date) async throws {
        _ = try await store.append([NewEvent(type: Self.forgottenType, payload: try JSONEncoder().encode(cutoff))], to: Self.stream, expectedVersion: nil)
    }

    public func recall(similarTo question: String) async throws -> Episode? {
        let known = cache.withLock { $0.version }
        let events = try await store.read(stream: Self.stream, afterVersion: known)
        return cache.withLock { recall in
            // Another recall may have applied some of these events meanwhile.
            for event in events where event.version > recall.version {
                recall.version = event.version
                switch event.type {
                case Self.forgottenType:
                    if let cutoff = try? JSONDecoder().decode(Date.self, from: event.payload) {
                        recall.forgottenBefore = max(recall.forgottenBefore, cutoff)
                    }
                case Self.recordedType:
                    if let episode = try? JSONDecoder().decode(Episode.self, from: event.payload) { recall.index.add(episode) }
                default:
                    continue
                }
            }
            let notBefore = max(recall.forgottenBefore, now().addingTimeInterval(-Double(retention.components.seconds)))
            return recall.index.best(similarTo: question, threshold: threshold, notBefore: notBefore)
        }
    }
}
