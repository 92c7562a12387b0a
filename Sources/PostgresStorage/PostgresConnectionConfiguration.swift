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
    /// Not `plan_cache_mode`: ares's prepared statements keep the generic plan PostgreSQL
    /// settles on after five executions, and each one that joins a table with an array
    /// argument also names the keys as `= ANY(array)`, so that this plan finds rows by index
    /// whatever the table's size was when it was made (`PostgresOneStatementAppend.Statement`).
    /// Planning every execution anew (`force_custom_plan`) fixed the scans too, but cost 15–30 %
    /// of the append rate (BENCHMARKS.md, 2026-12-01).
    static let startupParameters: [(String, String)] = [
        ("synchronous_commit", "on"),
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
