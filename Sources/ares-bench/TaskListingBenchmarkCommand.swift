import ArgumentParser
import Foundation
import ResearchCore
import Storage
import TaskService

/// What one ListTasks page costs read from the store (every task's head and first event, what
/// ListTasks did before) and from the in-memory projection, on the same event store in the
/// same run; and what the projection costs to rebuild, to keep current and to hold.
struct TaskListingBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task-listing",
        abstract: "ListTasks pages from the store vs from the in-memory projection (latency, rebuild time, memory)."
    )

    @Option(help: "Tasks in the store.")
    var tasks = 5_000

    @Option(help: "Owners the tasks are spread over (a researcher lists only its own).")
    var owners = 20

    @Option(help: "Events per task (the first is the submission, the last the completion).")
    var eventsPerTask = 10

    @Option(help: "Pages asked of each source.")
    var iterations = 200

    @Option(help: "A scratch folder (emptied first).")
    var directory = "/tmp/ares-bench-listing"

    func run() async throws {
        guard tasks > 0, owners > 0, eventsPerTask >= 2, iterations > 0 else {
            throw ValidationError("--tasks, --owners and --iterations must be positive and --events-per-task at least 2")
        }
        let folder = URL(fileURLWithPath: directory)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("events.sqlite").path)
        let clock = ContinuousClock()
        let step = NewEvent(type: "EvidenceFound", payload: Data(String(repeating: "x", count: 400).utf8))
        let filling = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        for index in stride(from: writer, to: tasks, by: 8) {
                            let submitted = TaskEvent.submitted(question: "Benchmark question \(index)?", principal: "owner-\(index % owners)")
                            let events = [NewEvent(type: submitted.typeName, payload: TaskEventCodec.encode(submitted))]
                                + Array(repeating: step, count: eventsPerTask - 2) + [NewEvent(type: "TaskCompleted", payload: Data("{}".utf8))]
                            _ = try await store.append(events, to: "task-bench-\(index)", expectedVersion: 0)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        print("store: \(tasks) tasks x \(eventsPerTask) events, \(owners) owners (filled in \(Statistics.format(Statistics.seconds(filling), 1)) s)")

        func query(_ iteration: Int) -> TaskListingQuery { TaskListingQuery(owner: "owner-\(iteration % owners)", limit: 20) }
        func report(_ label: String, _ milliseconds: [Double]) {
            print("\(label): p50 \(Statistics.format(Statistics.percentile(milliseconds, 0.5))) ms, p95 \(Statistics.format(Statistics.percentile(milliseconds, 0.95))) ms,"
                + " p99 \(Statistics.format(Statistics.percentile(milliseconds, 0.99))) ms over \(milliseconds.count) pages of 20 (one owner's)")
        }

        var fromStore: [Double] = []
        for iteration in 0..<iterations {
            let elapsed = try await clock.measure { _ = try await TaskListing.page(in: store, query(iteration)) }
            fromStore.append(Statistics.seconds(elapsed) * 1000)
        }
        report("from the store (before)", fromStore)

        let before = Statistics.residentMegabytes()
        let projection = TaskListingProjection(store: store)
        let loading = try await clock.measure { try await projection.load() }
        let held = Statistics.residentMegabytes() - before
        print("projection rebuilt from the log in \(Statistics.format(Statistics.seconds(loading) * 1000, 1)) ms; resident memory +\(Statistics.format(held, 1)) MB"
            + " (~\(Statistics.whole(held * 1_048_576 / Double(tasks))) bytes a task, including the rebuild's garbage)")
        var fromMemory: [Double] = []
        for iteration in 0..<iterations {
            let elapsed = try await clock.measure { _ = try await projection.page(query(iteration)) }
            fromMemory.append(Statistics.seconds(elapsed) * 1000)
        }
        report("from the projection (after)", fromMemory)
        let everyone = try await clock.measure { _ = try await projection.page(TaskListingQuery(limit: 20)) }
        print("from the projection, every owner's tasks (an admin): \(Statistics.format(Statistics.seconds(everyone) * 1000)) ms")

        // Keeping it current: a new task and its steps, recorded as the task service does.
        var recorded: [StoredEvent] = []
        for index in 0..<500 {
            let submitted = TaskEvent.submitted(question: "Later question \(index)?", principal: "owner-\(index % owners)")
            recorded += try await store.append([NewEvent(type: submitted.typeName, payload: TaskEventCodec.encode(submitted))],
                                               to: "task-later-\(index)", expectedVersion: 0)
            for version in 1..<Int64(eventsPerTask) {
                recorded += try await store.append([version == Int64(eventsPerTask) - 1 ? NewEvent(type: "TaskCompleted", payload: Data("{}".utf8)) : step],
                                                   to: "task-later-\(index)", expectedVersion: version)
            }
        }
        let recording = clock.measure { for event in recorded { projection.record(event) } }
        print("recording \(recorded.count) events: \(Statistics.format(Statistics.seconds(recording) * 1e6 / Double(recorded.count), 2)) µs an event")
        let check = try await projection.page(TaskListingQuery(limit: 1))
        let stored = try await TaskListing.page(in: store, TaskListingQuery(limit: 1))
        guard check.totalSize == stored.totalSize, check.totalSize == tasks + 500 else {
            throw ValidationError("the projection lists \(check.totalSize) tasks, the store \(stored.totalSize)")
        }
    }
}
