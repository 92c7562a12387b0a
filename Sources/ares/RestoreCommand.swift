import ArgumentParser
import AresComposition
import Foundation

/// `ares restore SRC --data-dir NEW`: checks a backup, then restores it into a new data directory.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Check the backup SRC, then restore it into a new (or empty) data directory.",
        discussion: "A damaged backup is refused with every problem named; a non-empty target is never overwritten.")
    @Argument(help: "The backup directory (made by `ares backup`).")
    var source: String
    @Option(name: .customLong("data-dir"), help: "The new data directory to restore into (must be new or empty).")
    var dataDirectory: String

    func run() async throws {
        try await Console.reportingErrors {
            let summary = try DataDirectoryRestore.restore(
                backup: URL(fileURLWithPath: source), into: URL(fileURLWithPath: dataDirectory), progress: { Console.note($0) })
            print(String(format: "restored %d files, %d bytes, %d streams in %.2f s into %@",
                         summary.files, summary.bytes, summary.streams, summary.seconds, dataDirectory))
        }
    }
}
