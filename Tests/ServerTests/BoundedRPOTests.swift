import Foundation
import Synchronization
import Testing

/// Bounded RPO for continuous backup (`ares serve --backup-to DIR --backup-max-lag 1`), against
/// a real server whose shipping falls behind: it ships every 3 s (the test-only
/// `ARES_TEST_BACKUP_ROUND_PAUSE_MS`, standing in for a slow destination), three times the lag
/// allowed. Acknowledgements wait, and after a SIGKILL and a restore nothing acknowledged more
/// than the limit (plus the time the client takes to kill) before the kill is missing; without
/// the wait, tasks acknowledged up to 3 s before the kill would be.
@Suite(.serialized) struct BoundedRPOTests {
    private static let maximumLag = 1.0
    /// From the server's last admitted write to the client's SIGKILL: the commit, the reply,
    /// the client noticing it (generous for two busy cores).
    private static let killSlack = 1.0

    private func scratch(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("ares-bounded-rpo-test-\(name)-\(UUID().uuidString)")
    }

    private func question(_ text: String) -> [String: Any] {
        ["message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": text]]]]
    }

    /// The value of a series without labels in a Prometheus text page.
    private func series(_ name: String, in metrics: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func acknowledgementsWaitForASlowBackupAndNothingAcknowledgedBeforeTheLimitIsLost() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        let backup = scratch("shipped")
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--backup-to", backup.path, "--backup-max-lag", "1", "--backup-failure-limit", "30"],
                                       environment: ["ARES_TEST_BACKUP_ROUND_PAUSE_MS": "3000"])
        // (The first base is made by the first round, at once.)
        let deadline = Date().addingTimeInterval(180)
        while try await !server.request("GET", "/health/ready").text.contains("ok: generation ") {
            guard Date() < deadline else { throw ServerProcess.Failure("no first base within 180 s: \(server.log())") }
            try await Task.sleep(for: .milliseconds(50))
        }

        // Three clients submit tasks (SendMessage blocks until the task is done) until at least
        // six are acknowledged and /metrics shows appends that waited; then SIGKILL at once.
        let acknowledged = AcknowledgementLog()
        // The clients stop on a flag, not by cancellation: canceling a task while its URLSession
        // request is in flight deadlocked FoundationNetworking once (its cancel waits on the
        // session queue, which waits on the task's status lock that the canceler holds). After
        // the kill their requests fail at once and the loops end by themselves.
        let killedAt: Date = try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<3 {
                group.addTask {
                    var index = 0
                    while !acknowledged.stopping.withLock({ $0 }) {
                        index += 1
                        guard let reply = try? await server.rpc("SendMessage", params: question("How are tasks resumed? (\(client)-\(index))"), key: key).json(),
                              value(reply, "result", "task", "status", "state") as? String == "TASK_STATE_COMPLETED",
                              let id = value(reply, "result", "task", "id") as? String else { continue }
                        let now = Date()
                        acknowledged.entries.withLock { $0.append((id, now)) }
                    }
                }
            }
            defer { acknowledged.stopping.withLock { $0 = true } }
            while Date() < deadline {
                if acknowledged.entries.withLock({ $0.count }) >= 6 {
                    let metrics = try await server.request("GET", "/metrics", headers: ["Authorization": "Bearer \(key)"]).text
                    let count = series("ares_backup_acknowledgement_wait_seconds_count", in: metrics) ?? 0
                    let quick = metrics.split(separator: "\n").first { $0.hasPrefix("ares_backup_acknowledgement_wait_seconds_bucket{le=\"0.01\"}") }
                        .flatMap { Double($0.split(separator: " ").last ?? "") } ?? count
                    #expect(series("ares_backup_unshipped_age_seconds", in: metrics) != nil, "no unshipped-age gauge in /metrics")
                    if count - quick > 0 {
                        // Appends waited for shipping: the machine is lost now. The kill's time is
                        // when SIGKILL is sent, not when the wait for the process's exit returns
                        // (on a loaded machine that wait took long enough to fail this once).
                        let killedAt = Date()
                        server.stop()
                        return killedAt
                    }
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw ServerProcess.Failure("no append waited for shipping within 180 s (\(acknowledged.entries.withLock { $0.count }) tasks acknowledged)")
        }
        try FileManager.default.removeItem(at: data)

        let restored = scratch("restored")
        let restore = try await ServerProcess.ares(["restore", backup.path, "--data-dir", restored.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        let tasks = acknowledged.entries.withLock { $0 }
        let present = Set(try SQLiteCommandLine.rows(restored.appendingPathComponent("tasks.sqlite"), "SELECT stream FROM event WHERE type = 'TaskCompleted'"))
        let missing = tasks.filter { !present.contains($0.id) }
        let tooOld = missing.filter { killedAt.timeIntervalSince($0.at) > Self.maximumLag + Self.killSlack }
        #expect(tooOld.isEmpty, """
            acknowledged tasks missing from the backup although acknowledged more than \(Self.maximumLag + Self.killSlack) s before the kill: \
            \(tooOld.map { "\($0.id) (\(String(format: "%.2f", killedAt.timeIntervalSince($0.at))) s)" })
            """)
        // The backup is not empty: the restore holds the tasks acknowledged well before the kill.
        #expect(tasks.count - missing.count >= 1, "none of \(tasks.count) acknowledged tasks is in the backup")
        let verified = try await ServerProcess.ares(["verify", "--data-dir", restored.path])
        #expect(verified.status == 0, "\(verified.stderr)")
    }
}

/// The tasks the clients saw acknowledged, and when.
private final class AcknowledgementLog: Sendable {
    let entries = Mutex<[(id: String, at: Date)]>([])
    /// Set when the clients are to stop submitting.
    let stopping = Mutex(false)
}
