import Foundation
import Knowledge
import Logging
import PostgresStorage

extension ResearchEnvironment {
    /// Runs `body` with the knowledge base the configuration names: with `--database`, the one
    /// in PostgreSQL that every replica shares (the schema migrated first, as `ares serve`
    /// would; the pool open only for the duration of `body`), else the data directory's.
    /// What the commands `ingest`, `search` and `remove` work on.
    public static func withKnowledgeBase<Result: Sendable>(
        _ configuration: AresConfiguration, embedder: any Embedder, access: KnowledgeBase.AccessMode,
        logger: Logger, warning: (String) -> Void, _ body: (KnowledgeBase) async throws -> Result
    ) async throws -> Result {
        guard let shared = configuration.database else {
            return try await body(try await openKnowledgeBase(configuration, embedder: embedder, access: access, warning: warning))
        }
        var settings = shared.settings
        // One command: a few connections are plenty.
        settings.maximumConnections = 4
        return try await PostgresDatabase.withDatabase(settings: settings, logger: logger) { database in
            let knowledge = try await openSharedKnowledgeBase(
                configuration, documents: PostgresDocumentStore(database: database), embedder: embedder, access: access, warning: warning)
            return try await body(knowledge)
        }
    }

    /// The knowledge base on the shared database's document store: its indexes loaded from the
    /// database's snapshot (or rebuilt from the stored passages, never re-embedded) and brought
    /// up to the latest change. To keep following other replicas' writes, run a
    /// `KnowledgeChangeFollower` on it (`ares serve --database` does).
    public static func openSharedKnowledgeBase(
        _ configuration: AresConfiguration, documents: PostgresDocumentStore, embedder: any Embedder,
        access: KnowledgeBase.AccessMode, warning: (String) -> Void
    ) async throws -> KnowledgeBase {
        let knowledge = try await KnowledgeBase(
            sharedRepository: documents, dataDirectory: configuration.dataDirectory, embedder: embedder, access: access)
        for message in await knowledge.warnings { warning(message) }
        return knowledge
    }
}
