import Foundation
import Storage

/// `ares verify --backup SRC`: checks a backup without restoring it. Every file of the
/// manifest present with its size and SHA-256, no file the manifest does not name, every
/// database passing `PRAGMA integrity_check` (opened read-only), every event stream's hash
/// chain intact (task events and the audit trail), and every chain head the one the manifest
/// recorded. Each problem names its file (and stream).
public struct BackupVerification: Sendable {
    public var manifest: BackupManifest
    public var problems: [String]
    public var events: Int
    public var isIntact: Bool { problems.isEmpty }

    public static func check(backup directory: URL) throws -> BackupVerification {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackupError.sourceMissing(directory.path)
        }
        let manifest = try BackupManifest.read(backup: directory)
        let dataRoot = directory.appendingPathComponent(BackupManifest.dataFolder)
        var problems: [String] = []
        var events = 0
        var named = Set<String>()
        for file in manifest.files {
            guard BackupManifest.isSafeRelativePath(file.path) else {
                problems.append("manifest: file path '\(file.path.prefix(200))' leaves the backup")
                continue
            }
            named.insert(file.path)
            let path = dataRoot.appendingPathComponent(file.path).path
            guard FileManager.default.fileExists(atPath: path) else {
                problems.append("\(file.path): missing")
                continue
            }
            let digest: (hex: String, size: Int64)
            do { digest = try FileSHA256.digest(path) } catch {
                problems.append("\(file.path): cannot be read: \(error.localizedDescription)")
                continue
            }
            if digest.size != file.size {
                problems.append("\(file.path): size \(digest.size) bytes, the manifest says \(file.size)")
            }
            if digest.hex != file.sha256.lowercased() {
                problems.append("\(file.path): SHA-256 does not match the manifest (the file was changed)")
            }
            guard file.kind == .sqlite else { continue }
            problems += SQLiteFileCopy.integrityProblems(path).prefix(20).map { "\(file.path): integrity check: \($0)" }
            let recorded = manifest.chains.filter { $0.file == file.path }
            do {
                if let inspection = try EventStoreFileInspection.inspect(path) {
                    events += inspection.events
                    problems += inspection.breaks.map { "\(file.path): stream \($0.stream) v\($0.version): \($0.problem)" }
                    problems += compare(heads: inspection.heads, with: recorded, file: file.path)
                } else if !recorded.isEmpty {
                    problems.append("\(file.path): the manifest records \(recorded.count) stream(s) but the file holds no event store")
                }
            } catch {
                problems.append("\(file.path): cannot read its event streams: \(error)")
            }
        }
        // A file the manifest does not name was put there afterwards.
        if let extra = try? DataDirectoryBackup.regularFiles(in: dataRoot) {
            problems += extra.filter { !named.contains($0) }.map { "\($0): not in the manifest" }
        }
        return BackupVerification(manifest: manifest, problems: problems, events: events)
    }

    static func compare(heads: [EventStoreFileInspection.Head], with recorded: [BackupManifest.Chain], file: String) -> [String] {
        var problems: [String] = []
        let found = Dictionary(heads.map { ($0.stream, $0) }, uniquingKeysWith: { first, _ in first })
        for chain in recorded {
            guard let head = found[chain.stream] else {
                problems.append("\(file): stream \(chain.stream): missing (the manifest records version \(chain.version))")
                continue
            }
            if head.version != chain.version || head.hash != chain.headHash {
                problems.append("\(file): stream \(chain.stream): head is version \(head.version), the manifest records version \(chain.version) with another hash")
            }
        }
        let expected = Set(recorded.map(\.stream))
        problems += heads.filter { !expected.contains($0.stream) }.map { "\(file): stream \($0.stream): not in the manifest" }
        return problems
    }
}
