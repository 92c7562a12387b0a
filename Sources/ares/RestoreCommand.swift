import ArgumentParser
import AresComposition
import Foundation

/// `ares restore SRC --data-dir NEW [--until TIME]`: checks a backup, then restores it into a new
/// data directory. SRC is an `ares backup` directory or a continuous backup (`ares serve --backup-to`).
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Check the backup SRC, then restore it into a new (or empty) data directory.",
        discussion: """
            SRC is a backup made by `ares backup`, or a continuous backup directory (`ares serve --backup-to DIR`): \
            then its newest base and every segment shipped after it are restored, or with --until only what was \
            recorded up to that time. A damaged backup is refused with every problem named; a non-empty target is \
            never overwritten.

            A PostgreSQL backup (made by `ares backup DEST --database URL`) is restored with --database URL into a \
            database that holds no ares data: the schema is migrated to the backup's version, every row loaded in one \
            transaction, later migrations applied, and every chain verified against the backup's heads.
            """)
    @Argument(help: "The backup directory (made by `ares backup`, or by `ares serve --backup-to`).")
    var source: String
    @Option(name: .customLong("data-dir"), help: "The new data directory to restore into (must be new or empty).")
    var dataDirectory: String?
    @OptionGroup var database: DatabaseConnectionOptions
    @Option(help: ArgumentHelp("Restore a continuous backup as it was at this time (ISO 8601, e.g. 2026-11-30T12:00:00Z): events recorded up to it, files copied by then.",
                               valueName: "time"))
    var until: String?

    func run() async throws {
        try await Console.reportingErrors {
            let sourceURL = URL(fileURLWithPath: source)
            let untilDate = try until.map(Self.parseTime)
            if BackupManifest.isDatabaseBackup(sourceURL) {
                try await restoreDatabase(from: sourceURL, until: untilDate)
                return
            }
            guard database.database == nil else {
                throw ValidationError("\(source) is a data directory's backup: restore it with --data-dir NEW (--database takes a backup made by `ares backup DEST --database URL`)")
            }
            guard let dataDirectory else {
                throw ValidationError("name the new data directory to restore into: --data-dir NEW")
            }
            if ContinuousBackupLayout.isContinuousBackup(sourceURL) {
                let summary = try ContinuousBackupRestore.restore(backup: sourceURL, into: URL(fileURLWithPath: dataDirectory), until: untilDate,
                                                                  progress: { Console.note($0) })
                let through = summary.restoredThrough.map { "events up to \(Self.format($0))" } ?? "no events"
                print(String(format: "restored %@ (base with %d events + %d segments: %d events replayed, %d files) in %.2f s into %@; %@",
                             summary.generation, summary.baseEvents, summary.segments, summary.replayedEvents, summary.files,
                             summary.seconds, dataDirectory, through))
                return
            }
            guard untilDate == nil else {
                throw ValidationError("--until needs a continuous backup (made by `ares serve --backup-to DIR`); \(source) is a single backup of one moment")
            }
            let summary = try DataDirectoryRestore.restore(
                backup: sourceURL, into: URL(fileURLWithPath: dataDirectory), progress: { Console.note($0) })
            print(String(format: "restored %d files, %d bytes, %d streams in %.2f s into %@",
                         summary.files, summary.bytes, summary.streams, summary.seconds, dataDirectory))
        }
    }

    /// A PostgreSQL backup into an empty database (`DatabaseRestore`).
    private func restoreDatabase(from sourceURL: URL, until: Date?) async throws {
        guard dataDirectory == nil else {
            throw ValidationError("\(source) is a PostgreSQL backup: restore it into a new, empty database with --database URL, not --data-dir")
        }
        guard until == nil else {
            throw ValidationError("--until needs a continuous backup; a PostgreSQL database is recovered to a moment from its WAL archive (docs/operations.md, point-in-time recovery)")
        }
        guard let target = try AresConfiguration.load(database).database else {
            throw ValidationError("\(source) is a PostgreSQL backup: name the new, empty database to restore into with --database postgres://USER@HOST:PORT/DATABASE (or $ARES_DATABASE_URL)")
        }
        let summary = try await DatabaseRestore.restore(backup: sourceURL, settings: target.settings, logger: Console.databaseLogger,
                                                        progress: { Console.note($0) })
        print(String(format: "restored %d tables, %d rows (schema version %d) in %.2f s into the database %@; %d streams, %d events, every hash chain intact",
                     summary.tables, summary.rows, summary.schemaVersion, summary.seconds, "\(target.settings)", summary.streams, summary.events))
    }

    /// An ISO 8601 time with a zone (Z or an offset), with or without fractions of a second.
    static func parseTime(_ text: String) throws -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        throw ValidationError("--until must be an ISO 8601 time with a zone, such as 2026-11-30T12:00:00Z or 2026-11-30T13:00:00.250+01:00 (got '\(text.prefix(100))')")
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
