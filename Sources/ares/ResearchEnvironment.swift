import Agents
import ArgumentParser
import Foundation
import Knowledge
import ResearchCore
import Storage
import TaskService

/// Wires a research task service from a data directory: the knowledge base (read-only),
/// the event store `tasks.sqlite`, and the agents: built-in, or LLM-backed when a model is
/// configured (planner, researcher, evaluator, synthesizer and citation verifier; each falls
/// back to its built-in counterpart on failure, and the report says so).
struct ResearchEnvironment {
    static let eventStoreFileName = "tasks.sqlite"

    let knowledge: KnowledgeBase
    let store: SQLiteEventStore
    let service: ResearchTaskService

    static func open(_ data: DataDirectoryOptions, embedder: any Embedder, model: (any LanguageModel)? = nil, requireDocuments: Bool,
                     access: KnowledgeBase.AccessMode = .readOnly) async throws -> ResearchEnvironment {
        if access == .readWrite { try DataDirectoryPermissions.prepare(data.url) }
        let knowledge = try KnowledgeBase(dataDirectory: data.url, embedder: embedder, access: access)
        for warning in await knowledge.warnings { Console.warning(warning) }
        if requireDocuments, try await knowledge.counts().chunks == 0 {
            throw ValidationError("the knowledge base in \(data.url.path) has no documents: run `ares ingest PATH...` first, so there is something to research")
        }
        if access == .readOnly { try DataDirectoryPermissions.prepare(data.url) }
        let store = try SQLiteEventStore(path: data.url.appendingPathComponent(eventStoreFileName).path)
        let memory = EventStoreEpisodicMemory(store: store)
        let agents = ResearchTeam.agents(knowledge: knowledge, embedder: embedder, model: model, memory: memory)
        return ResearchEnvironment(knowledge: knowledge, store: store,
                                   service: ResearchTaskService(store: store, workflow: ResearchWorkflow(agents: agents)))
    }
}
