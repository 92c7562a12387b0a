import Foundation
import Synchronization

/// The store the server tests run `ares` on, chosen for the whole test process by
/// `ARES_TEST_BACKEND` (issue 16: the server suites run against both backends):
/// `sqlite` (the default) keeps everything in the data directory, `postgres` gives each data
/// directory a fresh database of its own in the process's throwaway cluster
/// (`TestPostgresCluster.sharedStarted()`), and every `ares` run on that data directory —
/// `ingest`, `keys create`, `serve` — gets the database's URL and password file in its
/// environment, so it keeps its tasks, keys and knowledge base there. The data directory
/// stays: `serve --database` still uses it for what is local to a replica.
public enum TestBackend: String, Sendable, CaseIterable {
    case sqlite
    case postgres

    public static let variable = "ARES_TEST_BACKEND"

    /// The backend this test process runs on. An unknown value is an error that says which
    /// values there are, never a silent fall back to SQLite (a misspelt CI step would
    /// otherwise pass while testing nothing new).
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TestBackend {
        guard let text = environment[variable], !text.isEmpty else { return .sqlite }
        guard let backend = TestBackend(rawValue: text.lowercased()) else {
            throw BackendError(description: "\(variable)=\(text) is not a backend: use one of "
                + allCases.map(\.rawValue).joined(separator: ", "))
        }
        return backend
    }

    /// Prepares the store behind a new data directory and returns the environment every `ares`
    /// run on it needs: nothing for SQLite; for PostgreSQL a fresh database (named after
    /// `name`), remembered for `environment(forDataDirectory:)`.
    public func provision(dataDirectory: URL, name: String = "server") throws -> [String: String] {
        switch self {
        case .sqlite:
            return [:]
        case .postgres:
            let cluster = try TestPostgresCluster.sharedStarted()
            let environment = cluster.environment(database: try cluster.createDatabase(prefix: name))
            Self.databases.withLock { $0[Self.key(dataDirectory)] = environment }
            return environment
        }
    }

    /// Prepares a new data directory's store with the documents of `folder` already ingested, if
    /// this backend can do that faster than an ingest per test; returns whether it did (on
    /// SQLite it does not: the caller runs `ares ingest` into the directory, as before).
    ///
    /// On PostgreSQL the first call for a folder ingests it once, with the real `ares ingest`,
    /// into a database of its own, and every call (that first one too) gets a copy of that
    /// database (`CREATE DATABASE … TEMPLATE`, a file copy: ~0.2 s instead of ~4 s of ingest per
    /// test, most of the suites' set-up). The copy holds exactly what the ingest committed.
    public func provisionIngested(dataDirectory: URL, documents folder: URL, name: String = "server") throws -> Bool {
        guard self == .postgres else { return false }
        let cluster = try TestPostgresCluster.sharedStarted()
        let template = try Self.ingestedTemplate(of: folder, in: cluster)
        let database = "\(name.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "_" })_\(UUID().uuidString.prefix(8).lowercased())"
        try cluster.superuserSQL("CREATE DATABASE \(database) TEMPLATE \(template) OWNER ares")
        let environment = cluster.environment(database: database)
        Self.databases.withLock { $0[Self.key(dataDirectory)] = environment }
        return true
    }

    /// The database with `folder` ingested, made by the first caller (callers meanwhile wait for
    /// it: a second ingest would only cost time). A failed ingest is an error naming ares's
    /// output, and the next caller tries again.
    private static func ingestedTemplate(of folder: URL, in cluster: TestPostgresCluster) throws -> String {
        try templates.withLock { templates in
            if let made = templates[key(folder)] { return made }
            let database = try cluster.createDatabase(prefix: "ingested")
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ares-ingest-template-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let ingest = try AresProcess.run(["ingest", folder.path, "--data-dir", scratch.path],
                                             environment: cluster.environment(database: database))
            guard ingest.status == 0 else {
                throw BackendError(description: "ares ingest \(folder.path) into the template database failed: \(ingest.stderr)")
            }
            templates[key(folder)] = database
            return database
        }
    }

    /// Folder path → the database it was ingested into once.
    private static let templates = Mutex<[String: String]>([:])

    /// The database environment of a data directory `provision` prepared; empty for any other
    /// directory (one a test made itself stays on SQLite, as it was written to).
    public static func environment(forDataDirectory directory: URL) -> [String: String] {
        databases.withLock { $0[key(directory)] } ?? [:]
    }

    /// The database environment for an `ares` command line: that of the directory after its
    /// `--data-dir` (or `--data-dir=`), if `provision` prepared it.
    public static func environment(forArguments arguments: [String]) -> [String: String] {
        for (index, argument) in arguments.enumerated() {
            if argument == "--data-dir", index + 1 < arguments.count {
                return environment(forDataDirectory: URL(fileURLWithPath: arguments[index + 1]))
            }
            if argument.hasPrefix("--data-dir=") {
                return environment(forDataDirectory: URL(fileURLWithPath: String(argument.dropFirst("--data-dir=".count))))
            }
        }
        return [:]
    }

    /// Data directory path → the environment naming its database.
    private static let databases = Mutex<[String: [String: String]]>([:])

    private static func key(_ directory: URL) -> String {
        directory.standardizedFileURL.resolvingSymlinksInPath().path
    }

    public struct BackendError: Error, CustomStringConvertible {
        public var description: String
    }
}
