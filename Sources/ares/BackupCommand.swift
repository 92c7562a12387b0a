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
            """)
    @Argument(help: "The directory to create the backup in (new or empty).")
    var destination: String
    @OptionGroup var data: DataDirectoryOptions

    func run() async throws {
        try await Console.reportingErrors {
            let configuration = try AresConfiguration.load(data)
            let summary = try DataDirectoryBackup.backup(
                dataDirectory: configuration.dataDirectory, to: URL(fileURLWithPath: destination), aresVersion: AresVersion.current,
                progress: { Console.note($0) })
            for warning in summary.warnings { Console.warning(warning) }
            print(String(format: "backed up %d files, %d bytes, %d streams in %.2f s to %@",
                         summary.files, summary.bytes, summary.streams, summary.seconds, destination))
        }
    }
}
