import ArgumentParser
import AresComposition
import Foundation
import Knowledge

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Add files and folders (text, Markdown, HTML) to the knowledge base, incrementally.",
        discussion: """
            Folders are read recursively (hidden files and folders are skipped). A file that has not \
            changed since the last ingest is not read again; a changed file replaces its passages. \
            With --prune, documents whose files no longer exist are forgotten.
            """
    )

    @Argument(help: "Files and folders to ingest.")
    var paths: [String] = []

    @Flag(help: "Forget documents whose files no longer exist.")
    var prune = false

    @Option(help: "text or json.")
    var format: OutputFormat = .text

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var embedding: EmbedderOptions
    @OptionGroup var database: DatabaseConnectionOptions

    func validate() throws {
        if paths.isEmpty && !prune {
            throw ValidationError("name at least one file or folder to ingest (or use --prune alone to forget deleted files)")
        }
        // A mistyped path fails before any work, rather than after a long ingest of the rest.
        let missing = paths.filter { !FileManager.default.fileExists(atPath: $0) }
        if !missing.isEmpty {
            throw ValidationError("no such file or folder: \(missing.map { "'\($0)'" }.joined(separator: ", "))")
        }
    }

    func run() async throws {
        try await Console.reportingErrors {
            let configuration = try AresConfiguration.load(data, embedding, database)
            let summary = try await ResearchEnvironment.withKnowledgeBase(
                configuration, embedder: try await EmbedderFactory.make(configuration), access: .readWrite,
                logger: Console.databaseLogger, warning: Console.warning
            ) { knowledge in
                let display = TerminalProgress()
                let summary = try await knowledge.ingest(paths, prune: prune) { display.update($0) }
                display.finish()
                return summary
            }
            let place = configuration.database.map { "the database \($0.settings.database) on \($0.settings.host):\($0.settings.port)" }
            try IngestReport(summary: summary, dataDirectory: place ?? configuration.dataDirectory.path).print(format: format)
            if summary.filesSeen == 0 && !paths.isEmpty {
                Console.warning("no files found in \(paths.joined(separator: ", ")); nothing was ingested")
            }
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// The end-of-run summary of an ingest, as text or JSON.
struct IngestReport {
    var summary: IngestSummary
    var dataDirectory: String

    func print(format: OutputFormat) throws {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            Swift.print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        case .text:
            Swift.print(String(
                format: "Ingested %d files in %.1f s: %d new, %d changed, %d unchanged, %d removed.",
                summary.filesSeen, summary.seconds, summary.added, summary.updated, summary.unchanged, summary.removed))
            Swift.print("Knowledge base: \(summary.documents) documents, \(summary.chunks) passages (+\(summary.chunksAdded), -\(summary.chunksRemoved)) in \(dataDirectory)")
            if summary.reembeddedChunks > 0 {
                Swift.print("Re-embedded \(summary.reembeddedChunks) passages for the new embedder.")
            }
            for note in summary.notes { Swift.print("  note: \(note.path): \(note.reason)") }
            if !summary.skipped.isEmpty {
                Swift.print("Skipped \(summary.skipped.count) file\(summary.skipped.count == 1 ? "" : "s"):")
                for skipped in summary.skipped { Swift.print("  \(skipped.path): \(skipped.reason)") }
            }
        }
    }
}
