import Foundation
import ResearchCore
import Storage

/// Episodic memory kept as one stream of the event store ("memory-episodes"): durable,
/// hash-chained and readable with the other tasks. Old episodes decay: those older than
/// `retention` are never recalled, and `forget(before:)` records that everything earlier
/// is forgotten.
public final class EventStoreEpisodicMemory: EpisodicMemory {
    public static let stream = "memory-episodes"
    static let recordedType = "EpisodeRecorded"
    static let forgottenType = "EpisodesForgotten"

    public let store: any EventStore
    /// Questions at least this similar (Jaccard over words) reuse the earlier plan.
    public let threshold: Double
    public let retention: Duration
    private let now: @Sendable () -> Date

    public init(store: any EventStore, threshold: Double = 0.8, retention: Duration = .seconds(30 * 24 * 3600),
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.threshold = threshold
        self.retention = retention
        self.now = now
    }

    public func record(_ episode: Episode) async throws {
        _ = try await store.append([NewEvent(type: Self.recordedType, payload: try JSONEncoder().encode(episode))], to: Self.stream, expectedVersion: nil)
    }

    /// Records that episodes recorded before `cutoff` are forgotten.
    public func forget(before cutoff: Date) async throws {
        _ = try await store.append([NewEvent(type: Self.forgottenType, payload: try JSONEncoder().encode(cutoff))], to: Self.stream, expectedVersion: nil)
    }

    public func recall(similarTo question: String) async throws -> Episode? {
        let events = try await store.read(stream: Self.stream)
        var forgottenBefore = now().addingTimeInterval(-Double(retention.components.seconds))
        var episodes: [Episode] = []
        for event in events {
            switch event.type {
            case Self.forgottenType:
                if let cutoff = try? JSONDecoder().decode(Date.self, from: event.payload) { forgottenBefore = max(forgottenBefore, cutoff) }
            case Self.recordedType:
                if let episode = try? JSONDecoder().decode(Episode.self, from: event.payload) { episodes.append(episode) }
            default:
                continue
            }
        }
        // The most similar live episode; among equals, the most recent.
        return episodes
            .filter { $0.recordedAt >= forgottenBefore }
            .map { (episode: $0, similarity: Episode.similarity($0.question, question)) }
            .filter { $0.similarity >= threshold }
            .max { ($0.similarity, $0.episode.recordedAt) < ($1.similarity, $1.episode.recordedAt) }?
            .episode
    }
}
