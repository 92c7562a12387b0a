import ArgumentParser
import AresComposition
import Foundation
import TaskService

struct MemoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Episodic memory: finished tasks whose plans near-identical questions reuse.",
        subcommands: [Forget.self]
    )

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget episodes older than a number of days (default: all of them).")
        @Option(help: "Keep episodes younger than this many days.") var olderThanDays = 0.0
        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var embedding: EmbedderOptions

        func validate() throws {
            guard olderThanDays >= 0, olderThanDays.isFinite else { throw ValidationError("--older-than-days must be 0 or more (got \(olderThanDays))") }
        }

        func run() async throws {
            try await Console.reportingErrors {
                let environment = try await ResearchEnvironment.open(
                    try AresConfiguration.load(data, embedding), options: .init(languageModel: false), warning: Console.warning)
                let cutoff = Date().addingTimeInterval(-olderThanDays * 86_400)
                try await EventStoreEpisodicMemory(store: environment.service.store).forget(before: cutoff)
                print("forgot episodes recorded before \(ISO8601DateFormatter().string(from: cutoff))")
            }
        }
    }
}
