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
    /// `plan_cache_mode = force_custom_plan`: ares's statements are prepared once per connection
    /// (parsed once) but planned at every execution, with the real arguments and the table's
    /// current size. Left to itself, PostgreSQL switches a prepared statement to a generic plan
    /// after five executions and keeps it until the table is next analyzed: a connection that
    /// prepared the append while `ares_event_streams` was nearly empty kept a sequential scan
    /// of every stream head for each append, growing with every task (40 million rows read in
    /// half a minute of benchmark, before autovacuum's next ANALYZE; BENCHMARKS.md, 2026-12-01).
    /// Planning costs the append micro-benchmark 15–30 % of its rate, and the replicas nothing
    /// measurable. Generic plans with the keys named as `= ANY(array)` were tried instead: a
    /// unit test passed, but the replicas benchmark still read 72 million head rows (presumably
    /// a plan made on a small table that filters a sequential scan by the array), so this
    /// setting stays.
    static let startupParameters: [(String, String)] = [
        ("synchronous_commit", "on"),
        ("plan_cache_mode", "force_custom_plan"),
        ("application_name", "ares"),
    ]

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

    static func client(_ settings: DatabaseSettings) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = tlsConfiguration(settings).map { .require($0) } ?? .disable
        var configuration = PostgresClient.Configuration(host: settings.host, port: settings.port, username: settings.user,
                                                         password: settings.passwordValue, database: settings.database, tls: tls)
        configuration.options.additionalStartupParameters = startupParameters
        configuration.options.maximumConnections = max(1, settings.maximumConnections)
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
