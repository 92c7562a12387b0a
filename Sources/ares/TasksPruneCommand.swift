import ArgumentParser
import AresComposition
import Foundation
import PostgresStorage
import TaskService

extension TasksCommand {
    /// `ares tasks prune --older-than 30d`: retention by hand (the server's `--retention` does
    /// the same periodically).
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove tasks that ended longer ago than a period; a summary and a chain checkpoint of each remain.",
            discussion: """
                Only ended tasks (completed, failed, canceled) are removed, with their push-notification
                configs. Each leaves a summary (owner, state, times, question, the report's SHA-256) and a
                checkpoint of its hash chain, recorded in the hash-chained `ares-retention` stream, so
                `ares verify` still proves that nothing else changed. Freed space is given back to the file
                system (stores created by this version) or reused for new events (older stores).
                A running `ares serve` on the data directory may keep showing a pruned task it has cached until
                it evicts it; its own --retention setting prunes without that delay.
                With --database (or $ARES_DATABASE_URL) the tasks are pruned in PostgreSQL, where every
                replica forgets them within its change feed's delay; autovacuum reuses the space.
                """)
        @Option(help: ArgumentHelp("Prune tasks that ended before this long ago: \(RetentionPeriod.accepted).", valueName: "period"))
        var olderThan: String
        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var embedding: EmbedderOptions
        @OptionGroup var database: DatabaseConnectionOptions

        func run() async throws {
            try await Console.reportingErrors {
                let period: RetentionPeriod
                do {
                    period = try RetentionPeriod(parsing: olderThan)
                } catch {
                    throw ValidationError("--older-than: \(error)")
                }
                let configuration = try AresConfiguration.load(data, embedding, database)
                let cutoff = period.cutoff()
                let report: TaskPruneReport
                if let shared = configuration.database {
                    // The deployment's tasks are in the database (pruning the data directory would
                    // report "nothing pruned" about tasks that exist).
                    report = try await PostgresDatabase.withDatabase(settings: shared.settings, logger: Console.databaseLogger) { database in
                        try await TaskRetention(store: PostgresEventStore(database: database)).prune(endedBefore: cutoff)
                    }
                } else {
                    let environment = try await ResearchEnvironment.open(configuration, options: .init(languageModel: false), warning: Console.warning)
                    report = try await TaskRetention(service: environment.service).prune(endedBefore: cutoff)
                }
                guard report.prunedTasks > 0 else {
                    print("No task ended before \(cutoff.formatted(.iso8601)) (\(period) ago); nothing pruned\(report.keptTasks > 0 ? " (\(report.keptTasks) kept: changed or unreadable)" : "").")
                    return
                }
                print("pruned \(report.prunedTasks) tasks that ended before \(cutoff.formatted(.iso8601))"
                      + (report.keptTasks > 0 ? " (\(report.keptTasks) kept: changed or unreadable)" : "")
                      + "; event store \(report.bytesBefore) → \(report.bytesAfter) bytes")
            }
        }
    }
}
