import Foundation
import Storage

/// `ares restore DIR --data-dir NEW [--until TIME]` for a continuous backup: picks the newest
/// generation (with `--until`, the newest whose base was finished by then), checks it whole
/// (`ContinuousBackupVerification`), restores its base into NEW, then replays its segments in
/// order: events exactly as they were stored, each file copy in place of the file. With
/// `--until`, each event store gets the events recorded up to that time (the prefix of its
/// log, so every stream stays a whole chain) and each other file its newest copy taken by
/// then. The restored event stores are checked again (every chain and head) before NEW counts
/// as restored; any failure empties NEW again.
public enum ContinuousBackupRestore {
    public struct Summary: Sendable {
        public var generation: String
        public var segments: Int
        public var baseEvents: Int
        public var replayedEvents: Int
        public var files: Int
        /// The newest event time restored (nil: no event at all).
        public var restoredThrough: Date?
        public var seconds: Double
    }

    /// Whether the base of `generation` holds nothing newer than `until`: finished by then
    /// (the manifest's time has whole seconds) and no event in it recorded after it.
    static func baseIsOlder(_ generation: ContinuousBackupLayout.Generation, than until: Date, untilMicroseconds: Int64) throws -> Bool {
        let manifest = try BackupManifest.read(backup: generation.base)
        guard manifest.createdAt <= until else { return false }
        let dataRoot = generation.base.appendingPathComponent(BackupManifest.dataFolder)
        for file in manifest.files where file.kind == .sqlite {
            let path = dataRoot.appendingPathComponent(file.path).path
            guard EventLogTail.isEventStore(path) else { continue }
            let tail = try EventLogTail(path: path)
            defer { tail.close() }
            if let newest = try tail.newestRecordedAt(), newest > untilMicroseconds { return false }
        }
        return true
    }

    public static func restore(backup directory: URL, into dataDirectory: URL, until: Date?,
                               progress: (String) -> Void) throws -> Summary {
        let clock = ContinuousClock()
        let started = clock.now
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackupError.sourceMissing(directory.path)
        }
        let complete = try ContinuousBackupLayout(root: directory).generations().filter(\.isComplete)
        guard !complete.isEmpty else { throw BackupError.noManifest(directory.path) }
        let untilMicroseconds = until.map { Int64(($0.timeIntervalSince1970 * 1_000_000).rounded()) }
        var chosen: ContinuousBackupLayout.Generation?
        for generation in complete.reversed() {
            guard let untilMicroseconds, let until else { chosen = generation; break }
            if try baseIsOlder(generation, than: until, untilMicroseconds: untilMicroseconds) { chosen = generation; break }
        }
        guard let generation = chosen else {
            let oldest = (try? BackupManifest.read(backup: complete[0].base).createdAt).map { "\($0)" } ?? "unknown"
            throw BackupError.unreadable(directory.path, "it reaches back to \(oldest) (its oldest base): nothing to restore as of \(until.map { "\($0)" } ?? "now")")
        }
        progress("checking \(generation.name)")
        let verification = try ContinuousBackupVerification.check(generation)
        guard verification.isIntact else { throw BackupError.damaged(verification.problems) }
        progress("restoring the base of \(generation.name)")
        // Checked above with the rest of the generation: copied without checking it twice.
        try DataDirectoryRestore.copyFiles(of: verification.manifest, from: generation.base, into: dataDirectory, progress: progress)
        do {
            var replays: [String: EventLogReplay] = [:]
            defer { for replay in replays.values { try? replay.close() } }
            var stopped = Set<String>()
            var replayed = 0
            var files = 0
            var newest: Int64?
            for segment in verification.segments {
                let header = segment.header
                if untilMicroseconds != nil, stopped.contains(header.file) { continue }
                let url = segment.url
                let contents = try BackupSegment.read(url)
                // The same bytes as checked: a segment changed since then is refused.
                guard contents.sha256 == segment.sha256 else {
                    throw BackupError.damaged(["\(generation.name)/segments/\(url.lastPathComponent): changed while it was restored"])
                }
                let target = dataDirectory.appendingPathComponent(header.file)
                switch header.kind {
                case .events:
                    var events = contents.events
                    if let untilMicroseconds, let cut = events.firstIndex(where: { $0.recordedAtMicroseconds > untilMicroseconds }) {
                        events = Array(events[..<cut])
                        stopped.insert(header.file)
                    }
                    guard !events.isEmpty else { continue }
                    let replay: EventLogReplay
                    if let open = replays[header.file] { replay = open } else {
                        replay = try EventLogReplay(path: target.path)
                        replays[header.file] = replay
                    }
                    try replay.append(events)
                    replayed += events.count
                    for event in events { newest = max(newest ?? event.recordedAtMicroseconds, event.recordedAtMicroseconds) }
                case .file:
                    if let untilMicroseconds, (header.capturedAt ?? .max) > untilMicroseconds {
                        stopped.insert(header.file)
                        continue
                    }
                    progress("restoring \(header.file) as shipped at \(Date(timeIntervalSince1970: Double(header.shippedAt) / 1e6))")
                    try DataDirectoryBackup.makePrivateDirectory(target.deletingLastPathComponent())
                    let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).restoring")
                    try? FileManager.default.removeItem(at: temporary)
                    try BackupSegment.copyBody(of: contents, in: url, to: temporary)
                    guard rename(temporary.path, target.path) == 0 else {
                        throw BackupError.copyFailed(file: header.file, reason: String(cString: strerror(errno)))
                    }
                    files += 1
                }
            }
            for replay in replays.values { try replay.close() }
            replays.removeAll()
            // The restored stores as a server will find them: every chain intact and each head
            // its stream's newest event.
            progress("checking the restored event stores")
            var problems: [String] = []
            for file in verification.manifest.files where file.kind == .sqlite {
                let path = dataDirectory.appendingPathComponent(file.path).path
                guard let inspection = try EventStoreFileInspection.inspect(path) else { continue }
                problems += inspection.breaks.prefix(20).map { "restored \(file.path): stream \($0.stream) v\($0.version): \($0.problem)" }
                if newest == nil, let tail = try? EventLogTail(path: path) {
                    newest = try? tail.newestRecordedAt()
                    tail.close()
                }
            }
            guard problems.isEmpty else { throw BackupError.damaged(problems) }
            try BackupSegment.syncDirectory(dataDirectory)
            let elapsed = clock.now - started
            return Summary(generation: generation.name, segments: verification.segments.count, baseEvents: verification.baseEvents,
                           replayedEvents: replayed, files: files,
                           restoredThrough: newest.map { Date(timeIntervalSince1970: Double($0) / 1_000_000) },
                           seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        } catch {
            // A half-restored directory must not be served: empty it again.
            if let entries = try? FileManager.default.contentsOfDirectory(atPath: dataDirectory.path) {
                for entry in entries { try? FileManager.default.removeItem(at: dataDirectory.appendingPathComponent(entry)) }
            }
            throw error
        }
    }
}
