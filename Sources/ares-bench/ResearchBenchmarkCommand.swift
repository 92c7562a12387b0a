import Agents
import ArgumentParser
import AresComposition
import Foundation
import Knowledge
import ResearchCore
import Storage
import TaskService

/// The built-in research engine end to end over an ingested corpus: per question, a durable
/// task (SQLite event store) from submission to verified report.
struct ResearchBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "research",
        abstract: "Answer-cited share, report precision, supported-sentence share and latency of `ares ask` in process, then N concurrent tasks."
    )

    @Option(help: "A data directory with the corpus ingested (e.g. the one `ares-bench corpus` leaves).")
    var dataDir = "/tmp/ares-bench-corpus"

    @Option(help: "The question set with answer hints.")
    var questions = "bench/pgdocs/questions.json"

    @Option(help: "Concurrent tasks in the concurrency run (0: skip it).")
    var concurrent = 8

    @Option(help: "Only the first N questions of the set (0: all); for slow LLM-backed runs.")
    var limit = 0

    @Option(help: "Related corpus terms added to each sub-question's expanded query (0: no expansion).")
    var expansionTerms = 5

    @Flag(help: "Name each question whose report cites no passage with its answer hint, and whether research found one.")
    var showMisses = false

    @Flag(help: "Per question: the answer-cited, hint-in-text and precision measures and the sub-questions left unanswered.")
    var showReports = false

    @Flag(help: "Per question: every report sentence with its evidence score, its page and whether that page answers the question.")
    var showSentences = false

    /// The relevance gates, the same flags (and environment, configuration file, validation)
    /// as `ares ask`, for calibrating them on the development set; unset: the team's defaults.
    @OptionGroup var relevance: RelevanceOptions

    @OptionGroup var embedding: EmbedderOptions

    @OptionGroup var languageModel: ModelOptions

    @OptionGroup var configurationFile: ConfigurationFileOptions

    /// A task of 10,000 events (2,500 research rounds), then its state rebuilt from the store:
    /// read, decode and fold, as a restart does.
    func measureRebuild(_ service: ResearchTaskService) async throws {
        let passage = Passage(chunkId: "c", source: "s.html", title: "T", headingPath: ["H"], text: "A sentence of evidence text.", start: 0, end: 28)
        let subQuestion = SubQuestion(id: "sq1", text: "what", queries: ["what"])
        var events: [TaskEvent] = [.submitted(question: "rebuild benchmark", principal: nil),
                                   .planned(ResearchPlan(subQuestions: [subQuestion]))]
        var round = 1
        while events.count + 4 <= 10_000 {
            events.append(.subQuestionStarted(subQuestionID: "sq1", round: round))
            events.append(.evidenceFound(subQuestionID: "sq1", round: round, evidence: [
                Evidence(subQuestionID: "sq1", sentence: "A sentence of evidence text.", passage: passage, start: 0, end: 28, score: 0.5)]))
            events.append(.critiqueIssued(round: round, critique: Critique(coverage: 0, revisions: [subQuestion], notes: [])))
            round += 1
            events.append(.revised(round: round, subQuestions: [subQuestion]))
        }
        let stream = "task-rebuild-benchmark-\(UUID().uuidString)"
        var version: Int64 = 0
        for start in stride(from: 0, to: events.count, by: 500) {
            let batch = events[start..<min(events.count, start + 500)].map { NewEvent(type: $0.typeName, payload: TaskEventCodec.encode($0)) }
            _ = try await service.store.append(batch, to: stream, expectedVersion: version)
            version += Int64(batch.count)
        }
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<5 {
            let elapsed = try await clock.measure { _ = try await service.state(of: stream) }
            times.append(Statistics.seconds(elapsed) * 1000)
        }
        let foldOnly = try clock.measure { _ = try TaskState.fold(events) }
        print("state rebuilt from \(events.count) stored events (read + decode + fold): median \(Statistics.format(Statistics.percentile(times, 0.5), 1)) ms; the fold alone: \(Statistics.format(Statistics.seconds(foldOnly) * 1000, 2)) ms")
    }

    /// Per LLM-backed agent: calls, failed calls, fallbacks to the built-in agent with their
    /// reasons, tokens and latency (as the model endpoint reported and the client measured).
    static func printUsage(_ usage: LanguageModelUsage, questions: Int) {
        let agents = ["planner", "researcher", "evaluator", "synthesizer", "citation_checker"]
        let snapshot = usage.snapshot()
        // Summed as Double: the token counts come from the endpoint and may be anything.
        var calls = 0.0, failed = 0.0, prompt = 0.0, completion = 0.0
        var latencies: [Double] = []
        for agent in agents + snapshot.keys.filter({ !agents.contains($0) }).sorted() {
            let entry = snapshot[agent] ?? LanguageModelUsage.AgentUsage()
            calls += Double(entry.calls)
            failed += Double(entry.failedCalls)
            prompt += Double(entry.promptTokens)
            completion += Double(entry.completionTokens)
            latencies += entry.latencies
            let reasons = entry.fallbacks.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.value)× \($0.key)" }
            let fallbacks = reasons.isEmpty ? "" : " (" + reasons.joined(separator: "; ") + ")"
            let p50 = Statistics.format(Statistics.percentile(entry.latencies, 0.5) * 1000, 0)
            let p95 = Statistics.format(Statistics.percentile(entry.latencies, 0.95) * 1000, 0)
            print("model agent \(agent): \(entry.calls) calls answered, \(entry.failedCalls) failed; fallbacks \(entry.fallbackCount)\(fallbacks); "
                  + "tokens \(entry.promptTokens) prompt + \(entry.completionTokens) completion; latency p50 \(p50) ms, p95 \(p95) ms")
        }
        let perQuestion = Statistics.format((prompt + completion) / Double(max(questions, 1)), 0)
        let p50 = Statistics.format(Statistics.percentile(latencies, 0.5) * 1000, 0)
        let p95 = Statistics.format(Statistics.percentile(latencies, 0.95) * 1000, 0)
        print("model total: \(Statistics.format(calls, 0)) calls answered, \(Statistics.format(failed, 0)) failed; "
              + "\(Statistics.format(prompt, 0)) prompt + \(Statistics.format(completion, 0)) completion tokens (\(perQuestion) per question); "
              + "latency p50 \(p50) ms, p95 \(p95) ms per call")
    }

    struct QuestionSet: Decodable {
        struct Question: Decodable {
            var id: String
            var question: String
            var answer_hint: String
            /// The pages (file names) that answer the question.
            var relevant: [String]
        }
        var questions: [Question]
    }

    func run() async throws {
        var set = try JSONDecoder().decode(QuestionSet.self, from: Data(contentsOf: URL(fileURLWithPath: questions)))
        if limit > 0 { set.questions = Array(set.questions.prefix(limit)) }
        let configuration = try BenchConfiguration.load(dataDirectory: dataDir, embedding, languageModel, relevance, configurationFile)
        // Tasks go to a scratch event store, without episodic memory: every question is
        // researched from scratch, and the data directory's own tasks are left alone.
        let eventsPath = FileManager.default.temporaryDirectory.appendingPathComponent("ares-bench-research-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: eventsPath) }
        let environment = try await ResearchEnvironment.open(
            configuration,
            options: .init(eventStorePath: eventsPath, episodicMemory: false, expansionTerms: expansionTerms,
                           embeddingRequestTimeout: BenchConfiguration.embeddingRequestTimeout),
            warning: BenchConfiguration.warning)
        let embedder = environment.embedder
        print("embedder: \(embedder.identity)")
        // Hybrid search quietly drops to keyword when the stored vectors came from another
        // embedder; a benchmark of the embedder must not measure that fallback.
        guard await environment.knowledge.vectorsMatchEmbedder else {
            throw ValidationError("\(dataDir) was ingested with another embedder than \(embedder.identity): run `ares-bench corpus` with the same embedder options")
        }
        if let model = configuration.chatModel { print("agents: LLM-backed (\(model.name)), each falling back to the built-in one") }
        let gates = configuration.relevance
        print("relevance gates: word share \(gates.minimumWordShare), cosine \(gates.minimumCosine) (with a semantic model), "
              + "share of a section's best \(gates.minimumShareOfBest), evidence score \(gates.minimumScore), sources per section \(gates.sourcesPerSection)")
        // The environment's agents carry the gates (configuration.relevance) and the expansion terms.
        let service = environment.service
        let clock = ContinuousClock()

        func normalize(_ text: String) -> String { text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        /// Strict: the cited passage contains the hint and comes from a page that answers the
        /// question (a common hint such as "OVER" also occurs on pages that do not answer it).
        func answers(_ passage: Passage, _ question: QuestionSet.Question, hint: String) -> Bool {
            question.relevant.contains(URL(fileURLWithPath: passage.source).lastPathComponent) && normalize(passage.text).contains(hint)
        }
        var cited = 0, citedAnywhere = 0, supported = 0, unsupported = 0, completed = 0, contradicted = 0, rounds = 0
        // Precision beside recall: claims from an answering page, the hint in the text itself.
        var claims = 0, claimsFromAnswering = 0, hintInText = 0, sections = 0, unansweredSections = 0, answeredNothing = 0
        var precisionPerReport: [Double] = []
        var latencies: [Double] = []
        for question in set.questions {
            var state = TaskState()
            let elapsed = try await clock.measure {
                let id = try await service.submit(question: question.question)
                state = try await service.run(id)
            }
            latencies.append(Statistics.seconds(elapsed) * 1000)
            if state.phase == .completed { completed += 1 }
            rounds += state.round
            if let contradictions = state.critiques.last?.contradictions, !contradictions.isEmpty {
                contradicted += 1
                if showMisses { for item in contradictions { print("contradiction \(question.id): \(item.reason): “\(item.first.sentence)” / “\(item.second.sentence)”") } }
            }
            let hint = normalize(question.answer_hint)
            let citations = state.report?.citations ?? []
            if citations.contains(where: { normalize($0.passage.text).contains(hint) }) { citedAnywhere += 1 }
            if citations.contains(where: { answers($0.passage, question, hint: hint) }) {
                cited += 1
            } else if showMisses {
                let evidence = state.evidence.values.flatMap { $0 }
                let found = evidence.contains { answers($0.passage, question, hint: hint) }
                print("miss \(question.id): \(found ? "an answering passage is in the evidence, not cited" : "no answering passage in the evidence") — \(question.question)")
            }
            if let report = state.report {
                let measures = ReportAnswerMeasures.measure(report, answeringPages: Set(question.relevant), hint: question.answer_hint)
                claims += measures.claims
                claimsFromAnswering += measures.claimsFromAnsweringPages
                if measures.hintInText { hintInText += 1 }
                if measures.claims > 0 { precisionPerReport.append(Double(measures.claimsFromAnsweringPages) / Double(measures.claims)) }
                sections += report.sections.count
                unansweredSections += measures.unansweredSections
                if measures.claims == 0 { answeredNothing += 1 }
                if showSentences {
                    let evidence = state.evidence.values.flatMap { $0 }
                    for section in report.sections {
                        for claim in ReportAnswerMeasures.claims(in: section.text) {
                            let found = evidence.filter { claim.text.hasPrefix($0.sentence) }
                            let score = found.map(\.score).max().map { Statistics.format($0, 3) } ?? "-"
                            let pages = found.map { ReportAnswerMeasures.page(of: $0.passage) }
                            let answering = pages.contains { question.relevant.contains($0) }
                            print("  \(question.id) \(answering ? "+" : "-") \(score) \(pages.first ?? "?"): \(claim.text.prefix(110))")
                        }
                    }
                }
                if showReports {
                    print("report \(question.id): cited \(measures.citesAnsweringPassage ? "yes" : "no"), hint in text \(measures.hintInText ? "yes" : "no"), "
                          + "\(measures.claimsFromAnsweringPages)/\(measures.claims) sentences from an answering page, "
                          + "\(measures.unansweredSections)/\(report.sections.count) sub-questions unanswered — \(question.question)")
                }
            }
            supported += state.citationCheck?.supportedSentences ?? 0
            unsupported += state.citationCheck?.unsupportedSentences ?? 0
        }
        let count = Double(set.questions.count)
        print("questions: \(set.questions.count), completed: \(completed)")
        print("share of reports citing an answering passage (a relevant page's passage with the answer hint): \(Statistics.format(Double(cited) / count))")
        print("share of reports citing any passage with the answer hint (lenient: the measure used before 2026-11-28): \(Statistics.format(Double(citedAnywhere) / count))")
        print("share of reports whose own text contains the answer hint: \(Statistics.format(Double(hintInText) / count))")
        print("precision: share of report sentences citing an answering page: \(Statistics.format(Double(claimsFromAnswering) / Double(max(claims, 1)))) "
              + "(\(claimsFromAnswering) of \(claims)); mean per report that says something: "
              + "\(Statistics.format(precisionPerReport.reduce(0, +) / Double(max(precisionPerReport.count, 1))))")
        print("report sentences per question: \(Statistics.format(Double(claims) / count, 2)); sub-questions unanswered: \(unansweredSections) of \(sections); "
              + "reports answering nothing: \(answeredNothing)")
        print("share of report sentences the verifier finds supported: \(Statistics.format(Double(supported) / Double(max(supported + unsupported, 1))))")
        print("reports whose evidence holds a contradiction across sources: \(contradicted); research rounds: \(Statistics.format(Double(rounds) / count, 2)) per question")
        print("end to end per question (durable task): p50 \(Statistics.format(Statistics.percentile(latencies, 0.5), 1)) ms, p95 \(Statistics.format(Statistics.percentile(latencies, 0.95), 1)) ms")
        if let usage = environment.languageModel?.usage { Self.printUsage(usage, questions: set.questions.count) }
        guard concurrent > 0 else { return }

        var failures = 0
        let concurrentTime = try await clock.measure {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for question in set.questions.prefix(concurrent) {
                    group.addTask {
                        let id = try await service.submit(question: question.question)
                        return try await service.run(id).phase == .completed
                    }
                }
                for try await ok in group where !ok { failures += 1 }
            }
        }
        try await measureRebuild(service)
        print("\(concurrent) concurrent tasks: \(concurrent - failures) completed, \(failures) failed, in \(Statistics.format(Statistics.seconds(concurrentTime) * 1000, 1)) ms")
    }
}
