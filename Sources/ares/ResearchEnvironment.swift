import Agents
import ArgumentParser
import Foundation
import Knowledge
import ResearchCore
import Storage
import TaskService

/// Wires a research task service from a data directory: the knowledge base (read-only),
/// the event store `tasks.sqlite`, and the agents: built-in, with the LLM-backed
/// planner and synthesizer when a model is configured (each falls back to its built-in
/// counterpart on failure).
struct ResearchEnvironment {
    static let eventStoreFileName = "tasks.sqlite"

    let knowledge: KnowledgeBase
    let service: ResearchTaskService

    static func open(_ data: DataDirectoryOptions, embedder: any Embedder, model: (any LanguageModel)? = nil, requireDocuments: Bool) async throws -> ResearchEnvironment {
        let knowledge = try KnowledgeBase(dataDirectory: data.url, embedder: embedder, access: .readOnly)
        for warning in await knowledge.warnings { Console.warning(warning) }
        if requireDocuments, try await knowledge.counts().chunks == 0 {
            throw ValidationError("the knowledge base in \(data.url.path) has no documents: run `ares ingest PATH...` first, so there is something to research")
        }
        try FileManager.default.createDirectory(at: data.url, withIntermediateDirectories: true)
        let store = try SQLiteEventStore(path: data.url.appendingPathComponent(eventStoreFileName).path)
        let memory = EventStoreEpisodicMemory(store: store)
        let agents = ResearchAgents(
            planner: MemoryAwarePlanner(planner: model.map { LanguageModelPlanner(model: $0) as any ResearchPlanner } ?? HeuristicPlanner(), memory: memory), researcher: RetrievalResearcher(retriever: knowledge),
            evaluator: CoverageEvaluator(),
            synthesizer: model.map { LanguageModelSynthesizer(model: $0) as any ReportSynthesizer } ?? ExtractiveSynthesizer(),
            checker: QuotationCitationChecker(), memory: memory)
        return ResearchEnvironment(knowledge: knowledge, service: ResearchTaskService(store: store, workflow: ResearchWorkflow(agents: agents)))
    }
}

/// One line per recorded step, for people watching a task on a terminal.
enum TaskProgressLine {
    static func describe(_ event: TaskEvent) -> String? {
        switch event {
        case .submitted: nil
        case let .planned(plan):
            "plan: " + plan.subQuestions.map { "[\($0.id)] \($0.text)" }.joined(separator: "; ")
                + (plan.reusedFromTask.map { " (reused from \($0))" } ?? "")
        case let .subQuestionStarted(id, round): "researching \(id) (round \(round))"
        case let .evidenceFound(id, _, evidence): "\(id): \(evidence.count) evidence sentence\(evidence.count == 1 ? "" : "s")"
        case let .critiqueIssued(round, critique):
            "critique round \(round): coverage \(String(format: "%.2f", critique.coverage))" + (critique.isSatisfied ? "" : ", researching again")
        case let .revised(round, subQuestions): "round \(round): " + subQuestions.map(\.id).joined(separator: ", ")
        case .synthesized: "report written"
        case let .citationsVerified(check, _): "citations checked: \(check.supportedSentences) supported, \(check.unsupportedSentences) removed"
        case .completed: "completed"
        case let .failed(reason): "failed: \(reason)"
        case let .canceled(reason): "canceled: \(reason)"
        }
    }
}
