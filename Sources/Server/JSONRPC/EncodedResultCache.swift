import TaskService
import Foundation
import Synchronization

/// Encoded JSON results by key, shared by concurrent requests (a `BoundedCache` under a lock).
final class EncodedResultCache: Sendable {
    private let entries: Mutex<BoundedCache<Data>>

    init(capacity: Int) {
        entries = Mutex(BoundedCache(capacity: capacity))
    }

    func get(_ key: String) -> Data? {
        entries.withLock { $0.get(key) }
    }

    func set(_ key: String, _ value: Data) {
        entries.withLock { $0.set(key, value) }
    }
}
