import Foundation
import Logging
import PostgresNIO
import PostgresStorage
import Validation

/// The failover phase of `ares validate --manage --replicas N --database …`: under the plan's
/// load, replicas are SIGKILLed at once (a fifth of them, chosen at random, from five replicas
/// on; else one) at a moment when they hold work, and the run measures, from the shared
/// PostgreSQL database and the load itself:
///
/// - takeover: from the kill until every task whose lease the killed replicas held runs again on
///   another replica (its queue row claimed by another holder, or gone because it ended there),
///   read from `ares_task_queue` every 100 ms;
/// - failed traffic: from the kill to the end of the last load window with a failed request (the
///   generator's balancer drops a replica at its first refused connection);
/// - consistency: every task acknowledged during the part ends completed, no step of a taken-over
///   task is recorded twice (once-only event types counted in its stream), `ares db verify`.
///
/// The killed replicas are started again afterwards (new replica ids, as a restarted pod), so later
/// phases run on N replicas.
struct ManagedFailover: Sendable {
    let deployment: ManagedDeployment
    let database: ManagedDeployment.Database
    let seed: UInt64
    let taskDeadline: Duration

    static let name = "replica-kill"
    /// Event types a task records at most once, whatever happens to the replica running it.
    static let onceOnlyEventTypes = ["TaskSubmitted", "TaskPlanned", "ReportSynthesized", "CitationsVerified"]
    static let endingEventTypes = ["TaskCompleted", "TaskFailed", "TaskCanceled"]

    func run(_ context: PhaseActionContext, rate: Double, seconds: Double) async -> [DeploymentActionResult] {
        let replicas = deployment.replicaCount
        let limit = context.thresholds.failoverSeconds ?? 30
        var generator = SplitMix64(seed: seed &+ 2)
        let victims = generator.choose(FailoverMeasurement.victimCount(replicas: replicas), of: replicas)
        let killAt = seconds * (0.3 + 0.2 * generator.nextUnit())
        let description = "\(replicas) replicas of ares serve --database on one PostgreSQL, the load spread over them; \(Format.rate(rate)) for \(Format.seconds(seconds)); \(victims.count) replica\(victims.count == 1 ? "" : "s") (random, seed \(seed)) SIGKILLed about \(Format.seconds(killAt)) in, at the first moment after that when it held work; takeover read from the work queue's leases; the killed replicas started again afterwards; then `ares db verify`"
        var environment: [String: String] = [:]
        if let file = database.passwordFile { environment[DatabaseSettings.passwordFileVariable] = file }
        if database.passwordFile == nil, let password = ProcessInfo.processInfo.environment[DatabaseSettings.passwordVariable] {
            environment[DatabaseSettings.passwordVariable] = password
        }
        var logger = Logger(label: "ares.validate.failover")
        logger.logLevel = .error
        do {
            var settings = try DatabaseSettings(url: database.url, environment: environment)
            settings.maximumConnections = 2
            return try await PostgresDatabase.withDatabase(settings: settings, logger: logger, migrate: false) { postgres in
                try await measure(context, postgres: postgres.client, logger: logger, rate: rate, seconds: seconds, killAt: killAt,
                                  victims: victims, limit: limit, description: description)
            }
        } catch {
            for index in victims { deployment.setPaused(false, replica: index) }
            for index in victims where !deployment.isRunning(replica: index) { try? deployment.restart(replica: index) }
            return [.notRun(Self.name, description, reason: "not run: \(error)")]
        }
    }

    private func measure(_ context: PhaseActionContext, postgres: PostgresClient, logger: Logger, rate: Double, seconds: Double, killAt: Double,
                         victims: [Int], limit: Double, description: String) async throws -> [DeploymentActionResult] {
        let deployment = self.deployment
        let victimIDs = victims.map { deployment.replicaID($0) }
        let known = Set(context.ledger.all().map(\.id))
        context.progress("\(context.phase.name)/\(Self.name): \(Format.rate(rate)) for \(Format.seconds(seconds)) over \(deployment.replicaCount) replicas; SIGKILL of \(victimIDs.joined(separator: ", ")) from \(Format.seconds(killAt)) ...")
        let clock = ContinuousClock()
        let loadStart = clock.now
        async let load = context.load(rate: rate, seconds: seconds)
        try? await clock.sleep(until: loadStart + .milliseconds(Int64(killAt * 1000)))
        // The first moment after the chosen one at which a victim holds work (a kill of an idle
        // replica tests nothing), waiting at most until 80 % of the load.
        // The victims are paused (SIGSTOP) while their leases are read and killed still paused
        // when they hold work, so the work seen is the work held at the kill.
        try await deployment.killWhenHoldingWork(victims, until: loadStart + .milliseconds(Int64(seconds * 800))) {
            try await !held(by: victimIDs, postgres: postgres, logger: logger).isEmpty
        }
        let killedAt = clock.now
        let killedAtSeconds = (killedAt - loadStart).seconds
        // A dead replica renews and releases nothing: what it held at the kill is what its rows still name.
        let heldTasks = try await held(by: victimIDs, postgres: postgres, logger: logger)
        context.progress("\(context.phase.name)/\(Self.name): killed \(victimIDs.joined(separator: ", ")) at \(Format.seconds(killedAtSeconds)), holding \(heldTasks.count) task\(heldTasks.count == 1 ? "" : "s")")

        // Takeover: each held task claimed by another holder, or ended (its row gone).
        var takenOverAt: [String: Double] = [:]
        let observeUntil = killedAt + .milliseconds(Int64(min(600, max(10, limit * 2)) * 1000))
        while takenOverAt.count < heldTasks.count, clock.now < observeUntil {
            let rows = try await leases(of: heldTasks, postgres: postgres, logger: logger)
            let now = (clock.now - killedAt).seconds
            for task in heldTasks where takenOverAt[task] == nil {
                if let holder = rows[task] {
                    if let holder, !victimIDs.contains(holder) { takenOverAt[task] = now }
                } else {
                    takenOverAt[task] = now
                }
            }
            try? await clock.sleep(for: .milliseconds(100))
        }
        let takeover = takenOverAt.count == heldTasks.count && !heldTasks.isEmpty ? takenOverAt.values.max() ?? 0 : nil

        // The pods come back (new ids), so later phases have every replica.
        for index in victims {
            do { try deployment.restart(replica: index) } catch {
                context.progress("\(context.phase.name)/\(Self.name): restarting \(deployment.replicaID(index)) failed: \(error)")
            }
        }
        let measurement = await load
        _ = await deployment.waitReady(replicas: victims, http: context.http, within: 60)
        let traffic = FailoverMeasurement.failedTraffic(windows: measurement.windows, killedAtSeconds: killedAtSeconds)
        let during = context.ledger.all().filter { !known.contains($0.id) }
        let tasks = await context.checkTasks(during, deadline: taskDeadline)
        let duplicates = try await duplicateSteps(of: heldTasks, postgres: postgres, logger: logger)
        let chains = deployment.verifyChains()
        let measured = FailoverMeasurement(
            replicas: deployment.replicaCount, killed: victimIDs, killedAtSeconds: killedAtSeconds, heldTasks: heldTasks.count,
            takeoverSeconds: takeover, notTakenOver: heldTasks.count - takenOverAt.count, failedTrafficSeconds: traffic.seconds,
            failedRequestsAfterKill: traffic.failed, duplicateSteps: duplicates.count, duplicateExamples: Array(duplicates.prefix(5)))
        let perTask = heldTasks.compactMap { takenOverAt[$0] }.sorted()
        return [DeploymentActionResult(
            name: Self.name, description: description, measurement: measurement,
            checks: DeploymentChecks.failover(measured, limit: limit, tasks: tasks, chains: chains),
            facts: ["killed replicas": victimIDs.joined(separator: ", "),
                    "kill at (seconds into the load)": String(format: "%.2f", killedAtSeconds),
                    "tasks held at the kill": "\(heldTasks.count)",
                    "takeover seconds (each held task, sorted)": perTask.map { String(format: "%.2f", $0) }.joined(separator: ", "),
                    "failover seconds (takeover)": takeover.map { String(format: "%.2f", $0) } ?? "never",
                    "failed traffic seconds": traffic.seconds.map { String(format: "%.2f", $0) } ?? "still failing at the end",
                    "failed requests due from 2 s before the kill on (in flight when it landed, or after)": "\(traffic.failed)",
                    "successful of due requests during the failover (not gated: in-flight requests to a killed replica fail)": "\(Format.percent(1 - measurement.errorRate)) (\(Format.outcomes(measurement.outcomes)))",
                    "ended but not completed": tasks.notCompletedExamples.isEmpty ? "none" : tasks.notCompletedExamples.joined(separator: "; "),
                    "random seed": "\(seed)"])]
    }

    /// Tasks whose lease names one of `holders`.
    private func held(by holders: [String], postgres: PostgresClient, logger: Logger) async throws -> [String] {
        var ids: [String] = []
        let rows = try await postgres.query("SELECT task_id FROM ares_task_queue WHERE lease_holder = ANY(\(holders)::text[]) ORDER BY task_id", logger: logger)
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    /// The lease holder of each of `tasks` that still has a queue row (nil holder: waiting).
    private func leases(of tasks: [String], postgres: PostgresClient, logger: Logger) async throws -> [String: String?] {
        var holders: [String: String?] = [:]
        let rows = try await postgres.query("SELECT task_id, lease_holder FROM ares_task_queue WHERE task_id = ANY(\(tasks)::text[])", logger: logger)
        for try await (id, holder) in rows.decode((String, String?).self) { holders[id] = holder }
        return holders
    }

    /// Once-only steps recorded twice, and tasks that ended twice, among `tasks`' streams.
    private func duplicateSteps(of tasks: [String], postgres: PostgresClient, logger: Logger) async throws -> [String] {
        guard !tasks.isEmpty else { return [] }
        var duplicates: [String] = []
        let onceOnly = Self.onceOnlyEventTypes, endings = Self.endingEventTypes
        let rows = try await postgres.query("""
            SELECT stream, type, count(*) FROM ares_events WHERE stream = ANY(\(tasks)::text[]) AND type = ANY(\(onceOnly)::text[])
            GROUP BY stream, type HAVING count(*) > 1
            UNION ALL
            SELECT stream, 'ending', count(*) FROM ares_events WHERE stream = ANY(\(tasks)::text[]) AND type = ANY(\(endings)::text[])
            GROUP BY stream HAVING count(*) > 1
            ORDER BY 1, 2
            """, logger: logger)
        for try await (stream, type, count) in rows.decode((String, String, Int64).self) { duplicates.append("\(stream): \(type) ×\(count)") }
        return duplicates
    }

}
