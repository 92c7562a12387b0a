import AresComposition
import Foundation
import Storage
import Validation

/// The failover phase of `ares validate --manage` on the embedded deployment (one `ares serve`
/// over SQLite): `ares serve --standby` is started on the same data directory and port, the
/// plan's load runs, and the serving process is SIGKILLed (about 30–50 % into the load, at the
/// first moment after that when it holds unfinished tasks). The standby, which waited for the
/// data directory's lock, takes over. Measured, from the data directory's event store (read
/// read-only) and the load itself:
///
/// - takeover: from the kill until the standby answers /health/ready on the same port and every
///   task the dead process held (unfinished at the kill) has recorded its next step or ended;
/// - failed traffic: from the kill to the end of the last load window with a failed request;
/// - consistency: every task acknowledged during the part ends completed, no step of a taken-over
///   task is recorded twice, `ares verify` over the data directory.
///
/// Then a new standby is started, so the deployment can fail over again. One host: this is the
/// answer to a crashed or OOM-killed process; machine loss is the restore phase's (`--backup-to`).
struct ManagedStandbyFailover: Sendable {
    let deployment: ManagedDeployment
    let seed: UInt64
    let taskDeadline: Duration

    static let name = "standby-takeover"
    /// A task's last event before its ending (TaskEvent.citationsVerified).
    static let lastTypeBeforeEnding = "CitationsVerified"

    func run(_ context: PhaseActionContext, rate: Double, seconds: Double) async -> [DeploymentActionResult] {
        let limit = context.thresholds.failoverSeconds ?? 30
        var generator = SplitMix64(seed: seed &+ 2)
        let killAt = seconds * (0.3 + 0.2 * generator.nextUnit())
        let description = "embedded: a standby process (`ares serve --standby`) on the same data directory and port took over from the SIGKILLed serving process; \(Format.rate(rate)) for \(Format.seconds(seconds)); the serving process SIGKILLed about \(Format.seconds(killAt)) in (random, seed \(seed)), at the first moment after that when it held unfinished tasks; takeover read from the data directory's event store; a new standby started afterwards; then `ares verify`"
        do {
            try await startStandby()
        } catch {
            deployment.stopStandby()
            return [.notRun(Self.name, description, reason: "not run: \(error)")]
        }
        return await measure(context, rate: rate, seconds: seconds, killAt: killAt, limit: limit, description: description)
    }

    private func measure(_ context: PhaseActionContext, rate: Double, seconds: Double, killAt: Double, limit: Double,
                         description: String) async -> [DeploymentActionResult] {
        let deployment = self.deployment
        let probe = TaskStreamProbe(path: deployment.dataDirectory.appendingPathComponent(ResearchEnvironment.eventStoreFileName).path)
        let endings = ManagedFailover.endingEventTypes
        let known = Set(context.ledger.all().map(\.id))
        let victim = "ares serve (pid \(deployment.processIdentifier))"
        context.progress("\(context.phase.name)/\(Self.name): \(Format.rate(rate)) for \(Format.seconds(seconds)); SIGKILL of \(victim) from \(Format.seconds(killAt)), standby pid \(deployment.standbyProcessIdentifier.map(String.init) ?? "?") waiting ...")
        let clock = ContinuousClock()
        let loadStart = clock.now
        async let load = context.load(rate: rate, seconds: seconds)
        try? await clock.sleep(until: loadStart + .milliseconds(Int64(killAt * 1000)))
        // The first moment after the chosen one at which the server holds unfinished tasks (a
        // kill of an idle server tests no takeover), waiting at most until 80 % of the load.
        // The server is paused (SIGSTOP) while its store is read, and killed still paused when
        // it holds work: otherwise the tasks seen may end before the kill lands (a release build
        // finishes a built-in task in milliseconds, and reading a large store takes longer;
        // the scale-0.05 run of 2026-12-01 killed a server that held nothing that way).
        // A task whose last event is its citation check ends at its next commit, which a thread
        // stopped after its fsync has made but not yet published to readers: only a task with
        // more than that to do counts as held (a CI run of 2026-12-02 killed a server whose one
        // unfinished task had ended so, and measured no takeover).
        await deployment.killWhenHoldingWork([0], until: loadStart + .milliseconds(Int64(seconds * 800))) {
            guard let unfinished = try? probe.unfinishedTasks(endings: endings) else { return false }
            return unfinished.values.contains { $0.lastType != Self.lastTypeBeforeEnding }
        }
        let killedAt = clock.now
        let killedAtSeconds = (killedAt - loadStart).seconds
        // A dead process records nothing more: what is unfinished now is what it held.
        // (A store that cannot be read says why in the report: "held nothing" would be a claim.)
        var held: [String: TaskStreamProbe.Head] = [:]
        var heldUnreadable: String?
        do { held = try probe.unfinishedTasks(endings: endings) } catch { heldUnreadable = "\(error)" }
        let heldTasks = held.keys.sorted()
        context.progress("\(context.phase.name)/\(Self.name): killed \(victim) at \(Format.seconds(killedAtSeconds)), holding \(heldTasks.count) unfinished task\(heldTasks.count == 1 ? "" : "s")")

        // Takeover: the standby ready on the port (the dead process answers nothing, so a 200 is
        // the standby's), and each held task one step further (or ended) than at the kill.
        var readyAt: Double?
        var runningAgainAt: [String: Double] = [:]
        let observeUntil = killedAt + .milliseconds(Int64(min(600, max(10, limit * 2)) * 1000))
        while readyAt == nil || runningAgainAt.count < heldTasks.count, clock.now < observeUntil {
            if readyAt == nil, await context.answers200("/health/ready") { readyAt = (clock.now - killedAt).seconds }
            if let heads = try? probe.heads(of: heldTasks) {
                let now = (clock.now - killedAt).seconds
                for task in heldTasks where runningAgainAt[task] == nil {
                    if let head = heads[task], let before = held[task], head.version > before.version { runningAgainAt[task] = now }
                }
            }
            try? await clock.sleep(for: .milliseconds(50))
        }
        let allRunning = !heldTasks.isEmpty && runningAgainAt.count == heldTasks.count
        let takeover: Double? = if allRunning, let readyAt { max(readyAt, runningAgainAt.values.max() ?? 0) } else { nil }
        // The standby serves from now on; the next kill, restart or stop acts on it.
        if deployment.isRunning(replica: 0) == false, deployment.hasStandby { deployment.promoteStandby() }

        let measurement = await load
        // A new standby for what follows (the phases that restart the server stop it first).
        var newStandbyWaiting = false
        do {
            try await startStandby()
            newStandbyWaiting = true
        } catch {
            context.progress("\(context.phase.name)/\(Self.name): the new standby did not start waiting: \(error)")
        }
        let traffic = FailoverMeasurement.failedTraffic(windows: measurement.windows, killedAtSeconds: killedAtSeconds)
        let during = context.ledger.all().filter { !known.contains($0.id) }
        let tasks = await context.checkTasks(during, deadline: taskDeadline)
        let duplicates: [String]
        do {
            duplicates = try probe.duplicateSteps(of: heldTasks, onceOnly: ManagedFailover.onceOnlyEventTypes, endings: endings)
        } catch {
            duplicates = ["could not read the event store: \(error)"]
        }
        let chains = deployment.verifyChains()
        let measured = FailoverMeasurement(
            replicas: 1, killed: [victim], killedAtSeconds: killedAtSeconds, heldTasks: heldTasks.count,
            takeoverSeconds: takeover, notTakenOver: heldTasks.count - runningAgainAt.count, failedTrafficSeconds: traffic.seconds,
            failedRequestsAfterKill: traffic.failed, duplicateSteps: duplicates.count, duplicateExamples: Array(duplicates.prefix(5)))
        let perTask = heldTasks.compactMap { runningAgainAt[$0] }.sorted()
        return [DeploymentActionResult(
            name: Self.name, description: description, measurement: measurement,
            checks: DeploymentChecks.embeddedFailover(measured, standbyReadySeconds: readyAt, limit: limit, tasks: tasks, chains: chains,
                                                      newStandbyWaiting: newStandbyWaiting),
            facts: ["failed over": "embedded: a standby process on the same data directory took over",
                    "killed": victim,
                    "kill at (seconds into the load)": String(format: "%.2f", killedAtSeconds),
                    "tasks held at the kill": heldUnreadable.map { "unknown: the event store could not be read: \($0)" } ?? "\(heldTasks.count)",
                    "standby ready seconds (kill → /health/ready 200)": readyAt.map { String(format: "%.2f", $0) } ?? "never",
                    "running again seconds (each held task, sorted)": perTask.map { String(format: "%.2f", $0) }.joined(separator: ", "),
                    "failover seconds (takeover)": takeover.map { String(format: "%.2f", $0) } ?? "never",
                    "failed traffic seconds": traffic.seconds.map { String(format: "%.2f", $0) } ?? "still failing at the end",
                    "failed requests due from 2 s before the kill on (in flight when it landed, or after)": "\(traffic.failed)",
                    "successful of due requests during the failover (not gated: requests in flight at the kill fail)": "\(Format.percent(1 - measurement.errorRate)) (\(Format.outcomes(measurement.outcomes)))",
                    "ended but not completed": tasks.notCompletedExamples.isEmpty ? "none" : tasks.notCompletedExamples.joined(separator: "; "),
                    "standby log": deployment.standbyLogFile.lastPathComponent,
                    "random seed": "\(seed)"])]
    }

    /// Starts `ares serve --standby` and waits (at most 60 s) until it says it waits for the data
    /// directory: a standby that failed to start, or started serving, is no standby.
    private func startStandby() async throws {
        let offset = try deployment.startStandby(extraArguments: [])
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while clock.now < deadline {
            if deployment.standbyIsWaiting(after: offset) { return }
            guard deployment.hasStandby else {
                throw ManagedDeployment.Failure(description: "ares serve --standby exited before waiting; see \(deployment.standbyLogFile.path)")
            }
            try? await clock.sleep(for: .milliseconds(50))
        }
        throw ManagedDeployment.Failure(description: "ares serve --standby did not say it waits within 60 s; see \(deployment.standbyLogFile.path)")
    }

}
