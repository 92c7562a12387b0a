import Foundation
import Storage

/// `manifest.json` of a backup: what was copied, from where, by which ares, and the chain
/// head of every event stream at the moment of the copy. It is written last (a temporary name,
/// then a rename), so a backup without it is an incomplete one.
///
/// `formatVersion` lets later backups (continuous shipping's base snapshots and segments,
/// point-in-time restore) add fields; a reader refuses a version newer than it knows.
public struct BackupManifest: Codable, Sendable, Equatable {
    public static let fileName = "manifest.json"
    /// Where the copied files sit inside a backup, apart from the manifest.
    public static let dataFolder = "data"
    public static let currentFormatVersion = 1

    public enum FileKind: String, Codable, Sendable {
        /// Copied through SQLite's online backup API.
        case sqlite
        /// Copied byte for byte (the index snapshot, uploads).
        case file
    }

    public struct File: Codable, Sendable, Equatable {
        /// Relative to the data directory, `/`-separated.
        public var path: String
        public var kind: FileKind
        public var size: Int64
        public var sha256: String
    }

    /// The head of one stream in one event store file (`tasks.sqlite`, `audit.sqlite`).
    public struct Chain: Codable, Sendable, Equatable {
        public var file: String
        public var stream: String
        public var version: Int64
        public var headHash: String
    }

    public var formatVersion: Int
    public var aresVersion: String
    public var createdAt: Date
    public var sourcePath: String
    public var files: [File]
    public var chains: [Chain]

    /// Reads the manifest of the backup at `directory`, refusing one this ares cannot read.
    public static func read(backup directory: URL) throws -> BackupManifest {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw BackupError.noManifest(directory.path)
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw BackupError.unreadable(url.path, "\(error.localizedDescription)") }
        // The version first, so that a newer format is named as such rather than as a decoding error.
        struct VersionOnly: Decodable { var formatVersion: Int }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let version = try? decoder.decode(VersionOnly.self, from: data) else {
            throw BackupError.unreadable(url.path, "not a backup manifest (no formatVersion)")
        }
        guard version.formatVersion <= currentFormatVersion, version.formatVersion >= 1 else {
            throw BackupError.newerFormat(found: version.formatVersion, supported: currentFormatVersion)
        }
        do {
            return try decoder.decode(BackupManifest.self, from: data)
        } catch {
            throw BackupError.unreadable(url.path, "the manifest is not valid: \(error)")
        }
    }

    /// Writes the manifest into `directory` under a temporary name, syncs it, then renames it
    /// into place: a reader sees no manifest or a whole one.
    func write(into directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(self)
        let temporary = directory.appendingPathComponent(Self.fileName + ".partial")
        let final = directory.appendingPathComponent(Self.fileName)
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw BackupError.notWritable(directory.path, "cannot create \(temporary.lastPathComponent)")
        }
        let handle = try FileHandle(forWritingTo: temporary)
        try handle.write(contentsOf: data)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, final.path) == 0 else {
            throw BackupError.notWritable(directory.path, "cannot rename the manifest into place: \(String(cString: strerror(errno)))")
        }
    }

    /// Whether `path` (from a manifest: input) stays inside the backup: relative, no `..`.
    static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), path.utf8.count <= 4096 else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != ".." && $0 != "." }
    }
}
