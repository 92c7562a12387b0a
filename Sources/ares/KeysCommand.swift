import ArgumentParser
import AresComposition
import Audit
import Foundation
import Logging
import PostgresStorage
import Security

/// `ares keys create|list|revoke`: the API keys of a data directory. A new key is printed
/// once; only its hash is stored.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke the API keys that `ares serve` accepts.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    /// Runs `body` with the keys of the configuration: the shared database's with `--database`
    /// (migrated first, as `ares serve` would), else the data directory's.
    static func withStore<Result: Sendable>(_ data: DataDirectoryOptions, _ database: DatabaseConnectionOptions,
                                            _ body: (any APIKeyRepository) async throws -> Result) async throws -> Result {
        let configuration = try AresConfiguration.load(data, database)
        if let notice = try DataDirectoryPermissions.prepare(configuration.dataDirectory) { Console.warning(notice) }
        guard let shared = configuration.database else { return try await body(try ServerEnvironment.openKeyStore(configuration)) }
        var settings = shared.settings
        settings.maximumConnections = 2
        var logger = Logger(label: "ares.database", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        return try await PostgresDatabase.withDatabase(settings: settings, logger: logger) { database in
            try await body(PostgresAPIKeyStore(database: database))
        }
    }

    /// Key changes are recorded in the data directory's audit trail, the same file the server
    /// writes to; a change is reported done only once its record is on disk.
    /// The data directory is made first (private), as `withStore` would: the first key of a
    /// new deployment is often made before anything else touches its data directory.
    static func openAuditTrail(_ data: DataDirectoryOptions) throws -> AuditTrail {
        let configuration = try AresConfiguration.load(data)
        if let notice = try DataDirectoryPermissions.prepare(configuration.dataDirectory) { Console.warning(notice) }
        return try ServerEnvironment.openAuditTrail(configuration)
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it (the only time it is shown).")

        @Option(help: "viewer (reads tasks, searches), researcher (also submits and cancels its tasks) or admin (also ingests, sees all tasks).")
        var role: Role

        @Option(help: "A name to recognize the key by in `ares keys list` and logs.")
        var name = ""

        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var database: DatabaseConnectionOptions

        func run() async throws {
            try await Console.reportingErrors {
                let audit = try KeysCommand.openAuditTrail(data)
                let (role, name) = (role, name)
                let (token, key) = try await KeysCommand.withStore(data, database) { store in
                    let (token, key) = try await store.create(role: role, name: name)
                    do {
                        try await audit.recordDurably(AuditEvent(kind: .keyCreated, outcome: .succeeded, principal: AuditEvent.localOperator,
                                                                 details: ["keyId": key.id, "role": key.role.rawValue, "name": key.name]))
                    } catch {
                        // No key without its record: the new key is revoked before it was ever shown.
                        _ = try? await store.revoke(key.id)
                        throw error
                    }
                    return (token, key)
                }
                print(token.text)
                Console.note("created \(key.role.rawValue) key \(key.id) (\(key.name)); store it now: ares keeps only its hash")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (ids, names, roles; never secrets).")
        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var database: DatabaseConnectionOptions

        func run() async throws {
            try await Console.reportingErrors {
                let keys = try await KeysCommand.withStore(data, database) { try await $0.all() }
                if keys.isEmpty { print("No API keys; create one with `ares keys create --role admin`.") }
                for key in keys {
                    let state = key.revokedAt.map { "revoked \($0.formatted(.iso8601))" } ?? "active"
                    print("\(key.id)  \(key.role.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(state)  \(key.name)")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key; a running server refuses it from the next request.")

        @Argument(help: "The key id (from `ares keys list`) or the key itself.")
        var key: String

        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var database: DatabaseConnectionOptions

        func run() async throws {
            try await Console.reportingErrors {
                let audit = try KeysCommand.openAuditTrail(data)
                let key = key
                let revoked = try await KeysCommand.withStore(data, database) { try await $0.revoke(key) }
                try await audit.recordDurably(AuditEvent(kind: .keyRevoked, outcome: .succeeded, principal: AuditEvent.localOperator,
                                                         details: ["keyId": revoked.id, "role": revoked.role.rawValue, "name": revoked.name]))
                Console.note("revoked key \(revoked.id) (\(revoked.name))")
            }
        }
    }
}

extension Role: ExpressibleByArgument {}
