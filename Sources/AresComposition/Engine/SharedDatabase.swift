import Foundation
import Logging
import PostgresStorage
import Security
import Server
import Storage
import ServiceLifecycle
import Synchronization

/// The PostgreSQL side of `ares serve --database`: the pool (a `Service` that must outlive
/// everything that queries through it), the shared event store and API keys, and what the
/// server knows of the database's health for `/health/ready`.
///
/// The server listens before the database answers: start-up (`DatabaseStartupService`) waits
/// for it with backoff while readiness says why it is not ready, so an orchestrator sees a live
/// process that is not ready rather than a crash loop. Once prepared, a ping every second
/// keeps readiness honest: a database lost for longer than `pingTolerance` takes the replica
/// out of rotation until it answers again.
public final class SharedDatabase: Sendable {
    /// What the server knows of the database right now.
    struct Health: Sendable {
        /// Connected and migrated: the store may be used (start-up resumes tasks through it).
        var prepared = false
        /// Start-up is over (keys loaded, tasks resumed): the replica may be in rotation.
        var started = false
        var attempt = 0
        /// When the database last answered (a ping, or the end of start-up).
        var lastAnswer: ContinuousClock.Instant?
        /// The last problem seen (cleared by an answer).
        var problem: String?
        /// How full PostgreSQL's notification queue was at the last ping, 0 to 1.
        var notificationQueueUsage = 0.0
    }

    /// How long the database may stay silent before the replica counts it as lost: readiness
    /// turns false and new requests that need it answer 503 at once.
    public static let pingTolerance = Duration.seconds(5)
    public static let pingInterval = Duration.seconds(1)
    /// The share of PostgreSQL's notification queue (8 GB) from which writes are refused, and
    /// the share from which a warning is logged. A notification takes 100–500 bytes of the
    /// queue, so at a thousand commits a second a queue a stopped listener holds fills in many
    /// hours: refusing at half leaves the operator hours, and a margin no burst crosses.
    public static let notificationQueueLimit = 0.5
    public static let notificationQueueWarning = 0.1

    public let database: PostgresDatabase
    /// The shared event store as opened; the engine uses `gatedEventStore`.
    public let eventStore: PostgresEventStore
    /// The event store the engine uses: refuses at once, with a retryable error, while the
    /// database is lost or not yet ready (see `AvailabilityGatedEventStore`).
    public let gatedEventStore: AvailabilityGatedEventStore
    public let keys: PostgresAPIKeyStore
    public let replicaID: String
    public let notify: AresConfiguration.Database.NotifyMode
    private let health = HealthRecord()

    /// The health behind a lock, shared with the gate and the readiness check (a `Mutex`
    /// cannot be captured by their closures itself).
    final class HealthRecord: Sendable {
        private let state = Mutex(Health())
        func withLock<Result>(_ body: (inout Health) -> Result) -> Result { state.withLock { body(&$0) } }
    }

    public init(_ configuration: AresConfiguration.Database, logger: Logger) {
        var settings = configuration.settings
        // `ares serve` waits for the database as long as it takes (readiness says so); each
        // round of `prepare` retries with backoff for this long before reporting a problem.
        settings.startupTimeout = .seconds(10)
        database = PostgresDatabase(settings: settings, logger: logger)
        eventStore = PostgresEventStore(database: database)
        keys = PostgresAPIKeyStore(database: database)
        replicaID = ReplicaIdentity.make(given: configuration.replicaID)
        notify = configuration.notify
        let health = health
        let address = "\(settings.host):\(settings.port)"
        gatedEventStore = AvailabilityGatedEventStore(base: eventStore, unavailability: {
            Self.unavailability(health.withLock { $0 }, address: address, now: .now)
        }, writeRefusal: {
            Self.writeRefusal(health.withLock { $0 })
        })
    }

    func recordAttempt(_ attempt: Int, problem: String?) {
        health.withLock {
            $0.attempt = attempt
            $0.problem = problem
        }
    }

    /// Connected and migrated: the store may be used.
    func recordPrepared() {
        health.withLock {
            $0.prepared = true
            $0.lastAnswer = .now
            $0.problem = nil
        }
    }

    /// Start-up is over: keys loaded, tasks resumed.
    func recordStarted() {
        health.withLock {
            $0.started = true
            $0.lastAnswer = .now
        }
    }

    /// A ping's outcome: no problem, the database answered; else the problem. Returns the
    /// notification queue's usage before this ping and now.
    @discardableResult
    func recordPing(_ outcome: PostgresDatabasePinger.Outcome) -> (before: Double, now: Double) {
        health.withLock {
            let before = $0.notificationQueueUsage
            if let usage = outcome.notificationQueueUsage { $0.notificationQueueUsage = usage }
            if let problem = outcome.problem {
                $0.problem = problem
            } else {
                $0.lastAnswer = .now
                $0.problem = nil
            }
            return (before, $0.notificationQueueUsage)
        }
    }

    /// Why the database cannot be used now (not yet connected and migrated, or silent for
    /// longer than `pingTolerance`); nil when it can. What the shared knowledge base's
    /// admission asks, as the gated event store does.
    public var currentUnavailability: StorageUnavailableError? {
        let settings = database.settings
        return Self.unavailability(health.withLock { $0 }, address: "\(settings.host):\(settings.port)", now: .now)
    }

    /// Whether the database counts as lost now (silent for longer than `pingTolerance`).
    var isLost: Bool {
        Self.unavailability(health.withLock { $0 }, address: "", now: .now) != nil
    }

    /// Why the database cannot be used now; nil when it can.
    static func unavailability(_ health: Health, address: String, now: ContinuousClock.Instant) -> StorageUnavailableError? {
        guard health.prepared else {
            return StorageUnavailableError(reason: .unreachable, detail: "the server is still connecting to the database at \(address)"
                                           + (health.problem.map { " (\($0))" } ?? ""))
        }
        guard let lastAnswer = health.lastAnswer, now - lastAnswer > pingTolerance else { return nil }
        return StorageUnavailableError(reason: .unreachable, detail: "the database at \(address) has not answered for "
                                       + "\((now - lastAnswer).components.seconds) s" + (health.problem.map { " (\($0))" } ?? ""))
    }

    /// Why writes are refused while the database answers; nil when they are not. Reads go on.
    static func writeRefusal(_ health: Health) -> StorageUnavailableError? {
        guard health.notificationQueueUsage >= notificationQueueLimit else { return nil }
        return StorageUnavailableError(reason: .notificationQueueFull, detail: """
            PostgreSQL's notification queue is \(percent(health.notificationQueueUsage)) full, because a session that \
            listens has stopped reading (a stopped replica or client; pg_stat_activity names it, and \
            pg_terminate_backend ends it); writes resume below \(percent(notificationQueueLimit)), since a commit \
            into a full queue fails after it was acknowledged
            """)
    }

    static func percent(_ share: Double) -> String {
        String(format: "%.1f %%", share * 100)
    }

    /// `/health/ready`'s view: not ready until start-up is over, nor while the database has
    /// not answered for `pingTolerance`. It stands for the event store's probe (see `ReadinessCheck`).
    public var readinessCheck: ReadinessCheck {
        let settings = database.settings
        let target = "\(settings.host):\(settings.port)/\(settings.database)"
        let replicaID = replicaID
        return ReadinessCheck(name: "database", coversEventStore: true) { [health] in
            let current = health.withLock { $0 }
            if !current.started {
                return .init(ready: false, detail: "connecting to \(target) (attempt \(current.attempt))" + (current.problem.map { ": \($0)" } ?? ""))
            }
            if let refused = Self.unavailability(current, address: target, now: .now) {
                return .init(ready: false, detail: "\(refused.detail); requests that need it answer 503, running tasks wait")
            }
            // Still ready: every replica shares the queue, so taking this one out of rotation
            // would stop reads too and free nothing.
            if let refused = Self.writeRefusal(current) {
                return .init(ready: true, detail: "ok: \(target), replica \(replicaID); writes refused: \(refused.detail)")
            }
            return .init(ready: true, detail: "ok: \(target), replica \(replicaID)")
        }
    }
}
