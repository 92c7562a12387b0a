/// When a process that writes to a shared knowledge base rewrites the repository's index
/// snapshot. The snapshot is the whole serialized index (about 11 MB for the PostgreSQL
/// manual), so rewriting it after every write would make a one-document ingest cost as much as
/// a full dump; deferring it costs a new replica nothing but a longer replay of the change log
/// after the (older) snapshot it loads, and loses nothing: every change is in the log.
///
/// A snapshot is due once the oldest write not in it is `delay` old, or once `maximumUnsavedWrites`
/// writes are waiting (which bounds the replay a new replica does). So a process rewrites it at
/// most about once per `delay` under a steady trickle of ingests, and once after a burst.
public struct IndexSnapshotSchedule: Sendable, Equatable {
    public var delay: Duration
    public var maximumUnsavedWrites: Int

    /// Defaults: 30 s, 500 writes.
    public init(delay: Duration = .seconds(30), maximumUnsavedWrites: Int = 500) {
        self.delay = max(delay, .zero)
        self.maximumUnsavedWrites = max(1, maximumUnsavedWrites)
    }

    /// Whether to save now, given how many writes wait and when the oldest of them committed.
    public func isDue(unsavedWrites: Int, oldestUnsavedWrite: ContinuousClock.Instant?, now: ContinuousClock.Instant) -> Bool {
        guard unsavedWrites > 0, let oldestUnsavedWrite else { return false }
        return unsavedWrites >= maximumUnsavedWrites || now - oldestUnsavedWrite >= delay
    }
}
