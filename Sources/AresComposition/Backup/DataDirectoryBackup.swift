import Foundation
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// `ares backup DEST`: a consistent copy of a data directory, safe while `ares serve` writes
/// it. Each SQLite database is copied through SQLite's online backup API (one read snapshot
/// per file); the index snapshot and uploads are copied as files (the index snapshot carries
/// its store generation, so a snapshot older than the copied knowledge base is simply rebuilt;
/// copying it makes a restored server start without rebuilding the index).
///
/// Files are copied one after another, so each database is consistent in itself; the task
/// and audit stores are separate files, which is how ares writes them too.
public enum DataDirectoryBackup {
    public struct Summary: Sendable {
        public var files: Int
        public var bytes: Int64
        public var streams: Int
        public var seconds: Double
        /// Chain breaks found in the copied stores: the source was already damaged.
        public var warnings: [String]
    }

    /// Files that are never copied: the writer lock, and SQLite's companions (their content is
    /// in the online backup).
    static func isSkipped(_ name: String) -> Bool {
        name == "ares.lock" || name.hasSuffix("-wal") || name.hasSuffix("-shm") || name.hasSuffix("-journal")
    }

    public static func backup(dataDirectory: URL, to destination: URL, aresVersion: String,
                              progress: (String) -> Void) throws -> Summary {
        let clock = ContinuousClock()
        let started = clock.now
        let source = dataDirectory.standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackupError.sourceMissing(source.path)
        }
        try refuseNesting(destination, in: source)
        try prepareEmptyDirectory(destination)
        let dataRoot = destination.appendingPathComponent(BackupManifest.dataFolder)
        var files: [BackupManifest.File] = []
        var chains: [BackupManifest.Chain] = []
        var warnings: [String] = []
        do {
            try makePrivateDirectory(dataRoot)
            for relative in try regularFiles(in: source) {
                let from = source.appendingPathComponent(relative).path
                let to = dataRoot.appendingPathComponent(relative)
                try makePrivateDirectory(to.deletingLastPathComponent())
                let kind: BackupManifest.FileKind = SQLiteFileCopy.isDatabase(from) ? .sqlite : .file
                let size = (try? FileManager.default.attributesOfItem(atPath: from)[.size] as? Int64) ?? nil
                progress("copying \(relative)" + (size.map { " (\(ByteCountFormatter.string(fromByteCount: $0, countStyle: .file)))" } ?? ""))
                do {
                    switch kind {
                    case .sqlite: try SQLiteFileCopy.backup(from: from, to: to.path)
                    case .file: try copyPrivately(from: from, to: to.path)
                    }
                } catch {
                    throw BackupError.copyFailed(file: relative, reason: describe(error))
                }
                let digest = try FileSHA256.digest(to.path)
                files.append(.init(path: relative, kind: kind, size: digest.size, sha256: digest.hex))
                if kind == .sqlite, let inspection = try EventStoreFileInspection.inspect(to.path) {
                    chains += inspection.heads.map { .init(file: relative, stream: $0.stream, version: $0.version, headHash: $0.hash) }
                    warnings += inspection.breaks.map { "\(relative): stream \($0.stream) v\($0.version): \($0.problem) (already so in the source)" }
                }
            }
            let manifest = BackupManifest(formatVersion: BackupManifest.currentFormatVersion, aresVersion: aresVersion, createdAt: Date(),
                                          sourcePath: source.path, files: files, chains: chains)
            try manifest.write(into: destination)
        } catch {
            // Leave nothing that could pass for a backup: the manifest is written last, and the
            // partial copy goes too, so a full disk gets its space back.
            try? FileManager.default.removeItem(at: dataRoot)
            try? FileManager.default.removeItem(at: destination.appendingPathComponent(BackupManifest.fileName + ".partial"))
            throw error
        }
        let elapsed = clock.now - started
        return Summary(files: files.count, bytes: files.reduce(0) { $0 &+ $1.size }, streams: chains.count,
                       seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, warnings: warnings)
    }

    /// The regular files under `root`, relative and sorted (symbolic links are not followed:
    /// ares makes none, and following one could copy files from outside the data directory).
    static func regularFiles(in root: URL) throws -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { throw BackupError.sourceMissing(root.path) }
        var result: [String] = []
        for case let relative as String in enumerator {
            let name = (relative as NSString).lastPathComponent
            if isSkipped(name) || name == BackupManifest.fileName { continue }
            var info = stat()
            guard lstat(root.appendingPathComponent(relative).path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            result.append(relative)
        }
        return result.sorted()
    }

    /// Refuses `inner` inside `outer` (after resolving symbolic links): a backup inside the data
    /// directory would copy itself, a restore inside the backup would change it.
    static func refuseNesting(_ inner: URL, in outer: URL) throws {
        let innerPath = inner.standardizedFileURL.resolvingSymlinksInPath().path
        let outerPath = outer.standardizedFileURL.resolvingSymlinksInPath().path
        if innerPath == outerPath || innerPath.hasPrefix(outerPath.hasSuffix("/") ? outerPath : outerPath + "/") {
            throw BackupError.nested(inner: inner.path, outer: outer.path)
        }
    }

    /// Creates `directory` (0700) or accepts an existing empty one; refuses anything else.
    static func prepareEmptyDirectory(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.isEmpty == true else {
                throw BackupError.destinationNotEmpty(directory.path)
            }
            guard chmod(directory.path, 0o700) == 0 else {
                throw BackupError.notWritable(directory.path, String(cString: strerror(errno)))
            }
        } else {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw BackupError.notWritable(directory.path, reason(error))
            }
        }
        guard access(directory.path, W_OK) == 0 else { throw BackupError.notWritable(directory.path, String(cString: strerror(errno))) }
    }

    static func makePrivateDirectory(_ directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw BackupError.notWritable(directory.path, reason(error))
        }
    }

    /// Why a directory could not be made at `path`, said of the nearest folder that exists
    /// (Foundation only reports "the file doesn't exist" for a parent that cannot be written).
    static func nearestUnwritableAncestor(of path: String) -> String? {
        var current = URL(fileURLWithPath: path).deletingLastPathComponent()
        while current.path != "/", !FileManager.default.fileExists(atPath: current.path) { current.deleteLastPathComponent() }
        guard access(current.path, W_OK) != 0 else { return nil }
        return "\(current.path) is not writable (\(String(cString: strerror(errno))))"
    }

    /// Copies a file into a new 0600 file, synced before it counts as copied.
    static func copyPrivately(from source: String, to destination: String) throws {
        guard let input = FileHandle(forReadingAtPath: source) else { throw BackupError.unreadable(source, "cannot open it") }
        defer { try? input.close() }
        guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw BackupError.notWritable(destination, "cannot create the file")
        }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: destination))
        defer { try? output.close() }
        while let block = try input.read(upToCount: 1 << 20), !block.isEmpty {
            try output.write(contentsOf: block)
        }
        try output.synchronize()
    }

    /// An error as one readable line: Foundation's own wording when it has one, the POSIX
    /// reason (e.g. "No space left on device") when that is underneath, else the error itself.
    static func describe(_ error: any Error) -> String {
        let bridged = error as NSError
        if let text = bridged.userInfo[NSLocalizedDescriptionKey] as? String { return text }
        if let underlying = bridged.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(truncatingIfNeeded: underlying.code)))
        }
        if bridged.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(truncatingIfNeeded: bridged.code))) }
        return "\(error)"
    }

    static func reason(_ error: any Error) -> String {
        if let path = (error as NSError).userInfo[NSFilePathErrorKey] as? String, let denied = nearestUnwritableAncestor(of: path) {
            return denied
        }
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError {
            return String(cString: strerror(Int32(truncatingIfNeeded: underlying.code)))
        }
        return error.localizedDescription
    }
}
