import Foundation
import PostgresStorage
import Storage

/// `ares verify --backup SRC` for a PostgreSQL backup: checks it without a database. Every
/// table file the manifest names present with its size, SHA-256 and row count, each line a
/// JSON object, no file the manifest does not name, every event stream's hash chain intact
/// (recomputed from the rows, as `ares db verify` does in the database), every stream's head
/// row (`ares_event_streams`) the last event of its chain, and every head the manifest recorded.
public struct DatabaseBackupVerification: Sendable {
    public var manifest: DatabaseBackupManifest
    public var problems: [String]
    public var events: Int
    public var rows: Int
    public var isIntact: Bool { problems.isEmpty }

    /// One event row as `row_to_json` wrote it.
    struct EventRow: Decodable {
        var stream: String
        var version: Int64
        var type: String
        var payload: String
        var recorded_at: Int64
        var hash: String
        var previous_hash: String
    }

    /// One stream head row.
    struct StreamRow: Decodable {
        var stream: String
        var version: Int64
        var last_hash: String
    }

    /// What the chains of an events file hold: each stream's head, and every break.
    struct ChainInspection {
        var heads: [String: (version: Int64, hash: String)] = [:]
        var breaks: [String] = []
        var events = 0
    }

    public static func check(backup directory: URL) throws -> DatabaseBackupVerification {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackupError.sourceMissing(directory.path)
        }
        let manifest = try DatabaseBackupManifest.read(backup: directory)
        var problems: [String] = []
        var rows = 0
        var events = 0
        var named = Set<String>()
        var streamHeads: [String: (version: Int64, hash: String)]?
        var inspection: ChainInspection?
        for table in manifest.tables {
            let expectedFile = "\(DatabaseBackupManifest.tablesFolder)/\(table.name).jsonl"
            guard PostgresTableSnapshot.isPlainIdentifier(table.name), table.file == expectedFile,
                  table.columns.allSatisfy(PostgresTableSnapshot.isPlainIdentifier) else {
                problems.append("manifest: table '\(table.name.prefix(80))' has a name, file or column ares does not write")
                continue
            }
            named.insert(table.file)
            let path = directory.appendingPathComponent(table.file).path
            guard FileManager.default.fileExists(atPath: path) else {
                problems.append("\(table.file): missing")
                continue
            }
            do {
                let digest = try FileSHA256.digest(path)
                if digest.size != table.size { problems.append("\(table.file): size \(digest.size) bytes, the manifest says \(table.size)") }
                if digest.hex != table.sha256.lowercased() { problems.append("\(table.file): SHA-256 does not match the manifest (the file was changed)") }
                let lines = try countObjectLines(path)
                rows += lines.count
                if lines.count != table.rows { problems.append("\(table.file): \(lines.count) rows, the manifest says \(table.rows)") }
                problems += lines.problems.prefix(10).map { "\(table.file): \($0)" }
                if table.name == DatabaseBackupManifest.eventsTable {
                    let found = try inspectChains(path)
                    events = found.events
                    problems += found.breaks.prefix(50).map { "\(table.file): \($0)" }
                    inspection = found
                } else if table.name == DatabaseBackupManifest.streamsTable {
                    streamHeads = try readStreamHeads(path, problems: &problems, file: table.file)
                }
            } catch {
                problems.append("\(table.file): cannot be read: \(DataDirectoryBackup.describe(error))")
            }
        }
        // A file the manifest does not name was put there afterwards.
        if let present = try? DataDirectoryBackup.regularFiles(in: directory.appendingPathComponent(DatabaseBackupManifest.tablesFolder)) {
            problems += present.map { "\(DatabaseBackupManifest.tablesFolder)/\($0)" }.filter { !named.contains($0) }.map { "\($0): not in the manifest" }
        }
        let eventsFile = "\(DatabaseBackupManifest.tablesFolder)/\(DatabaseBackupManifest.eventsTable).jsonl"
        if let inspection {
            problems += compare(inspection.heads, with: manifest.chains, file: eventsFile)
            if let streamHeads {
                for (stream, head) in streamHeads.sorted(by: { $0.key < $1.key }) where head.version > 0 {
                    if let last = inspection.heads[stream], last.version == head.version, last.hash == head.hash { continue }
                    problems.append("\(DatabaseBackupManifest.streamsTable): stream \(stream): head is version \(head.version), its events end elsewhere")
                }
            }
        } else if !manifest.chains.isEmpty {
            problems.append("manifest: records \(manifest.chains.count) stream(s) but the backup holds no \(DatabaseBackupManifest.eventsTable)")
        }
        return DatabaseBackupVerification(manifest: manifest, problems: problems, events: events, rows: rows)
    }

    /// Counts the lines of a table file, each of which must be one JSON object.
    static func countObjectLines(_ path: String) throws -> (count: Int, problems: [String]) {
        let reader = try JSONLinesReader(path: path)
        var count = 0
        var problems: [String] = []
        while let line = try reader.nextLine() {
            count += 1
            if problems.count < 10, (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] == nil {
                problems.append("row \(count) is not a JSON object")
            }
        }
        return (count, problems)
    }

    /// Recomputes every stream's chain from an events file written in (stream, version) order.
    static func inspectChains(_ path: String) throws -> ChainInspection {
        let reader = try JSONLinesReader(path: path)
        let decoder = JSONDecoder()
        var result = ChainInspection()
        var currentStream: String?
        // Streams whose rows ended: a stream's rows come together, in version order.
        var finished = Set<String>()
        var expectedVersion: Int64 = 1
        var previous = EventHashChain.genesis
        var line = 0
        while let data = try reader.nextLine() {
            line += 1
            guard let row = try? decoder.decode(EventRow.self, from: data) else {
                result.breaks.append("row \(line) is not an event row")
                continue
            }
            guard let payload = hexBytes(row.payload) else {
                result.breaks.append("stream \(row.stream) v\(row.version): its payload is not PostgreSQL hex bytes")
                continue
            }
            if row.stream != currentStream {
                if let currentStream { finished.insert(currentStream) }
                if finished.contains(row.stream) {
                    result.breaks.append("row \(line): stream \(row.stream) continues after other streams (the file was not written by ares backup)")
                }
                currentStream = row.stream
                expectedVersion = 1
                previous = EventHashChain.genesis
            }
            result.events += 1
            if row.version != expectedVersion {
                result.breaks.append("stream \(row.stream) v\(row.version): expected version \(expectedVersion): an event is missing")
            }
            if row.previous_hash != previous {
                result.breaks.append("stream \(row.stream) v\(row.version): its previous-hash does not match the event before it")
            }
            let recomputed = EventHashChain.hash(previous: row.previous_hash, stream: row.stream, version: row.version, type: row.type,
                                                 recordedAt: row.recorded_at, payload: payload)
            if recomputed != row.hash {
                result.breaks.append("stream \(row.stream) v\(row.version): its content does not match its hash: the event was changed")
            }
            previous = row.hash
            expectedVersion = row.version &+ 1
            result.heads[row.stream] = (row.version, row.hash)
        }
        return result
    }

    static func readStreamHeads(_ path: String, problems: inout [String], file: String) throws -> [String: (version: Int64, hash: String)] {
        let reader = try JSONLinesReader(path: path)
        let decoder = JSONDecoder()
        var heads: [String: (version: Int64, hash: String)] = [:]
        var line = 0
        while let data = try reader.nextLine() {
            line += 1
            guard let row = try? decoder.decode(StreamRow.self, from: data) else {
                problems.append("\(file): row \(line) is not a stream row")
                continue
            }
            heads[row.stream] = (row.version, row.last_hash)
        }
        return heads
    }

    static func compare(_ heads: [String: (version: Int64, hash: String)], with recorded: [BackupManifest.Chain], file: String) -> [String] {
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

    /// PostgreSQL's hex form of bytea (`\x0a1b...`) as bytes; nil if it is not that.
    static func hexBytes(_ text: String) -> Data? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else { return nil }
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 97...102: byte - 87
            case 65...70: byte - 55
            default: nil
            }
        }
        var bytes = Data(capacity: (utf8.count - 2) / 2)
        var index = 2
        while index + 1 < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
