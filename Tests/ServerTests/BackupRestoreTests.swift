import Foundation
import Testing

/// `ares backup`, `ares verify --backup` and `ares restore` on real SQLite files, the backup
/// taken while a real `ares serve` runs and accepts SendMessage, the restore served again.
@Suite(.serialized) struct BackupRestoreTests {
    private func question(_ text: String) -> [String: Any] {
        ["message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": text]]]]
    }

    private func scratch(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("ares-backup-test-\(name)-\(UUID().uuidString)")
    }

    private func manifest(_ backup: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: backup.appendingPathComponent("manifest.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func permissions(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func backupWhileServingThenRestoreServesTheSameTasks() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        let server = try await ServerProcess(dataDirectory: data)
        // Tasks finished before the backup starts: they must be in it, with the same report.
        var before: [String: String] = [:]
        for text in ["How are tasks resumed?", "Where does ares keep its data?", "What does ares verify check?"] {
            let json = try await server.rpc("SendMessage", params: question(text), key: key).json()
            let id = try #require(value(json, "result", "task", "id") as? String)
            #expect(value(json, "result", "task", "status", "state") as? String == "TASK_STATE_COMPLETED")
            before[id] = try #require(value(json, "result", "task", "artifacts", "0", "parts", "0", "text") as? String)
        }
        // The backup runs while SendMessage keeps writing the same files from the server process:
        // requests go on, one after another, until the backup has finished.
        let backup = scratch("live")
        let backupDone = DoneFlag()
        let backupRun = Task {
            defer { backupDone.set() }
            return try ServerProcess.ares(["backup", backup.path, "--data-dir", data.path])
        }
        var during = 0
        repeat {
            let reply = try await server.rpc("SendMessage", params: question("During the backup \(during): how are tasks resumed?"), key: key)
            #expect(reply.status == 200)
            during += 1
        } while !backupDone.isSet && during < 500
        let made = try await backupRun.value
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("backed up"))
        #expect(during >= 1)

        // Private, with a manifest naming every database and the chain head of each task stream and the audit trail.
        #expect(try permissions(backup.path) == 0o700)
        #expect(try permissions(backup.appendingPathComponent("manifest.json").path) == 0o600)
        #expect(try permissions(backup.appendingPathComponent("data/tasks.sqlite").path) == 0o600)
        let manifestJSON = try manifest(backup)
        #expect(manifestJSON["formatVersion"] as? Int == 1)
        let files = (manifestJSON["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        for name in ["tasks.sqlite", "knowledge.sqlite", "access.sqlite", "audit.sqlite"] { #expect(files.contains(name), "\(files)") }
        let chains = manifestJSON["chains"] as? [[String: Any]] ?? []
        for id in before.keys {
            #expect(chains.contains { ($0["stream"] as? String)?.contains(id) == true && $0["file"] as? String == "tasks.sqlite" }, "no chain head for \(id)")
        }
        #expect(chains.contains { $0["file"] as? String == "audit.sqlite" && $0["stream"] as? String == "audit" })

        let verified = try await ServerProcess.ares(["verify", "--backup", backup.path])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.hasPrefix("ok: backup of"))
        server.stop()

        // Restore into a new directory and serve it: the tasks from before the backup answer the same report.
        let restored = scratch("restored")
        let restore = try await ServerProcess.ares(["restore", backup.path, "--data-dir", restored.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("restored"))
        #expect(try permissions(restored.path) == 0o700)
        let clean = try await ServerProcess.ares(["verify", "--data-dir", restored.path])
        #expect(clean.status == 0, "\(clean.stderr)")
        let again = try await ServerProcess(dataDirectory: restored)
        for (id, report) in before {
            let fetched = try await again.rpc("GetTask", params: ["id": id], key: key).json()
            #expect(value(fetched, "result", "status", "state") as? String == "TASK_STATE_COMPLETED")
            #expect(value(fetched, "result", "artifacts", "0", "parts", "0", "text") as? String == report)
        }
        // The restored server takes new work too.
        #expect(value(try await again.rpc("SendMessage", params: question("After the restore?"), key: key).json(), "result", "task", "status", "state") as? String
                == "TASK_STATE_COMPLETED")
    }

    @Test func verifyNamesEveryDamageAndRestoreRefusesDamagedBackupsAndNonEmptyTargets() throws {
        let data = try ServerProcess.makeDataDirectory()
        let asked = try ServerProcess.ares(["ask", "How are tasks resumed?", "--data-dir", data.path])
        #expect(asked.status == 0, "\(asked.stderr)")
        let good = scratch("good")
        #expect(try ServerProcess.ares(["backup", good.path, "--data-dir", data.path]).status == 0)
        #expect(try ServerProcess.ares(["verify", "--backup", good.path]).status == 0)

        // A non-empty DEST is refused, and nothing in it is touched.
        let again = try ServerProcess.ares(["backup", good.path, "--data-dir", data.path])
        #expect(again.status != 0)
        #expect(again.stderr.contains("is not empty"))

        // A backup inside the data directory would copy itself: refused.
        let inside = try ServerProcess.ares(["backup", data.appendingPathComponent("backup").path, "--data-dir", data.path])
        #expect(inside.status != 0)
        #expect(inside.stderr.contains("is inside"), "\(inside.stderr)")

        // One byte changed in a backed-up database: named by file.
        let tampered = scratch("tampered")
        try FileManager.default.copyItem(at: good, to: tampered)
        let tasksFile = tampered.appendingPathComponent("data/tasks.sqlite")
        var bytes = try Data(contentsOf: tasksFile)
        let index = bytes.count / 2
        bytes[index] ^= 0x01
        try bytes.write(to: tasksFile)
        let tamperedCheck = try ServerProcess.ares(["verify", "--backup", tampered.path])
        #expect(tamperedCheck.status != 0)
        #expect(tamperedCheck.stderr.contains("tasks.sqlite: SHA-256 does not match"), "\(tamperedCheck.stderr)")

        // A deleted file: named.
        let deleted = scratch("deleted")
        try FileManager.default.copyItem(at: good, to: deleted)
        try FileManager.default.removeItem(at: deleted.appendingPathComponent("data/knowledge.sqlite"))
        let deletedCheck = try ServerProcess.ares(["verify", "--backup", deleted.path])
        #expect(deletedCheck.status != 0)
        #expect(deletedCheck.stderr.contains("knowledge.sqlite: missing"), "\(deletedCheck.stderr)")

        // An event rewritten and the manifest's checksum forged to match: the hash chain still names the stream.
        let forged = scratch("forged")
        try FileManager.default.copyItem(at: good, to: forged)
        let python = try runPython("""
            import hashlib, json, os, sqlite3, sys
            root = sys.argv[1]
            db = sqlite3.connect(os.path.join(root, "data", "tasks.sqlite"))
            stream = db.execute("SELECT stream FROM event WHERE stream LIKE 'task-%' LIMIT 1").fetchone()[0]
            db.execute("UPDATE event SET payload = CAST('{}' AS BLOB) WHERE stream = ? AND version = 1", (stream,))
            db.commit(); db.close()
            path = os.path.join(root, "manifest.json")
            manifest = json.load(open(path))
            for entry in manifest["files"]:
                if entry["path"] == "tasks.sqlite":
                    content = open(os.path.join(root, "data", "tasks.sqlite"), "rb").read()
                    entry["sha256"] = hashlib.sha256(content).hexdigest(); entry["size"] = len(content)
            json.dump(manifest, open(path, "w"))
            print(stream)
            """, arguments: [forged.path])
        let forgedCheck = try ServerProcess.ares(["verify", "--backup", forged.path])
        #expect(forgedCheck.status != 0)
        #expect(forgedCheck.stderr.contains("tasks.sqlite: stream \(python) v1: its content does not match its hash"), "\(forgedCheck.stderr)")
        #expect(!forgedCheck.stderr.contains("SHA-256"))

        // Restore refuses the damaged backup (each problem named) and leaves no data directory behind.
        let fromDamaged = scratch("from-damaged")
        let refused = try ServerProcess.ares(["restore", tampered.path, "--data-dir", fromDamaged.path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("the backup is damaged") && refused.stderr.contains("tasks.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: fromDamaged.path))

        // Restore refuses a non-empty target.
        let occupied = scratch("occupied")
        try FileManager.default.createDirectory(at: occupied, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: occupied.appendingPathComponent("notes.txt"))
        let overwrite = try ServerProcess.ares(["restore", good.path, "--data-dir", occupied.path])
        #expect(overwrite.status != 0)
        #expect(overwrite.stderr.contains("is not empty"))
        #expect(try String(contentsOf: occupied.appendingPathComponent("notes.txt"), encoding: .utf8) == "keep")

        // A backup from a newer ares is refused, naming both format versions.
        let newer = scratch("newer")
        try FileManager.default.copyItem(at: good, to: newer)
        let manifestURL = newer.appendingPathComponent("manifest.json")
        var json = try manifest(newer)
        json["formatVersion"] = 99
        try JSONSerialization.data(withJSONObject: json).write(to: manifestURL)
        let newerCheck = try ServerProcess.ares(["restore", newer.path, "--data-dir", scratch("from-newer").path])
        #expect(newerCheck.status != 0)
        #expect(newerCheck.stderr.contains("format version 99") && newerCheck.stderr.contains("up to version 1"), "\(newerCheck.stderr)")

        // No manifest (an unfinished backup) and a missing source: clear errors, not crashes.
        try FileManager.default.removeItem(at: manifestURL)
        let unfinished = try ServerProcess.ares(["verify", "--backup", newer.path])
        #expect(unfinished.status == 1)
        #expect(unfinished.stderr.contains("did not finish"))
        let missing = try ServerProcess.ares(["verify", "--backup", scratch("absent").path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("does not exist"))
    }

    /// Runs a Python script (python3 from the system) and returns its trimmed standard output.
    private func runPython(_ script: String, arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ServerProcess.Failure("python3 failed (\(process.terminationStatus)): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Set once by one task, read by another (the backup's end, seen from the request loop).
private final class DoneFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func set() { lock.withLock { done = true } }
    var isSet: Bool { lock.withLock { done } }
}
