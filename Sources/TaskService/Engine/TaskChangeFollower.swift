import Logging
import ServiceLifecycle
import Storage

/// Feeds the steps other replicas record into this replica's `TaskDirectory` and `TaskRunner`
/// (issue 16), from the event store's change feed. A `Service`: run it beside the runner.
///
/// ```swift
/// let follower = TaskChangeFollower(runner: runner, feed: PostgresChangeFeed(database: database))
/// // ServiceGroup services: database, feed, follower, runner, server
/// ```
///
/// - Live updates across replicas: a task running on replica A is live in B's directory from
///   the first time B looks at it (GetTask, SubscribeToTask, a task B queued and A claimed);
///   every step A records then reaches B's subscribers, and the step that ends the task ends
///   them and leaves its snapshot in B's cache of ended tasks (GetTask answers from memory).
/// - Cancel across replicas: CancelTask on B records the cancellation in the task's stream
///   itself (`TaskRunner.cancel`: the task is neither queued nor running there); when that
///   event reaches A, which runs the task, A stops the run at once without recording more
///   (`TaskRunner.stopTaskEndedElsewhere`). The cancellation is durable and idempotent (a task
///   that has ended stays as it ended), and needs no replica to be running the task: one
///   waiting in a queue is taken out or, once claimed, found ended.
///
/// - Task listing: every task event also goes to the service's `TaskListingProjection`, so
///   ListTasks on B lists the tasks submitted on A and their current states.
///
/// - Claims without waiting for the poll: a task's first event (version 1) means a task was
///   submitted and queued (on PostgreSQL, in the same commit), so the runner is woken to claim
///   it if it has a free worker, instead of finding it at its next poll (`pollInterval`). The
///   notification that carries it is the one every append commit sends anyway: no notifying
///   enqueue, whose commits PostgreSQL would serialize.
///
/// - Waiting tasks: a step of a task queued here means another replica claimed it (only a
///   claimant records steps); it stops counting as waiting here at once, rather than at the
///   runner's next count, so its end does not try to take it out of the queue (a statement that
///   found nothing, for half the tasks on two replicas).
///
/// - Webhooks: push configs set or deleted on any replica reach this one's cache
///   (`PushNotificationConfigStore.applyFollowed`), so the replica that runs a task sends to
///   every webhook its task has, wherever it was set.
///
/// - Retention: the `ares-retention` record of a prune on any replica makes this one forget the
///   pruned tasks it holds in memory.
///
/// Steps this replica recorded come back through the feed too; the directory and the listing
/// apply each stream version once.
public final class TaskChangeFollower: Service, Sendable {
    public let runner: TaskRunner
    public let feed: any EventChangeFeed
    /// The server's webhook configs, whose cache follows the configs set and deleted on any replica.
    public let pushConfigs: PushNotificationConfigStore?
    private let logger: Logger

    /// Marks the runner's directory as following other replicas at once, so that tasks looked
    /// at before `run()` starts become live too.
    public init(runner: TaskRunner, feed: any EventChangeFeed, pushConfigs: PushNotificationConfigStore? = nil,
                logger: Logger = Logger(label: "ares-tasks")) {
        self.runner = runner
        self.feed = feed
        self.pushConfigs = pushConfigs
        self.logger = logger
        runner.directory.followOtherReplicas()
    }

    /// Follows the feed until it ends or this is canceled (a graceful shutdown cancels it too).
    public func run() async {
        let batches = feed.subscribe()
        await cancelWhenGracefulShutdown {
            for await batch in batches {
                await self.apply(batch)
            }
        }
    }

    /// Applies one batch of the feed, in its order.
    func apply(_ batch: [StoredEvent]) async {
        let directory = runner.directory
        let listing = runner.service.listing
        var submitted = false
        for stored in batch {
            if stored.stream == RetentionRecord.stream {
                forgetPruned(stored)
                continue
            }
            if stored.stream.hasPrefix(PushNotificationConfigStore.streamPrefix) {
                pushConfigs?.applyFollowed(stored)
                continue
            }
            guard stored.stream.hasPrefix("task-") else { continue }
            // The listing merges by stream version: a step recorded here and read back is one step.
            listing.record(stored)
            await directory.applyFollowed(stored)
            if TaskChangeFollower.endingTypes.contains(stored.type) {
                await runner.stopTaskEndedElsewhere(stored.stream)
                // Its webhooks leave the memory here too (the replica that ran it sent the last step).
                pushConfigs?.forget(taskID: stored.stream)
            } else if stored.version > 1 {
                // A step: whoever recorded it claimed the task, so it no longer waits here.
                runner.stepRecordedElsewhere(stored.stream)
            }
            if stored.version == 1 {
                submitted = true
                // A new task has no webhooks until a config event follows it in the feed: the
                // replica that claims it then sends without reading the store first.
                pushConfigs?.noteSubmittedWithoutConfigs(taskID: stored.stream)
            }
        }
        if submitted { runner.wake() }
    }

    /// Tasks another replica (or `ares tasks prune`) removed by retention leave this replica's
    /// cache of ended tasks and its listing: GetTask here answers with the summary, as on the
    /// replica that pruned.
    private func forgetPruned(_ stored: StoredEvent) {
        guard let record = try? RetentionRecord.decode(stored.payload) else {
            logger.warning("a retention record does not decode; pruned tasks stay cached until evicted",
                           metadata: ["version": "\(stored.version)"])
            return
        }
        let tasks = record.pruned.map(\.stream).filter { $0.hasPrefix("task-") }
        runner.directory.forget(tasks)
        runner.service.listing.remove(tasks)
    }

    /// The event types that end a task (`TaskEvent.isEnding`), by their stored names.
    static let endingTypes: Set<String> = ["TaskCompleted", "TaskFailed", "TaskCanceled"]
}
