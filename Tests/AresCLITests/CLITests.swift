import AresTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Knowledge
import Storage
import Testing

/// The `ares` command line, driven as a user drives it: a real process, real files.
@Suite struct CLITests {
    /// A workspace with a small corpus written by the test.
    final class Workspace: @unchecked Sendable {
        let root: URL
        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("ares-cli-\(UUID().uuidString)")
            try write("corpus/wal.html", """
                <html><head><title>Write-Ahead Logging</title><style>body { color: red }</style></head><body>
                <div class="navheader">Prev Next</div>
                <h1>Write-Ahead Logging (WAL)</h1>
                <p>Write-Ahead Logging is a standard method for ensuring data integrity. Changes to data files
                are written only after those changes have been logged, that is, after WAL records describing
                the changes have been flushed to permanent storage.</p>
                <h2>Benefits of WAL</h2>
                <p>Using WAL results in a significantly reduced number of disk writes, because only the log file
                needs to be flushed to disk to guarantee that a transaction is committed.</p>
                </body></html>
                """)
            try write("corpus/guide/backup.md", """
                # Backup and Restore

                There are three approaches to backing up data: SQL dump, file system level backup,
                and continuous archiving. The pg_dump program generates a file of SQL commands.

                ## Restoring the dump

                Text files created by pg_dump are intended to be read in by the psql program.
                """)
            try write("corpus/notes.txt", "Checkpoints are points in the sequence of transactions at which all data files have been updated.")
        }
        deinit { try? FileManager.default.removeItem(at: root) }

        func write(_ path: String, _ text: String) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }

        func ares(_ arguments: String...) throws -> AresProcess.Outcome {
            try AresProcess.run(arguments, in: root)
        }

        /// The same from an async test (which the compiler picks there): see `AresProcess.run`.
        func ares(_ arguments: String...) async throws -> AresProcess.Outcome {
            try await AresProcess.run(arguments, in: root)
        }
    }

    struct SearchOutput: Decodable {
        struct Result: Decodable {
            var source: String
            var title: String
            var chunkId: String
            var score: Double
            var text: String
        }
        var query: String
        var results: [Result]
    }

    @Test func ingestThenSearchAsJSON() async throws {
        let workspace = try Workspace()
        let ingest = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stdout.contains("Ingested 3 files"))
        #expect(ingest.stdout.contains("3 new"))

        let search = try await workspace.ares("search", "how does pg_dump back up a database", "--data-dir", "kb", "--format", "json", "--limit", "2")
        #expect(search.status == 0, "\(search.stderr)")
        let output = try JSONDecoder().decode(SearchOutput.self, from: Data(search.stdout.utf8))
        #expect(output.query == "how does pg_dump back up a database")
        #expect(output.results.count == 2)
        let top = try #require(output.results.first)
        #expect(top.source == "corpus/guide/backup.md")
        #expect(top.title == "Backup and Restore")
        #expect(top.text.contains("pg_dump"))
        #expect(!top.chunkId.isEmpty)
        #expect(top.score > 0)

        for mode in ["keyword", "vector", "hybrid"] {
            let result = try await workspace.ares("search", "WAL records flushed to permanent storage", "--mode", mode, "--data-dir", "kb", "--format", "json", "--limit", "1")
            let decoded = try JSONDecoder().decode(SearchOutput.self, from: Data(result.stdout.utf8))
            #expect(decoded.results.first?.source == "corpus/wal.html", "mode \(mode)")
        }

        let text = try await workspace.ares("search", "checkpoint", "--data-dir", "kb")
        #expect(text.status == 0)
        #expect(text.stdout.contains("1. "))
        #expect(text.stdout.contains("corpus/notes.txt"))

        let again = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        #expect(again.stdout.contains("3 unchanged"))
    }

    @Test func dataDirectoryComesFromTheEnvironment() async throws {
        let workspace = try Workspace()
        let environment = ["ARES_DATA_DIR": workspace.root.appendingPathComponent("from-env").path]
        let ingest = try await AresProcess.run(["ingest", "corpus/notes.txt"], in: workspace.root, environment: environment)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(FileManager.default.fileExists(atPath: workspace.root.appendingPathComponent("from-env/knowledge.sqlite").path))
        let search = try await AresProcess.run(["search", "checkpoints", "--format", "json"], in: workspace.root, environment: environment)
        #expect(search.stdout.contains("corpus/notes.txt"))
    }

    @Test func anEmptyKnowledgeBaseSaysSo() async throws {
        let workspace = try Workspace()
        let search = try await workspace.ares("search", "anything", "--data-dir", "nothing-here", "--format", "json")
        #expect(search.status == 0)
        #expect(search.stderr.contains("is empty"))
        #expect(search.stderr.contains("ares ingest"))
        let output = try JSONDecoder().decode(SearchOutput.self, from: Data(search.stdout.utf8))
        #expect(output.results.isEmpty)
    }

    @Test func badInputGetsAClearMessageAndAnErrorStatus() async throws {
        let workspace = try Workspace()
        let empty = try await workspace.ares("search", "   ", "--data-dir", "kb")
        #expect(empty.status != 0)
        #expect(empty.stderr.contains("the query is empty"))

        let badLimit = try await workspace.ares("search", "wal", "--limit", "0", "--data-dir", "kb")
        #expect(badLimit.status != 0)
        #expect(badLimit.stderr.contains("--limit"))

        let badMode = try await workspace.ares("search", "wal", "--mode", "fuzzy", "--data-dir", "kb")
        #expect(badMode.status != 0)
        #expect(badMode.stderr.contains("fuzzy"))

        let noPaths = try await workspace.ares("ingest", "--data-dir", "kb")
        #expect(noPaths.status != 0)
        #expect(noPaths.stderr.contains("name at least one file or folder"))

        let typo = try await workspace.ares("ingest", "corpus", "corpsu", "--data-dir", "kb")
        #expect(typo.status != 0)
        #expect(typo.stderr.contains("no such file or folder: 'corpsu'"))
        #expect(!FileManager.default.fileExists(atPath: workspace.root.appendingPathComponent("kb").path), "nothing was done")

        try workspace.write("a-file", "x")
        let unwritable = try await workspace.ares("ingest", "corpus", "--data-dir", "a-file/kb")
        #expect(unwritable.status == 1)
        #expect(unwritable.stderr.contains("cannot write to the data directory"))

        let unknown = try await workspace.ares("remove", "corpus/nope.md", "--data-dir", "kb")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no document was ingested as 'corpus/nope.md'"))
    }

    @Test func skippedFilesAreNamedInTheSummary() async throws {
        let workspace = try Workspace()
        let binary = workspace.root.appendingPathComponent("corpus/image.png")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00]).write(to: binary)
        let ingest = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        #expect(ingest.status == 0)
        #expect(ingest.stdout.contains("Skipped 1 file"))
        #expect(ingest.stdout.contains("corpus/image.png"))
        let emptyFolder = workspace.root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: emptyFolder, withIntermediateDirectories: true)
        let none = try await workspace.ares("ingest", "empty", "--data-dir", "kb")
        #expect(none.stderr.contains("no files found"))
    }

    @Test func aSecondWriterIsToldWhoHoldsTheLock() async throws {
        let workspace = try Workspace()
        let data = workspace.root.appendingPathComponent("kb")
        _ = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        let held = try DataDirectoryLock(directory: data)
        let second = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        #expect(second.status == 1)
        #expect(second.stderr.contains("another ares process (pid \(getpid()))"))
        // Readers are not blocked by the writer.
        let search = try await workspace.ares("search", "pg_dump", "--data-dir", "kb")
        #expect(search.status == 0)
        #expect(search.stdout.contains("backup.md"))
        _ = held
    }

    @Test func aDamagedIndexIsRebuiltWithAWarning() async throws {
        let workspace = try Workspace()
        _ = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        try Data("not an index".utf8).write(to: workspace.root.appendingPathComponent("kb/index.bin"))
        let search = try await workspace.ares("search", "checkpoints", "--data-dir", "kb", "--format", "json")
        #expect(search.status == 0)
        #expect(search.stderr.contains("damaged"))
        #expect(search.stdout.contains("corpus/notes.txt"))
    }

    @Test func removeForgetsADocument() async throws {
        let workspace = try Workspace()
        _ = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        let remove = try await workspace.ares("remove", "corpus/notes.txt", "--data-dir", "kb")
        #expect(remove.status == 0)
        #expect(remove.stdout.contains("removed corpus/notes.txt"))
        let search = try await workspace.ares("search", "checkpoints", "--data-dir", "kb", "--mode", "keyword", "--format", "json")
        #expect(!search.stdout.contains("corpus/notes.txt"))
    }

    @Test func demoIngestsTheProjectDocsAndAnswersFromThem() async throws {
        let workspace = try Workspace()
        let demo = try await workspace.ares("demo", "--data-dir", "demo-kb")
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stdout.contains("Ingested"))
        #expect(demo.stdout.contains("## How does ares keep an acknowledged write from being lost in a crash?"))
        #expect(demo.stdout.contains("docs/architecture.md"))
        #expect(demo.stdout.contains("docs/knowledge-base.md"))
        #expect(demo.stdout.contains("# Research: How does ares keep work from being lost in a crash"))
        #expect(demo.stdout.contains("## Sources"))
        #expect(demo.stdout.contains("[1]"))
        // Run again: everything is unchanged and nothing is re-read.
        let again = try await workspace.ares("demo", "--data-dir", "demo-kb")
        #expect(again.stdout.contains("unchanged"))
    }

    @Test func anIngestKilledMidwayLosesNothingAndTheNextIngestCompletes() async throws {
        let workspace = try Workspace()
        let topics = ["vacuum", "replication", "checkpoint", "index", "partition", "trigger", "sequence", "privilege"]
        for number in 0..<600 {
            let topic = topics[number % topics.count]
            let body = (0..<40).map { "Paragraph \($0) of note \(number) explains \(topic) settings in detail." }.joined(separator: "\n\n")
            try workspace.write("bulk/note-\(number).md", "# Note \(number) about \(topic)\n\n\(body)")
        }
        let process = Process()
        process.executableURL = AresProcess.binary
        process.arguments = ["ingest", "bulk", "--data-dir", "kb"]
        process.currentDirectoryURL = workspace.root
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it once the first batch is committed (or whenever it ends, if it is that fast).
        let database = workspace.root.appendingPathComponent("kb/knowledge.sqlite")
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline, !FileManager.default.fileExists(atPath: database.path) {
            usleep(2_000)
        }
        usleep(30_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        let resumed = try await workspace.ares("ingest", "bulk", "--data-dir", "kb", "--format", "json")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let summary = try JSONDecoder().decode(IngestSummary.self, from: Data(resumed.stdout.utf8))
        #expect(summary.documents == 600)
        #expect(summary.added + summary.unchanged == 600)
        #expect(summary.skipped.isEmpty)
        let search = try await workspace.ares("search", "note 599 partition", "--data-dir", "kb", "--mode", "keyword", "--format", "json", "--limit", "1")
        #expect(search.stdout.contains("bulk/note-599.md"))
        // A third run finds nothing to do and no stale index to rebuild.
        let third = try await workspace.ares("ingest", "bulk", "--data-dir", "kb", "--format", "json")
        #expect(!third.stderr.contains("rebuilt"))
        #expect(try JSONDecoder().decode(IngestSummary.self, from: Data(third.stdout.utf8)).unchanged == 600)
    }

    struct AskOutput: Decodable {
        struct Report: Decodable {
            struct Section: Decodable { var title: String; var text: String; var citations: [Int] }
            var markdown: String
            var answer: String
            var sections: [Section]
        }
        struct Citation: Decodable { var index: Int; var source: String; var title: String; var chunkId: String; var text: String }
        struct Quality: Decodable { var coverage: Double; var supportedSentences: Int; var unsupportedSentences: Int; var rounds: Int }
        struct Timings: Decodable { var totalMs: Double? }
        var taskId: String
        var state: String
        var question: String
        var report: Report?
        var citations: [Citation]
        var quality: Quality
        var timings: Timings
    }

    @Test func askResearchesAndTheTaskCanBeReadBack() async throws {
        let workspace = try Workspace()
        _ = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        let ask = try await workspace.ares("ask", "How does pg_dump back up data and why does WAL reduce disk writes?", "--data-dir", "kb", "--format", "json")
        #expect(ask.status == 0, "\(ask.stderr)")
        let output = try JSONDecoder().decode(AskOutput.self, from: Data(ask.stdout.utf8))
        #expect(output.state == "completed")
        #expect(output.question == "How does pg_dump back up data and why does WAL reduce disk writes?")
        let report = try #require(output.report)
        #expect(report.sections.count == 2)
        #expect(Set(output.citations.map(\.source)) == ["corpus/guide/backup.md", "corpus/wal.html"])
        // Every citation marker in the report points at a listed source, and every cited text is in it.
        for section in report.sections {
            for index in section.citations { #expect(output.citations.contains { $0.index == index }) }
        }
        #expect(output.quality.unsupportedSentences == 0)
        #expect(output.quality.supportedSentences > 0)
        #expect((output.timings.totalMs ?? -1) >= 0)

        let list = try await workspace.ares("tasks", "list", "--data-dir", "kb")
        #expect(list.stdout.contains(output.taskId))
        #expect(list.stdout.contains("completed"))
        let show = try await workspace.ares("tasks", "show", output.taskId, "--data-dir", "kb", "--format", "json")
        let shown = try JSONDecoder().decode(AskOutput.self, from: Data(show.stdout.utf8))
        #expect(shown.report?.markdown == report.markdown)
        let events = try await workspace.ares("tasks", "events", output.taskId, "--data-dir", "kb")
        let lines = events.stdout.split(separator: "\n")
        #expect(lines.first?.contains("TaskSubmitted") == true)
        #expect(lines.last?.contains("TaskCompleted") == true)
        let verify = try await workspace.ares("verify", "--data-dir", "kb")
        #expect(verify.status == 0)
        #expect(verify.stdout.contains("every hash chain intact"))
        let resume = try await workspace.ares("tasks", "resume", "--data-dir", "kb")
        #expect(resume.stdout.contains("No unfinished tasks."))
    }

    @Test func askRefusesWhatItCannotResearch() async throws {
        let workspace = try Workspace()
        let noDocuments = try await workspace.ares("ask", "what is WAL?", "--data-dir", "empty-kb")
        #expect(noDocuments.status != 0)
        #expect(noDocuments.stderr.contains("has no documents"))

        _ = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        let empty = try await workspace.ares("ask", "   ", "--data-dir", "kb")
        #expect(empty.status != 0)
        #expect(empty.stderr.contains("the question is empty"))
        let huge = try await workspace.ares("ask", String(repeating: "why ", count: 25_000), "--data-dir", "kb")
        #expect(huge.status != 0)
        #expect(huge.stderr.contains("the limit is 4000"))
        let unknown = try await workspace.ares("tasks", "show", "task-nope", "--data-dir", "kb")
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("there is no task 'task-nope'"))
    }

    @Test func researchTasksKilledMidwayResumeAndCompleteWithoutDuplicatedSteps() async throws {
        let workspace = try Workspace()
        _ = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        let topics = ["pg_dump backups", "WAL disk writes", "checkpoints and data files", "restoring a dump with psql"]
        let questions = (0..<160).map { "How do \(topics[$0 % 4]) work and why do they matter (\($0))?" }
        try workspace.write("questions.txt", questions.joined(separator: "\n"))

        let process = Process()
        process.executableURL = AresProcess.binary
        process.arguments = ["ask", "--questions-file", "questions.txt", "--parallel", "8", "--data-dir", "kb"]
        process.currentDirectoryURL = workspace.root
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it while tasks are running: once the event store exists and has had a moment.
        let events = workspace.root.appendingPathComponent("kb/tasks.sqlite")
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline, !FileManager.default.fileExists(atPath: events.path) { usleep(2_000) }
        usleep(150_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        let resume = try await workspace.ares("tasks", "resume", "--data-dir", "kb")
        #expect(resume.status == 0, "\(resume.stderr)")
        #expect(!resume.stdout.contains("failed"))

        let store = try SQLiteEventStore(path: events.path)
        let streams = try await store.streams().filter { $0.stream.hasPrefix("task-") }
        #expect(!streams.isEmpty)
        for stream in streams {
            let types = try await store.read(stream: stream.stream).map(\.type)
            #expect(types.first == "TaskSubmitted")
            #expect(types.last == "TaskCompleted", "\(stream.stream) ended with \(types.last ?? "nothing")")
            #expect(types.filter { $0 == "TaskPlanned" }.count == 1)
            #expect(types.filter { $0 == "ReportSynthesized" }.count == 1)
            #expect(types.filter { $0 == "TaskCompleted" }.count == 1)
        }
        #expect(try await store.verify().isIntact)
        let again = try await workspace.ares("tasks", "resume", "--data-dir", "kb")
        #expect(again.stdout.contains("No unfinished tasks."))
    }

    @Test func anUnreachableModelFallsBackToTheBuiltInEngineAndTheReportSaysSo() async throws {
        let workspace = try Workspace()
        _ = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        let ask = try await workspace.ares("ask", "How does pg_dump back up data?", "--data-dir", "kb",
                                     "--model-url", "http://127.0.0.1:9/v1", "--model", "absent")
        #expect(ask.status == 0, "\(ask.stderr)")
        #expect(ask.stdout.contains("> Note: the language model was unavailable"))
        // Every LLM-backed agent stood in for by its built-in counterpart says so.
        #expect(ask.stdout.contains("> Note: the language model could not pick evidence"))
        #expect(ask.stdout.contains("> Note: the language model could not judge the research"))
        #expect(ask.stdout.contains("> Note: the language model could not check citations"))
        #expect(ask.stdout.contains("pg_dump"))
        #expect(ask.stdout.contains("## Sources"))
        let noName = try await workspace.ares("ask", "anything", "--data-dir", "kb", "--model-url", "http://127.0.0.1:9/v1")
        #expect(noName.status != 0)
        #expect(noName.stderr.contains("needs a model name"))
    }

    @Test func aRepeatedQuestionReusesThePlanOfTheEarlierTask() async throws {
        let workspace = try Workspace()
        _ = try await workspace.ares("ingest", "corpus", "--data-dir", "kb")
        let first = try await workspace.ares("ask", "How does pg_dump back up data and why does WAL reduce disk writes?", "--data-dir", "kb", "--format", "json")
        let firstID = try JSONDecoder().decode(AskOutput.self, from: Data(first.stdout.utf8)).taskId
        let second = try await workspace.ares("ask", "how does pg_dump back up data and why does WAL reduce disk writes", "--data-dir", "kb", "--format", "json")
        let secondID = try JSONDecoder().decode(AskOutput.self, from: Data(second.stdout.utf8)).taskId
        let events = try await workspace.ares("tasks", "events", secondID, "--data-dir", "kb")
        #expect(events.stdout.contains("(reused from \(firstID))"))
        // Forgotten memory is not reused.
        let forget = try await workspace.ares("memory", "forget", "--data-dir", "kb")
        #expect(forget.status == 0)
        #expect(forget.stdout.contains("forgot episodes recorded before"))
        let third = try await workspace.ares("ask", "How does pg_dump back up data and why does WAL reduce disk writes?", "--data-dir", "kb", "--format", "json")
        let thirdID = try JSONDecoder().decode(AskOutput.self, from: Data(third.stdout.utf8)).taskId
        await #expect(!(try workspace.ares("tasks", "events", thirdID, "--data-dir", "kb")).stdout.contains("reused from"))
        let unrelated = try await workspace.ares("ask", "What are checkpoints?", "--data-dir", "kb", "--format", "json")
        let unrelatedID = try JSONDecoder().decode(AskOutput.self, from: Data(unrelated.stdout.utf8)).taskId
        await #expect(!(try workspace.ares("tasks", "events", unrelatedID, "--data-dir", "kb")).stdout.contains("reused from"))
    }

    @Test func configShowPrintsEverySettingWithItsSourceAndNoKey() async throws {
        let workspace = try Workspace()
        try workspace.write("ares.json", #"{"host": "127.0.0.2", "port": 9000, "quotas": {"researcher": {"maxRunning": 2}}}"#)
        try workspace.write("model.key", "sk-from-a-file")
        let environment = ["ARES_MAX_RUNNING_TASKS": "7", "ARES_MODEL_URL": "http://127.0.0.1:9/v1", "ARES_MODEL": "llama3",
                           "ARES_MODEL_API_KEY": "sk-from-the-environment", "ARES_EMBEDDING_API_KEY_FILE": "model.key"]
        let show = try await AresProcess.run(["config", "show", "--config", "ares.json", "--port", "9100", "--data-dir", "kb"],
                                       in: workspace.root, environment: environment)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(!show.stdout.contains("sk-from"), "a key was printed: \(show.stdout)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        let settings = try #require(object["settings"] as? [String: [String: Any]])
        func setting(_ name: String) -> (value: Any?, source: String?) { (settings[name]?["value"], settings[name]?["source"] as? String) }
        #expect(setting("port").value as? Int == 9100 && setting("port").source == "flag")
        #expect(setting("maxRunningTasks").value as? Int == 7 && setting("maxRunningTasks").source == "env")
        #expect(setting("host").value as? String == "127.0.0.2" && setting("host").source == "file")
        #expect(setting("quotas.researcher.maxRunning").value as? Int == 2 && setting("quotas.researcher.maxRunning").source == "file")
        #expect(setting("maxQueuedTasks").value as? Int == 1000 && setting("maxQueuedTasks").source == "default")
        #expect((setting("dataDir").value as? String)?.hasSuffix("/kb") == true)
        #expect(setting("modelAPIKey").value as? String == "(set in ARES_MODEL_API_KEY)" && setting("modelAPIKey").source == "env")
        #expect((setting("embeddingAPIKey").value as? String)?.hasSuffix("/model.key") == true)
        #expect((object["configFile"] as? [String: Any])?["source"] as? String == "flag")

        let text = try await AresProcess.run(["config", "show", "--format", "text", "--config", "ares.json"], in: workspace.root, environment: environment)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(!text.stdout.contains("sk-from"))
        #expect(text.stdout.contains("precedence: flag > env > file > default"))
        #expect(text.stdout.split(separator: "\n").contains { $0.hasPrefix("port ") && $0.contains("9000") && $0.contains("file (") })

        // An invalid setting is refused with its name, the accepted values and its source.
        let invalid = try await AresProcess.run(["config", "show", "--max-running-tasks", "0"], in: workspace.root)
        #expect(invalid.status == 64)
        #expect(invalid.stderr.contains("maxRunningTasks must be between 1 and 256 (got 0 from --max-running-tasks)"))
        // The same configuration for every command: a bad value stops `ares search` too.
        let search = try await AresProcess.run(["search", "wal", "--data-dir", "kb"], in: workspace.root, environment: ["ARES_EMBEDDER": "bert"])
        #expect(search.status == 64)
        #expect(search.stderr.contains("embedder must be one of builtin, openai, local (got 'bert' from ARES_EMBEDDER)"))
    }
}
