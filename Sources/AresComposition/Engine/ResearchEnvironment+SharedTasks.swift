import Foundation
import Knowledge
import Logging
import PostgresStorage
import TaskService

extension ResearchEnvironment {
    /// Runs `body` with the task service the configuration names: with `--database`, over the
    /// event store every replica shares, its knowledge base loaded from the database too (a
    /// task's evidence is stored as references to passages, filled in from there); else the
    /// data directory's. What `ares tasks list`, `show`, `events` and `cancel` work on. The
    /// built-in agents only: these commands read tasks and record cancellations, they do not
    /// research.
    public static func withTaskService<Result: Sendable>(
        _ configuration: AresConfiguration, logger: Logger, warning: (String) -> Void,
        _ body: (ResearchTaskService) async throws -> Result
    ) async throws -> Result {
        guard let shared = configuration.database else {
            let environment = try await open(configuration, options: .init(languageModel: false), warning: warning)
            return try await body(environment.service)
        }
        return try await withCommandDatabase(shared, logger: logger) { database in
            let knowledge = try await openSharedKnowledgeBase(
                configuration, documents: PostgresDocumentStore(database: database), embedder: try await EmbedderFactory.make(configuration),
                access: .readOnly, warning: warning)
            var options = Options(languageModel: false)
            options.eventStore = PostgresEventStore(database: database)
            options.knowledgeBase = { _ in knowledge }
            let environment = try await open(configuration, options: options, warning: warning)
            return try await body(environment.service)
        }
    }
}
