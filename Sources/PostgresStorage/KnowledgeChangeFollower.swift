import Knowledge
import Logging
import ServiceLifecycle

/// Keeps one replica's in-memory search indexes up to date with what every replica writes to
/// the shared knowledge base, as a `Service`:
/// 1. once the database is ready (`databaseReady`: connected and migrated), loads the indexes
///    (`KnowledgeBase.loadSharedIndexes()`: the snapshot in the database, then the change log
///    after it; never re-embedding), retrying until it succeeds;
/// 2. then calls `KnowledgeBase.followChanges()` every `interval`, and saves the index snapshot
///    when this replica's own writes have waited as long as its `IndexSnapshotSchedule` allows;
/// 3. on graceful shutdown, saves the snapshot if this replica wrote anything since the last one.
///
/// Polling, not LISTEN: a poll is one indexed query (`position > P`) that finds nothing most
/// of the time, it works through poolers in transaction mode, and a notification would only
/// shorten a delay that is already well inside the 2 s a search on another replica may lag.
/// While the database is unreachable the follower logs once and keeps trying; searches are
/// refused meanwhile by the knowledge base's admission (they need the database's passages).
///
/// ```swift
/// let knowledge = KnowledgeBase(deferredSharedRepository: PostgresDocumentStore(database: database), …)
/// serviceGroup services: [database, KnowledgeChangeFollower(knowledge: knowledge, logger: logger), …]
/// ```
public struct KnowledgeChangeFollower: Service {
    public let knowledge: KnowledgeBase
    public let interval: Duration
    let databaseReady: @Sendable () -> Bool
    let logger: Logger

    public init(knowledge: KnowledgeBase, interval: Duration = .milliseconds(250),
                databaseReady: @escaping @Sendable () -> Bool = { true }, logger: Logger) {
        self.knowledge = knowledge
        self.interval = max(interval, .milliseconds(10))
        self.databaseReady = databaseReady
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await load() else { return }
            await follow()
        }
        // Graceful shutdown (not a cancellation from outside): what this replica wrote since the
        // last snapshot goes into one now, so that the next replica replays less.
        guard !Task.isCancelled else { return }
        // With the database known to be away, a write could only wait out its deadline (a
        // leased connection's whole use may take 12 times the request deadline) and delay the exit.
        guard databaseReady() else {
            logger.notice("shutdown: the database does not answer; the knowledge base's index snapshot is not saved (the next replica replays the change log instead)")
            return
        }
        do {
            if try await knowledge.saveUnsavedSnapshot() { logger.info("saved the knowledge base's index snapshot at shutdown") }
        } catch {
            logger.warning("could not save the knowledge base's index snapshot at shutdown; the next replica replays the change log instead",
                           metadata: ["error": "\(error)"])
        }
    }

    /// Waits for the database, then loads the indexes; false when cancelled first.
    private func load() async -> Bool {
        var failing = false
        var pause = Duration.milliseconds(250)
        let started = ContinuousClock.now
        while !Task.isCancelled {
            if databaseReady() {
                do {
                    try await knowledge.loadSharedIndexes()
                    logger.info("knowledge base loaded", metadata: [
                        "position": "\(knowledge.indexedPosition)", "seconds": "\((ContinuousClock.now - started).components.seconds)",
                    ])
                    for warning in await knowledge.warnings { logger.notice("knowledge base: \(warning)") }
                    return true
                } catch is CancellationError {
                    return false
                } catch {
                    if !failing { logger.warning("cannot load the knowledge base yet; retrying", metadata: ["error": "\(error)"]) }
                    failing = true
                    pause = min(pause * 2, .seconds(5))
                }
            }
            do {
                try await Task.sleep(for: failing ? pause : interval)
            } catch {
                return false
            }
        }
        return false
    }

    private func follow() async {
        var failing = false
        while !Task.isCancelled {
            // While the database is known to be away, a query would wait for the pool's connect
            // attempts: skip the round (searches are refused meanwhile anyway).
            if !databaseReady() {
                do { try await Task.sleep(for: interval) } catch { return }
                continue
            }
            do {
                let applied = try await knowledge.followChanges()
                if failing { logger.info("following the knowledge base again") }
                failing = false
                if applied > 0 {
                    logger.debug("applied knowledge base changes", metadata: [
                        "changes": "\(applied)", "position": "\(knowledge.indexedPosition)",
                    ])
                }
                if try await knowledge.saveSnapshotIfDue() {
                    logger.debug("saved the knowledge base's index snapshot", metadata: ["position": "\(knowledge.indexedPosition)"])
                }
            } catch is CancellationError {
                return
            } catch {
                // Once per outage, not once per poll.
                if !failing { logger.warning("cannot follow the knowledge base; searches use the indexes as they are", metadata: ["error": "\(error)"]) }
                failing = true
            }
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
        }
    }
}
