import ArgumentParser

/// Benchmarks of ares: commands that print numbers, meant for release builds
/// (`swift build -c release`). Results are recorded in BENCHMARKS.md.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ares-bench",
        abstract: "ares benchmarks: build with -c release, then run a subcommand.",
        subcommands: [CorpusBenchmarkCommand.self, HNSWBenchmarkCommand.self, EventStoreBenchmarkCommand.self, PostgresEventStoreBenchmarkCommand.self, PostgresQueueBenchmarkCommand.self, ResearchBenchmarkCommand.self, OIDCVerifyBenchmarkCommand.self, EmbeddingBenchmarkCommand.self, TaskListingBenchmarkCommand.self, SeedFinishedTasksCommand.self]
    )
}
