/// The events every writer commits to a shared event store, as one process learns of them: what
/// lets a replica show live the steps another replica records (issue 16).
///
/// Guarantees of a conforming feed, from the moment a subscription starts:
/// - every event committed after the feed started is delivered to the subscription exactly once
///   (also across lost connections: the feed catches up from where it was);
/// - events arrive in the store's global order (`globalPosition`), so each stream's in version
///   order.
///
/// A subscriber that needs an event from before its subscription reads the store.
public protocol EventChangeFeed: Sendable {
    /// The batches of events committed from now on, each batch in delivery order. The stream
    /// ends when the feed stops (or the subscriber stops iterating).
    func subscribe() -> AsyncStream<[StoredEvent]>
}
