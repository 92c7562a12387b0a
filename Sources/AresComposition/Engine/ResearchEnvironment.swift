import Agents
import Foundation
import Knowledge
import ResearchCore
import Storage
import TaskService

/// Wires a research task service from a configuration: the knowledge base in the data
/// directory, the event store `tasks.sqlite`, and the agents: built-in, or LLM-backed when a
/// model is configured (planner, researcher, evaluator, synthesizer and citation verifier;
/// each falls back to its built-in counterpart on failure, and the report says so).
public struct ResearchEnvironment: Sendable {
    public static let eventStoreFileName = "tasks.sqlite"

    /// How to open it; the defaults are those of the command line.
    public struct Options: Sendable {
        /// Read-write takes the data directory's writer lock.
        public var access: KnowledgeBase.AccessMode
        /// Refuse to open a knowledge base without documents (there is nothing to research).
        public var requireDocuments: Bool
        /// Use the configured chat model for LLM-backed agents (false: built-in agents only).
        public var languageModel: Bool
        /// The event store's file; nil: `tasks.sqlite` in the data directory.
        public var eventStorePath: String?
        /// An event store opened elsewhere (the shared database's); nil: the SQLite file.
        public var eventStore: (any EventStore)? = nil
        /// Opens the knowledge base with the environment's embedder (the shared database's,
        /// `openDeferredSharedKnowledgeBase`); nil: the data directory's.
        public var knowledgeBase: (@Sendable (any Embedder) throws -> KnowledgeBase)? = nil
        /// Remember finished tasks so that near-identical questions reuse their plans.
        public var episodicMemory: Bool
        /// Related corpus terms added to each expanded query; nil: the research team's default.
        public var expansionTerms: Int?
        /// Overrides the embeddings client's request timeout.
        public var embeddingRequestTimeout: Duration?

        public init(access: KnowledgeBase.AccessMode = .readOnly, requireDocuments: Bool = false, languageModel: Bool = true,
                    eventStorePath: String? = nil, episodicMemory: Bool = true, expansionTerms: Int? = nil,
                    embeddingRequestTimeout: Duration? = nil) {
            self.access = access
            self.requireDocuments = requireDocuments
            self.languageModel = languageModel
            self.eventStorePath = eventStorePath
            self.episodicMemory = episodicMemory
            self.expansionTerms = expansionTerms
            self.embeddingRequestTimeout = embeddingRequestTimeout
        }
    }

    public let configuration: AresConfiguration
    public let embedder: any Embedder
    public let knowledge: KnowledgeBase
    /// `tasks.sqlite` in the data directory, or the shared database's store (`--database`).
    public let store: any EventStore
    public let service: ResearchTaskService
    /// The chat model of the LLM-backed agents (nil: built-in agents only); its `usage` counts
    /// their calls, tokens and fallbacks.
    public let languageModel: (any LanguageModel)?

    /// Opens everything; `warning` receives what the user should know (a rebuilt index, a
    /// data directory made private).
    public static func open(_ configuration: AresConfiguration, options: Options = Options(),
                            warning: (String) -> Void) async throws -> ResearchEnvironment {
        let embedder = try await EmbedderFactory.make(configuration, requestTimeout: options.embeddingRequestTimeout)
        let model = options.languageModel ? try LanguageModelFactory.make(configuration) : nil
        let knowledge = if let open = options.knowledgeBase {
            try open(embedder)
        } else {
            try await openKnowledgeBase(configuration, embedder: embedder, access: options.access, warning: warning)
        }
        let directory = configuration.dataDirectory
        if options.requireDocuments, try await knowledge.counts().chunks == 0 {
            throw CompositionError.emptyKnowledgeBase(path: directory.path)
        }
        // (A read-write knowledge base of the data directory did this when it opened; one opened elsewhere did not.)
        if options.access == .readOnly || options.knowledgeBase != nil, let notice = try DataDirectoryPermissions.prepare(directory) { warning(notice) }
        let store: any EventStore = try options.eventStore
            ?? SQLiteEventStore(path: options.eventStorePath ?? directory.appendingPathComponent(eventStoreFileName).path)
        let memory = options.episodicMemory ? EventStoreEpisodicMemory(store: store) : nil
        let agents = if let terms = options.expansionTerms {
            ResearchTeam.agents(knowledge: knowledge, embedder: embedder, model: model, memory: memory, expansionTerms: terms,
                                relevance: configuration.relevance)
        } else {
            ResearchTeam.agents(knowledge: knowledge, embedder: embedder, model: model, memory: memory, relevance: configuration.relevance)
        }
        return ResearchEnvironment(configuration: configuration, embedder: embedder, knowledge: knowledge, store: store,
                                   service: ResearchTaskService(store: store, workflow: ResearchWorkflow(agents: agents, isInterruption: Self.isStorageInterruption),
                                                                passages: knowledge, eventFormat: configuration.eventFormat),
                                   languageModel: model)
    }

    /// An agent's error that says the storage is away (a shared knowledge base whose database
    /// does not answer or whose indexes are still loading), not that the research failed:
    /// the task pauses at its last recorded step and resumes (see `ResearchWorkflow`).
    static let isStorageInterruption: @Sendable (any Error) -> Bool = { StorageUnavailableError.classify($0) != nil }

    /// Opens the knowledge base of the data directory with `embedder`. Read-write access first
    /// creates the directory, or makes it private to its owner; its warnings go to `warning`.
    public static func openKnowledgeBase(_ configuration: AresConfiguration, embedder: any Embedder, access: KnowledgeBase.AccessMode,
                                         warning: (String) -> Void) async throws -> KnowledgeBase {
        if access == .readWrite, let notice = try DataDirectoryPermissions.prepare(configuration.dataDirectory) { warning(notice) }
        let knowledge = try KnowledgeBase(dataDirectory: configuration.dataDirectory, embedder: embedder, access: access)
        for message in await knowledge.warnings { warning(message) }
        return knowledge
    }
}
