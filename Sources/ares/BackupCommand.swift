import ArgumentParser
import AresComposition
import Foundation

/// `ares backup DEST`: a consistent copy of the data directory, safe while `ares serve` runs
/// (see `DataDirectoryBackup`), with a manifest `ares verify --backup DEST` checks.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the data directory consistently (also while `ares serve` runs) into DEST, with a manifest.",
        discussion: """
            DEST must be new or empty; it is made private (0700, files 0600). Each SQLite database is copied \
            through SQLite's online backup API. manifest.json (written last) records each file's size and SHA-256 \
            and every task stream's and the audit trail's chain head. Check it with `ares verify --backup DEST`, \
            restore it with `ares restore DEST --data-dir NEW`.

            With --database URL (or $ARES_DATABASE_URL), the PostgreSQL database's ares tables instead, read in one \
            read-only snapshot while replicas keep serving: one JSON Lines file per table under tables/, and a manifest \
            with each file's SHA-256 and every stream's chain head. Restore it with `ares restore DEST --database NEWURL` \
            into an empty database.
            """)
    @Argument(help: "The directory to create the backup in (new or empty).")
    var destination: String
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseConnectionOptions

    func run() async throws {
        try await Console.reportingErrors {
            let configuration = try AresConfiguration.load(data, database)
            if let database = configuration.database {
                // The PostgreSQL database's tables, in one snapshot (see `DatabaseBackup`).
                let summary = try await DatabaseBackup.backup(
                    settings: database.settings, logger: Console.databaseLogger, to: URL(fileURLWithPath: destination),
                    aresVersion: AresVersion.current, progress: { Console.note($0) })
                for warning in summary.warnings { Console.warning(warning) }
                print(String(format: "backed up the database %@: %d tables, %d rows, %d bytes, %d streams (schema version %d) in %.2f s to %@",
                             "\(database.settings)", summary.tables, summary.rows, summary.bytes, summary.streams, summary.schemaVersion,
                             summary.seconds, destination))
                return
            }
            let summary = try DataDirectoryBackup.backup(
                dataDirectory: configuration.dataDirectory, to: URL(fileURLWithPath: destination), aresVersion: AresVersion.current,
                progress: { Console.note($0) })
            for warning in summary.warnings { Console.warning(warning) }
            print(String(format: "backed up %d files, %d bytes, %d streams in %.2f s to %@",
                         summary.files, summary.bytes, summary.streams, summary.seconds, destination))
        }
    }
}
