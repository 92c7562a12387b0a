import Foundation
import Testing

/// `ares serve --backup-to DIR` (continuous backup shipping), `ares restore DIR [--until]` and
/// `ares verify --backup DIR`, against real server processes: a machine lost with its data
/// directory, a point-in-time restore, damaged segments, and a backup directory that stops
/// taking writes.
@Suite(.serialized) struct ContinuousBackupTests {
    private func question(_ text: String) -> [String: Any] {
        ["message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": text]]]]
    }

    private func scratch(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("ares-continuous-test-\(name)-\(UUID().uuidString)")
    }

    private func permissions(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    /// Submits a question and waits for its end (SendMessage blocks); returns the task id and report.
    private func finishTask(_ server: ServerProcess, _ text: String, key: String) async throws -> (id: String, report: String) {
        let json = try await server.rpc("SendMessage", params: question(text), key: key).json()
        let id = try #require(value(json, "result", "task", "id") as? String, "\(json)")
        #expect(value(json, "result", "task", "status", "state") as? String == "TASK_STATE_COMPLETED")
        return (id, try #require(value(json, "result", "task", "artifacts", "0", "parts", "0", "text") as? String))
    }

    /// The segment files of every generation of `backup`, oldest first.
    private func segmentFiles(_ backup: URL) -> [URL] {
        let generations = ((try? FileManager.default.contentsOfDirectory(atPath: backup.path)) ?? []).filter { $0.hasPrefix("generation-") }.sorted()
        return generations.flatMap { generation -> [URL] in
            let folder = backup.appendingPathComponent(generation).appendingPathComponent("segments")
            return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".segment") }.sorted()
                .map { folder.appendingPathComponent($0) }
        }
    }

    /// Whether a shipped segment holds the `TaskCompleted` event of task `id`.
    private func completionShipped(_ id: String, in backup: URL) -> Bool {
        segmentFiles(backup).contains { url in
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { return false }
            return text.split(separator: "\n").contains { $0.contains("\"stream\":\"\(id)\"") && $0.contains("\"type\":\"TaskCompleted\"") }
        }
    }

    /// Waits until the server's first base is made (readiness names its generation): events
    /// committed before it are in the base, not in segments.
    private func waitForFirstBase(_ server: ServerProcess) async throws {
        try await waitUntil("the first base is made") { try await server.request("GET", "/health/ready").text.contains("ok: generation ") }
    }

    /// The complete generations (their base has a manifest), oldest first.
    private func completeGenerations(_ backup: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: backup.path).filter { $0.hasPrefix("generation-") }.sorted()
            .filter { FileManager.default.fileExists(atPath: backup.appendingPathComponent("\($0)/base/manifest.json").path) }
    }

    private func generationCount(_ backup: URL) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: backup.path).filter { $0.hasPrefix("generation-") }.count
    }

    /// Whether the newest complete base of `backup` holds the `TaskCompleted` event of task `id`.
    private func backupHolds(_ id: String, _ backup: URL) throws -> Bool {
        let bases = try FileManager.default.contentsOfDirectory(atPath: backup.path).filter { $0.hasPrefix("generation-") }.sorted().reversed()
            .map { backup.appendingPathComponent($0).appendingPathComponent("base") }
        guard let base = bases.first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("manifest.json").path) }) else { return false }
        return try SQLiteCommandLine.rows(base.appendingPathComponent("data/tasks.sqlite"),
                                          "SELECT count(*) FROM event WHERE stream = '\(id)' AND type = 'TaskCompleted'") == ["1"]
    }

    /// Polls (no fixed sleep) until `condition` holds; fails with `what` after `seconds` (generous:
    /// under the full suite on two cores, the first base alone has taken over 30 s).
    private func waitUntil(_ what: String, seconds: Double = 180, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out after \(seconds) s waiting until \(what)")
        throw ServerProcess.Failure("timed out waiting until \(what)")
    }

    @Test func everyFinishedTaskSurvivesTheLossOfTheMachine() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        let backup = scratch("shipped")
        // A new base after every 2 segments: compaction runs several times in this test.
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--backup-to", backup.path, "--backup-segments-per-base", "2"])
        try await waitForFirstBase(server)
        var finished: [(id: String, report: String)] = []
        for index in 0..<6 {
            let task = try await finishTask(server, "How are tasks resumed? (\(index))", key: key)
            // Each acknowledged task reaches the backup directory by itself, without a stop or a
            // flush (in a segment, or in the next base when that round compacts).
            try await waitUntil("task \(task.id) is shipped") {
                try completionShipped(task.id, in: backup) || generationCount(backup) > 1 && backupHolds(task.id, backup)
            }
            finished.append(task)
        }
        let ready = try await server.request("GET", "/health/ready")
        #expect(ready.status == 200, "\(ready.text)")
        #expect(ready.text.contains("backupShipping") && ready.text.contains("ok: generation "), "\(ready.text)")

        let metrics = try await server.request("GET", "/metrics", headers: ["Authorization": "Bearer \(key)"]).text
        for series in ["ares_backup_shipping_lag_seconds", "ares_backup_last_success_timestamp_seconds", "ares_backup_shipping_failures_total 0",
                       "ares_backup_shipped_events_total"] {
            #expect(metrics.contains(series), "\(series) missing from /metrics")
        }
        // Private to the owner, like the data directory.
        #expect(try permissions(backup.path) == 0o700)
        let segment = try #require(segmentFiles(backup).first)
        #expect(try permissions(segment.path) == 0o600)
        #expect(try permissions(segment.deletingLastPathComponent().path) == 0o700)

        // The machine is lost: no clean stop, and the data directory is gone.
        server.stop()
        try FileManager.default.removeItem(at: data)
        // Compacted: new bases were made, and only the newest two generations are kept (a third
        // when the kill came between a new base and the removal of the oldest).
        let generations = try completeGenerations(backup)
        #expect((2...3).contains(generations.count) && generations.last.map { $0 > "generation-000002" } == true, "\(generations)")

        let verified = try await ServerProcess.ares(["verify", "--backup", backup.path])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(generations.allSatisfy { verified.stdout.contains("ok: \($0)") } && verified.stdout.contains("unbroken chain"), "\(verified.stdout)")
        let restored = scratch("restored")
        let restore = try await ServerProcess.ares(["restore", backup.path, "--data-dir", restored.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("restored \(generations.last ?? "?")"), "\(restore.stdout)")
        #expect(try permissions(restored.path) == 0o700)
        let clean = try await ServerProcess.ares(["verify", "--data-dir", restored.path])
        #expect(clean.status == 0, "\(clean.stderr)")
        // The key was created before the server started: it is in the base, and still works.
        let again = try await ServerProcess(dataDirectory: restored)
        for task in finished {
            let fetched = try await again.rpc("GetTask", params: ["id": task.id], key: key).json()
            #expect(value(fetched, "result", "status", "state") as? String == "TASK_STATE_COMPLETED", "\(task.id): \(fetched)")
            #expect(value(fetched, "result", "artifacts", "0", "parts", "0", "text") as? String == task.report)
        }
        again.stop()
    }

    @Test func untilRestoresExactlyTheEventsRecordedByThenAndDamageIsNamed() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        let backup = scratch("pitr")
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--backup-to", backup.path])
        try await waitForFirstBase(server)
        let early = try await finishTask(server, "Where does ares keep its data?", key: key)
        try await waitUntil("the early task is shipped") { completionShipped(early.id, in: backup) }
        let cut = Date()
        var late: [String] = []
        // One after another, each shipped before the next: each lands in a segment of its own.
        for index in 0..<3 {
            let id = try await finishTask(server, "What does ares verify check? (\(index))", key: key).id
            try await waitUntil("task \(id) is shipped") { completionShipped(id, in: backup) }
            late.append(id)
        }
        server.stop()

        // Restored as of `cut`: exactly the events the (still present) source recorded by then.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let restored = scratch("until")
        // The time as given on the command line (milliseconds), and as ares reads it back.
        let cutText = formatter.string(from: cut)
        let restore = try await ServerProcess.ares(["restore", backup.path, "--data-dir", restored.path, "--until", cutText])
        #expect(restore.status == 0, "\(restore.stderr)")
        let cutMicroseconds = Int64((try #require(formatter.date(from: cutText)).timeIntervalSince1970 * 1_000_000).rounded())
        let expected = try SQLiteCommandLine.rows(data.appendingPathComponent("tasks.sqlite"),
                                                  "SELECT globalPosition || ' ' || hash FROM event WHERE recordedAt <= \(cutMicroseconds) ORDER BY globalPosition")
        let got = try SQLiteCommandLine.rows(restored.appendingPathComponent("tasks.sqlite"), "SELECT globalPosition || ' ' || hash FROM event ORDER BY globalPosition")
        #expect(!expected.isEmpty && got == expected, "restored \(got.count) events, the source recorded \(expected.count) by the cut")
        let all = try SQLiteCommandLine.rows(data.appendingPathComponent("tasks.sqlite"), "SELECT globalPosition || ' ' || hash FROM event ORDER BY globalPosition")
        #expect(all.count > got.count)
        await #expect(try ServerProcess.ares(["verify", "--data-dir", restored.path]).status == 0)
        let again = try await ServerProcess(dataDirectory: restored)
        #expect(value(try await again.rpc("GetTask", params: ["id": early.id], key: key).json(), "result", "status", "state") as? String
                == "TASK_STATE_COMPLETED")
        for id in late {
            let missing = try await again.rpc("GetTask", params: ["id": id], key: key).json()
            #expect(value(missing, "error", "code") != nil, "\(id) was recorded after the cut: \(missing)")
        }
        again.stop()

        // Without --until: everything, the same events as the source.
        let latest = scratch("latest")
        await #expect(try ServerProcess.ares(["restore", backup.path, "--data-dir", latest.path]).status == 0)
        #expect(try SQLiteCommandLine.rows(latest.appendingPathComponent("tasks.sqlite"), "SELECT globalPosition || ' ' || hash FROM event ORDER BY globalPosition") == all)

        // Before the oldest base: nothing to restore, said so.
        let tooEarly = try await ServerProcess.ares(["restore", backup.path, "--data-dir", scratch("too-early").path, "--until", "2020-01-01T00:00:00Z"])
        #expect(tooEarly.status != 0)
        #expect(tooEarly.stderr.contains("reaches back to"), "\(tooEarly.stderr)")
        let badTime = try await ServerProcess.ares(["restore", backup.path, "--data-dir", scratch("bad-time").path, "--until", "yesterday"])
        #expect(badTime.status != 0 && badTime.stderr.contains("ISO 8601"), "\(badTime.stderr)")

        // One byte changed in a shipped segment: named, and restore refuses (leaving nothing to serve).
        let segments = segmentFiles(backup)
        #expect(segments.count >= 4)
        let damaged = scratch("damaged")
        try FileManager.default.copyItem(at: backup, to: damaged)
        let victim = segments[segments.count / 2].lastPathComponent
        let victimURL = segmentFiles(damaged).first { $0.lastPathComponent == victim }!
        var bytes = try Data(contentsOf: victimURL)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: victimURL)
        let check = try await ServerProcess.ares(["verify", "--backup", damaged.path])
        #expect(check.status != 0)
        #expect(check.stderr.contains("segments/\(victim): its checksum does not match its contents"), "\(check.stderr)")
        let fromDamaged = scratch("from-damaged")
        let refused = try await ServerProcess.ares(["restore", damaged.path, "--data-dir", fromDamaged.path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("the backup is damaged") && refused.stderr.contains(victim), "\(refused.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: fromDamaged.path)) ?? []).isEmpty)

        // A segment removed: the gap is named.
        let gapped = scratch("gapped")
        try FileManager.default.copyItem(at: backup, to: gapped)
        try FileManager.default.removeItem(at: segmentFiles(gapped).first { $0.lastPathComponent == victim }!)
        let gapCheck = try await ServerProcess.ares(["verify", "--backup", gapped.path])
        #expect(gapCheck.status != 0)
        #expect(gapCheck.stderr.contains("is missing before it"), "\(gapCheck.stderr)")

        // --until needs a continuous backup.
        let single = scratch("single")
        await #expect(try ServerProcess.ares(["backup", single.path, "--data-dir", data.path]).status == 0)
        let singleUntil = try await ServerProcess.ares(["restore", single.path, "--data-dir", scratch("single-until").path, "--until", "2030-01-01T00:00:00Z"])
        #expect(singleUntil.status != 0 && singleUntil.stderr.contains("needs a continuous backup"), "\(singleUntil.stderr)")
    }

    @Test func aBackupDirectoryThatStopsTakingWritesMakesTheServerNotReadyUntilItDoesAgain() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        let backup = scratch("unwritable")
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--backup-to", backup.path, "--backup-failure-limit", "1"])
        try await waitUntil("the server is ready") { try await server.request("GET", "/health/ready").status == 200 }
        // One server per backup directory, and never one inside the data directory: refused at start.
        let second = try await ServerProcess.ares(["serve", "--dev", "--port", "0", "--data-dir", scratch("second").path, "--backup-to", backup.path])
        #expect(second.status != 0 && second.stderr.contains("another ares server ships into it"), "\(second.stderr)")
        let third = scratch("third")
        let inside = try await ServerProcess.ares(["serve", "--dev", "--port", "0", "--data-dir", third.path,
                                             "--backup-to", third.appendingPathComponent("backup").path])
        #expect(inside.status != 0 && inside.stderr.contains("is inside"), "\(inside.stderr)")
        // The directory is replaced by a file: nothing can be written under it (also for root,
        // which file permissions would not stop).
        let before = try await finishTask(server, "How are API keys stored?", key: key)
        let moved = backup.appendingPathExtension("moved")
        try FileManager.default.moveItem(at: backup, to: moved)
        try Data("not a directory".utf8).write(to: backup)
        try await waitUntil("readiness says shipping fails") {
            let reply = try await server.request("GET", "/health/ready")
            return reply.status == 503 && reply.text.contains("backupShipping") && reply.text.contains("failing for")
        }
        // Bounded RPO: with shipping failing past its limit a write would be acknowledged that
        // the backup may never get, so it is refused, retryably, and nothing of it is written.
        // (A write is refused once an unshipped commit is older than the limit, 1 s: writes that
        // follow the first one within the second may still pass; one every 200 ms for up to 10 s
        // must meet a refusal.)
        var refusal: [String: Any] = [:]
        for attempt in 0..<50 {
            // Not blocking: a task admitted here would wait for shipping at its next step.
            var params = question("Where does ares keep its data? (\(attempt))")
            params["configuration"] = ["returnImmediately": true]
            let reply = try await server.rpc("SendMessage", params: params, key: key)
            refusal = try reply.json()
            if reply.status == 503 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(value(refusal, "error", "code") as? Int == -32050, "\(refusal)")
        #expect((value(refusal, "error", "message") as? String)?.contains("backup shipping behind") == true, "\(refusal)")
        let metrics = try await server.request("GET", "/metrics", headers: ["Authorization": "Bearer \(key)"]).text
        for counter in ["ares_backup_shipping_failures_total ", "ares_backup_acknowledgements_refused_total "] {
            let line = metrics.split(separator: "\n").first { $0.hasPrefix(counter) }
            #expect(line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { $0 >= 1 } == true, "\(line ?? "no \(counter)")")
        }
        // Reads are still served while shipping fails.
        let read = try await server.rpc("GetTask", params: ["id": before.id], key: key).json()
        #expect(value(read, "result", "status", "state") as? String == "TASK_STATE_COMPLETED", "\(read)")

        try FileManager.default.removeItem(at: backup)
        try FileManager.default.moveItem(at: moved, to: backup)
        try await waitUntil("the server is ready again") {
            let reply = try await server.request("GET", "/health/ready")
            return reply.status == 200 && reply.text.contains("backupShipping")
        }
        // Writes are taken again once shipping works.
        let during = try await finishTask(server, "Where does ares keep its data?", key: key)
        try await waitUntil("the task after the failure is shipped") {
            try await server.request("GET", "/metrics", headers: ["Authorization": "Bearer \(key)"]).text
                .split(separator: "\n").first { $0.hasPrefix("ares_backup_unshipped_age_seconds ") }
                .flatMap { Double($0.split(separator: " ").last ?? "") } == 0
        }
        server.stop()
        // What was committed while it failed is in the backup once shipping works again (in a
        // new base: the generation being shipped into had vanished).
        let verified = try await ServerProcess.ares(["verify", "--backup", backup.path])
        #expect(verified.status == 0, "\(verified.stderr)")
        let restored = scratch("after-failure")
        let restore = try await ServerProcess.ares(["restore", backup.path, "--data-dir", restored.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        let completed = try SQLiteCommandLine.rows(restored.appendingPathComponent("tasks.sqlite"),
                                                   "SELECT count(*) FROM event WHERE stream = '\(during.id)' AND type = 'TaskCompleted'")
        #expect(completed == ["1"], "the task finished once shipping worked again is not in the backup")
    }
}
