import AresTestSupport
import Foundation
import Knowledge
import Testing

/// What `ares db import --from-data-dir` refuses, each in one line and before it writes
/// anything: a data directory whose hash chains are broken (the stream is named), one another
/// ares process holds, a database with ares data of its own (unless --allow-nonempty), and,
/// even then, a stream that both sides hold in different forms. Real SQLite files made by real
/// commands, a real PostgreSQL.
@Suite(.serialized) struct DatabaseImportRefusalTests {
    /// A data directory with two documents, one research task (its stream, and the episodic
    /// memory stream) and a key.
    static func makeDataDirectory(in work: URL, name: String) async throws -> URL {
        let corpus = work.appendingPathComponent("corpus")
        if !FileManager.default.fileExists(atPath: corpus.path) {
            try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
            try Data("# Lighthouses\nThe Fresnel lens concentrates the lamp's light into a beam.".utf8)
                .write(to: corpus.appendingPathComponent("lighthouse.md"))
            try Data("Tides rise and fall twice a day, pulled by the moon.".utf8).write(to: corpus.appendingPathComponent("tides.txt"))
        }
        let directory = work.appendingPathComponent(name)
        for arguments in [["ingest", "corpus"], ["ask", "What does the Fresnel lens do?"], ["keys", "create", "--role", "viewer", "--name", "key-of-\(name)"]] {
            let outcome = try await AresProcess.run(arguments + ["--data-dir", directory.path], in: work)
            #expect(outcome.status == 0, "\(arguments): \(outcome.stderr)")
        }
        return directory
    }

    static func workFolder() throws -> URL {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ares-import-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        return work
    }

    @Test func aCorruptedEventIsRefusedWithItsStreamNamedAndNothingImported() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let environment = cluster.environment(database: try await cluster.createDatabase(prefix: "importbad"))
        let work = try Self.workFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        let source = try await Self.makeDataDirectory(in: work, name: "data")
        let tasks = source.appendingPathComponent("tasks.sqlite").path
        let stream = try Self.sqlite(tasks, "SELECT stream FROM event WHERE stream LIKE 'task-%' LIMIT 1")
        #expect(stream.hasPrefix("task-"))
        _ = try Self.sqlite(tasks, "UPDATE event SET payload = CAST('{}' AS BLOB) WHERE stream = '\(stream)' AND version = 2")

        let refused = try await AresProcess.run(["db", "import", "--from-data-dir", source.path], in: work, environment: environment)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains(stream) && refused.stderr.contains("nothing was imported"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "one line: \(refused.stderr)")
        let verified = try await AresProcess.run(["db", "verify"], in: work, environment: environment)
        #expect(verified.stdout.hasPrefix("ok: 0 streams, 0 events"), "the database holds nothing: \(verified.stdout)\(verified.stderr)")
        let keys = try await AresProcess.run(["keys", "list", "--data-dir", work.appendingPathComponent("other").path], in: work, environment: environment)
        #expect(keys.status == 0 && !keys.stdout.contains("key-of-data"), "no key was copied: \(keys.stdout)")
    }

    @Test func aHeldDataDirectoryANonemptyDatabaseAndAConflictingStreamAreRefused() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let environment = cluster.environment(database: try await cluster.createDatabase(prefix: "importrefuse"))
        let work = try Self.workFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        let first = try await Self.makeDataDirectory(in: work, name: "first")

        // Another process holds the directory (as `ares serve` does while it runs).
        do {
            let lock = try DataDirectoryLock(directory: first)
            let held = try await AresProcess.run(["db", "import", "--from-data-dir", first.path], in: work, environment: environment)
            #expect(held.status != 0)
            #expect(held.stderr.contains("in use by another ares process (pid \(ProcessInfo.processInfo.processIdentifier))"), "\(held.stderr)")
            withExtendedLifetime(lock) {}
        }
        let imported = try await AresProcess.run(["db", "import", "--from-data-dir", first.path], in: work, environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")

        // A second data directory that went its own way from a copy of the first: the episodic
        // memory stream now differs between the two.
        let second = work.appendingPathComponent("second")
        try FileManager.default.copyItem(at: first, to: second)
        let asked = try await AresProcess.run(["ask", "Why do tides rise?", "--data-dir", second.path], in: work)
        #expect(asked.status == 0, "\(asked.stderr)")
        let askedFirst = try await AresProcess.run(["ask", "How often do tides rise?", "--data-dir", first.path], in: work)
        #expect(askedFirst.status == 0, "\(askedFirst.stderr)")
        let resumed = try await AresProcess.run(["db", "import", "--from-data-dir", first.path], in: work, environment: environment)
        #expect(resumed.status == 0 && resumed.stdout.contains("streams and 2 documents were already there"), "\(resumed.stdout)\(resumed.stderr)")

        let nonempty = try await AresProcess.run(["db", "import", "--from-data-dir", second.path], in: work, environment: environment)
        #expect(nonempty.status != 0)
        #expect(nonempty.stderr.contains("already holds ares data") && nonempty.stderr.contains("--allow-nonempty"), "\(nonempty.stderr)")
        let conflicting = try await AresProcess.run(["db", "import", "--from-data-dir", second.path, "--allow-nonempty"], in: work,
                                                    environment: environment)
        #expect(conflicting.status != 0)
        #expect(conflicting.stderr.contains("stream memory-episodes differs at version"), "\(conflicting.stderr)")
        // Refused before writing: the database holds exactly what the first import put there.
        let verified = try await AresProcess.run(["db", "verify"], in: work, environment: environment)
        let verifiedFirst = try await AresProcess.run(["verify", "--data-dir", first.path], in: work)
        #expect(verified.stdout == verifiedFirst.stdout, "\(verified.stdout) vs \(verifiedFirst.stdout)")
    }

    /// An import cut short (the last batch of a stream and a document never committed, the
    /// marker not finished) is completed by running the same command again: it resumes without
    /// --allow-nonempty, copies only what is missing, and leaves the very same chains.
    @Test func anInterruptedImportIsFinishedByRunningItAgain() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let database = try await cluster.createDatabase(prefix: "importresume")
        let environment = cluster.environment(database: database)
        let work = try Self.workFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        let source = try await Self.makeDataDirectory(in: work, name: "data")
        let imported = try await AresProcess.run(["db", "import", "--from-data-dir", source.path], in: work, environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")

        // Undo what an interruption would have left uncommitted.
        let stream = try Self.sqlite(source.appendingPathComponent("tasks.sqlite").path,
                                     "SELECT stream FROM event WHERE stream LIKE 'task-%' GROUP BY stream HAVING max(version) > 4 LIMIT 1")
        let version = try #require(Int(try Self.sqlite(source.appendingPathComponent("tasks.sqlite").path,
                                                       "SELECT max(version) FROM event WHERE stream = '\(stream)'")))
        try await cluster.superuserSQL("""
            DELETE FROM ares_events WHERE stream = '\(stream)' AND version > 3;
            UPDATE ares_event_streams s SET version = 3, last_hash = e.hash FROM ares_events e
                WHERE s.stream = '\(stream)' AND e.stream = s.stream AND e.version = 3;
            DELETE FROM ares_documents WHERE source = 'corpus/lighthouse.md';
            UPDATE ares_knowledge_meta SET value = (value::jsonb - 'completedAt')::text WHERE key = 'imported-from';
            """, database: database)
        let broken = try await AresProcess.run(["db", "verify"], in: work, environment: environment)
        let intact = try await AresProcess.run(["verify", "--data-dir", source.path], in: work)
        #expect(broken.stdout != intact.stdout, "the database lacks events now")

        let resumed = try await AresProcess.run(["db", "import", "--from-data-dir", source.path], in: work, environment: environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("resuming the import of \(source.standardizedFileURL.path)"), "\(resumed.stdout)")
        #expect(resumed.stdout.contains("\(version - 3) events in 1 streams, 1 documents"), "\(resumed.stdout)")
        let verified = try await AresProcess.run(["db", "verify"], in: work, environment: environment)
        #expect(verified.stdout == intact.stdout, "\(verified.stdout) vs \(intact.stdout)")
        let search = try await AresProcess.run(["search", "Fresnel lens", "--mode", "keyword", "--format", "json",
                                                "--data-dir", work.appendingPathComponent("reader").path], in: work, environment: environment)
        #expect(search.stdout.contains("corpus/lighthouse.md"), "the document copied on resuming is found: \(search.stdout)\(search.stderr)")
    }

    static func sqlite(_ file: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", file, sql]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestPostgresCluster.ClusterError(message: "sqlite3 failed (status \(process.terminationStatus)): is it installed?") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
