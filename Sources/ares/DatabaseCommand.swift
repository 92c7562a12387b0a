import ArgumentParser
import Foundation
import Logging
import PostgresStorage

/// `ares db`: the PostgreSQL database several replicas share (issue 16). The schema is
/// versioned; `ares serve --database` will apply pending migrations at start, these commands
/// show and apply them by hand (before a rolling upgrade, say).
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "The PostgreSQL database: schema status, migrations, hash-chain verification, importing a data directory.",
        discussion: """
            The database is named by --database or $ARES_DATABASE_URL:
              postgres://USER@HOST:PORT/DATABASE?sslmode=disable|require|verify-full[&sslrootcert=CA.pem]
            (without sslmode: verify-full). The password is read from the file named by
            $ARES_DATABASE_PASSWORD_FILE, else from $ARES_DATABASE_PASSWORD; never from the URL.
            """,
        subcommands: [DatabaseStatusCommand.self, DatabaseMigrateCommand.self, DatabaseVerifyCommand.self, DatabaseImportCommand.self]
    )
}

/// The database options every `ares db` command takes.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: ArgumentHelp("The database URL (default: $ARES_DATABASE_URL); no password in it.", valueName: "url"))
    var url: String?

    @Option(name: .customLong("database-timeout"), help: "Seconds to keep retrying an unreachable database (default 30).")
    var timeoutSeconds: Int = 30

    func settings() throws -> DatabaseSettings {
        let environment = ProcessInfo.processInfo.environment
        guard let url = url ?? environment[DatabaseSettings.urlVariable], !url.isEmpty else {
            throw ValidationError("no database: pass --database postgres://USER@HOST:PORT/DATABASE or set \(DatabaseSettings.urlVariable)")
        }
        guard (0...3600).contains(timeoutSeconds) else { throw ValidationError("--database-timeout must be 0 to 3600 seconds (got \(timeoutSeconds))") }
        do {
            var settings = try DatabaseSettings(url: url, environment: environment)
            settings.startupTimeout = .seconds(timeoutSeconds)
            // One command, one connection at a time: no pool worth the name.
            settings.maximumConnections = 2
            return settings
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Warnings (retries) on standard error; standard output stays the command's result.
    var logger: Logger {
        var logger = Logger(label: "ares.database", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        return logger
    }
}

struct DatabaseStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print the schema version, the applied migrations and the pending ones (exit status 2 while some are pending)."
    )
    @OptionGroup var database: DatabaseOptions
    @Option(help: "text or json.")
    var format: String = "text"

    func run() async throws {
        try await Console.reportingErrors {
            guard format == "text" || format == "json" else { throw ValidationError("--format must be text or json (got '\(format)')") }
            let settings = try database.settings()
            let status = try await PostgresDatabase.withDatabase(settings: settings, logger: database.logger, prepare: false) { database in
                try await PostgresMigrator().status(client: database.client, logger: self.database.logger)
            }
            if format == "json" {
                print(try Self.json(status, settings: settings))
            } else {
                print(Self.text(status, settings: settings))
            }
            if status.isNewerThanKnown {
                Console.error("database schema is at version \(status.version), this ares knows up to \(status.knownVersion): upgrade ares")
                throw ExitCode.failure
            }
            if !status.pending.isEmpty { throw ExitCode(2) }
        }
    }

    static func text(_ status: PostgresMigrator.Status, settings: DatabaseSettings) -> String {
        var lines = ["database: \(settings)",
                     "schema version: \(status.version) (this ares knows up to \(status.knownVersion))"]
        let dates = ISO8601DateFormatter()
        lines.append(status.applied.isEmpty ? "applied: none" : "applied:")
        for migration in status.applied {
            lines.append("  \(migration.version)  \(migration.name)  \(dates.string(from: migration.appliedAt))")
        }
        lines.append(status.pending.isEmpty ? "pending: none" : "pending (apply with `ares db migrate`):")
        for migration in status.pending { lines.append("  \(migration.version)  \(migration.name)") }
        return lines.joined(separator: "\n")
    }

    static func json(_ status: PostgresMigrator.Status, settings: DatabaseSettings) throws -> String {
        let dates = ISO8601DateFormatter()
        let object: [String: Any] = [
            "database": "\(settings)",
            "version": status.version,
            "knownVersion": status.knownVersion,
            "applied": status.applied.map { ["version": $0.version, "name": $0.name, "appliedAt": dates.string(from: $0.appliedAt)] as [String: Any] },
            "pending": status.pending.map { ["version": $0.version, "name": $0.name] as [String: Any] },
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}

struct DatabaseMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending migrations (under an advisory lock: safe while replicas start); refuses a schema newer than this ares."
    )
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await Console.reportingErrors {
            let settings = try database.settings()
            let (applied, status) = try await PostgresDatabase.withDatabase(settings: settings, logger: database.logger, prepare: false) { database in
                let migrator = try PostgresMigrator()
                do {
                    let applied = try await migrator.migrate(client: database.client, logger: self.database.logger)
                    return (applied, try await migrator.status(client: database.client, logger: self.database.logger))
                } catch {
                    throw PostgresStorageError.describing(error, settings: settings)
                }
            }
            if applied.isEmpty {
                print("schema is up to date at version \(status.version)")
            } else {
                print("applied \(applied.count) migration\(applied.count == 1 ? "" : "s"): "
                      + applied.map { "\($0.version) \($0.name)" }.joined(separator: ", ") + "; schema version \(status.version)")
            }
        }
    }
}

/// `ares db verify`: every stream's hash chain in the database, checked as `ares verify`
/// checks the embedded store (the same three checks, the same messages).
struct DatabaseVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the hash chain of every event stream in the database and report any break."
    )
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await Console.reportingErrors {
            // The same code as `ares verify --database`.
            try ChainVerificationReport.report(try await ChainVerificationReport.verifyDatabase(settings: try database.settings(),
                                                                                                logger: database.logger))
        }
    }
}
