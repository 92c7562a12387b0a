import AresComposition
import Foundation
import Storage
import Testing

/// One manifest type and one verifier serve both backends; the backups the last release wrote
/// must still read and check, and the backups this one writes must keep the last release's
/// shape (an operator may roll back and restore with the older binary). Each test writes a
/// manifest exactly as the last release (ceb0c75 / 0a2fe0a) wrote it, as JSON text.
@Suite struct BackupManifestCompatibilityTests {
    /// A fresh backup directory, removed by the caller.
    func makeBackup() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-manifest-compat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// The keys a manifest's JSON holds at its top level.
    func topLevelKeys(_ data: Data) throws -> Set<String> {
        Set((try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]).keys)
    }

    func encoded(_ manifest: BackupManifest) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(manifest)
    }

    @Test func aDataDirectoryManifestOfTheLastReleaseReadsChecksAndKeepsItsShape() throws {
        let backup = try makeBackup()
        defer { try? FileManager.default.removeItem(at: backup) }
        let file = backup.appendingPathComponent("data/uploads/note.txt")
        try write("a note the backup copied\n", to: file)
        let digest = try FileSHA256.digest(file.path)
        let manifestText = """
        {
          "aresVersion" : "0.4.0",
          "chains" : [],
          "createdAt" : "2026-11-30T12:00:00Z",
          "files" : [{"kind" : "file", "path" : "uploads/note.txt", "sha256" : "\(digest.hex)", "size" : \(digest.size)}],
          "formatVersion" : 1,
          "sourcePath" : "/srv/ares/data"
        }
        """
        try write(manifestText, to: backup.appendingPathComponent(BackupManifest.fileName))

        let result = try BackupVerification.check(backup: backup)
        #expect(result.isIntact, "\(result.problems)")
        #expect(result.manifest.backend == .dataDirectory)
        #expect(result.manifest.source == "/srv/ares/data")
        #expect(result.manifest.files.map(\.path) == ["uploads/note.txt"])
        #expect(result.manifest.database == nil)
        #expect(BackupManifest.isDatabaseBackup(backup) == false)
        // Written again, it has the same keys: the last release reads this release's backups.
        #expect(try topLevelKeys(encoded(result.manifest)) == topLevelKeys(Data(manifestText.utf8)))

        // The same verifier still sees damage in this shape.
        try write("a note changed after the backup\n", to: file)
        let damaged = try BackupVerification.check(backup: backup)
        #expect(damaged.problems.contains { $0.contains("uploads/note.txt: SHA-256 does not match the manifest") }, "\(damaged.problems)")
    }

    @Test func aPostgreSQLManifestOfTheLastReleaseReadsChecksItsChainsAndKeepsItsShape() throws {
        let backup = try makeBackup()
        defer { try? FileManager.default.removeItem(at: backup) }
        // One stream with one event, its hash computed as ares computes it, and its head row.
        let stream = "task-\(UUID().uuidString.lowercased())"
        let payload = Data(#"{"question":"How are backups checked?"}"#.utf8)
        let recordedAt: Int64 = 1_780_000_000_000_000
        let hash = EventHashChain.hash(previous: EventHashChain.genesis, stream: stream, version: 1, type: "TaskSubmitted",
                                       recordedAt: recordedAt, payload: payload)
        let payloadHex = "\\\\x" + payload.map { String(format: "%02x", $0) }.joined()
        let events = backup.appendingPathComponent("tables/ares_events.jsonl")
        try write(#"{"stream":"\#(stream)","version":1,"type":"TaskSubmitted","payload":"\#(payloadHex)","recorded_at":\#(recordedAt),"hash":"\#(hash)","previous_hash":"\#(EventHashChain.genesis)"}"# + "\n",
                  to: events)
        let streams = backup.appendingPathComponent("tables/ares_event_streams.jsonl")
        try write(#"{"stream":"\#(stream)","version":1,"last_hash":"\#(hash)"}"# + "\n", to: streams)
        let eventsDigest = try FileSHA256.digest(events.path), streamsDigest = try FileSHA256.digest(streams.path)

        func manifestText(headVersion: Int) -> String {
            """
            {
              "aresVersion" : "0.4.0",
              "backend" : "postgresql",
              "chains" : [{"file" : "tables/ares_events.jsonl", "headHash" : "\(hash)", "stream" : "\(stream)", "version" : \(headVersion)}],
              "createdAt" : "2026-11-30T12:00:00Z",
              "formatVersion" : 1,
              "schemaVersion" : 4,
              "sequences" : [{"lastValue" : 7, "name" : "ares_audit_seq"}],
              "serverVersion" : "15.20",
              "source" : "postgres://ares@db.example:5432/ares?sslmode=require",
              "tables" : [
                {"columns" : ["stream", "version", "type", "payload", "recorded_at", "hash", "previous_hash"], "file" : "tables/ares_events.jsonl",
                 "name" : "ares_events", "omittedColumns" : ["transaction_id"], "orderedBy" : ["stream", "version"], "rows" : 1,
                 "sha256" : "\(eventsDigest.hex)", "size" : \(eventsDigest.size)},
                {"columns" : ["stream", "version", "last_hash"], "file" : "tables/ares_event_streams.jsonl",
                 "name" : "ares_event_streams", "omittedColumns" : [], "orderedBy" : ["stream"], "rows" : 1,
                 "sha256" : "\(streamsDigest.hex)", "size" : \(streamsDigest.size)}
              ]
            }
            """
        }
        try write(manifestText(headVersion: 1), to: backup.appendingPathComponent(BackupManifest.fileName))

        #expect(BackupManifest.isDatabaseBackup(backup))
        let result = try BackupVerification.check(backup: backup)
        #expect(result.isIntact, "\(result.problems)")
        #expect(result.manifest.backend == .postgresql)
        #expect(result.manifest.source == "postgres://ares@db.example:5432/ares?sslmode=require")
        #expect(result.manifest.files.isEmpty)
        let database = try #require(result.manifest.database)
        #expect(database.schemaVersion == 4 && database.serverVersion == "15.20")
        #expect(database.tables.map(\.name) == ["ares_events", "ares_event_streams"])
        #expect(database.sequences == [.init(name: "ares_audit_seq", lastValue: 7)])
        #expect(result.rows == 2 && result.events == 1)
        #expect(try topLevelKeys(encoded(result.manifest)) == topLevelKeys(Data(manifestText(headVersion: 1).utf8)))

        // A recorded head the chain does not end at is named, with its stream.
        try write(manifestText(headVersion: 2), to: backup.appendingPathComponent(BackupManifest.fileName))
        let damaged = try BackupVerification.check(backup: backup)
        #expect(damaged.problems == ["tables/ares_events.jsonl: stream \(stream): head is version 1, the manifest records version 2 with another hash"])
    }

    @Test func aManifestOfAnUnknownBackendOrANewerFormatIsRefusedSayingWhy() throws {
        let backup = try makeBackup()
        defer { try? FileManager.default.removeItem(at: backup) }
        let manifest = backup.appendingPathComponent(BackupManifest.fileName)
        try write(#"{"formatVersion":1,"backend":"mysql","aresVersion":"9.0.0","createdAt":"2026-11-30T12:00:00Z","chains":[],"source":"x"}"#, to: manifest)
        #expect {
            try BackupVerification.check(backup: backup)
        } throws: { error in
            "\(error)".contains("unknown backend 'mysql'")
        }
        try write(#"{"formatVersion":2,"aresVersion":"9.0.0","createdAt":"2026-11-30T12:00:00Z","chains":[],"sourcePath":"/x","files":[]}"#, to: manifest)
        #expect(throws: BackupError.newerFormat(found: 2, supported: 1)) {
            try BackupVerification.check(backup: backup)
        }
    }

    @Test func aDataDirectoryRestoreRefusesAPostgreSQLBackup() throws {
        let backup = try makeBackup()
        defer { try? FileManager.default.removeItem(at: backup) }
        try write(#"{"formatVersion":1,"backend":"postgresql","aresVersion":"0.4.0","createdAt":"2026-11-30T12:00:00Z","chains":[],"#
                  + #""source":"postgres://ares@db/ares","schemaVersion":4,"serverVersion":"15.20","tables":[],"sequences":[]}"#,
                  to: backup.appendingPathComponent(BackupManifest.fileName))
        let target = backup.appendingPathComponent("restored")
        #expect {
            try DataDirectoryRestore.restore(backup: backup, into: target, progress: { _ in })
        } throws: { error in
            "\(error)".contains("a PostgreSQL backup: restore it with --database URL")
        }
        #expect(!FileManager.default.fileExists(atPath: target.path), "nothing was restored")
    }
}
