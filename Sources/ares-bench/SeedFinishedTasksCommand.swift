import ArgumentParser
import Foundation
import Storage

/// Fills a data directory's task store with finished tasks for the full-size recovery drill
/// (issue 12: RTO with 100,000 finished tasks), without researching each one for an hour.
///
/// Every seeded task is a copy of a task that really finished in that store (run a few first):
/// the same event types and payloads, so the same sizes, in a stream of its own
/// (`task-<new UUID>`) written through the store's ordinary append, so each stream has a real
/// hash chain and `ares verify` checks it like any other. The copies share their templates'
/// questions and reports; for recovery that is immaterial (a restore copies bytes and replays
/// events, it does not read them), for anything that looks at the text it is not realistic.
struct SeedFinishedTasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-tasks",
        abstract: "Add N finished tasks to a data directory's task store, copied from the tasks that finished in it (for recovery drills)."
    )

    @Option(help: "The data directory (its tasks.sqlite must hold at least one finished task; the server must not run).")
    var dataDir: String

    @Option(help: "Finished tasks to add.")
    var tasks = 100_000

    @Option(help: "Concurrent writers (the store group-commits their appends: one fsync for many tasks).")
    var writers = 32

    func run() async throws {
        guard (1...10_000_000).contains(tasks) else { throw ValidationError("--tasks must be from 1 to 10000000, not \(tasks)") }
        guard (1...256).contains(writers) else { throw ValidationError("--writers must be from 1 to 256, not \(writers)") }
        let path = URL(fileURLWithPath: dataDir).appendingPathComponent("tasks.sqlite").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("\(path) does not exist: serve the data directory and finish a few tasks first")
        }
        let store = try SQLiteEventStore(path: path)
        var templates: [[NewEvent]] = []
        for info in try await store.streams() where info.stream.hasPrefix("task-") && info.lastType == "TaskCompleted" {
            templates.append(try await store.read(stream: info.stream).map { NewEvent(type: $0.type, payload: $0.payload) })
        }
        guard !templates.isEmpty else {
            throw ValidationError("\(path) holds no finished task to copy: serve the data directory and finish a few tasks first")
        }
        let perTask = templates.map { $0.reduce(0) { $0 + $1.payload.count } }.reduce(0, +) / templates.count
        let clock = ContinuousClock()
        let writers = writers, total = tasks, copies = templates
        let elapsed = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for index in stride(from: writer, to: total, by: writers) {
                            _ = try await store.append(copies[index % copies.count], to: "task-\(UUID().uuidString.lowercased())", expectedVersion: 0)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let seconds = Statistics.seconds(elapsed)
        print("seeded \(tasks) finished tasks into \(path) from \(templates.count) template(s), ~\(perTask) payload bytes a task, in "
            + "\(Statistics.format(seconds, 1)) s (\(Statistics.whole(Double(tasks) / max(seconds, 0.001))) tasks/s)")
    }
}
