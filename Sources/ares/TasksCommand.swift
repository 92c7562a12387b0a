import ArgumentParser
import AresComposition
import Foundation
import ResearchCore
import Storage
import TaskService

struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "Read the research tasks recorded in the event store, and resume unfinished ones.",
        subcommands: [List.self, Show.self, Events.self, Resume.self, Cancel.self, Prune.self]
    )

    /// `ares tasks resume` runs tasks itself, on the data directory's event store only. With a
    /// database configured (`$ARES_DATABASE_URL`, as on a replica's host) the replicas resume
    /// the deployment's tasks themselves (a replica takes over a task whose lease expired), and
    /// running them here too could run one twice: refused, saying so.
    static func dataDirectoryOnly(_ configuration: AresConfiguration, _ subcommand: String) throws -> AresConfiguration {
        guard let database = configuration.database else { return configuration }
        throw ValidationError("""
            ares tasks \(subcommand) runs the data directory's unfinished tasks, but a database is configured \
            (\(database.settings.database) from --database or $ARES_DATABASE_URL), whose tasks the replicas resume themselves \
            (a replica takes over a task whose lease expired): start a replica with `ares serve --database`
            """)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tasks, newest first.")
        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var embedding: EmbedderOptions
        @OptionGroup var database: DatabaseConnectionOptions

        func run() async throws {
            try await Console.reportingErrors {
                try await ResearchEnvironment.withTaskService(
                    AresConfiguration.load(data, embedding, database), logger: Console.databaseLogger, warning: Console.warning) { service in
                    let streams = try await service.store.streams().filter { $0.stream.hasPrefix("task-") }
                    let pruned = try await service.prunedTasks()
                    if streams.isEmpty, pruned.isEmpty { print("No tasks yet: ask something with `ares ask \"QUESTION\"`.") }
                    for stream in streams {
                        let state = try await service.state(of: stream.stream)
                        print("\(stream.stream)  \((state.phase?.rawValue ?? "?").padding(toLength: 10, withPad: " ", startingAt: 0))  \(stream.version) events  \(state.question.prefix(80))")
                    }
                    // Removed by retention: only their summaries remain.
                    for summary in pruned {
                        print("\(summary.taskID)  \("pruned".padding(toLength: 10, withPad: " ", startingAt: 0))  \(summary.state), \(summary.events) events, pruned \(summary.prunedAt?.formatted(.iso8601) ?? "?")  \(summary.question.prefix(80))")
                    }
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a task's state and report.")
        @Argument(help: "The task id.") var id: String
        @Option(help: "markdown or json.") var format: AskCommand.ReportFormat = .markdown
        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var embedding: EmbedderOptions
        @OptionGroup var database: DatabaseConnectionOptions

        func run() async throws {
            try await Console.reportingErrors {
                try await ResearchEnvironment.withTaskService(
                    AresConfiguration.load(data, embedding, database), logger: Console.databaseLogger, warning: Console.warning) { service in
                    let state = try await service.state(of: id)
                    switch format {
                    case .json: print(try TaskReportJSON.encode(taskID: id, state: state, totalMilliseconds: nil))
                    case .markdown:
                        print("task \(id): \(state.phase?.rawValue ?? "?") after \(state.eventCount) events, \(state.round) round(s)")
                        if let reason = state.endReason { print("reason: \(reason)") }
                        print("")
                        print(state.report?.markdown ?? "(no report yet)")
                    }
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel an unfinished task: it is recorded as canceled, with the reason.",
            discussion: """
                A server running the task stops it at its next step (its next append finds the task canceled). \
                With --database, the replica running it stops it when the cancellation reaches it through its change feed.
                """)
        @Argument(help: "The task id.") var id: String
        @Option(help: "Why, for the task's log.") var reason = "canceled from the command line"
        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var embedding: EmbedderOptions
        @OptionGroup var database: DatabaseConnectionOptions

        func run() async throws {
            try await Console.reportingErrors {
                try await ResearchEnvironment.withTaskService(
                    AresConfiguration.load(data, embedding, database), logger: Console.databaseLogger, warning: Console.warning) { service in
                    let before = try await service.state(of: id)
                    guard !before.isTerminal else {
                        throw ValidationError("task \(id) has already ended (\(before.phase?.rawValue ?? "?")); there is nothing to cancel")
                    }
                    let after = try await service.cancelNotRunning(id, reason: reason)
                    print("task \(id): \(after.phase?.rawValue ?? "?") (\(after.endReason ?? reason))")
                }
            }
        }
    }

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a task's events in order.")
        @Argument(help: "The task id.") var id: String
        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var embedding: EmbedderOptions
        @OptionGroup var database: DatabaseConnectionOptions

        func run() async throws {
            try await Console.reportingErrors {
                try await ResearchEnvironment.withTaskService(
                    AresConfiguration.load(data, embedding, database), logger: Console.databaseLogger, warning: Console.warning) { service in
                    let formatter = ISO8601DateFormatter()
                    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                    for (stored, event) in try await service.events(of: id) {
                        let detail = TaskProgressLine.describe(event) ?? "question: \(stateQuestion(event))"
                        print("\(stored.version)\t\(formatter.string(from: stored.recordedAt))\t\(stored.type)\t\(detail)")
                    }
                }
            }
        }

        func stateQuestion(_ event: TaskEvent) -> String {
            if case let .submitted(question, _, _) = event { return question }
            return ""
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume every unfinished task from its last recorded step.")
        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var embedding: EmbedderOptions
        @OptionGroup var model: ModelOptions

        func run() async throws {
            try await Console.reportingErrors {
                let environment = try await ResearchEnvironment.open(try TasksCommand.dataDirectoryOnly(AresConfiguration.load(data, embedding, model), "resume"), warning: Console.warning)
                let unfinished = try await environment.service.unfinishedTasks()
                if unfinished.isEmpty { print("No unfinished tasks.") }
                for id in unfinished {
                    let state = try await environment.service.run(id)
                    print("\(id)  \(state.phase?.rawValue ?? "?")")
                }
            }
        }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the hash chain of every task's event stream and report any break (--backup DIR: check a backup instead).",
        discussion: "With --database (or $ARES_DATABASE_URL), the chains in the shared PostgreSQL database, checked the same way."
    )
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var embedding: EmbedderOptions
    @OptionGroup var database: DatabaseConnectionOptions
    @Option(name: .customLong("backup"), help: "Check the backup in this directory (files, checksums, integrity, chains) instead of the data directory.")
    var backup: String?

    func run() async throws {
        try await Console.reportingErrors {
            if let backup, ContinuousBackupLayout.isContinuousBackup(URL(fileURLWithPath: backup)) {
                // A continuous backup (`ares serve --backup-to`): every complete generation.
                let generations = try ContinuousBackupVerification.checkAll(URL(fileURLWithPath: backup))
                let problems = generations.flatMap(\.problems)
                guard problems.isEmpty else {
                    for problem in problems { Console.error(problem) }
                    throw ExitCode.failure
                }
                for generation in generations {
                    let newest = generation.newestRecordedAt.map { " up to \(Date(timeIntervalSince1970: Double($0) / 1e6))" } ?? ""
                    print("ok: \(generation.generation.name): base made \(generation.manifest.createdAt) (\(generation.baseEvents) events, chains intact), "
                          + "\(generation.segments.count) segments in an unbroken chain, \(generation.shippedEvents) shipped events extending their streams\(newest)")
                }
                return
            }
            if let backup {
                // A backup of a data directory (`ares backup DEST`) or of a PostgreSQL database
                // (`ares backup DEST --database URL`, checked without a database).
                let result = try BackupVerification.check(backup: URL(fileURLWithPath: backup))
                guard result.isIntact else {
                    for problem in result.problems { Console.error(problem) }
                    throw ExitCode.failure
                }
                let manifest = result.manifest
                let contents = manifest.database.map { " (schema version \($0.schemaVersion)): \($0.tables.count) tables (\(result.rows) rows) match the manifest" }
                    ?? ": \(manifest.files.count) files match the manifest, every database intact"
                print("ok: backup of \(manifest.source) made \(manifest.createdAt) by ares \(manifest.aresVersion)\(contents), "
                      + "\(manifest.chains.count) streams (\(result.events) events) with intact chains and the recorded heads")
                return
            }
            let configuration = try AresConfiguration.load(data, embedding, database)
            if let shared = configuration.database {
                try ChainVerificationReport.report(try await ChainVerificationReport.verifyDatabase(settings: shared.settings, logger: Console.databaseLogger))
                return
            }
            let environment = try await ResearchEnvironment.open(configuration, options: .init(languageModel: false), warning: Console.warning)
            try ChainVerificationReport.report(try await environment.service.store.verify())
        }
    }
}
