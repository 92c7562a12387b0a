import ArgumentParser
import AresComposition
import Audit
import Foundation
import Security

/// `ares keys create|list|revoke`: the API keys of a data directory. A new key is printed
/// once; only its hash is stored.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke the API keys that `ares serve` accepts.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    static func openStore(_ data: DataDirectoryOptions) throws -> APIKeyStore {
        let configuration = try AresConfiguration.load(data)
        if let notice = try DataDirectoryPermissions.prepare(configuration.dataDirectory) { Console.warning(notice) }
        return try ServerEnvironment.openKeyStore(configuration)
    }

    /// Key changes are recorded in the data directory's audit trail, the same file the server
    /// writes to; a change is reported done only once its record is on disk.
    static func openAuditTrail(_ data: DataDirectoryOptions) throws -> AuditTrail {
        try ServerEnvironment.openAuditTrail(try AresConfiguration.load(data))
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it (the only time it is shown).")

        @Option(help: "viewer (reads tasks, searches), researcher (also submits and cancels its tasks) or admin (also ingests, sees all tasks).")
        var role: Role

        @Option(help: "A name to recognize the key by in `ares keys list` and logs.")
        var name = ""

        @OptionGroup var data: DataDirectoryOptions

        func run() async throws {
            try await Console.reportingErrors {
                let audit = try KeysCommand.openAuditTrail(data)
                let store = try KeysCommand.openStore(data)
                let (token, key) = try store.create(role: role, name: name)
                do {
                    try await audit.recordDurably(AuditEvent(kind: .keyCreated, outcome: .succeeded, principal: AuditEvent.localOperator,
                                                             details: ["keyId": key.id, "role": key.role.rawValue, "name": key.name]))
                } catch {
                    // No key without its record: the new key is revoked before it was ever shown.
                    _ = try? store.revoke(key.id)
                    throw error
                }
                print(token.text)
                Console.note("created \(key.role.rawValue) key \(key.id) (\(key.name)); store it now: ares keeps only its hash")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (ids, names, roles; never secrets).")
        @OptionGroup var data: DataDirectoryOptions

        func run() async throws {
            try await Console.reportingErrors {
                let keys = try KeysCommand.openStore(data).all()
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

        func run() async throws {
            try await Console.reportingErrors {
                let audit = try KeysCommand.openAuditTrail(data)
                let revoked = try KeysCommand.openStore(data).revoke(key)
                try await audit.recordDurably(AuditEvent(kind: .keyRevoked, outcome: .succeeded, principal: AuditEvent.localOperator,
                                                         details: ["keyId": revoked.id, "role": revoked.role.rawValue, "name": revoked.name]))
                Console.note("revoked key \(revoked.id) (\(revoked.name))")
            }
        }
    }
}

extension Role: ExpressibleByArgument {}
