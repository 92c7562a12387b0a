import ArgumentParser
import Foundation
import Logging
import PostgresStorage
import Storage
import TaskService

/// No-op jobs through the work queue: enqueued by producers and claimed and completed by
/// workers at the same time, the shared PostgreSQL queue against the in-process one, in one
/// run. Two shapes: the queue alone (enqueue → claim → release), and a no-op task's whole
/// life (its submitted event appended durably, enqueued, claimed, its completed event
/// appended, released), on PostgreSQL (event store and queue) against the embedded default
/// (SQLite event store, in-process queue). bench/postgres/queue.sh starts a throwaway cluster.
struct PostgresQueueBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue-postgres",
        abstract: "No-op jobs/s through the shared PostgreSQL work queue against the in-process queue, in the same run.",
        discussion: "The database comes from --database or $ARES_DATABASE_URL, its password from $ARES_DATABASE_PASSWORD_FILE."
    )

    @OptionGroup var postgres: PostgresBenchmarkSetup

    @Option(help: "Jobs per round.")
    var jobs = 4_000

    @Option(help: "Concurrent producers (enqueueing).")
    var producers = 8

    @Option(help: "Jobs running at once, over all claimers.")
    var workers = 16

    @Option(help: "Claimers, each like one replica's task runner: it fills its share of the workers a batch at a time (at most \(TaskRunner.maximumClaimBatch) per claim).")
    var claimers = 2

    @Option(help: "Rounds per shape and queue (alternating); the median is reported.")
    var rounds = 3

    @Option(help: "A scratch folder for the SQLite file (emptied first).")
    var directory = "/tmp/ares-bench-queue-pg"

    @Option(name: .customLong("shape"), parsing: .singleValue,
            help: "Run only these shapes (repeatable): \(Shape.allCases.map(\.rawValue).joined(separator: ", ")); default: all.")
    var selectedShapes: [Shape] = []

    /// What one round measures.
    enum Shape: String, CaseIterable, ExpressibleByArgument {
        case queuePostgres = "queue-postgres"
        case queueInProcess = "queue-in-process"
        /// A no-op task on PostgreSQL as `ares serve --database` submits it: recorded and queued in one commit.
        case taskPostgres = "task-postgres"
        /// The same, submitted as before (the event's commit, then the queue row's).
        case taskPostgresTwoCommits = "task-postgres-two-commits"
        case taskEmbedded = "task-embedded"

        var title: String {
            switch self {
            case .queuePostgres: "queue only, PostgreSQL"
            case .queueInProcess: "queue only, in process"
            case .taskPostgres: "no-op task, PostgreSQL (submitted and queued in one commit)"
            case .taskPostgresTwoCommits: "no-op task, PostgreSQL (submitted, then queued: two commits)"
            case .taskEmbedded: "no-op task, embedded (SQLite events + in-process queue)"
            }
        }
    }

    func run() async throws {
        guard jobs >= producers, producers > 0, claimers > 0, workers >= claimers, rounds > 0 else {
            throw ValidationError("--jobs (at least one per producer), --producers, --claimers, --workers (at least one per claimer) and --rounds must be positive")
        }
        let settings = try postgres.settings()
        let (sqlite, folder) = try PostgresBenchmarkSetup.scratchSQLiteStore(in: directory)
        let logger = PostgresBenchmarkSetup.logger(label: "ares-bench.queue")
        let perProducer = jobs / producers
        let total = perProducer * producers
        print("no-op jobs: \(total) per round, \(producers) producers and \(workers) workers (\(claimers) claimers) at once, \(rounds) rounds")
        print("PostgreSQL: \(settings) (pool of \(postgres.connections) connections); SQLite: \(folder.path)")

        try await PostgresDatabase.withDatabase(settings: settings, logger: logger) { database in
            let postgresEvents = PostgresEventStore(database: database)
            // The lease outlasts any round: no job is taken over while the benchmark runs.
            let postgresQueue = PostgresTaskQueue(database: database, replicaID: "bench-\(ProcessInfo.processInfo.processIdentifier)",
                                                  leaseDuration: .seconds(300), logger: logger)
            let shapes = selectedShapes.isEmpty ? Shape.allCases : selectedShapes
            var rates: [Shape: [Double]] = [:]
            for round in 0..<rounds {
                for shape in shapes {
                    let submission: Submission = switch shape {
                    case .queuePostgres: .queueOnly(postgresQueue)
                    case .queueInProcess: .queueOnly(InProcessTaskQueue())
                    case .taskPostgres: .oneCommit(postgresEvents, postgresQueue)
                    case .taskPostgresTwoCommits: .twoCommits(postgresEvents, postgresQueue)
                    case .taskEmbedded: .twoCommits(sqlite, InProcessTaskQueue())
                    }
                    let seconds = try await Self.round(submission, prefix: "task-r\(round)-\(UUID().uuidString.prefix(8))",
                                                       producers: producers, perProducer: perProducer, claimers: claimers,
                                                       workersPerClaimer: workers / claimers)
                    let rate = Double(total) / seconds
                    rates[shape, default: []].append(rate)
                    print("round \(round + 1) \(shape.title): \(total) jobs in \(Statistics.format(seconds, 2)) s = \(Statistics.whole(rate)) jobs/s")
                }
            }
            for shape in shapes {
                print("median \(shape.title): \(Statistics.whole(Statistics.percentile(rates[shape] ?? [], 0.5))) jobs/s")
            }
            let depth = try await postgresQueue.depth()
            print("PostgreSQL queue after the run: \(depth.waiting) waiting, \(depth.leased) leased (both must be 0)")
        }
    }

    /// How producers hand a job over: to the queue alone; as a task whose submitted event is
    /// appended and then queued (two commits); or recorded and queued in one commit.
    enum Submission: Sendable {
        case queueOnly(any TaskWorkQueue)
        case twoCommits(any EventStore, any TaskWorkQueue)
        case oneCommit(any TaskQueueingEventStore, any TaskWorkQueue)

        var queue: any TaskWorkQueue {
            switch self {
            case let .queueOnly(queue), let .twoCommits(_, queue), let .oneCommit(_, queue): queue
            }
        }

        var store: (any EventStore)? {
            switch self {
            case .queueOnly: nil
            case let .twoCommits(store, _): store
            case let .oneCommit(store, _): store
            }
        }
    }

    /// One round: producers submit (a no-op task's submitted event is appended too) while
    /// claimers claim, as `TaskRunner` does, and their workers complete (appending the completed
    /// event, then releasing).
    static func round(_ submission: Submission, prefix: String,
                      producers: Int, perProducer: Int, claimers: Int, workersPerClaimer: Int) async throws -> Double {
        let queue = submission.queue
        let store = submission.store
        let total = producers * perProducer
        let completed = Counter()
        let submitted = NewEvent(type: "TaskSubmitted", payload: Data(#"{"question":"no-op"}"#.utf8))
        let done = NewEvent(type: "TaskCompleted", payload: Data("{}".utf8))
        let clock = ContinuousClock()
        let signal = SubmissionSignal()
        let producing = Counter()
        // One set of workers per claimer (a runner); producer p submits to runner p % claimers,
        // as each request reaches one replica.
        let runners = (0..<claimers).map { _ in WorkerSlots(workersPerClaimer) }
        let lease = queue.submissionLease
        let elapsed = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for producer in 0..<producers {
                    let slots = runners[producer % claimers]
                    group.addTask {
                        do {
                            try await withThrowingDiscardingTaskGroup { jobs in
                                for job in 0..<perProducer {
                                    let id = "\(prefix)-\(producer)-\(job)"
                                    switch submission {
                                    case let .queueOnly(queue):
                                        try await queue.enqueue(id, owner: nil)
                                    case let .twoCommits(store, queue):
                                        _ = try await store.append([submitted], to: id, expectedVersion: 0)
                                        try await queue.enqueue(id, owner: nil)
                                    case let .oneCommit(store, queue):
                                        // A free worker: written already claimed and run at once,
                                        // as `TaskRunner` submits (no claim statement).
                                        if let lease, slots.take(upTo: 1) == 1 {
                                            _ = try await store.appendQueueing([submitted], toNewStream: id, owner: nil, leasedTo: lease)
                                            let claim = TaskClaim(taskID: id, owner: nil, attempt: 1)
                                            jobs.addTask {
                                                try await complete(claim, queue: queue, store: store, done: done, completed: completed)
                                                slots.give(1)
                                            }
                                            continue
                                        }
                                        _ = try await store.appendQueueing([submitted], toNewStream: id, owner: nil)
                                    }
                                    signal.notify()
                                }
                            }
                        } catch {
                            // Waiting workers must not wait for submissions that will not come.
                            signal.finish()
                            throw error
                        }
                        if await producing.incrementAndGet() == producers { signal.finish() }
                    }
                }
                for slots in runners {
                    group.addTask {
                        try await claimAndComplete(queue: queue, store: store, done: done, slots: slots,
                                                   total: total, completed: completed, signal: signal)
                    }
                }
                try await group.waitForAll()
            }
        }
        return Statistics.seconds(elapsed)
    }

    /// A claimed job's end: its completed event appended durably, its claim released.
    static func complete(_ claim: TaskClaim, queue: any TaskWorkQueue, store: (any EventStore)?, done: NewEvent,
                         completed: Counter) async throws {
        if let store { _ = try await store.append([done], to: claim.taskID, expectedVersion: 1) }
        await queue.release(claim, .ended)
        await completed.increment()
    }

    /// One claimer: while jobs remain, it claims as many as its runner has free workers (a
    /// batch of at most `TaskRunner.maximumClaimBatch`, one statement) and completes each in a
    /// child task, the shape of `TaskRunner.startWaiting`.
    static func claimAndComplete(queue: any TaskWorkQueue, store: (any EventStore)?, done: NewEvent, slots: WorkerSlots, total: Int,
                                 completed: Counter, signal: SubmissionSignal) async throws {
        try await withThrowingDiscardingTaskGroup { jobs in
            while await completed.value < total {
                let free = min(slots.free, TaskRunner.maximumClaimBatch)
                guard free > 0 else {
                    await slots.waitForFree()
                    continue
                }
                // The workers are not held while the claim is in flight (submissions may take
                // them meanwhile): a claim that finds none free is handed back, as the runner does.
                let claims = try await queue.claim(excludingOwners: [], limit: free)
                for claim in claims {
                    guard slots.take(upTo: 1) == 1 else {
                        await queue.release(claim, .givenUp)
                        continue
                    }
                    jobs.addTask {
                        try await complete(claim, queue: queue, store: store, done: done, completed: completed)
                        slots.give(1)
                    }
                }
                if claims.count == free { continue }
                guard claims.isEmpty else {
                    // Fewer than asked: nothing more waits now; wait for the next submission.
                    if !signal.isFinished { await signal.wait() }
                    continue
                }
                if signal.isFinished {
                    // Nothing waiting and every job submitted: the rest are running; look again a
                    // little later (not in a tight loop of empty claims, which would take the
                    // cores the rest needs).
                    try await Task.sleep(for: .milliseconds(10))
                } else {
                    // The producers are behind: wait for the next submission, as an idle
                    // runner waits for its signal.
                    await signal.wait()
                }
            }
        }
    }

    /// Jobs completed so far, over every worker.
    actor Counter {
        private(set) var value = 0
        func increment() { value += 1 }
        func incrementAndGet() -> Int {
            value += 1
            return value
        }
    }
}
