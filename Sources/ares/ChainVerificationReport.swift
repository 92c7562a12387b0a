import ArgumentParser
import Logging
import PostgresStorage
import Storage

/// What `ares verify` and `ares db verify` say about a store's hash chains, whichever backend
/// holds them: the same checks (`EventStore.verify()`: versions, links, contents, heads) and
/// the same words, so a chain verified before `ares db import` reads the same after it.
enum ChainVerificationReport {
    /// Prints the one-line verdict, or each break on standard error and exits with failure.
    static func report(_ result: ChainVerification) throws {
        guard result.isIntact else {
            for problem in result.breaks { Console.error("chain break: \(problem)") }
            throw ExitCode.failure
        }
        let pruned = result.prunedStreams > 0 ? "; \(result.prunedStreams) pruned streams match their retention checkpoints" : ""
        print("ok: \(result.streams) streams, \(result.events) events, every hash chain intact\(pruned)")
    }

    /// Verifies the event store in the database: reads only (no migration; a schema newer than
    /// this ares is refused), a connection or two.
    static func verifyDatabase(settings: DatabaseSettings, logger: Logger) async throws -> ChainVerification {
        var settings = settings
        settings.maximumConnections = 2
        return try await PostgresDatabase.withDatabase(settings: settings, logger: logger, migrate: false) { database in
            try await PostgresEventStore(database: database).verify()
        }
    }
}
