import Foundation
import PostgresStorage
import Storage

/// `ares verify --backup SRC`: checks a backup without restoring it, whichever backend it
/// copies. Common to both: every file the manifest names present with its size and SHA-256, no
/// file the manifest does not name, every event stream's hash chain intact and its head the one
/// the manifest recorded. Then per backend:
/// - a data directory's: every database passes `PRAGMA integrity_check` (opened read-only), its
///   chains are read from the copied SQLite files (task events and the audit trail);
/// - a PostgreSQL database's (checked without a database): each table file's row count, each
///   line a JSON object, the chains recomputed from the event rows, and every stream's head row
///   (`ares_event_streams`) the last event of its chain.
/// Each problem names its file (and stream).
public struct BackupVerification: Sendable {
    public var manifest: BackupManifest
    public var problems: [String] = []
    public var events = 0
    /// A database backup's table rows (0 for a data directory's).
    public var rows = 0
    public var isIntact: Bool { problems.isEmpty }

    typealias Heads = [String: (version: Int64, hash: String)]

    public static func check(backup directory: URL) throws -> BackupVerification {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackupError.sourceMissing(directory.path)
        }
        var result = BackupVerification(manifest: try BackupManifest.read(backup: directory))
        if let database = result.manifest.database {
            result.checkTables(of: database, in: directory)
        } else {
            result.checkFiles(in: directory)
        }
        return result
    }

    /// A data directory backup: its files under `data/`.
    private mutating func checkFiles(in directory: URL) {
        let dataRoot = directory.appendingPathComponent(BackupManifest.dataFolder)
        var named = Set<String>()
        for file in manifest.files {
            guard BackupManifest.isSafeRelativePath(file.path) else {
                problems.append("manifest: file path '\(file.path.prefix(200))' leaves the backup")
                continue
            }
            named.insert(file.path)
            let path = dataRoot.appendingPathComponent(file.path).path
            guard checkContent(of: path, named: file.path, size: file.size, sha256: file.sha256), file.kind == .sqlite else { continue }
            problems += SQLiteFileCopy.integrityProblems(path).prefix(20).map { "\(file.path): integrity check: \($0)" }
            let recorded = manifest.chains.filter { $0.file == file.path }
            do {
                if let inspection = try EventStoreFileInspection.inspect(path) {
                    events += inspection.events
                    problems += inspection.breaks.map { "\(file.path): stream \($0.stream) v\($0.version): \($0.problem)" }
                    let heads = Heads(inspection.heads.map { ($0.stream, ($0.version, $0.hash)) }, uniquingKeysWith: { first, _ in first })
                    problems += Self.compare(heads, with: recorded, file: file.path)
                } else if !recorded.isEmpty {
                    problems.append("\(file.path): the manifest records \(recorded.count) stream(s) but the file holds no event store")
                }
            } catch {
                problems.append("\(file.path): cannot read its event streams: \(error)")
            }
        }
        checkNothingElse(in: dataRoot, prefix: "", named: named)
    }

    /// A PostgreSQL backup: its table files under `tables/`.
    private mutating func checkTables(of database: BackupManifest.DatabaseContents, in directory: URL) {
        typealias Contents = BackupManifest.DatabaseContents
        var named = Set<String>()
        var streamHeads: Heads?
        var inspection: TableFileInspection.ChainInspection?
        for table in database.tables {
            guard PostgresTableSnapshot.isPlainIdentifier(table.name), table.file == BackupManifest.Table.fileName(of: table.name),
                  table.columns.allSatisfy(PostgresTableSnapshot.isPlainIdentifier) else {
                problems.append("manifest: table '\(table.name.prefix(80))' has a name, file or column ares does not write")
                continue
            }
            named.insert(table.file)
            let path = directory.appendingPathComponent(table.file).path
            guard checkContent(of: path, named: table.file, size: table.size, sha256: table.sha256) else { continue }
            do {
                let lines = try TableFileInspection.countObjectLines(path)
                rows += lines.count
                if lines.count != table.rows { problems.append("\(table.file): \(lines.count) rows, the manifest says \(table.rows)") }
                problems += lines.problems.prefix(10).map { "\(table.file): \($0)" }
                if table.name == Contents.eventsTable {
                    let found = try TableFileInspection.inspectChains(path)
                    events = found.events
                    problems += found.breaks.prefix(50).map { "\(table.file): \($0)" }
                    inspection = found
                } else if table.name == Contents.streamsTable {
                    streamHeads = try TableFileInspection.readStreamHeads(path, problems: &problems, file: table.file)
                }
            } catch {
                problems.append("\(table.file): cannot be read: \(DataDirectoryBackup.describe(error))")
            }
        }
        checkNothingElse(in: directory.appendingPathComponent(BackupManifest.tablesFolder), prefix: "\(BackupManifest.tablesFolder)/", named: named)
        if let inspection {
            problems += Self.compare(inspection.heads, with: manifest.chains, file: BackupManifest.Table.fileName(of: Contents.eventsTable))
            for (stream, head) in (streamHeads ?? [:]).sorted(by: { $0.key < $1.key }) where head.version > 0 {
                if let last = inspection.heads[stream], last.version == head.version, last.hash == head.hash { continue }
                problems.append("\(Contents.streamsTable): stream \(stream): head is version \(head.version), its events end elsewhere")
            }
        } else if !manifest.chains.isEmpty {
            problems.append("manifest: records \(manifest.chains.count) stream(s) but the backup holds no \(Contents.eventsTable)")
        }
    }

    /// Whether the file the manifest names is there and readable (else a problem, and nothing
    /// more to check in it); a size or digest other than the manifest's is a problem too.
    private mutating func checkContent(of path: String, named name: String, size: Int64, sha256: String) -> Bool {
        guard FileManager.default.fileExists(atPath: path) else {
            problems.append("\(name): missing")
            return false
        }
        let digest: (hex: String, size: Int64)
        do { digest = try FileSHA256.digest(path) } catch {
            problems.append("\(name): cannot be read: \(DataDirectoryBackup.describe(error))")
            return false
        }
        if digest.size != size { problems.append("\(name): size \(digest.size) bytes, the manifest says \(size)") }
        if digest.hex != sha256.lowercased() { problems.append("\(name): SHA-256 does not match the manifest (the file was changed)") }
        return true
    }

    /// A file the manifest does not name was put there afterwards.
    private mutating func checkNothingElse(in root: URL, prefix: String, named: Set<String>) {
        guard let present = try? DataDirectoryBackup.regularFiles(in: root) else { return }
        problems += present.map { prefix + $0 }.filter { !named.contains($0) }.map { "\($0): not in the manifest" }
    }

    /// Each recorded head against the one found, and every found stream the manifest does not record.
    static func compare(_ heads: Heads, with recorded: [BackupManifest.Chain], file: String) -> [String] {
        var problems: [String] = []
        for chain in recorded {
            guard let head = heads[chain.stream] else {
                problems.append("\(file): stream \(chain.stream): missing (the manifest records version \(chain.version))")
                continue
            }
            if head.version != chain.version || head.hash != chain.headHash {
                problems.append("\(file): stream \(chain.stream): head is version \(head.version), the manifest records version \(chain.version) with another hash")
            }
        }
        let expected = Set(recorded.map(\.stream))
        problems += heads.keys.sorted().filter { !expected.contains($0) }.map { "\(file): stream \($0): not in the manifest" }
        return problems
    }
}
