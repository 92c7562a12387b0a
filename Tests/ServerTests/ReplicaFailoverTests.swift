import AresTestSupport
import Foundation
import Testing

/// Failover with real processes (issue 16): `ares serve --database` replicas on one PostgreSQL
/// (ReplicaSet), tasks slowed by a slow model endpoint so that they are in flight, and the
/// faults the issue names: a replica SIGKILLed, PostgreSQL restarted under load, a replica
/// drained with SIGTERM; and a task streamed live on a replica that does not run it.
///
/// What is asserted comes from the database itself: the task streams (each step once, every
/// chain intact: `ares db verify`) and a trigger's log of every claim and release (who held a
/// task, with which attempt, and when, in the database's clock). Waits poll with generous
/// deadlines; nothing asserts how fast, except the drain, whose point is "before the lease
/// would have expired" (a margin of seconds against a poll of a quarter second).
///
/// Known, and not asserted against (2026-11-30): a request that needs the database in the first
/// seconds of an outage, before a replica counts the database as lost (5 s of silence), waits
/// in the connection pool until the database is back or the pool gives up (about a minute);
/// `/health/ready` too, through the shared knowledge base's count. After those 5 s every such
/// request is refused at once (503, -32050). The restart test keeps the database away only
/// until the first refusal, so the waiting requests are answered when it returns.
@Suite(.serialized) struct ReplicaFailoverTests {
    /// Three replicas, 60 tasks running and queued, one replica SIGKILLed: every acknowledged
    /// task completes on the other two, the killed replica's claims are taken over with a
    /// higher attempt, each step is recorded once, and every chain verifies.
    @Test func aKilledReplicasTasksCompleteElsewhereWithEachStepOnce() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let set = try await ReplicaSet(cluster: cluster, database: try await cluster.createDatabase(prefix: "failover_kill"), count: 3)
        let victim = set.replicas[2], survivors = Array(set.replicas[0...1])
        let ids = try await set.submitAll(60, to: set.replicas, label: "kill")

        // The victim runs tasks of its own and of the others' queues when it dies.
        var held: [String: Int] = [:]
        let deadline = Date().addingTimeInterval(60)
        while held.isEmpty, Date() < deadline {
            held = try await set.leases(heldBy: ReplicaSet.name(2))
            if held.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        }
        victim.stop()
        // Dead now: what it held is what it held at its death (a lease expiring in between is
        // taken over, which the check below accepts too).
        held = try await set.leases(heldBy: ReplicaSet.name(2)).merging(held) { latest, _ in latest }

        let states = try await set.waitUntilEnded(ids, via: survivors)
        let notCompleted = ids.filter { states[$0] != "TASK_STATE_COMPLETED" }
        #expect(notCompleted.isEmpty, "\(notCompleted.count) of 60 acknowledged tasks did not complete: \(notCompleted.prefix(5).map { "\($0): \(states[$0] ?? "no answer")" })")

        let log = try await set.claimLog()
        // A task of the first read that the victim ended itself, between that read and the kill
        // (its claim's row deleted by its holder, which only a live replica does), was not held
        // at its death: nobody needed to take it over.
        held = held.filter { task, attempt in
            !log.contains { $0.taskID == task && $0.kind == .end && $0.oldHolder == ReplicaSet.name(2) && $0.oldAttempt == attempt }
        }
        #expect(!held.isEmpty, "the victim held no task when it was killed")
        for (task, attempt) in held {
            let takeover = log.first { $0.taskID == task && $0.kind == .claim && ($0.newAttempt ?? 0) > attempt }
            #expect(takeover != nil && takeover?.newHolder != ReplicaSet.name(2),
                    "task \(task), held by the killed replica with attempt \(attempt), was not claimed again elsewhere: \(log.filter { $0.taskID == task })")
        }
        try await Self.expectEachStepOnceAndChainsIntact(set, ids: ids)
        for survivor in survivors { await #expect(survivor.terminate() == 0, "\(survivor.log().suffix(2000))") }
    }

    /// PostgreSQL stopped (fast shutdown) and started again on the same port while clients
    /// submit to two replicas: the replicas reconnect by themselves, clients see only retryable
    /// refusals (503, -32050, Retry-After) or acknowledgements, and every acknowledged task
    /// completes with each step once.
    @Test func postgresRestartsUnderLoadAndNothingAcknowledgedIsLost() async throws {
        // A cluster of its own: the shared one serves other suites at the same time.
        let cluster = try TestPostgresCluster.start()
        defer { cluster.stop() }
        // Debug logs: the service group's lines say which service a shutdown waits on, should it hang.
        let set = try await ReplicaSet(cluster: cluster, database: cluster.database, count: 2, modelDelay: 0.1, logLevel: "debug")
        let load = SubmissionLoad(set: set)
        let clients = Task { await load.run() }

        try await load.waitForAcknowledged(10, within: 60)
        try cluster.pause()
        // Down until the replicas have noticed: a client was refused (a replica counts the
        // database as lost after 5 s of silence). Not /health/ready: in the first seconds of an
        // outage it waits on the connection pool, as requests do (see the suite's notes).
        let downDeadline = Date().addingTimeInterval(60)
        while load.refusals == 0, Date() < downDeadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(load.refusals > 0, "no client was refused while the database was away")
        let acknowledgedBeforeRestart = load.acknowledged.count
        try cluster.resume()
        for replica in set.replicas { try await SharedDatabaseServerTests.waitUntilReady(replica, within: 120) }
        try await load.waitForAcknowledged(acknowledgedBeforeRestart + 10, within: 120)
        load.stop()
        await clients.value

        let unexpected = load.unexpected
        #expect(unexpected.isEmpty, "clients saw answers other than acknowledgements and retryable refusals: \(unexpected.prefix(5))")
        let ids = load.acknowledged
        let states = try await set.waitUntilEnded(ids, via: set.replicas)
        let notCompleted = ids.filter { states[$0] != "TASK_STATE_COMPLETED" }
        let connections = notCompleted.isEmpty ? "" : await set.activity()
        let whereabouts = notCompleted.isEmpty ? "" : await set.whereabouts(of: notCompleted)
        // Once a known issue (about one run in ten, 2026-11-30: a task acknowledged around the
        // restart stayed SUBMITTED for minutes, its lease renewed by a replica whose run was stuck
        // in a database call that ignored cancellation). Since a lost lease is never renewed by
        // its old holder and stuck calls are abandoned (AbandonableTask), 40 runs in a row
        // completed every task (2026-12-01); strict again, with where a task is if it recurs.
        #expect(notCompleted.isEmpty, "\(notCompleted.count) of \(ids.count) acknowledged tasks did not complete: \(notCompleted.prefix(5).map { "\($0): \(states[$0] ?? "no answer")" })\n\(whereabouts)\nconnections:\n\(connections)")
        // Acknowledged means recorded: each one's stream exists, whether or not it has run yet.
        let streams = try await set.taskStreams()
        let unrecorded = ids.filter { streams[$0]?.first?.type != "TaskSubmitted" }
        #expect(unrecorded.isEmpty, "acknowledged tasks missing from the event store: \(unrecorded.prefix(5))")
        try await Self.expectEachStepOnceAndChainsIntact(set, ids: ids.filter { states[$0] == "TASK_STATE_COMPLETED" },
                                                         queueEmpties: notCompleted.isEmpty)
        // SIGTERM ends each replica with 0 (issue 16: after the restart a replica sometimes
        // logged "stopped" and never exited: its change feed and operations on its pool waited
        // on PostgresNIO calls that ignore cancellation, now abandoned after a bounded wait).
        for replica in set.replicas {
            let status = await replica.terminate()
            #expect(status == 0, "SIGTERM did not end the replica with 0 (\(status.map(String.init) ?? "still running after 30 s")):\n\(replica.log().suffix(4000))")
        }
    }

    /// SIGTERM drains a replica: it stops at its running tasks' next step and releases their
    /// claims, and the other replica claims each of them before the drained replica's lease
    /// would have expired (the lease is 5 s; the others look every quarter second).
    @Test func aDrainedReplicasTasksContinueElsewhereBeforeTheirLeaseExpires() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let set = try await ReplicaSet(cluster: cluster, database: try await cluster.createDatabase(prefix: "failover_drain"), count: 2,
                                       modelDelay: 0.5, maximumRunning: 3)
        let drained = set.replicas[0], other = set.replicas[1]
        let ids = try await set.submitAll(6, to: [drained], label: "drain")
        var held: [String: Int] = [:]
        let deadline = Date().addingTimeInterval(60)
        while held.isEmpty, Date() < deadline {
            held = try await set.leases(heldBy: ReplicaSet.name(0))
            if held.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(!held.isEmpty, "the replica to drain held no task")
        await #expect(drained.terminate() == 0, "the drained replica did not exit cleanly: \(drained.log().suffix(2000))")

        let states = try await set.waitUntilEnded(ids, via: [other])
        #expect(ids.allSatisfy { states[$0] == "TASK_STATE_COMPLETED" }, "\(states)")
        let log = try await set.claimLog()
        let releases = log.filter { $0.kind == .release && $0.oldHolder == ReplicaSet.name(0) }
        #expect(!releases.isEmpty, "the drained replica released no claim: \(log)")
        for release in releases {
            let takeover = log.first { $0.taskID == release.taskID && $0.kind == .claim && $0.sequence > release.sequence }
            #expect(takeover?.newHolder == ReplicaSet.name(1), "task \(release.taskID) released but not claimed by the other replica: \(log.filter { $0.taskID == release.taskID })")
            if let takeover, let leaseEnd = release.oldExpiry {
                #expect(takeover.at < leaseEnd, "task \(release.taskID) was claimed \(takeover.at - leaseEnd) s after the drained replica's lease would have expired")
            }
        }
        try await Self.expectEachStepOnceAndChainsIntact(set, ids: ids)
        await #expect(other.terminate() == 0, "\(other.log().suffix(2000))")
    }

    /// SubscribeToTask on replica 1 for a task that replica 0 runs streams replica 0's steps,
    /// as they are recorded, to the report and the end.
    @Test func aSubscriptionOnAnotherReplicaStreamsTheStepsToTheEnd() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let set = try await ReplicaSet(cluster: cluster, database: try await cluster.createDatabase(prefix: "failover_stream"), count: 2,
                                       modelDelay: 0.5, maximumRunning: 2)
        // Submitted to replica 0, but any replica may claim it (the other one learns of it
        // from the change feed): the subscriber is whichever replica does not run it.
        let id = try #require(try await set.submitAll(1, to: [set.replicas[0]], label: "stream").first)
        let running = try #require(try await set.replicaRunning(id), "no replica ran the task")
        let subscriber = set.replicas[1 - running]
        let reply = try await subscriber.rpc("SubscribeToTask", params: ["id": id], key: nil)
        #expect(reply.header("Content-Type")?.hasPrefix("text/event-stream") == true, "\(reply.status): \(reply.text.prefix(300))")
        let frames = try reply.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { frame -> [String: Any] in
            guard frame.hasPrefix("data: "),
                  let object = try JSONSerialization.jsonObject(with: Data(frame.dropFirst(6).utf8)) as? [String: Any] else {
                throw ServerProcess.Failure("not an SSE data frame: \(frame.prefix(200))")
            }
            return object
        }
        #expect(value(frames.first, "result", "task", "id") as? String == id, "\(frames.first ?? [:])")
        let statuses = frames.compactMap { value($0, "result", "statusUpdate", "status", "state") as? String }
        // Steps recorded after the subscription began: plan, evidence, critique, report, citations.
        #expect(statuses.filter { $0 == "TASK_STATE_WORKING" }.count >= 3, "\(statuses)")
        #expect(statuses.last == "TASK_STATE_COMPLETED", "\(statuses)")
        #expect(frames.contains { value($0, "result", "artifactUpdate") != nil }, "no report in the stream")
        // One replica ran it from start to end; the other only streamed it.
        let claims = try await set.claimLog().filter { $0.taskID == id && $0.kind == .claim }
        #expect(claims.map(\.newHolder) == [ReplicaSet.name(running)], "\(claims)")
        for replica in set.replicas { await #expect(replica.terminate() == 0, "\(replica.log().suffix(2000))") }
    }

    /// Webhooks set on the replica that does not run a task reach the one that does (its config
    /// cache follows the change feed): the runner posts the steps it records from then on, to
    /// the end, and lists the configs; a webhook deleted on the other replica while the task runs
    /// gets no more from the runner. (Before, each replica knew only the configs set on itself:
    /// the runner sent nothing.)
    @Test func aWebhookSetOnAnotherReplicaGetsTheStepsOfTheReplicaThatRunsTheTask() async throws {
        let receiver = try PythonFixture(script: "webhook_recorder.py")
        defer { receiver.stop() }
        let port = try #require(Int(try receiver.firstLine()), "\(receiver.output())")
        let cluster = try await TestPostgresCluster.shared()
        // Two seconds per model call: the task runs for several seconds, long enough to change its
        // webhooks while it runs.
        let set = try await ReplicaSet(cluster: cluster, database: try await cluster.createDatabase(prefix: "failover_push"), count: 2,
                                       modelDelay: 2.0, maximumRunning: 2, extraArguments: ["--allow-private-webhooks"])
        let id = try #require(try await set.submitAll(1, to: [set.replicas[0]], label: "push").first)
        let running = try #require(try await set.replicaRunning(id), "no replica ran the task")
        let (runner, other) = (set.replicas[running], set.replicas[1 - running])
        let (kept, deleted) = (UUID().uuidString, UUID().uuidString)
        var configIDs: [String: String] = [:]
        for token in [kept, deleted] {
            let created = try await other.rpc("CreateTaskPushNotificationConfig",
                                              params: ["taskId": id, "url": "http://127.0.0.1:\(port)/hook", "token": token], key: nil).json()
            configIDs[token] = try #require(value(created, "result", "id") as? String, "\(created)")
        }
        func posts(_ token: String) -> [String] {
            receiver.output().split(separator: "\n").dropFirst().compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter { $0["token"] as? String == token }.compactMap { $0["body"] as? String }
        }
        func waitFor(_ condition: () -> Bool, seconds: Double) async throws -> Bool {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end, !condition() { try await Task.sleep(for: .milliseconds(50)) }
            return condition()
        }

        // The runner posts to both; then the second is deleted on the other replica, mid-run.
        #expect(try await waitFor({ !posts(deleted).isEmpty }, seconds: 60), "no post to a webhook set on the other replica: \(runner.log().suffix(2000))")
        let listed = try await runner.rpc("ListTaskPushNotificationConfigs", params: ["taskId": id], key: nil).json()
        #expect("\(listed)".contains(configIDs[kept] ?? "?") && "\(listed)".contains(configIDs[deleted] ?? "?"), "the runner lists both: \(listed)")
        _ = try await other.rpc("DeleteTaskPushNotificationConfig", params: ["taskId": id, "id": configIDs[deleted] ?? ""], key: nil).json()
        let stateAtDeletion = value(try await runner.rpc("GetTask", params: ["id": id], key: nil).json(), "result", "status", "state") as? String
        #expect(stateAtDeletion == "TASK_STATE_WORKING", "the test needs the task running when the webhook is deleted: \(stateAtDeletion ?? "?")")

        // The kept webhook gets the steps, to the end; the deleted one never gets the end.
        #expect(try await waitFor({ posts(kept).contains { $0.contains("TASK_STATE_COMPLETED") } }, seconds: 90),
                "no post of the task's end: \(posts(kept).count) posts; runner log: \(runner.log().suffix(2000))")
        #expect(posts(kept).allSatisfy { $0.contains(id) }, "every post is about the task")
        #expect(posts(kept).count >= 2, "the steps after the config, not only the end: \(posts(kept).count)")
        try await Task.sleep(for: .milliseconds(500))  // a last post to the deleted one would have arrived
        #expect(!posts(deleted).contains { $0.contains("TASK_STATE_COMPLETED") },
                "the runner still posted to the webhook deleted on the other replica: \(posts(deleted).count) posts")
        for replica in set.replicas { await #expect(replica.terminate() == 0, "\(replica.log().suffix(2000))") }
    }

    /// Every acknowledged task has a stream with each step once; nothing else is in the
    /// database's streams; the queue is empty; `ares db verify` finds every chain intact.
    /// `queueEmpties`: whether every queue row must be gone (false only while a task is known
    /// not to have ended).
    static func expectEachStepOnceAndChainsIntact(_ set: ReplicaSet, ids: [String], queueEmpties: Bool = true) async throws {
        let streams = try await set.taskStreams()
        for id in ids {
            let problems = ReplicaSet.problems(ofStream: streams[id] ?? [])
            #expect(problems.isEmpty, "task \(id): \(problems) — \(streams[id]?.map(\.type) ?? [])")
        }
        var rows = -1
        let deadline = Date().addingTimeInterval(30)
        while queueEmpties, rows != 0, Date() < deadline {
            rows = try await set.queueRows()
            if rows != 0 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(!queueEmpties || rows == 0, "work queue rows left after every task ended: \(rows)")
        let verified = try await set.verifyChains()
        #expect(verified.status == 0 && verified.stdout.contains("every hash chain intact"), "\(verified.stdout) \(verified.stderr)")
    }
}
