import Foundation
import Synchronization

/// The events recorded on the request path and not yet written: a bounded list behind a
/// mutex (adding one is a lock, a hash and an append; nothing waits for the disk).
///
/// Two things keep a flood of refusals (a scanner trying keys) from costing memory or disk
/// without bound:
/// - Refusals that are the same in everything but time (same kind, principal, source and
///   details) are coalesced while they wait: one record with `count` and the time of the
///   last one. One source hammering one path becomes one record per writer pause.
/// - When the list is full (many different refusals), new events are not kept but counted
///   per kind, and the writer records the counts as one `audit.dropped` event.
final class AuditQueue: Sendable {
    struct Batch: Sendable {
        var events: [AuditEvent]
        var dropped: [AuditKind: Int]
    }

    private struct CoalescingKey: Hashable {
        var kind: AuditKind
        var principal: String?
        var source: String?
        var details: [String: String]
    }

    private struct Pending {
        var event: AuditEvent
        var count = 1
        var lastTime: Date
    }

    private struct State {
        var pending: [Pending] = []
        var indexByKey: [CoalescingKey: Int] = [:]
        var dropped: [AuditKind: Int] = [:]
    }

    /// Kinds that are refusals, where only how many and when matter once the first is kept.
    static let coalescedKinds: Set<AuditKind> = [.authenticationFailed, .accessDenied]

    let capacity: Int
    private let state = Mutex(State())
    /// One buffered wake-up at most: the writer takes everything pending when it wakes.
    let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues `event`; false when the queue was full and the event was only counted.
    @discardableResult
    func add(_ event: AuditEvent) -> Bool {
        let key = Self.coalescedKinds.contains(event.kind)
            ? CoalescingKey(kind: event.kind, principal: event.principal, source: event.source, details: event.details) : nil
        let kept = state.withLock { state in
            if let key, let index = state.indexByKey[key], state.pending.indices.contains(index) {
                let (sum, overflow) = state.pending[index].count.addingReportingOverflow(1)
                state.pending[index].count = overflow ? Int.max : sum
                state.pending[index].lastTime = event.time
                return true
            }
            if state.pending.count < capacity {
                if let key { state.indexByKey[key] = state.pending.count }
                state.pending.append(Pending(event: event, lastTime: event.time))
                return true
            }
            // Saturating: a count that cannot grow further still says "very many".
            let (sum, overflow) = (state.dropped[event.kind] ?? 0).addingReportingOverflow(1)
            state.dropped[event.kind] = overflow ? Int.max : sum
            return false
        }
        wake.yield()
        return kept
    }

    private static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Everything pending (coalesced events with `count` and `lastTime` in their details),
    /// and the drop counts since the last take.
    func takeAll() -> Batch {
        let (pending, dropped) = state.withLock { state in
            let taken = (state.pending, state.dropped)
            state.pending = []
            state.indexByKey = [:]
            state.dropped = [:]
            return taken
        }
        let events = pending.map { entry in
            guard entry.count > 1 else { return entry.event }
            var event = entry.event
            event.details["count"] = String(entry.count)
            event.details["lastTime"] = entry.lastTime.formatted(Self.timeStyle)
            return event
        }
        return Batch(events: events, dropped: dropped)
    }

    var pendingCount: Int { state.withLock { $0.pending.count } }
}
