import Foundation
import Knowledge
import Logging
import PostgresStorage
import Server
import Storage

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
        return try await withCommandDatabase(shared, logger: logger) { database in
            let knowledge = try await openSharedKnowledgeBase(
                configuration, documents: PostgresDocumentStore(database: database), embedder: embedder, access: access, warning: warning)
            return try await body(knowledge)
        }
    }

    /// One command's pool on the shared database, the schema migrated first (as `ares serve`
    /// would), open only for the duration of `body`: a few connections are plenty.
    static func withCommandDatabase<Result: Sendable>(
        _ shared: AresConfiguration.Database, logger: Logger, _ body: (PostgresDatabase) async throws -> Result
    ) async throws -> Result {
        var settings = shared.settings
        settings.maximumConnections = 4
        return try await PostgresDatabase.withDatabase(settings: settings, logger: logger, body)
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

extension ResearchEnvironment {
    /// The knowledge base `ares serve --database` serves: on the shared database's document
    /// store, nothing read yet (the server listens before the database answers). Its indexes are
    /// loaded by a `KnowledgeChangeFollower` once the database is ready, and follow the other
    /// replicas' writes from then on. Until they are loaded, and whenever the database is lost,
    /// searches and ingests are refused with the retryable error the event store gives (JSON-RPC
    /// -32050, HTTP 503 with Retry-After; a running task pauses and tries again). The index
    /// snapshot in the database is rewritten on `schedule`, not after every ingest.
    public static func openDeferredSharedKnowledgeBase(
        _ configuration: AresConfiguration, shared: SharedDatabase, embedder: any Embedder, access: KnowledgeBase.AccessMode,
        schedule: IndexSnapshotSchedule = IndexSnapshotSchedule()
    ) -> KnowledgeBase {
        KnowledgeBase(deferredSharedRepository: PostgresDocumentStore(database: shared.database),
                      dataDirectory: configuration.dataDirectory, embedder: embedder, access: access,
                      admission: { loaded in sharedKnowledgeRefusal(shared.currentUnavailability, indexesLoaded: loaded) },
                      snapshotSchedule: schedule)
    }

    /// Why the shared knowledge base cannot serve: the database's unavailability first (its
    /// passages are read from there), else indexes not loaded yet; nil when it can.
    static func sharedKnowledgeRefusal(_ databaseRefusal: StorageUnavailableError?, indexesLoaded: Bool) -> StorageUnavailableError? {
        if let databaseRefusal { return databaseRefusal }
        guard indexesLoaded else {
            return StorageUnavailableError(reason: .unreachable, detail: "the server is still loading the knowledge base's indexes from the database")
        }
        return nil
    }

    /// `/health/ready`'s view of the shared knowledge base: not ready while its indexes load;
    /// once loaded, how many passages they hold and the change position they reached. From
    /// memory only: whether the database answers is the "database" check's (a query here would
    /// wait out the pool's connect attempts when it has just gone).
    public static func sharedKnowledgeReadiness(_ knowledge: KnowledgeBase) -> ReadinessCheck {
        ReadinessCheck(name: "knowledgeBase") {
            guard knowledge.isLoaded else {
                return .init(ready: false, detail: "loading: the index snapshot from the database, then the changes after it")
            }
            return .init(ready: true, detail: "ok: \(knowledge.indexedPassageCount) passages indexed (shared, change position \(knowledge.indexedPosition))")
        }
    }
}
