import ArgumentParser
import AresComposition
import Foundation
import PostgresStorage

/// `ares db import --from-data-dir DIR`: moves an embedded data directory into the shared
/// PostgreSQL database (issue 16), so replicas started with `--database` carry on with its
/// tasks, documents and keys. See `DataDirectoryImporter` for what is copied and guaranteed.
struct DatabaseImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Copy a data directory's tasks (hash chains intact), documents with their vectors, and API keys into the database.",
        discussion: """
            Creates the schema if needed. Refuses a data directory another ares process holds (stop \
            `ares serve` first), a data directory whose hash chains are broken, and a database that \
            already holds ares data unless --allow-nonempty is given (even then, streams, documents \
            or keys that exist on both sides in different forms are refused). Interrupted? Run the \
            same command again: what was copied is recognized and skipped, the rest follows. \
            Afterwards `ares verify --database URL` checks the copied chains.
            """
    )

    @Option(name: .customLong("from-data-dir"), help: ArgumentHelp("The data directory to copy (it is read, never changed).", valueName: "dir"))
    var dataDirectory: String

    @Flag(help: "Add to a database that already holds ares data (refused when a stream, document or key conflicts).")
    var allowNonempty = false

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await Console.reportingErrors {
            guard !dataDirectory.isEmpty else { throw ValidationError("--from-data-dir must name a directory") }
            let directory = URL(fileURLWithPath: dataDirectory)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("\(directory.path) is not a directory")
            }
            let settings = try database.settings()
            let clock = ContinuousClock()
            let started = clock.now
            let summary = try await PostgresDatabase.withDatabase(settings: settings, logger: database.logger) { database in
                try await DataDirectoryImporter(dataDirectory: directory, database: database, allowNonempty: allowNonempty) { line in
                    // Unbuffered, so a pipe shows each line as the import reaches it.
                    try? FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))
                }.run()
            }
            let seconds = Double((clock.now - started).components.seconds) + Double((clock.now - started).components.attoseconds) / 1e18
            var parts = ["\(summary.events) events in \(summary.streams) streams", "\(summary.documents) documents (\(summary.passages) passages)",
                         "\(summary.apiKeys) API keys (\(summary.revocations) revoked)"]
            let present = summary.streamsAlreadyPresent + summary.documentsAlreadyPresent
            if present > 0 {
                parts.append("\(summary.streamsAlreadyPresent) streams and \(summary.documentsAlreadyPresent) documents were already there")
            }
            if summary.prunedStreams > 0 { parts.append("\(summary.prunedStreams) checkpoints of tasks removed by retention") }
            if let generation = summary.snapshotGeneration { parts.append("index snapshot at generation \(generation)") }
            print("imported \(directory.standardizedFileURL.path) into \(settings): " + parts.joined(separator: ", ")
                  + String(format: " in %.1f s", seconds))
            print("check the copied chains with `ares verify --database` and the same URL")
        }
    }
}
