import Foundation
import Logging
import PostgresNIO
import PostgresStorage
import Storage
import Synchronization
import Testing

/// The change feed of `ares_events` against a real PostgreSQL 15: exactly once and in order
/// under concurrent writers on separate pools (two replicas' committers), across a connection
/// the server terminates, in both modes, and with a writer holding the append lock open.
@Suite struct PostgresChangeFeedTests {
    /// What a subscriber received, collected as it arrives.
    final class Received: Sendable {
        private let events = Mutex<[StoredEvent]>([])
        var all: [StoredEvent] { events.withLock { $0 } }
        var count: Int { events.withLock { $0.count } }

        func collect(_ stream: AsyncStream<[StoredEvent]>) async {
            for await batch in stream { events.withLock { $0 += batch } }
        }
    }

    /// Runs `feed` and a subscriber for the duration of `body`.
    static func following<Result: Sendable>(_ feed: PostgresChangeFeed,
                                            _ body: (Received) async throws -> Result) async throws -> Result {
        let received = Received()
        let subscription = feed.subscribe()
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await feed.run() }
            group.addTask { await received.collect(subscription) }
            defer { group.cancelAll() }
            return try await body(received)
        }
    }

    /// Polls `condition` (the suite shares two cores: generous, and no timing is asserted).
    static func eventually(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    /// Every event in the database, from a full read of each stream.
    static func everything(_ store: PostgresEventStore) async throws -> [StoredEvent] {
        var all: [StoredEvent] = []
        for info in try await store.streams() { all += try await store.read(stream: info.stream) }
        return all.sorted { $0.globalPosition < $1.globalPosition }
    }

    /// Exactly the stored events, each once, in position order (so each stream in version order).
    static func expectExactlyOnceInOrder(_ received: [StoredEvent], _ stored: [StoredEvent]) {
        #expect(received.count == stored.count)
        #expect(Set(received.map(\.globalPosition)).count == received.count, "no event is delivered twice")
        #expect(received == stored, "the feed delivers the stored events, byte for byte, in position order")
        var versions: [String: Int64] = [:]
        for event in received {
            #expect(event.version == versions[event.stream, default: 0] + 1, "\(event.stream) v\(event.version) arrives after v\(versions[event.stream, default: 0])")
            versions[event.stream] = event.version
        }
    }

    static func event(_ type: String) -> NewEvent { NewEvent(type: type, payload: Data(#"{"n":1}"#.utf8)) }

    /// Eight appenders on two pools (two replicas' committers, whose batches interleave), while
    /// the feed follows: every event once, in position order (before the append lock, an event
    /// whose position was taken before but committed after a higher one was lost here).
    @Test(arguments: [PostgresChangeFeed.Mode.listen(), .poll(every: .milliseconds(50))])
    func eightConcurrentAppendersAreDeliveredExactlyOnceInOrder(mode: PostgresChangeFeed.Mode) async throws {
        let database = try await PostgresTestDatabase.make("feed")
        try await database.withStore { first, postgres in
            try await database.withStore { second, _ in
                let feed = PostgresChangeFeed(database: postgres, mode: mode, start: .after(position: 0), logger: .quiet)
                let appenders = 8, appends = 40
                try await Self.following(feed) { received in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for appender in 0..<appenders {
                            let store = appender.isMultiple(of: 2) ? first : second
                            group.addTask {
                                for index in 0..<appends {
                                    // Two streams per appender and some multi-event appends.
                                    let events = index.isMultiple(of: 5) ? [Self.event("A"), Self.event("B")] : [Self.event("A")]
                                    _ = try await store.append(events, to: "s\(appender)-\(index % 2)", expectedVersion: nil)
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                    let stored = try await Self.everything(first)
                    #expect(stored.count == appenders * (appends + appends / 5))
                    #expect(try await Self.eventually { received.count >= stored.count })
                    // A last read after everything was delivered finds nothing more.
                    let reads = feed.readsCompleted
                    _ = try await Self.eventually { feed.readsCompleted > reads + 1 }
                    Self.expectExactlyOnceInOrder(received.all, stored)
                }
            }
        }
    }

    /// While one writer holds the append lock with an uncommitted event, an append waits (it
    /// cannot take a higher position that would be read first); once the first commits, the
    /// feed delivers both, in position order, once. A rolled-back writer leaves a gap for good.
    @Test func anAppendWaitsForAnEarlierUncommittedPositionAndTheFeedKeepsTheOrder() async throws {
        let database = try await PostgresTestDatabase.make("feedorder")
        try await database.withStore { store, postgres in
            let feed = PostgresChangeFeed(database: postgres, mode: .poll(every: .milliseconds(20)), start: .after(position: 0), logger: .quiet)
            try await Self.following(feed) { received in
                try await postgres.client.withConnection { writer in
                    for (commit, stream) in [(false, "gone"), (true, "slow")] {
                        try await writer.query("BEGIN", logger: .quiet)
                        try await writer.query("SELECT pg_advisory_xact_lock(\(PostgresEventStore.appendLockKey))", logger: .quiet)
                        try await writer.query("""
                            INSERT INTO ares_events (stream, version, type, payload, recorded_at, hash, previous_hash)
                            VALUES (\(stream), 1, 'Held', '\\x7b7d'::bytea, 1, 'h', 'p')
                            """, logger: .quiet)
                        if !commit { try await writer.query("ROLLBACK", logger: .quiet) }
                    }
                    // The open writer holds the lock: this append waits for it.
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { _ = try await store.append([Self.event("After")], to: "fast", expectedVersion: 0) }
                        let reads = feed.readsCompleted
                        #expect(try await Self.eventually { feed.readsCompleted > reads + 3 })
                        #expect(received.count == 0, "nothing is visible while the first writer is open")
                        #expect(try await store.read(stream: "fast").isEmpty, "the append waits for the lock")
                        try await writer.query("COMMIT", logger: .quiet)
                        try await group.waitForAll()
                    }
                }
                #expect(try await Self.eventually { received.count == 2 })
                let reads = feed.readsCompleted
                _ = try await Self.eventually { feed.readsCompleted > reads + 2 }
                let all = received.all
                #expect(all.map(\.type) == ["Held", "After"])
                #expect(all.map(\.globalPosition) == all.map(\.globalPosition).sorted())
            }
        }
    }

    /// The server terminates the feed's connection; appends go on meanwhile; the feed
    /// reconnects and delivers what it missed, once.
    @Test func aTerminatedConnectionIsReopenedAndTheFeedCatchesUp() async throws {
        let database = try await PostgresTestDatabase.make("feeddrop")
        try await database.withStore { store, postgres in
            let feed = PostgresChangeFeed(database: postgres, mode: .listen(fallback: .seconds(30)), start: .after(position: 0), logger: .quiet)
            try await Self.following(feed) { received in
                for index in 0..<10 { _ = try await store.append([Self.event("Before")], to: "s\(index % 3)", expectedVersion: nil) }
                #expect(try await Self.eventually { received.count == 10 })
                #expect(feed.connectionsOpened == 1)
                let terminated = try await database.superuserSQL("""
                    SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                    WHERE datname = '\(database.name)' AND application_name = '\(PostgresChangeFeed.applicationName)'
                    """)
                #expect(terminated == "1", "the feed's one connection was found and terminated")
                for index in 0..<10 { _ = try await store.append([Self.event("After")], to: "s\(index % 3)", expectedVersion: nil) }
                #expect(try await Self.eventually { received.count >= 20 && feed.connectionsOpened >= 2 })
                // The new connection listens: one more append is delivered by its notification.
                _ = try await store.append([Self.event("Last")], to: "s0", expectedVersion: nil)
                #expect(try await Self.eventually { received.count >= 21 })
                Self.expectExactlyOnceInOrder(received.all, try await Self.everything(store))
            }
        }
    }

    /// A listening feed starts its reads at least `spacing` apart: the commits that arrive while
    /// it waits are read together (not one read per commit, on every replica), and each is still
    /// delivered once, in order.
    @Test func aBusyListeningFeedReadsTheCommitsOfItsSpacingTogether() async throws {
        let database = try await PostgresTestDatabase.make("feedspacing")
        try await database.withStore { store, postgres in
            let spacing = Duration.milliseconds(300)
            let feed = PostgresChangeFeed(database: postgres, mode: .listen(fallback: .seconds(30), spacing: spacing),
                                          start: .after(position: 0), logger: .quiet)
            try await Self.following(feed) { received in
                #expect(try await Self.eventually { feed.readsCompleted >= 1 })
                let reads = feed.readsCompleted
                let clock = ContinuousClock()
                let start = clock.now
                for index in 0..<40 { _ = try await store.append([Self.event("Step")], to: "s\(index % 4)", expectedVersion: nil) }
                #expect(try await Self.eventually { received.count == 40 })
                // However slow the appends were: one read per spacing that passed, and the last.
                let allowed = Int(((clock.now - start) / spacing).rounded(.up)) + 1
                #expect(feed.readsCompleted - reads <= allowed, "\(feed.readsCompleted - reads) reads for 40 commits; \(allowed) allowed")
                Self.expectExactlyOnceInOrder(received.all, try await Self.everything(store))
            }
        }
    }

    /// Starting `.now`: what was committed before is not delivered, what comes after is.
    @Test func aFeedStartingNowDeliversOnlyLaterEvents() async throws {
        let database = try await PostgresTestDatabase.make("feednow")
        try await database.withStore { store, postgres in
            _ = try await store.append([Self.event("Old"), Self.event("Old")], to: "s", expectedVersion: 0)
            let feed = PostgresChangeFeed(database: postgres, mode: .listen(), logger: .quiet)
            try await Self.following(feed) { received in
                #expect(try await Self.eventually { feed.readsCompleted >= 1 })
                _ = try await store.append([Self.event("New")], to: "s", expectedVersion: 2)
                #expect(try await Self.eventually { received.count == 1 })
                #expect(received.all.map(\.version) == [3])
            }
        }
    }
}
