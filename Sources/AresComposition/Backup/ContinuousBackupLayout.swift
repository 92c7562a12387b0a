import Foundation

/// Where things sit in a continuous backup directory (`ares serve --backup-to DIR`):
///
///     DIR/generation-000001/base/        a base snapshot: an `ares backup` (manifest.json + data/)
///     DIR/generation-000001/segments/    000000000001.segment, 000000000002.segment, ...
///     DIR/generation-000002/...          a newer base (compaction, or a server start) and its segments
///
/// A generation is complete once its base has a manifest (written last); one without is an
/// unfinished base and is ignored by restore and removed by the next shipping start.
public struct ContinuousBackupLayout: Sendable {
    public static let generationPrefix = "generation-"
    public static let baseFolder = "base"
    public static let segmentsFolder = "segments"
    /// Held (flock) by the one server shipping into the directory.
    public static let lockFileName = ".ares-backup.lock"

    public struct Generation: Sendable {
        public var number: Int
        public var url: URL
        public var base: URL { url.appendingPathComponent(ContinuousBackupLayout.baseFolder) }
        public var segments: URL { url.appendingPathComponent(ContinuousBackupLayout.segmentsFolder) }
        public var name: String { url.lastPathComponent }
        /// Whether the base snapshot finished (its manifest exists).
        public var isComplete: Bool {
            FileManager.default.fileExists(atPath: base.appendingPathComponent(BackupManifest.fileName).path)
        }
    }

    public let root: URL

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    public static func generationName(_ number: Int) -> String {
        generationPrefix + String(format: "%06d", number)
    }

    public func generation(_ number: Int) -> Generation {
        Generation(number: number, url: root.appendingPathComponent(Self.generationName(number)))
    }

    /// Every generation folder, oldest first (complete or not).
    public func generations() throws -> [Generation] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: root.path) } catch {
            throw BackupError.unreadable(root.path, DataDirectoryBackup.describe(error))
        }
        return names.compactMap { name -> Generation? in
            guard name.hasPrefix(Self.generationPrefix), let number = Int(name.dropFirst(Self.generationPrefix.count)), number > 0 else { return nil }
            return Generation(number: number, url: root.appendingPathComponent(name))
        }.sorted { $0.number < $1.number }
    }

    /// Whether `directory` is a continuous backup rather than a single `ares backup`: no
    /// manifest of its own, and at least one generation folder.
    public static func isContinuousBackup(_ directory: URL) -> Bool {
        let layout = ContinuousBackupLayout(root: directory)
        guard !FileManager.default.fileExists(atPath: directory.appendingPathComponent(BackupManifest.fileName).path) else { return false }
        return ((try? layout.generations()) ?? []).isEmpty == false
    }
}
