import Foundation
import Synchronization

/// Encoded JSON results by key, bounded: when full, the older half is dropped (cheaper than
/// tracking recency on every hit, and a re-encode is the only cost of a miss).
final class EncodedResultCache: Sendable {
    private struct Entries {
        var current: [String: Data] = [:]
        var previous: [String: Data] = [:]
    }

    private let capacity: Int
    private let entries = Mutex(Entries())

    init(capacity: Int) {
        self.capacity = capacity
    }

    func get(_ key: String) -> Data? {
        entries.withLock { $0.current[key] ?? $0.previous[key] }
    }

    func set(_ key: String, _ value: Data) {
        entries.withLock { entries in
            if entries.current.count >= capacity / 2 {
                entries.previous = entries.current
                entries.current = [:]
            }
            entries.current[key] = value
        }
    }
}
