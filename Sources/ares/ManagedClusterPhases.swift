import Foundation
import Validation
#if canImport(Glibc)
import Glibc
#endif

/// The parts of `ares validate --manage --replicas N --database managed` that act on the
/// PostgreSQL cluster the run started, where a replicated deployment keeps everything that
/// matters (tasks, queue, keys, knowledge base):
///
/// - **disk-80** (chaos): the cluster's files moved onto a filesystem made for the run and filled
///   to 80 %, the load run against the replicas, the files moved back. The replicas stay up
///   through the move (they lose the database for a moment and take themselves out of rotation
///   until it answers).
/// - **backup-restore**: WAL archiving into an archive and a base backup (pg_basebackup), the
///   load, then at a random moment PostgreSQL's postmaster and every replica SIGKILLed and the
///   cluster's files abandoned, as when the machine is lost; recovery of everything archived into
///   a new cluster on the same port, the replicas started on it (new replica ids): RTO from the
///   kill to every replica ready, RPO from the acknowledged tasks missing afterwards. The archive's
///   `archive_timeout` bounds the RPO; it is a sixth of the part (at most docs/operations.md's 60 s),
///   so that a shortened run archives within its part as a full one does.
///
/// With the caller's database (`--database postgres://…`) neither runs: ares moves and recovers
/// only files it owns. scripts/drills/postgres-restore.sh rehearses the recovery on any cluster.
struct ManagedClusterPhases: Sendable {
    let deployment: ManagedDeployment
    let seed: UInt64
    let taskDeadline: Duration

    static let notOwnedReason = "the database is the caller's (--database URL): ares moves and recovers only the files of a PostgreSQL cluster it started (--database managed)"

    /// The archive's `archive_timeout` for a restore part of `seconds`: a sixth of it, 1 to 60 s.
    static func archiveTimeout(forPartSeconds seconds: Double) -> Int {
        Int(min(60, max(1, (seconds / 6).rounded())))
    }

    // MARK: disk-80

    func nearlyFullDisk(_ context: PhaseActionContext, rate: Double, seconds: Double) async -> DeploymentActionResult {
        let target = 0.8
        let name = "disk-80"
        var description = "the PostgreSQL cluster's files moved onto a filesystem made for the run and filled to \(Int(target * 100)) % (a filler file; the cluster stopped, copied, started there, the replicas left running), \(Format.rate(rate)) for \(Format.seconds(seconds)) over \(deployment.replicaCount) replica\(deployment.replicaCount == 1 ? "" : "s"); then moved back"
        guard let cluster = deployment.database?.cluster else {
            return .notRun(name, description, reason: "not run: \(Self.notOwnedReason)")
        }
        let original = cluster.dataDirectory
        let size = ManagedPhaseActions.scratchSize(forDataBytes: cluster.dataBytes)
        let disk = deployment.workDirectory.appendingPathComponent("cluster-disk")
        let filesystem: ScratchFilesystem
        do {
            try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
            // The postgres user passes through to the mount point, whatever the umask made them.
            for directory in [deployment.workDirectory, disk] {
                try FileManager.default.setAttributes([.posixPermissions: 0o711], ofItemAtPath: directory.path)
            }
            filesystem = try ScratchFilesystem.make(sizeBytes: size, in: disk)
        } catch {
            return .notRun(name, description, reason: "not run: \(error)")
        }
        defer { filesystem.remove() }
        description = description.replacingOccurrences(of: "filesystem made for the run", with: "\(size >> 20) MiB filesystem made for the run (\(filesystem.kind.rawValue))")
        do {
            let moveStarted = Date()
            try cluster.relocate(to: filesystem.mountPoint.appendingPathComponent("pgdata"))
            let moveSeconds = Date().timeIntervalSince(moveStarted)
            let reached = try filesystem.fill(to: target)
            let exited = deployment.restartExitedReplicas()
            guard await deployment.waitReady(replicas: deployment.replicaIndices, http: context.http, within: 120) else {
                throw ManagedDeployment.Failure(description: "the replicas were not all ready within 120 s of the move; see the deployment logs")
            }
            context.progress("\(context.phase.name)/\(name): PostgreSQL's files on \(filesystem.mountPoint.path) (\(filesystem.kind.rawValue)), \(Format.percent(reached)) used; \(Format.rate(rate)) for \(Format.seconds(seconds)) ...")
            let known = Set(context.ledger.all().map(\.id))
            let measurement = await context.load(rate: rate, seconds: seconds)
            let used = filesystem.usedRatio
            let alive = await deployment.everyReplicaAnswers200("/health/live", http: context.http)
            let during = context.ledger.all().filter { !known.contains($0.id) }
            let tasks = await context.checkTasks(during, deadline: taskDeadline)
            let free = filesystem.freeBytes
            // Back onto the ordinary filesystem, so later phases run there.
            try cluster.relocate(to: original)
            await bringBack(context)
            return DeploymentActionResult(
                name: name, description: description, measurement: measurement,
                checks: DeploymentChecks.nearlyFullDisk(measurement, thresholds: context.thresholds, usedRatio: min(reached, used), targetRatio: target,
                                                        serverAlive: alive, tasks: tasks),
                facts: ["filesystem": "\(filesystem.kind.rawValue), \(size >> 20) MiB", "used after filling": Format.percent(reached),
                        "used after the load": Format.percent(used), "free after the load": "\(free >> 20) MiB",
                        "moving the cluster's files took (stop, copy, start)": Format.seconds(moveSeconds),
                        "replicas that exited while the database moved (restarted)": exited.isEmpty ? "none" : exited.map { deployment.replicaID($0) }.joined(separator: ", ")])
        } catch {
            if cluster.dataDirectory != original { try? cluster.relocate(to: original) }
            try? cluster.startIfStopped()
            await bringBack(context)
            return .notRun(name, description, reason: "not run: \(error)")
        }
    }

    // MARK: restore

    func restore(_ context: PhaseActionContext, rate: Double, seconds: Double) async -> [DeploymentActionResult] {
        let name = "backup-restore"
        var generator = SplitMix64(seed: seed &+ 1)
        let killAt = seconds * (0.5 + 0.3 * generator.nextUnit())
        let archiveTimeout = Self.archiveTimeout(forPartSeconds: seconds)
        let description = "PostgreSQL archiving its WAL (archive_timeout \(archiveTimeout) s) after a base backup (pg_basebackup -X stream), \(Format.rate(rate)) for \(Format.seconds(seconds)) over \(deployment.replicaCount) replica\(deployment.replicaCount == 1 ? "" : "s"); \(Format.seconds(killAt)) in (random, seed \(seed)) the postmaster and every replica SIGKILLed and the cluster's files abandoned; everything archived recovered into a new cluster on the same port (the base backup, restore_command, recovery.signal, promoted), the replicas started on it: RTO and RPO"
        guard let cluster = deployment.database?.cluster else {
            return [.notRun(name, description, reason: "not run: \(Self.notOwnedReason); rehearse point-in-time recovery of yours with scripts/drills/postgres-restore.sh (docs/operations.md)")]
        }
        let suffix = UUID().uuidString.prefix(8).lowercased()
        do {
            let archive = try cluster.makeOwnDirectory("archive-\(suffix)")
            try cluster.archiveWAL(into: archive, timeoutSeconds: archiveTimeout)
            let base = cluster.clusterDirectory.appendingPathComponent("base-\(suffix)")
            let backupStarted = Date()
            try cluster.baseBackup(into: base)
            let backupSeconds = Date().timeIntervalSince(backupStarted)
            let backupBytes = ManagedPhaseActions.bytes(under: base)
            context.progress("\(context.phase.name): base backup \(backupBytes >> 20) MiB in \(Format.seconds(backupSeconds)); \(Format.rate(rate)) for \(Format.seconds(seconds)), SIGKILL at \(Format.seconds(killAt)) ...")
            let clock = ContinuousClock()
            let deployment = self.deployment
            async let load = context.load(rate: rate, seconds: seconds)
            try? await clock.sleep(for: .milliseconds(Int64(killAt * 1000)))
            // The database first: nothing commits after this moment, so no task can be acknowledged after it.
            let killedAt = Date()
            try cluster.kill9()
            for index in deployment.replicaIndices { deployment.kill9(replica: index) }
            let archived = cluster.archivedFiles(in: archive)
            let recovered = cluster.clusterDirectory.appendingPathComponent("recovered-\(suffix)")
            let recoveryStarted = Date()
            try cluster.recover(from: base, archive: archive, into: recovered, within: 3600)
            let recoverySeconds = Date().timeIntervalSince(recoveryStarted)
            // Every acknowledgement that arrives before the replicas start again came from the killed ones.
            let restartedAt = Date()
            for index in deployment.replicaIndices { try deployment.restart(replica: index) }
            let ready = await deployment.waitReady(replicas: deployment.replicaIndices, http: context.http, within: 3600)
            let readyAt = ready ? Date() : nil
            let measurement = await load
            let beforeKill = context.ledger.all().filter { $0.acknowledgedAt < restartedAt }
            let tasks = await context.checkTasks(beforeKill, deadline: taskDeadline)
            let recovery = DeploymentChecks.recovery(killedAt: killedAt, readyAt: readyAt, beforeKill: beforeKill, missing: tasks.missingIDs)
            let rpo = context.thresholds.rpoSeconds ?? 300
            let chains = deployment.verifyChains()
            return [DeploymentActionResult(
                name: name, description: description, measurement: measurement,
                checks: DeploymentChecks.restore(recovery, tasks: tasks, thresholds: context.thresholds, chains: chains),
                facts: ["base backup": "\(backupBytes >> 20) MiB in \(Format.seconds(backupSeconds))",
                        "WAL files archived by the kill": "\(archived)",
                        "recovery took (copy, replay, promotion)": Format.seconds(recoverySeconds),
                        "random seed": "\(seed)"].merging(recovery.facts) { own, _ in own },
                tasksNotRestored: recovery.notRestored(within: rpo))]
        } catch {
            // The deployment back for the phases after this one: the cluster running from whichever
            // files it has now (a crash-stopped one replays its WAL first), every replica running.
            try? cluster.startIfStopped()
            await bringBack(context)
            return [.notRun(name, description, reason: "not run: \(error)")]
        }
    }

    /// Every replica running and, as far as 120 s allow, ready: what the phases after a part
    /// need, whether the part ended normally or not (a part that fails says so itself).
    private func bringBack(_ context: PhaseActionContext) async {
        _ = deployment.restartExitedReplicas()
        _ = await deployment.waitReady(replicas: deployment.replicaIndices, http: context.http, within: 120)
    }
}
