import Foundation
import NIOSSL
import PostgresNIO

/// Turns `DatabaseSettings` into PostgresNIO's configurations: the pool's and a single
/// connection's (the start-up check connects once on its own to learn *why* it cannot).
enum PostgresConnectionConfiguration {
    /// Sent at every connection's start, so that these hold whatever the server's or the
    /// role's defaults are: a commit is acknowledged only once it is flushed to the WAL on disk
    /// (durable when acknowledged), and the server's views name the client.
    ///
    /// `plan_cache_mode = force_custom_plan`: the general pool's statements (all but those of
    /// `preparedStatementStartupParameters`) are planned at every execution, with the real
    /// arguments and the table's current size. Left to itself, PostgreSQL switches a prepared
    /// statement to a generic plan after five executions and keeps it until the table is next
    /// analyzed: a connection that prepared the append while `ares_event_streams` was nearly
    /// empty kept a sequential scan of every stream head for each append, growing with every
    /// task (40 million rows read in half a minute of benchmark, before autovacuum's next
    /// ANALYZE; BENCHMARKS.md, 2026-12-01). Generic plans with the keys named as `= ANY(array)`
    /// were tried instead: a unit test passed, but the replicas benchmark still read 72 million
    /// head rows (a plan made on a small table that filters a sequential scan by the array).
    /// The statements every task sends avoid the planning cost on the other pool, below.
    static let startupParameters: [(String, String)] = [
        ("synchronous_commit", "on"),
        ("plan_cache_mode", "force_custom_plan"),
        ("application_name", "ares"),
    ]

    /// The connections of the prepared-statement pool (`PostgresDatabase.preparedClient`),
    /// which runs only the few statements every task sends (its appends, claims and releases:
    /// `PostgresDatabasePool.execute`), each of them key lookups and index-ordered scans: those
    /// are planned once per connection (`force_generic_plan`) instead of at every call.
    /// Planning was more of PostgreSQL's time per no-op task than running them (BENCHMARKS.md,
    /// 2026-12-02). The hazard above, a generic plan made on a nearly empty table that scans the
    /// whole table once it grew, is why `enable_seqscan` is off here: no plan of this pool reads
    /// a table whole while an index serves. Measured on two replicas for 20 s: generic plans
    /// with sequential scans allowed read 48 million stream-head rows; with them off, none. And
    /// `jit` is off: with sequential scans priced out, a statement that still needs one looks
    /// costly enough to be compiled at every call (one did: 240 ms per call, for a one-row table).
    /// Its own `application_name`, so operators can tell its connections apart.
    static let preparedStatementStartupParameters: [(String, String)] = [
        ("synchronous_commit", "on"),
        ("plan_cache_mode", "force_generic_plan"),
        ("enable_seqscan", "off"),
        ("jit", "off"),
        ("application_name", "ares-prepared"),
    ]

    /// How the database's connections are split: the prepared-statement pool needs one for
    /// each of the few statements in flight at once (a group commit, a claim, a release batch),
    /// so at most 4, and the general pool keeps the rest (at least one each).
    static func connectionLimits(_ settings: DatabaseSettings) -> (general: Int, prepared: Int) {
        let total = max(2, settings.maximumConnections)
        let prepared = min(4, max(1, total / 4))
        return (total - prepared, prepared)
    }

    static func tlsConfiguration(_ settings: DatabaseSettings) -> TLSConfiguration? {
        switch settings.tlsMode {
        case .disable:
            return nil
        case .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            // libpq's `require`: encrypted, whoever the server is.
            configuration.certificateVerification = .none
            return configuration
        case .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            if let file = settings.certificateAuthorityFile { configuration.trustRoots = .file(file) }
            return configuration
        }
    }

    /// The general pool's configuration, or with `forPreparedStatements` the prepared-statement pool's.
    static func client(_ settings: DatabaseSettings, forPreparedStatements: Bool = false) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = tlsConfiguration(settings).map { .require($0) } ?? .disable
        var configuration = PostgresClient.Configuration(host: settings.host, port: settings.port, username: settings.user,
                                                         password: settings.passwordValue, database: settings.database, tls: tls)
        let limits = connectionLimits(settings)
        configuration.options.additionalStartupParameters = forPreparedStatements ? preparedStatementStartupParameters : startupParameters
        configuration.options.maximumConnections = forPreparedStatements ? limits.prepared : limits.general
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    static func connection(_ settings: DatabaseSettings) throws -> PostgresConnection.Configuration {
        var tls: PostgresConnection.Configuration.TLS = .disable
        if let configuration = tlsConfiguration(settings) {
            tls = .require(try NIOSSLContext(configuration: configuration))
        }
        var configuration = PostgresConnection.Configuration(host: settings.host, port: settings.port, username: settings.user,
                                                             password: settings.passwordValue, database: settings.database, tls: tls)
        configuration.options.additionalStartupParameters = startupParameters
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }
}
