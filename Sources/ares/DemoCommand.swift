import ArgumentParser
import AresComposition
import Foundation
import Knowledge

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Ingest ares's own docs/ folder, search it and research a question about ares: the quickest look at what ares does."
    )

    @Option(help: "The folder to ingest (default: the project's docs/ folder).")
    var docs: String?

    @OptionGroup var data: DataDirectoryOptions

    static let questions = [
        "How does ares keep an acknowledged write from being lost in a crash?",
        "Which search modes are there and how are keyword and vector results combined?",
        "How do I use an OpenAI-compatible embedding endpoint?",
    ]

    func run() async throws {
        try await Console.reportingErrors {
            let folder = try docs ?? Self.locateDocs()
            // The demo always uses the built-in embedder and agents: no model, no network.
            var flags = ConfigurationFlags()
            data.apply(to: &flags)
            flags.set(.embedder, AresConfiguration.EmbedderKind.builtin.rawValue)
            let configuration = try AresConfiguration.load(flags: flags)
            let dataDirectory = configuration.dataDirectory
            let knowledge = try await ResearchEnvironment.openKnowledgeBase(
                configuration, embedder: try await EmbedderFactory.make(configuration), access: .readWrite, warning: Console.warning)
            let display = TerminalProgress()
            let summary = try await knowledge.ingest([folder]) { display.update($0) }
            display.finish()
            try IngestReport(summary: summary, dataDirectory: dataDirectory.path).print(format: .text)
            for question in Self.questions {
                print("\n## \(question)\n")
                for (rank, result) in try await knowledge.search(question, limit: 3).enumerated() {
                    let passage = result.passage
                    print("\(rank + 1). \(passage.title) — \(passage.source) (\(passage.headingPath.joined(separator: " › ")))")
                    print("   \(SearchCommand.snippet(passage.text, limit: 240))")
                }
            }
            // The main job: a research task over the same knowledge base, with a cited report.
            let question = "How does ares keep work from being lost in a crash, and how are search results combined?"
            print("\n# Research: \(question)\n")
            let environment = try await ResearchEnvironment.open(
                configuration, options: .init(requireDocuments: true, languageModel: false), warning: Console.warning)
            let taskID = try await environment.service.submit(question: question)
            let state = try await environment.service.run(taskID)
            print(state.report?.markdown ?? "No report: \(state.endReason ?? "the task did not finish")")
            print("\nNext: `ares ask \"your question\" --data-dir \(dataDirectory.path)`, `ares search \"words\"`, or ingest your own folder with `ares ingest PATH`.")
            print("Serve it to other agents: `ares serve --dev --data-dir \(dataDirectory.path)` (A2A at /a2a, MCP at /mcp; see docs/server.md).")
        }
    }

    /// docs/ in the working directory, else beside the package the binary was built from.
    static func locateDocs() throws -> String {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: "docs/architecture.md") { return "docs" }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent("docs")
            if fileManager.fileExists(atPath: candidate.appendingPathComponent("architecture.md").path) { return candidate.path }
            directory.deleteLastPathComponent()
        }
        throw ValidationError("cannot find the project's docs/ folder: run `ares demo` from the repository root, or pass --docs PATH")
    }
}
