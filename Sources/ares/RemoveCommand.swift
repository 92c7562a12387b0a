import ArgumentParser
import AresComposition
import Foundation
import Knowledge

struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Forget a document, or every document under a folder, by the path it was ingested as."
    )

    @Argument(help: "The source path as ingested (see `ares search` output), or a folder of them.")
    var sources: [String]

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var embedding: EmbedderOptions
    @OptionGroup var database: DatabaseConnectionOptions

    func run() async throws {
        try await Console.reportingErrors {
            let configuration = try AresConfiguration.load(data, embedding, database)
            let failed = try await ResearchEnvironment.withKnowledgeBase(
                configuration, embedder: try await EmbedderFactory.make(configuration), access: .readWrite,
                logger: Console.databaseLogger, warning: Console.warning
            ) { knowledge in
                var failed = false
                for source in sources {
                    let removed = try await knowledge.remove(source)
                    if removed.isEmpty {
                        Console.error("no document was ingested as '\(source)'")
                        failed = true
                    } else {
                        for path in removed { print("removed \(path)") }
                    }
                }
                return failed
            }
            if failed { throw ExitCode.failure }
        }
    }
}
