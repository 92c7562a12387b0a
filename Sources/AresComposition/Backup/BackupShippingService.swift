import Dispatch
import Foundation
import Logging
import Server
import ServiceLifecycle
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// Continuous backup shipping as a long-lived service of `ares serve --backup-to DIR`: a round
/// every quarter second ships what was committed since the last one (`ContinuousBackupShipper`),
/// so the backup is at most about a second behind. A failed round is retried with a growing
/// pause (up to 5 s); `BackupShippingStatus` turns failures and lag into readiness and metrics.
///
/// At graceful shutdown it runs one last round after the task runner has stopped (it is stopped
/// after it), so a clean stop leaves nothing unshipped.
public final class BackupShippingService: Service, Sendable {
    public static let roundInterval: Duration = .milliseconds(250)
    static let longestPause: Duration = .seconds(5)
    /// Tests only: the pause between rounds, in milliseconds, to stand in for a destination that
    /// falls behind (a slow disk or network file system) without one. Not a setting: nothing
    /// but a test should ever ship less often.
    public static let testRoundPauseVariable = "ARES_TEST_BACKUP_ROUND_PAUSE_MS"

    public let status: BackupShippingStatus
    public let directory: URL
    private let shipper: ContinuousBackupShipper
    private let logger: Logger
    private let roundPause: Duration
    /// The shipper does blocking file and SQLite work; it runs here, one round at a time.
    private let queue = DispatchQueue(label: "ares.backup.shipping")
    /// Holds the directory's lock for the service's life (closed by the process's exit).
    private let lockDescriptor: Int32

    /// Checks the directory and takes its lock; throws (before the server starts) when another
    /// server ships into it or it is inside the data directory (or holds it).
    public init(dataDirectory: URL, backupDirectory: URL, failureLimit: Duration, segmentsPerBase: Int,
                aresVersion: String, status: BackupShippingStatus, logger: Logger, roundPause: Duration = roundInterval) throws {
        let data = dataDirectory.standardizedFileURL
        let backup = backupDirectory.standardizedFileURL
        try DataDirectoryBackup.refuseNesting(backup, in: data)
        try DataDirectoryBackup.refuseNesting(data, in: backup)
        try DataDirectoryBackup.makePrivateDirectory(backup)
        // An existing directory is made private too: it will hold copies of every key digest and task.
        guard chmod(backup.path, 0o700) == 0 else { throw BackupError.notWritable(backup.path, String(cString: strerror(errno))) }
        if FileManager.default.fileExists(atPath: backup.appendingPathComponent(BackupManifest.fileName).path) {
            throw BackupError.notWritable(backup.path, "it holds a backup made by `ares backup`: choose a directory of its own for continuous backup")
        }
        let lockPath = backup.appendingPathComponent(ContinuousBackupLayout.lockFileName).path
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw BackupError.notWritable(backup.path, String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw BackupError.notWritable(backup.path, "another ares server ships into it (\(ContinuousBackupLayout.lockFileName) is locked)")
        }
        lockDescriptor = descriptor
        directory = backup
        self.status = status
        self.logger = logger
        self.roundPause = roundPause
        shipper = ContinuousBackupShipper(dataDirectory: data, backupDirectory: backup,
                                          settings: .init(segmentsPerBase: segmentsPerBase), aresVersion: aresVersion)
    }

    deinit { close(lockDescriptor) }

    public func run() async throws {
        var pause = roundPause
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            pause = await round() ? roundPause : min(pause * 2, max(roundPause, Self.longestPause))
            try? await Task.sleep(for: pause)
        }
        // What the last steps of stopping tasks wrote.
        _ = await round()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [shipper] in
                shipper.close()
                continuation.resume()
            }
        }
    }

    /// One round on the shipping queue; records its outcome. Returns whether it succeeded.
    private func round() async -> Bool {
        let startedAt = Date()
        // Before the shipper reads: a commit recorded before this is in what the round reads.
        status.roundStarting(now: startedAt)
        let outcome: Result<ContinuousBackupShipper.Round, any Error> = await withCheckedContinuation { continuation in
            queue.async { [shipper] in continuation.resume(returning: Result { try shipper.shipOnce() }) }
        }
        switch outcome {
        case let .success(round):
            let recovered = status.recordSuccess(startedAt: startedAt, caughtUp: round.caughtUp, segments: round.segments, events: round.events,
                                                 newGeneration: round.newGeneration)
            if let generation = round.newGeneration {
                logger.info("backup base made", metadata: ["generation": .stringConvertible(generation), "backupDir": .string(directory.path)])
            }
            if recovered { logger.notice("backup shipping works again", metadata: ["backupDir": .string(directory.path)]) }
            return true
        case let .failure(error):
            let reason = (error as? BackupError)?.description ?? (error as? BackupSegment.Damage)?.description ?? DataDirectoryBackup.describe(error)
            if status.recordFailure(reason) {
                logger.error("backup shipping failed; retrying", metadata: ["backupDir": .string(directory.path), "error": .string(reason)])
            }
            return false
        }
    }
}

extension BackupShippingService {
    /// Adds shipping to `components` when the configuration asks for it (`--backup-to`): the
    /// service first among the background services, so that it stops after the others (their
    /// last writes are in its final round), its status for readiness and metrics, and the
    /// bounded RPO: the task store's appends pass `BackupAcknowledgementGate` from now on.
    public static func attach(to components: inout ServerComponents, configuration: AresConfiguration, aresVersion: String, logger: Logger,
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let backup = configuration.continuousBackup else { return }
        let status = BackupShippingStatus(failureLimit: backup.failureLimit, registry: components.metrics.registry)
        let service = try BackupShippingService(dataDirectory: configuration.dataDirectory, backupDirectory: backup.directory,
                                                failureLimit: backup.failureLimit, segmentsPerBase: backup.segmentsPerBase,
                                                aresVersion: aresVersion, status: status, logger: logger,
                                                roundPause: try testRoundPause(environment) ?? roundInterval)
        // The store of tasks and push configurations: what acknowledgements are about. (The
        // audit trail is shipped too, but an audit record is never acknowledged to a client.)
        guard let store = components.store as? SQLiteEventStore else {
            throw ConfigurationError(setting: ConfigurationSetting.backupTo.name, "--backup-to ships the data directory's task store, and this server keeps its tasks elsewhere (--database)")
        }
        store.holdAppends(for: BackupAcknowledgementGate(maximumLag: backup.maximumLag, status: status))
        components.backupShipping = status
        components.backgroundServices.insert(service, at: 0)
        logger.info("shipping backups", metadata: ["backupDir": .string(service.directory.path),
                                                   "failureLimitSeconds": .stringConvertible(backup.failureLimit.components.seconds),
                                                   "maxLagSeconds": .stringConvertible(backup.maximumLag.components.seconds)])
    }

    /// `ARES_TEST_BACKUP_ROUND_PAUSE_MS`, checked: 1 to 60000 milliseconds.
    static func testRoundPause(_ environment: [String: String]) throws -> Duration? {
        guard let text = environment[testRoundPauseVariable] else { return nil }
        guard let milliseconds = Int(text), (1...60_000).contains(milliseconds) else {
            throw ConfigurationError("\(testRoundPauseVariable) must be a whole number of milliseconds from 1 to 60000, not '\(text)'")
        }
        return .milliseconds(milliseconds)
    }
}
