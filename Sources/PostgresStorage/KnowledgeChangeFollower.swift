import Knowledge
import Logging
import ServiceLifecycle

/// Keeps one replica's in-memory search indexes up to date with what every replica writes to
/// the shared knowledge base: a `Service` that calls `KnowledgeBase.followChanges()` every
/// `interval` until cancelled or shut down gracefully.
///
/// Polling, not LISTEN: a poll is one indexed query (`position > P`) that finds nothing most
/// of the time, it works through poolers in transaction mode, and a notification would only
/// shorten a delay that is already well inside the 2 s a search on another replica may lag.
/// While the database is unreachable the follower logs once and keeps trying; searches go on
/// with the indexes they have.
///
/// ```swift
/// let knowledge = try await KnowledgeBase(sharedRepository: PostgresDocumentStore(database: database), …)
/// serviceGroup services: [database, KnowledgeChangeFollower(knowledge: knowledge, logger: logger), …]
/// ```
public struct KnowledgeChangeFollower: Service {
    public let knowledge: KnowledgeBase
    public let interval: Duration
    let logger: Logger

    public init(knowledge: KnowledgeBase, interval: Duration = .milliseconds(250), logger: Logger) {
        self.knowledge = knowledge
        self.interval = max(interval, .milliseconds(10))
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                do {
                    let applied = try await knowledge.followChanges()
                    if failing { logger.info("following the knowledge base again") }
                    failing = false
                    if applied > 0 {
                        logger.debug("applied knowledge base changes", metadata: [
                            "changes": "\(applied)", "position": "\(knowledge.indexedPosition)",
                        ])
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
}
