import Foundation
import Testing

/// The web console in a real browser: Debian's headless Chromium driven by Selenium (from
/// `.venv-interop`, see scripts/install-interop-clients.sh) through Browser/console_test.py,
/// against real `ares serve` processes over a small knowledge base made here: one with the
/// built-in agents, and one (started, killed and restarted by the script, to see the live
/// view reconnect) whose tasks wait for a model that never answers, so that a task is still
/// running when the browser cancels it. Screenshots of each page are written to
/// .build/console-screenshots (or $ARES_CONSOLE_SCREENSHOTS).
@Suite(.serialized) struct ConsoleBrowserTests {
    static let chromedriver = ProcessInfo.processInfo.environment["ARES_CHROMEDRIVER"] ?? "/usr/bin/chromedriver"
    static let chromium = ProcessInfo.processInfo.environment["ARES_CHROMIUM"] ?? "/usr/bin/chromium"

    /// A knowledge base of three small documents, one of them hostile: its text carries a
    /// script and an image with an error handler, which the console must show as text.
    static func makeKnowledgeBase() throws -> (data: URL, documents: URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ares-console-\(UUID().uuidString)")
        let documents = root.appendingPathComponent("kb")
        try FileManager.default.createDirectory(at: documents, withIntermediateDirectories: true)
        try """
            # Backups

            ## Restoring a dump

            To restore a dump, run pg_restore with the dump file. The restore takes about ten minutes for a large database.

            ## Vacuum

            VACUUM FULL takes an exclusive lock on the table. Plain VACUUM does not block reads or writes.
            """.write(to: documents.appendingPathComponent("backup.md"), atomically: true, encoding: .utf8)
        try """
            Hostile passage

            The marker sentence says <script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=2"> are dangerous tags.
            """.write(to: documents.appendingPathComponent("hostile.txt"), atomically: true, encoding: .utf8)
        try """
            # Replication

            A standby server replays the write-ahead log that the primary ships to it.
            """.write(to: documents.appendingPathComponent("replication.md"), atomically: true, encoding: .utf8)
        let data = root.appendingPathComponent("data")
        let ingest = try ServerProcess.ares(["ingest", documents.path, "--data-dir", data.path])
        guard ingest.status == 0 else { throw ServerProcess.Failure("ingest failed: \(ingest.stderr)") }
        return (data, documents)
    }

    @Test(.timeLimit(.minutes(5))) func theConsoleWorksInARealBrowser() throws {
        for tool in [Self.chromedriver, Self.chromium] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw ServerProcess.Failure("\(tool) is missing: install Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; .ci/run does)")
        }
        let python = try InteropTests.python()

        let (data, documents) = try Self.makeKnowledgeBase()
        let admin = try ServerProcess.createKey(role: "admin", in: data, name: "ops")
        let researcher = try ServerProcess.createKey(role: "researcher", in: data, name: "researcher")
        let viewer = try ServerProcess.createKey(role: "viewer", in: data, name: "reader")
        let server = try ServerProcess(dataDirectory: data)

        let slowModel = try PythonFixture(script: "../Console/Browser/slow_model.py")
        let modelPort = try slowModel.firstLine()
        let slowData = documents.deletingLastPathComponent().appendingPathComponent("slow")
        let ingest = try ServerProcess.ares(["ingest", documents.path, "--data-dir", slowData.path])
        #expect(ingest.status == 0)
        let slowKey = try ServerProcess.createKey(role: "researcher", in: slowData)

        let upload = documents.deletingLastPathComponent().appendingPathComponent("uploaded-notes.md")
        try "# Uploaded notes\n\nWAL archiving keeps every finished segment of the write-ahead log.\n".write(to: upload, atomically: true, encoding: .utf8)
        let screenshots = ProcessInfo.processInfo.environment["ARES_CONSOLE_SCREENSHOTS"]
            ?? InteropTests.repository.appendingPathComponent(".build/console-screenshots").path

        let started = Date()
        let (status, output) = try InteropTests.run([
            InteropTests.repository.appendingPathComponent("Tests/ServerTests/Console/Browser/console_test.py").path,
            "--url", server.baseURL, "--admin-key", admin, "--researcher-key", researcher, "--viewer-key", viewer,
            "--ares", ServerProcess.binary.path, "--slow-data-dir", slowData.path, "--slow-model-url", "http://127.0.0.1:\(modelPort)/v1",
            "--cancel-key", slowKey, "--upload-file", upload.path,
            "--screenshots", screenshots, "--chromedriver", Self.chromedriver, "--chromium", Self.chromium,
        ], timeout: 240)
        print(output)
        print("console browser test: \(String(format: "%.1f", Date().timeIntervalSince(started))) s; screenshots in \(screenshots)")
        #expect(status == 0, "\(output)")
        for check in ["first_load_size", "wrong_key_message", "viewer_cannot_see_admin_pages", "ask_live_steps", "plan_shows_sub_questions",
                      "evidence_sentences_shown", "chain_verified", "steps_appear_live", "citation_opens_highlighted_passage",
                      "hostile_passage_shows_as_text", "hostile_passage_runs_no_script", "hostile_report_shows_as_text",
                      "narrow_window_no_horizontal_scroll", "tasks_listed", "task_timeline_from_history", "admin_creates_key_secret_shown_once",
                      "admin_upload_ingests", "network_lost_message", "live_view_reconnects", "cancel_running_task", "no_script_errors"] {
            #expect(output.contains("PASS \(check)"), "\(check) did not pass:\n\(output)")
        }
        #expect(output.contains("fail=0"), "\(output)")
        slowModel.stop()
    }
}
