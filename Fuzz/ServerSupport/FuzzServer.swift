import AresComposition
import Foundation
import FuzzSupport
import Knowledge
import Logging
import ResearchCore
import Security
import Server
import Storage
import TaskService

/// The server's real components for the protocol fuzzers, assembled as `ares serve` does
/// (AresComposition's ServerEnvironment) in a scratch data directory: the research
/// environment (knowledge base with three small documents, SQLite event store, built-in
/// research team), a task runner with small limits, push-notification configs and API keys.
/// Unlike `ares serve`, no webhook sender is attached: no input ever makes a network call.
///
/// Each fuzz input may refer to these fixtures with placeholders that `substitute` replaces:
/// `@T0@` (a completed task of the admin), `@T1@` (a canceled task of the admin), `@T2@` (a
/// completed task of the researcher), `@P0@` (the id of a push config of `@T0@`),
/// `@KEY_ADMIN@`, `@KEY_RESEARCHER@`, `@KEY_VIEWER@` (API keys), `@DOCS@` (the folder of the
/// documents, the only place `ares/ingest` may read).
public final class FuzzServer: @unchecked Sendable {
    public let directory: URL
    public let documents: URL
    public let configuration: ServerConfiguration
    public let knowledge: KnowledgeBase
    public let store: any EventStore
    public let service: ResearchTaskService
    public let runner: TaskRunner
    public let pushConfigs: PushNotificationConfigStore
    public let keyStore: APIKeyStore
    public let keys: APIKeyAuthenticator
    public let access: AccessControl
    public let metrics = ServerMetrics()
    /// Logs nothing: the fuzzers' output is libFuzzer's.
    public let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
    private let running: Task<Void, Never>
    public private(set) var admin = Principal(id: "", name: "", role: .admin)
    public private(set) var researcher = Principal(id: "", name: "", role: .researcher)
    public private(set) var viewer = Principal(id: "", name: "", role: .viewer)
    private var replacements: [(placeholder: [UInt8], value: [UInt8])] = []
    public private(set) var taskIDs: [String] = []

    /// Tasks that fuzz inputs submitted since this environment was opened.
    public var submissions = 0

    public static let limits = TaskRunner.Limits(maximumRunning: 2, maximumQueued: 8, shutdownGrace: .seconds(2))

    private init(directory: URL) async throws {
        self.directory = directory
        documents = directory.appendingPathComponent("docs", isDirectory: true)
        let data = directory.appendingPathComponent("data", isDirectory: true)
        try FileManager.default.createDirectory(at: documents, withIntermediateDirectories: true)
        for (name, text) in Self.documentFiles {
            try Data(text.utf8).write(to: documents.appendingPathComponent(name))
        }
        // The configuration as `ares serve --data-dir DATA` would load it, ignoring the
        // environment (no ARES_* variable of the machine leaks in).
        var flags = ConfigurationFlags()
        flags.set(.dataDir, data.path)
        let aresConfiguration = try AresConfiguration.load(flags: flags, environment: [:], workingDirectory: directory)
        var configuration = aresConfiguration.server.serverConfiguration(version: "fuzz")
        configuration.tasks = Self.limits
        self.configuration = configuration
        let research = try await ResearchEnvironment.open(
            aresConfiguration, options: .init(access: .readWrite, languageModel: false), warning: { _ in })
        knowledge = research.knowledge
        store = research.store
        service = research.service
        runner = TaskRunner(directory: TaskDirectory(service: service), limits: Self.limits)
        let validator = PushNotificationConfigValidator(allowsPrivateAddresses: false)
        pushConfigs = PushNotificationConfigStore(store: store, validate: validator.validate)
        keyStore = try ServerEnvironment.openKeyStore(aresConfiguration)
        keys = try APIKeyAuthenticator(store: keyStore)
        access = AccessControl(authenticator: keys, developmentMode: false)
        running = Task { [runner] in await runner.run() }
    }

    /// A fresh environment: documents ingested, fixture tasks run, keys created.
    public static func open() async throws -> FuzzServer {
        let server = try await FuzzServer(directory: try FuzzScratch.makeDirectory("server"))
        try await server.prepare()
        return server
    }

    private func prepare() async throws {
        _ = try await knowledge.ingest([documents.path], relativeTo: directory)
        var tokens: [Role: String] = [:]
        for role in [Role.admin, .researcher, .viewer] {
            let (token, _) = try keyStore.create(role: role, name: "fuzz \(role.rawValue)")
            tokens[role] = token.text
            guard case let .authenticated(principal) = keys.authenticate(token.text) else {
                throw FuzzSetupError("the new \(role.rawValue) key does not authenticate")
            }
            switch role {
            case .admin: admin = principal
            case .researcher: researcher = principal
            case .viewer: viewer = principal
            }
        }
        let completed = try await runner.submit(question: "How are tasks resumed after a restart?", principal: admin.id, contextID: "ctx-fuzz")
        _ = try await runner.directory.waitUntilEnded(completed.id, timeout: .seconds(60))
        let canceled = try await runner.submit(question: "What does ingest skip?", principal: admin.id, contextID: "ctx-fuzz")
        _ = try await runner.cancel(canceled.id, reason: "canceled by the fuzz fixture")
        _ = try await runner.directory.waitUntilEnded(canceled.id, timeout: .seconds(60))
        let other = try await runner.submit(question: "How does hybrid search rank passages?", principal: researcher.id, contextID: nil)
        _ = try await runner.directory.waitUntilEnded(other.id, timeout: .seconds(60))
        taskIDs = [completed.id, canceled.id, other.id]
        let stored = try await pushConfigs.set(PushNotificationConfig(url: "http://93.184.216.34/hook", token: "fuzz"), taskID: completed.id)
        replacements = [
            ("@T0@", completed.id), ("@T1@", canceled.id), ("@T2@", other.id), ("@P0@", stored.id ?? "p0"),
            ("@KEY_ADMIN@", tokens[.admin] ?? ""), ("@KEY_RESEARCHER@", tokens[.researcher] ?? ""),
            ("@KEY_VIEWER@", tokens[.viewer] ?? ""), ("@DOCS@", documents.path),
        ].map { (placeholder: Array($0.0.utf8), value: Array($0.1.utf8)) }
    }

    /// Stops the runner and deletes the scratch folder.
    public func close() async {
        runner.stop()
        await running.value
        FuzzScratch.remove(directory)
    }

    /// Waits (up to `timeout`) until no task is running or queued, so that one input's tasks
    /// do not run into the next input's coverage.
    public func waitUntilIdle(timeout: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now + timeout
        while runner.runningCount > 0 || runner.queuedCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// The input with the placeholders replaced by the fixtures' ids and keys.
    public func substitute(_ input: [UInt8]) -> [UInt8] {
        guard input.contains(UInt8(ascii: "@")) else { return input }
        var output: [UInt8] = []
        output.reserveCapacity(input.count + 64)
        var index = 0
        outer: while index < input.count {
            if input[index] == UInt8(ascii: "@") {
                for (placeholder, value) in replacements where input[index...].starts(with: placeholder) {
                    output += value
                    index += placeholder.count
                    continue outer
                }
            }
            output.append(input[index])
            index += 1
        }
        return output
    }

    /// Whether `path` is inside the documents folder once resolved (`ares/ingest` refuses the
    /// rest in the fuzzers: an admin may ingest any file of the server's disk by design).
    public func isInsideDocuments(_ path: String) -> Bool {
        guard path.hasPrefix("/"), !path.utf8.contains(0) else { return false }
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        let root = documents.standardizedFileURL.resolvingSymlinksInPath().path
        return resolved == root || resolved.hasPrefix(root + "/")
    }

    /// A2A's and ares's JSON-RPC methods as `AresServer` mounts them, `ares/ingest` confined to
    /// the documents folder.
    public func jsonRPCMethods(blockingTimeout: Duration = .seconds(10)) -> (a2a: [JSONRPCMethod], legacy: [JSONRPCMethod], ares: [JSONRPCMethod]) {
        let a2a = A2AMethods(runner: runner, pushConfigs: pushConfigs, quotas: configuration.principalQuotas,
                             extendedCard: { Data(#"{"name":"ares"}"#.utf8) }, blockingTimeout: blockingTimeout)
        let ares = AresMethods(runner: runner, knowledge: knowledge).methods.map { method -> JSONRPCMethod in
            guard method.name == "ares/ingest" else { return method }
            let original = method.handler
            return JSONRPCMethod(method.name, permission: method.permission) { [self] request in
                struct Paths: Decodable { var paths: [String] }
                // Deny unless every path is known to be inside (params this check cannot read included).
                guard let given = try? request.params(Paths.self), given.paths.allSatisfy(isInsideDocuments) else {
                    throw JSONRPCError.invalidParams("fuzzing: only @DOCS@ may be ingested")
                }
                return try await original(request)
            }
        }
        return (a2a.methods, A2AMethods.legacyMethods, ares)
    }

    /// A research knowledge base needs something to find.
    static let documentFiles: [(String, String)] = [
        ("tasks.md", """
            ---
            title: Durable tasks
            ---
            # Durable tasks

            Every research task is a stream of events in `tasks.sqlite`. A step runs only after its
            event is appended with the expected stream version, so a crash loses at most the step
            that was running.

            ## Resuming

            Tasks are resumed from their last recorded step after a restart: `ares tasks resume`
            finishes the tasks a crash interrupted. Canceling a task records a `canceled` event.

            - `ares verify` checks every task's hash chain.
            - Each event stores the SHA-256 of the previous one.
            """),
        ("search.html", """
            <!DOCTYPE html><html><head><title>Hybrid search</title></head><body>
            <h1>Hybrid search</h1>
            <p>ares ranks passages with BM25 keyword scores and HNSW vector similarity, fused by
            reciprocal rank fusion. The index snapshot <code>index.bin</code> ends with a checksum.</p>
            <h2>Ingest</h2>
            <ul><li>Ingest skips binary files and PDFs.</li><li>Files larger than 64 MB are skipped.</li></ul>
            <table><tr><th>mode</th><th>meaning</th></tr><tr><td>keyword</td><td>BM25 only</td></tr></table>
            </body></html>
            """),
        ("notes.txt", """
            Backups. Restore a dump with pg_restore; VACUUM FULL takes an exclusive lock on the table.
            The knowledge base lives in knowledge.sqlite, in WAL mode.
            """),
    ]
}

public struct FuzzSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A reply that must be one JSON object (every JSON-RPC and MCP answer is).
public func requireJSONObject(_ data: Data, _ what: @autoclosure () -> String) {
    guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
        fuzzFailure("\(what()) is not a JSON object: \(String(decoding: data.prefix(300), as: UTF8.self))")
    }
}
