import AsyncHTTPClient
import Foundation
import Validation

/// The phases of a plan that act on the deployment `ares validate --manage` runs: the embedded
/// one (one process, SQLite) or the replicated one (`--replicas N --database …`).
///
/// - **chaos**, in four parts, each under the plan's request mix at the phase's rate:
///   `model-latency` and `model-outage` (the server, or every replica, restarted with
///   `--model-url` pointing at a fault-injecting proxy in front of a synthetic OpenAI-compatible
///   endpoint: +100 ms, then 503 for everything), `kill-restart` (SIGKILL at random moments of
///   the server, or of a fifth of the replicas chosen at random each time, restarted on the same
///   port; then `ares verify`, or `ares db verify`), and `disk-80` (the data directory, or the
///   PostgreSQL cluster's files, moved onto a filesystem made for the run and filled to 80 %).
/// - **restore**: embedded, the server restarted with `--backup-to`, SIGKILLed at a random
///   moment under load, `ares restore --until` the kill into a new directory, served again;
///   replicated, WAL archiving and a base backup, PostgreSQL and every replica SIGKILLed,
///   recovery into a new cluster (`ManagedClusterPhases`). RTO and RPO either way.
/// - **failover**: on the embedded deployment, `ares serve --standby` on the same data directory
///   takes over from the SIGKILLed server (`ManagedStandbyFailover`); with `--replicas N
///   --database …`, replicas SIGKILLed under load (`ManagedFailover`).
///
/// The parts that act on PostgreSQL's files (disk-80, restore) need a cluster the run started
/// (`--database managed`); with the caller's database they report "not run" and why.
struct ManagedPhaseActions: Sendable {
    let deployment: ManagedDeployment
    /// Seeds the random moments of the kills, so a run can be repeated exactly; the report states it.
    let seed: UInt64
    /// How long a task-loss check inside a phase waits for the tasks it reads to end.
    let taskDeadline: Duration

    /// The default rate of a chaos or restore phase that names none (requests per second).
    static let defaultRate = 20.0
    /// The default length of each part before `--scale` (seconds).
    static let defaultSeconds = 600.0
    /// The model name the managed server is given for the synthetic endpoint.
    static let syntheticModel = "ares-validate-synthetic"

    var actions: [PhaseKind: ValidationRun.PhaseAction] {
        if let database = deployment.database {
            var actions: [PhaseKind: ValidationRun.PhaseAction] = [.chaos: { context in await chaos(context) }, .restore: { context in await restore(context) }]
            guard deployment.replicaCount >= 2 else { return actions }
            let failover = ManagedFailover(deployment: deployment, database: database, seed: seed, taskDeadline: taskDeadline)
            actions[.failover] = { context in
                await failover.run(context, rate: context.phase.rate ?? Self.defaultRate,
                                   seconds: context.scaled(context.phase.durationSeconds ?? Self.defaultSeconds))
            }
            return actions
        }
        let standbyFailover = ManagedStandbyFailover(deployment: deployment, seed: seed, taskDeadline: taskDeadline)
        return [.chaos: { context in await chaos(context) }, .restore: { context in await restore(context) },
                .failover: { context in
                    await standbyFailover.run(context, rate: context.phase.rate ?? Self.defaultRate,
                                              seconds: context.scaled(context.phase.durationSeconds ?? Self.defaultSeconds))
                }]
    }

    // MARK: chaos

    func chaos(_ context: PhaseActionContext) async -> [DeploymentActionResult] {
        let rate = context.phase.rate ?? Self.defaultRate
        let seconds = context.scaled(context.phase.durationSeconds ?? Self.defaultSeconds)
        var parts = await modelFaults(context, rate: rate, seconds: seconds)
        parts.append(await killsAndRestarts(context, rate: rate, seconds: seconds))
        if deployment.database == nil {
            parts.append(await nearlyFullDisk(context, rate: rate, seconds: seconds))
        } else {
            parts.append(await ManagedClusterPhases(deployment: deployment, seed: seed, taskDeadline: taskDeadline)
                .nearlyFullDisk(context, rate: rate, seconds: seconds))
        }
        return parts
    }

    /// The server pointed at the proxy; the load runs once with added latency, once with an outage.
    private func modelFaults(_ context: PhaseActionContext, rate: Double, seconds: Double) async -> [DeploymentActionResult] {
        let restarted = deployment.database == nil ? "the managed ares restarted" : "every replica restarted"
        let latencyDescription = "\(restarted) with --model-url through a fault-injecting proxy to a synthetic OpenAI-compatible endpoint (language-model agents on, each step falling back to the built-in agent when the model fails); +100 ms on every model request; \(Format.rate(rate)) for \(Format.seconds(seconds))"
        let outageDescription = "the same, with the model endpoint down: every model request answered 503 by the proxy; \(Format.rate(rate)) for \(Format.seconds(seconds))"
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let parts = await modelFaults(context, rate: rate, seconds: seconds, client: client,
                                      descriptions: (latencyDescription, outageDescription))
        try? await client.shutdown()
        return parts
    }

    private func modelFaults(_ context: PhaseActionContext, rate: Double, seconds: Double, client: HTTPClient,
                             descriptions: (latency: String, outage: String)) async -> [DeploymentActionResult] {
        let (latencyDescription, outageDescription) = descriptions
        do {
            let synthetic = try await LoopbackHTTPServer(handler: SyntheticModelEndpoint.handler)
            let proxy = FaultInjectingProxy(upstream: synthetic.baseURL, client: client)
            let proxyServer = try await LoopbackHTTPServer(handler: proxy.handler)
            let parts = try await synthetic.whileServing {
                try await proxyServer.whileServing {
                    try await restart(context, extraArguments: ["--model-url", proxyServer.baseURL.absoluteString + "/v1", "--model", Self.syntheticModel])
                    var parts: [DeploymentActionResult] = []
                    for (name, fault, description) in [("model-latency", FaultInjectingProxy.Fault.latency(milliseconds: 100), latencyDescription),
                                                       ("model-outage", .outage, outageDescription)] {
                        let before = proxy.counts
                        proxy.fault = fault
                        context.progress("\(context.phase.name)/\(name): \(fault) on the model endpoint, \(Format.rate(rate)) for \(Format.seconds(seconds)) ...")
                        let measurement = await context.load(rate: rate, seconds: seconds)
                        let alive = await everyServerLive(context)
                        let after = proxy.counts
                        parts.append(DeploymentActionResult(
                            name: name, description: description, measurement: measurement,
                            checks: DeploymentChecks.underFault(measurement, thresholds: context.thresholds, serverAlive: alive),
                            facts: ["model requests during the fault": "\(after.requests - before.requests)",
                                    "model requests failed by the fault": "\(after.failedByFault - before.failedByFault)",
                                    "p95 / p99 of successful requests": "\(Format.milliseconds(measurement.latency.p95)) / \(Format.milliseconds(measurement.latency.p99))"]))
                    }
                    proxy.fault = .none
                    return parts
                }
            }
            // Back to the defaults (no model) before the proxy is gone.
            try await restart(context, extraArguments: [])
            return parts
        } catch {
            _ = try? await restart(context, extraArguments: [])
            return [.notRun("model-latency", latencyDescription, reason: "not run: \(error)"),
                    .notRun("model-outage", outageDescription, reason: "not run: \(error)")]
        }
    }

    /// SIGKILLs at random moments while the load runs (of the server; of a fifth of the replicas,
    /// at least one, chosen at random each time); each time restarted on the same port.
    private func killsAndRestarts(_ context: PhaseActionContext, rate: Double, seconds: Double) async -> DeploymentActionResult {
        let count = min(10, max(1, Int(seconds / 6)))
        let recoveryLimit = context.thresholds.recoverySeconds ?? 300
        let replicated = deployment.database != nil
        let replicas = deployment.replicaCount
        let perKill = replicated ? max(1, FailoverMeasurement.victimCount(replicas: replicas)) : 1
        let killed = replicated ? "\(perKill) of the \(replicas) replica\(replicas == 1 ? "" : "s") (chosen at random each time)" : "the managed ares"
        let restarted = replicated ? "each restarted on its port as a new replica id" : "restarted on the same port after each"
        let description = "SIGKILL of \(killed) at \(count) random moment\(count == 1 ? "" : "s") (seed \(seed)) while \(Format.rate(rate)) ran for \(Format.seconds(seconds)), \(restarted); then `\(replicated ? "ares db verify" : "ares verify")`"
        let known = Set(context.ledger.all().map(\.id))
        context.progress("\(context.phase.name)/kill-restart: \(count) kills in \(Format.seconds(seconds)) at \(Format.rate(rate)) ...")
        let deployment = self.deployment
        async let load = context.load(rate: rate, seconds: seconds)
        var generator = SplitMix64(seed: seed)
        var kills: [DeploymentChecks.Kill] = []
        var victimsOfEachKill: [String] = []
        let clock = ContinuousClock()
        let start = clock.now
        let slot = seconds / Double(count)
        for index in 0..<count {
            // One kill somewhere in each slot (not at its very edges), so kills spread over the
            // part and a restart has time to finish before the next.
            let at = slot * (Double(index) + 0.2 + 0.6 * generator.nextUnit())
            let victims = replicated ? generator.choose(perKill, of: replicas) : [0]
            try? await clock.sleep(until: start + .milliseconds(Int64(at * 1000)))
            let killedAt = clock.now
            if replicated {
                victimsOfEachKill.append(victims.map { deployment.replicaID($0) }.joined(separator: " + "))
                for victim in victims { deployment.kill9(replica: victim) }
            } else {
                deployment.kill9()
            }
            var back: Double?
            do {
                let ready: Bool
                if replicated {
                    for victim in victims { try deployment.restart(replica: victim) }
                    ready = await deployment.waitReady(replicas: victims, http: context.http, within: min(600, recoveryLimit * 1.2))
                } else {
                    try deployment.start(extraArguments: [])
                    ready = await waitReady(context, within: min(600, recoveryLimit * 1.2))
                }
                if ready { back = (clock.now - killedAt).seconds }
            } catch {
                context.progress("\(context.phase.name)/kill-restart: the restart failed: \(error)")
            }
            kills.append(.init(atSeconds: (killedAt - start).seconds, backAfterSeconds: back))
            if back == nil { break }
        }
        let measurement = await load
        let during = context.ledger.all().filter { !known.contains($0.id) }
        let tasks = await context.checkTasks(during, deadline: taskDeadline)
        let chains = deployment.verifyChains()
        var facts = ["successful of due requests during the kills (not gated: a killed server refuses)": "\(Format.percent(1 - measurement.errorRate)) (\(Format.outcomes(measurement.outcomes)))",
                     "random seed": "\(seed)",
                     "kill to ready, each": kills.map { $0.backAfterSeconds.map(Format.seconds) ?? "never" }.joined(separator: ", ")]
        if replicated { facts["replicas killed, each time"] = victimsOfEachKill.joined(separator: ", ") }
        return DeploymentActionResult(
            name: "kill-restart", description: description, measurement: measurement,
            checks: DeploymentChecks.killsAndRestarts(kills, recoveryLimit: recoveryLimit, tasks: tasks, chains: chains),
            facts: facts)
    }

    /// The data directory on a filesystem made for the run and filled to 80 %, under load.
    private func nearlyFullDisk(_ context: PhaseActionContext, rate: Double, seconds: Double) async -> DeploymentActionResult {
        let target = 0.8
        let name = "disk-80"
        let original = deployment.dataDirectory
        let size = Self.scratchSize(forDataBytes: Self.bytes(under: original))
        var description = "the data directory moved onto a \(size >> 20) MiB filesystem made for the run and filled to \(Int(target * 100)) % (a filler file), \(Format.rate(rate)) for \(Format.seconds(seconds)); then moved back"
        deployment.terminate()
        let filesystem: ScratchFilesystem
        do {
            filesystem = try ScratchFilesystem.make(sizeBytes: size, in: deployment.workDirectory.appendingPathComponent("disk"))
        } catch {
            _ = try? await restart(context, extraArguments: [])
            return .notRun(name, description, reason: "not run: \(error)")
        }
        defer { filesystem.remove() }
        description = description.replacingOccurrences(of: "filesystem made for the run", with: "filesystem made for the run (\(filesystem.kind.rawValue))")
        let moved = filesystem.mountPoint.appendingPathComponent("data")
        do {
            try FileManager.default.copyItem(at: original, to: moved)
            let reached = try filesystem.fill(to: target)
            deployment.dataDirectory = moved
            try await restart(context, extraArguments: [])
            context.progress("\(context.phase.name)/\(name): data directory on \(filesystem.mountPoint.path) (\(filesystem.kind.rawValue)), \(Format.percent(reached)) used; \(Format.rate(rate)) for \(Format.seconds(seconds)) ...")
            let known = Set(context.ledger.all().map(\.id))
            let measurement = await context.load(rate: rate, seconds: seconds)
            let used = filesystem.usedRatio
            let alive = await context.answers200("/health/live")
            let during = context.ledger.all().filter { !known.contains($0.id) }
            let tasks = await context.checkTasks(during, deadline: taskDeadline)
            let free = filesystem.freeBytes
            // Back onto the original disk, so later phases run on the ordinary filesystem.
            deployment.terminate()
            try FileManager.default.removeItem(at: original)
            try FileManager.default.copyItem(at: moved, to: original)
            deployment.dataDirectory = original
            try await restart(context, extraArguments: [])
            return DeploymentActionResult(
                name: name, description: description, measurement: measurement,
                checks: DeploymentChecks.nearlyFullDisk(measurement, thresholds: context.thresholds, usedRatio: min(reached, used), targetRatio: target,
                                                        serverAlive: alive, tasks: tasks),
                facts: ["filesystem": "\(filesystem.kind.rawValue), \(size >> 20) MiB", "used after filling": Format.percent(reached),
                        "used after the load": Format.percent(used), "free after the load": "\(free >> 20) MiB"])
        } catch {
            deployment.terminate()
            if deployment.dataDirectory != original, !FileManager.default.fileExists(atPath: original.path) {
                try? FileManager.default.copyItem(at: moved, to: original)
            }
            deployment.dataDirectory = original
            _ = try? await restart(context, extraArguments: [])
            return .notRun(name, description, reason: "not run: \(error)")
        }
    }

    // MARK: restore

    func restore(_ context: PhaseActionContext) async -> [DeploymentActionResult] {
        let rate = context.phase.rate ?? Self.defaultRate
        let seconds = context.scaled(context.phase.durationSeconds ?? Self.defaultSeconds)
        if deployment.database != nil {
            return await ManagedClusterPhases(deployment: deployment, seed: seed, taskDeadline: taskDeadline).restore(context, rate: rate, seconds: seconds)
        }
        let backup = deployment.workDirectory.appendingPathComponent("backup-\(UUID().uuidString.prefix(8))")
        let restored = deployment.workDirectory.appendingPathComponent("restored-\(UUID().uuidString.prefix(8))")
        var generator = SplitMix64(seed: seed &+ 1)
        let killAt = seconds * (0.5 + 0.3 * generator.nextUnit())
        let description = "the managed ares restarted with --backup-to (continuous shipping), \(Format.rate(rate)) for \(Format.seconds(seconds)), SIGKILLed \(Format.seconds(killAt)) in (random, seed \(seed)); its data directory abandoned; `ares restore --until` the moment of the kill into a new directory, served again"
        do {
            try await restart(context, extraArguments: ["--backup-to", backup.path])
            // The first base must exist before the deployment can be lost and restored.
            guard await waitForFirstBase(context, within: 60) else {
                throw ManagedDeployment.Failure(description: "backup shipping made no base within 60 s (see /health/ready's backupShipping)")
            }
            context.progress("\(context.phase.name): \(Format.rate(rate)) for \(Format.seconds(seconds)), SIGKILL at \(Format.seconds(killAt)) ...")
            let clock = ContinuousClock()
            let deployment = self.deployment
            async let load = context.load(rate: rate, seconds: seconds)
            try? await clock.sleep(for: .milliseconds(Int64(killAt * 1000)))
            deployment.kill9()
            let killedAt = Date()
            let abandoned = deployment.dataDirectory
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let until = formatter.string(from: killedAt)
            let restoreStarted = Date()
            let restoring = deployment.runAresForStatus(["restore", backup.path, "--data-dir", restored.path, "--until", until])
            let restoreSeconds = Date().timeIntervalSince(restoreStarted)
            guard restoring.status == 0 else {
                _ = await load
                throw ManagedDeployment.Failure(description: "ares restore failed (status \(restoring.status)): \(restoring.output.prefix(500))")
            }
            deployment.dataDirectory = restored
            // Every acknowledgement that arrived before the restored process starts came from the
            // killed one (an answer sent just before the SIGKILL can arrive just after it).
            let restartedAt = Date()
            try deployment.start(extraArguments: [])
            let ready = await waitReady(context, within: 3600)
            let readyAt = ready ? Date() : nil
            let measurement = await load
            try? FileManager.default.removeItem(at: abandoned)
            let beforeKill = context.ledger.all().filter { $0.acknowledgedAt < restartedAt }
            let tasks = await context.checkTasks(beforeKill, deadline: taskDeadline)
            let recovery = DeploymentChecks.recovery(killedAt: killedAt, readyAt: readyAt, beforeKill: beforeKill, missing: tasks.missingIDs)
            let rpo = context.thresholds.rpoSeconds ?? 300
            let chains = deployment.verifyChains(restored)
            return [DeploymentActionResult(
                name: "backup-restore", description: description, measurement: measurement,
                checks: DeploymentChecks.restore(recovery, tasks: tasks, thresholds: context.thresholds, chains: chains),
                facts: ["restore --until": until, "ares restore took": Format.seconds(restoreSeconds),
                        "restore output": restoring.output.split(separator: "\n").last.map(String.init) ?? "",
                        "random seed": "\(seed)"].merging(recovery.facts) { own, _ in own },
                tasksNotRestored: recovery.notRestored(within: rpo))]
        } catch {
            _ = try? await restart(context, extraArguments: [])
            return [.notRun("backup-restore", description, reason: "not run: \(error)")]
        }
    }

    // MARK: helpers

    /// SIGTERM, start again with `extraArguments`, wait for readiness (60 s); every replica of a
    /// replicated deployment.
    private func restart(_ context: PhaseActionContext, extraArguments: [String]) async throws {
        if deployment.database != nil {
            try deployment.restartEveryReplica(extraArguments: extraArguments)
            guard await deployment.waitReady(replicas: deployment.replicaIndices, http: context.http, within: 60) else {
                throw ManagedDeployment.Failure(description: "the restarted replicas were not all ready within 60 s; see deployment.log and its replica logs")
            }
            return
        }
        deployment.terminate()
        try deployment.start(extraArguments: extraArguments)
        guard await waitReady(context, within: 60) else {
            throw ManagedDeployment.Failure(description: "the restarted ares serve was not ready within 60 s; see deployment.log")
        }
    }

    /// /health/live answers 200 on the server, or on every replica.
    private func everyServerLive(_ context: PhaseActionContext) async -> Bool {
        deployment.database == nil ? await context.answers200("/health/live") : await deployment.everyReplicaAnswers200("/health/live", http: context.http)
    }

    /// Polls /health/ready until 200 (true), the process exits or `seconds` pass (false).
    private func waitReady(_ context: PhaseActionContext, within seconds: Double) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(seconds * 1000))
        while clock.now < deadline {
            if await context.answers200("/health/ready") { return true }
            if !deployment.isRunning { return false }
            try? await clock.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Readiness reports the backup generation once the first base is shipped.
    private func waitForFirstBase(_ context: PhaseActionContext, within seconds: Double) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(seconds * 1000))
        while clock.now < deadline {
            let answer = await context.http.get(context.target.url("/health/ready"))
            if answer.status == 200, String(buffer: answer.body).contains("generation") { return true }
            try? await clock.sleep(for: .milliseconds(100))
        }
        return false
    }


    /// Bytes of the files under a directory (what the scratch filesystem must hold).
    static func bytes(under directory: URL) -> Int64 {
        guard let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.fileSizeKey]) else { return 0 }
        var total: Int64 = 0
        for case let file as URL in files {
            let size = (try? file.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
            total = total.addingReportingOverflow(Int64(size)).partialValue
        }
        return total
    }

    /// Room for the data five times over (so 80 % full still leaves the data's own size free
    /// for the load's writes), at least 128 MiB, at most 8 GiB; whole MiB.
    static func scratchSize(forDataBytes bytes: Int64) -> Int64 {
        let wanted = min(Int64(8) << 30, max(Int64(128) << 20, bytes.multipliedReportingOverflow(by: 5).partialValue))
        return (wanted >> 20) << 20
    }
}
