import Foundation
import Knowledge
import Logging
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ares serve --standby`: waits until the data directory's lock (`DataDirectoryLock`, an flock
/// the kernel releases when its holder dies, even by SIGKILL) is free, so that a second process
/// on the same host can take over the moment the serving one crashes or is OOM-killed.
///
/// Standbys queue on a second lock, `ares.standby.lock`: only the first in line probes the data
/// directory's lock, so when the serving process dies exactly one standby takes over and the
/// others wait for that one in turn. The wait polls with `LOCK_NB` every 100 ms instead of a
/// blocking `flock`, so no cooperative thread is held and SIGTERM or SIGINT (a ServiceGroup's
/// graceful shutdown) end it at once; nothing is open and nothing bound while it waits.
///
/// The probe takes the data directory's lock and lets it go again, and the server then takes it
/// while it opens its stores: a process that is no standby (`ares ingest`, a plain `ares serve`)
/// could take it in that instant, and then the standby's start fails as a plain serve's would.
final class StandbyTakeover: Sendable {
    /// Why the wait ended.
    enum Outcome: Sendable, Equatable {
        /// The data directory's lock was free: start serving (keep `self` alive until the stores are open).
        case dataDirectoryFree
        /// SIGTERM or SIGINT while waiting: exit without serving.
        case stopped
    }

    static let queueFileName = "ares.standby.lock"
    /// The file `DataDirectoryLock` locks (read only for the pid it names).
    static let dataDirectoryLockFileName = "ares.lock"
    static let pollInterval = Duration.milliseconds(100)

    let directory: URL
    /// The queue lock's descriptor once this standby is first in line (-1 before).
    private let queueDescriptor = Mutex<Int32>(-1)

    init(directory: URL) {
        self.directory = directory
    }

    deinit { releaseQueue() }

    /// Waits for the data directory, inside a ServiceGroup that turns SIGTERM and SIGINT into
    /// a graceful shutdown of the wait. `say` gets one line each time what it waits for changes.
    func wait(logger: Logger, say: @escaping @Sendable (String) -> Void) async throws -> Outcome {
        try prepareDirectory()
        let waiting = WaitService(takeover: self, say: say)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: waiting, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        // The group's signal handling leaves SIGTERM and SIGINT ignored; until the server's own
        // group takes them over, they end the process as they would a plain `ares serve` start.
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
        return waiting.outcome.withLock { $0 }
    }

    /// Lets the next standby in line start probing (once this one's server holds the data directory).
    func releaseQueue() {
        queueDescriptor.withLock { descriptor in
            guard descriptor >= 0 else { return }
            _ = ftruncate(descriptor, 0)
            flock(descriptor, LOCK_UN)
            close(descriptor)
            descriptor = -1
        }
    }

    /// The poll: first in the standbys' queue, then the data directory's lock. Returns
    /// `.stopped` when cancelled (graceful shutdown), never throws for it.
    fileprivate func poll(say: @Sendable (String) -> Void) async throws -> Outcome {
        var lastNote = ""
        func note(_ line: String) {
            if line != lastNote { say(line); lastNote = line }
        }
        while !Task.isCancelled {
            if try takeQueueIfFree() {
                do {
                    _ = try DataDirectoryLock(directory: directory)
                    return .dataDirectoryFree
                } catch let held as DataDirectoryLock.HeldElsewhere {
                    note("standby: waiting for the data directory held by \(held.holder) (\(directory.path))")
                }
            } else {
                note("standby: waiting for the data directory held by \(holder(of: Self.dataDirectoryLockFileName)) (\(directory.path)); another standby (\(holder(of: Self.queueFileName))) is first in line")
            }
            do { try await Task.sleep(for: Self.pollInterval) } catch { return .stopped }
        }
        return .stopped
    }

    /// Takes `ares.standby.lock` without waiting; true once this process holds it.
    private func takeQueueIfFree() throws -> Bool {
        try queueDescriptor.withLock { descriptor in
            if descriptor >= 0 { return true }
            let path = directory.appendingPathComponent(Self.queueFileName).path
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw KnowledgeBaseError.dataDirectoryNotWritable(directory.path, "cannot open \(path): \(String(cString: strerror(errno)))")
            }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                close(fd)
                return false
            }
            let line = "pid \(getpid())\n"
            _ = ftruncate(fd, 0)
            _ = line.withCString { pwrite(fd, $0, strlen($0), 0) }
            descriptor = fd
            return true
        }
    }

    /// The "pid N" a lock file names, for the waiting line.
    private func holder(of fileName: String) -> String {
        let text = (try? String(contentsOfFile: directory.appendingPathComponent(fileName).path, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return text.isEmpty ? "unknown pid" : text
    }

    /// A standby may start before the directory exists (it is then free at once).
    private func prepareDirectory() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw KnowledgeBaseError.dataDirectoryNotWritable(directory.path, "it exists and is not a directory")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw KnowledgeBaseError.dataDirectoryNotWritable(directory.path, "\(error)")
        }
    }

    /// The wait as a Service, so that the ServiceGroup's signal handling ends it.
    private final class WaitService: Service {
        let takeover: StandbyTakeover
        let say: @Sendable (String) -> Void
        let outcome = Mutex<Outcome>(.stopped)

        init(takeover: StandbyTakeover, say: @escaping @Sendable (String) -> Void) {
            self.takeover = takeover
            self.say = say
        }

        func run() async throws {
            let result = try await cancelWhenGracefulShutdown { [takeover, say] in
                try await takeover.poll(say: say)
            }
            outcome.withLock { $0 = result }
        }
    }
}
