import Foundation
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// The work of continuous backup shipping, one round at a time: what `BackupShippingService`
/// runs every quarter second. Synchronous file and SQLite work, so the service runs it on a
/// thread of its own, never on the cooperative pool.
///
/// Why events and not WAL frames (Litestream's way): the event stores are append-only with a
/// global order, so "every event after the last shipped position" is the whole change since the
/// last round, readable through an ordinary read-only connection, independent of page layout,
/// checkpoints and WAL resets, and restorable to any moment by each event's `recordedAt`. The
/// other files (`knowledge.sqlite`, `access.sqlite`, `index.bin`) change rarely (an ingest, a
/// key), so a change ships a whole new copy of that file.
///
/// Not thread-safe: one service owns it and calls it from one serial queue.
final class ContinuousBackupShipper: @unchecked Sendable {
    struct Settings: Sendable {
        /// A new base after this many segments in a generation.
        var segmentsPerBase: Int
        /// Complete generations kept (the newest ones); older ones are deleted after a new base.
        var keptGenerations = 2
        /// An events segment holds at most this many events, or about this many payload bytes.
        var eventsPerSegment = 5000
        var payloadBytesPerSegment = 8 << 20
        /// A new base once the segments of a generation outgrow its base (or this, if larger):
        /// a restore then never replays more than about a base's worth of segments.
        var minimumSegmentBytesPerBase: Int64 = 64 << 20
    }

    /// What one round did.
    struct Round: Sendable {
        var segments = 0
        var events = 0
        var files = 0
        /// A new generation was started (the first round, compaction, or a lost generation).
        var newGeneration: Int?
        /// Everything committed before the round began is shipped (false: a burst continues next round).
        var caughtUp = true
    }

    /// Whether a file changed since it was last shipped, without reading it: its size and
    /// modification time, and those of its WAL (where commits land until a checkpoint).
    struct FileSignature: Equatable {
        var size: Int64
        var modified: Int64
        var walSize: Int64
        var walModified: Int64

        static func of(_ path: String) -> FileSignature? {
            var info = stat()
            guard lstat(path, &info) == 0 else { return nil }
            var wal = stat()
            let hasWAL = lstat(path + "-wal", &wal) == 0
            return FileSignature(size: Int64(info.st_size), modified: Int64(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtim.tv_nsec),
                                 walSize: hasWAL ? Int64(wal.st_size) : -1,
                                 walModified: hasWAL ? Int64(wal.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(wal.st_mtim.tv_nsec) : -1)
        }
    }

    /// The generation being shipped into.
    private struct Current {
        var generation: ContinuousBackupLayout.Generation
        /// Read-only readers of the live event store files, by relative path.
        var tails: [String: EventLogTail]
        var positions: [String: Int64]
        /// The other files, as they were when last shipped (or when the base began).
        var signatures: [String: FileSignature]
        var nextSequence: Int64 = 1
        var previousSHA256: String
        var segments = 0
        var segmentBytes: Int64 = 0
        var baseBytes: Int64
        /// A prune removed events the base still holds: the next round starts a new base, so
        /// that the newest restorable state has them removed too (see docs/operations.md).
        var needsNewBase = false
    }

    let dataDirectory: URL
    let layout: ContinuousBackupLayout
    let settings: Settings
    let aresVersion: String
    private var current: Current?

    init(dataDirectory: URL, backupDirectory: URL, settings: Settings, aresVersion: String) {
        self.dataDirectory = dataDirectory.standardizedFileURL
        layout = ContinuousBackupLayout(root: backupDirectory)
        self.settings = settings
        self.aresVersion = aresVersion
    }

    /// The generation being shipped into, once its base is made.
    var generationNumber: Int? { current?.generation.number }

    /// Ships everything committed since the last round. Throws when anything could not be made
    /// durable in the backup directory; nothing is counted shipped then, and the next round
    /// retries from the same place.
    func shipOnce() throws -> Round {
        var round = Round()
        // A generation whose base vanished (the directory was replaced or emptied) cannot be
        // continued: segments must follow the base they build on.
        if let existing = current, !existing.generation.isComplete { close(); current = nil }
        if current == nil { round.newGeneration = try startGeneration() }
        guard var state = current else { return round }
        defer { current = state }
        for file in state.tails.keys.sorted() {
            guard let tail = state.tails[file] else { continue }
            // Bounded, so that a burst is shipped over a few rounds rather than starving the rest.
            var finished = false
            defer { if !finished { round.caughtUp = false } }
            for _ in 0..<64 {
                let position = state.positions[file] ?? 0
                let events = try tail.events(after: position, limit: settings.eventsPerSegment, maximumBytes: settings.payloadBytesPerSegment)
                guard let first = events.first, let last = events.last else { finished = true; break }
                let header = BackupSegment.Header(
                    formatVersion: 1, sequence: state.nextSequence, kind: .events, file: file, previousSHA256: state.previousSHA256,
                    shippedAt: Self.microsecondsNow(), bodyBytes: 0, events: events.count, firstPosition: first.globalPosition,
                    lastPosition: last.globalPosition, firstRecordedAt: events.map(\.recordedAtMicroseconds).min(),
                    lastRecordedAt: events.map(\.recordedAtMicroseconds).max(), fileKind: nil, capturedAt: nil)
                let written = try BackupSegment.writeEvents(events, header: header, into: state.generation.segments)
                state.positions[file] = last.globalPosition
                state.previousSHA256 = written.sha256
                state.nextSequence &+= 1
                state.segments &+= 1
                state.segmentBytes &+= written.bytes
                round.segments += 1
                round.events += events.count
                if events.contains(where: { $0.stream == Self.retentionStream }) { state.needsNewBase = true }
                if events.count < settings.eventsPerSegment, events.reduce(0, { $0 &+ $1.payload.count }) < settings.payloadBytesPerSegment {
                    finished = true
                    break
                }
            }
        }
        for file in try shippableFiles() where state.tails[file] == nil {
            let path = dataDirectory.appendingPathComponent(file).path
            guard let signature = FileSignature.of(path), signature != state.signatures[file] else { continue }
            try shipCopy(of: file, signature: signature, state: &state)
            round.files += 1
            round.segments += 1
        }
        if state.needsNewBase || state.segments >= settings.segmentsPerBase
            || state.segmentBytes > max(state.baseBytes, settings.minimumSegmentBytesPerBase) {
            current = state
            round.newGeneration = try startGeneration()
            if let next = current { state = next }
        }
        return round
    }

    /// A copy of a changed file (not an event store) as a file segment. The signature is taken
    /// before the copy: a change during the copy makes the next round ship it again.
    private func shipCopy(of file: String, signature: FileSignature, state: inout Current) throws {
        let source = dataDirectory.appendingPathComponent(file).path
        let capturedAt = Self.microsecondsNow()
        let kind: BackupManifest.FileKind = SQLiteFileCopy.isDatabase(source) ? .sqlite : .file
        let copy = state.generation.segments.appendingPathComponent(".copy-\(state.nextSequence)")
        try? FileManager.default.removeItem(at: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        do {
            switch kind {
            case .sqlite: try SQLiteFileCopy.backup(from: source, to: copy.path)
            case .file: try DataDirectoryBackup.copyPrivately(from: source, to: copy.path)
            }
        } catch {
            throw BackupError.copyFailed(file: file, reason: DataDirectoryBackup.describe(error))
        }
        let header = BackupSegment.Header(
            formatVersion: 1, sequence: state.nextSequence, kind: .file, file: file, previousSHA256: state.previousSHA256,
            shippedAt: Self.microsecondsNow(), bodyBytes: 0, events: nil, firstPosition: nil, lastPosition: nil,
            firstRecordedAt: nil, lastRecordedAt: nil, fileKind: kind, capturedAt: capturedAt)
        let written = try BackupSegment.writeFile(copy: copy, header: header, into: state.generation.segments)
        state.signatures[file] = signature
        state.previousSHA256 = written.sha256
        state.nextSequence &+= 1
        state.segments &+= 1
        state.segmentBytes &+= written.bytes
    }

    /// Makes a new generation: a base snapshot (`ares backup`), then the positions it reaches
    /// in each event store, from which its segments continue. Older generations beyond
    /// `keptGenerations` and unfinished ones are deleted once the new base is complete.
    @discardableResult
    func startGeneration() throws -> Int {
        try DataDirectoryBackup.makePrivateDirectory(layout.root)
        let existing = try layout.generations()
        let number = (existing.last?.number ?? 0) + 1
        let generation = layout.generation(number)
        // Before the copy: a file that changes while (or after) it is copied ships again.
        var signatures: [String: FileSignature] = [:]
        for file in try shippableFiles() {
            signatures[file] = FileSignature.of(dataDirectory.appendingPathComponent(file).path)
        }
        var tails: [String: EventLogTail] = [:]
        var positions: [String: Int64] = [:]
        let manifest: BackupManifest
        let manifestDigest: String
        do {
            try DataDirectoryBackup.makePrivateDirectory(generation.url)
            _ = try DataDirectoryBackup.backup(dataDirectory: dataDirectory, to: generation.base, aresVersion: aresVersion, progress: { _ in })
            manifest = try BackupManifest.read(backup: generation.base)
            manifestDigest = try FileSHA256.digest(generation.base.appendingPathComponent(BackupManifest.fileName).path).hex
            try DataDirectoryBackup.makePrivateDirectory(generation.segments)
            for file in manifest.files where file.kind == .sqlite {
                let copy = generation.base.appendingPathComponent(BackupManifest.dataFolder).appendingPathComponent(file.path).path
                guard EventLogTail.isEventStore(copy) else { continue }
                let baseTail = try EventLogTail(path: copy)
                positions[file.path] = try baseTail.maximumPosition()
                baseTail.close()
                tails[file.path] = try EventLogTail(path: dataDirectory.appendingPathComponent(file.path).path)
            }
            try BackupSegment.syncDirectory(generation.url)
            try BackupSegment.syncDirectory(layout.root)
        } catch {
            for tail in tails.values { tail.close() }
            try? FileManager.default.removeItem(at: generation.url)
            throw error
        }
        close()
        current = Current(generation: generation, tails: tails, positions: positions, signatures: signatures,
                          previousSHA256: manifestDigest, baseBytes: manifest.files.reduce(0) { $0 &+ $1.size })
        removeOldGenerations(keepingFrom: number)
        return number
    }

    /// Deletes unfinished generations older than `number` and complete ones beyond the newest
    /// `keptGenerations`. Failing to delete is not a shipping failure (the next base retries).
    private func removeOldGenerations(keepingFrom number: Int) {
        guard let generations = try? layout.generations() else { return }
        let complete = generations.filter { $0.number <= number && $0.isComplete }
        let kept = Set(complete.suffix(max(1, settings.keptGenerations)).map(\.number))
        for generation in generations where generation.number < number && !kept.contains(generation.number) {
            try? FileManager.default.removeItem(at: generation.url)
        }
        try? BackupSegment.syncDirectory(layout.root)
    }

    /// The data directory's files that rounds watch: ares's databases, the index snapshot and
    /// uploaded documents. Anything else someone put there (a log file) is in each base, as
    /// `ares backup` copies it, but is not shipped on every change.
    private func shippableFiles() throws -> [String] {
        try DataDirectoryBackup.regularFiles(in: dataDirectory).filter { file in
            file.hasSuffix(".sqlite") || file == "index.bin" || file.hasPrefix("uploads/")
        }
    }

    func close() {
        guard let tails = current?.tails else { return }
        for tail in tails.values { tail.close() }
    }

    static let retentionStream = "ares-retention"

    static func microsecondsNow() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }
}
