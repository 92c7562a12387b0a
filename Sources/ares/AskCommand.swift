import ArgumentParser
import AresComposition
import Foundation
import Knowledge
import ResearchCore
import TaskService

struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Research a question over the knowledge base and print a report in which every claim is cited."
    )

    @Argument(help: "The question, in natural words.")
    var question: String?

    @Option(help: "A file of questions, one per line: research them all, several at a time.")
    var questionsFile: String?

    @Option(help: "With --questions-file: tasks researched at once.")
    var parallel = 8

    @Option(help: "markdown or json.")
    var format: ReportFormat = .markdown

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var embedding: EmbedderOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var relevance: RelevanceOptions

    enum ReportFormat: String, ExpressibleByArgument, CaseIterable { case markdown, json }

    func validate() throws {
        guard (question == nil) != (questionsFile == nil) else {
            throw ValidationError("give either a question or --questions-file FILE")
        }
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 64 (got \(parallel))") }
    }

    func run() async throws {
        try await Console.reportingErrors {
            let configuration = try AresConfiguration.load(data, embedding, model, relevance)
            let environment = try await ResearchEnvironment.open(configuration, options: .init(requireDocuments: true), warning: Console.warning)
            if let questionsFile {
                try await runBatch(questionsFile, environment: environment)
                return
            }
            let question = question ?? ""
            let clock = ContinuousClock()
            let started = clock.now
            let taskID = try await environment.service.submit(question: question)
            let live = Console.standardErrorIsTerminal
            let state = try await environment.service.run(taskID) { event in
                if live, let line = TaskProgressLine.describe(event) { Console.note("· \(line)") }
            }
            let elapsed = clock.now - started
            switch format {
            case .markdown:
                print(state.report?.markdown ?? "No report: the task \(state.phase?.rawValue ?? "did not run") (\(state.endReason ?? "no reason recorded")).")
                var note = "task \(taskID) · \(state.phase?.rawValue ?? "?") · \(Int(elapsed.milliseconds)) ms"
                if let report = state.report, !report.unansweredSections.isEmpty {
                    // The sections say so too ("The knowledge base does not say …"); this line counts them.
                    note += " · \(report.unansweredSections.count) of \(report.sections.count) sub-questions not answered by the knowledge base: "
                        + report.unansweredSections.map { "“\($0.title)”" }.joined(separator: ", ")
                }
                Console.note(note)
            case .json:
                print(try TaskReportJSON.encode(taskID: taskID, state: state, totalMilliseconds: elapsed.milliseconds))
            }
            if state.phase != .completed { throw ExitCode.failure }
        }
    }
}

extension AskCommand {
    /// Researches every question of a file, `parallel` at a time; one line per task as it ends
    /// (JSON lines with --format json). Every task is durable: after a crash, `ares tasks resume`.
    func runBatch(_ path: String, environment: ResearchEnvironment) async throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read the questions file '\(path)': \(error.localizedDescription)")
        }
        let questions = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !questions.isEmpty else { throw ValidationError("the questions file '\(path)' has no questions") }
        var ids: [String] = []
        for question in questions { ids.append(try await environment.service.submit(question: question)) }
        let service = environment.service
        var failed = 0
        try await withThrowingTaskGroup(of: (String, TaskState).self) { group in
            var next = 0
            func startNext() {
                guard next < ids.count else { return }
                let id = ids[next]
                next += 1
                group.addTask { (id, try await service.run(id)) }
            }
            for _ in 0..<min(parallel, ids.count) { startNext() }
            while let (id, state) = try await group.next() {
                if state.phase != .completed { failed += 1 }
                switch format {
                case .json:
                    let line = try TaskReportJSON.encode(taskID: id, state: state, totalMilliseconds: nil)
                    print(line.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " "))
                case .markdown:
                    print("\(id)  \(state.phase?.rawValue ?? "?")  \(state.question)")
                }
                startNext()
            }
        }
        if failed > 0 { throw ExitCode.failure }
    }
}
