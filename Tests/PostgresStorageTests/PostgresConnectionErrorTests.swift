import AresTestSupport
import Foundation
import PostgresStorage
import Testing

/// Each way of not getting to the database gives one line that names it, and never the password.
@Suite struct PostgresConnectionErrorTests {
    /// Starts against `url` with `password` (or none) and returns the error.
    func startupError(url: String, password: String?, timeout: Duration = .seconds(5)) async throws -> PostgresStorageError? {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ares-pw-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        var environment: [String: String] = [:]
        if let password {
            try Data(password.utf8).write(to: file)
            environment[DatabaseSettings.passwordFileVariable] = file.path
        }
        var settings = try DatabaseSettings(url: url, environment: environment)
        settings.startupTimeout = timeout
        do {
            try await PostgresDatabase.withDatabase(settings: settings, logger: .quiet) { _ in }
            return nil
        } catch let error as PostgresStorageError {
            return error
        }
    }

    func expectOneLine(_ error: PostgresStorageError?, _ kind: PostgresStorageError.Kind, containing parts: [String], not secrets: [String],
                       sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(error?.kind == kind, sourceLocation: sourceLocation)
        let message = error?.description ?? ""
        for part in parts { #expect(message.contains(part), "\(message)", sourceLocation: sourceLocation) }
        for secret in secrets { #expect(!message.contains(secret), sourceLocation: sourceLocation) }
        #expect(!message.contains("\n"), sourceLocation: sourceLocation)
    }

    @Test func aWrongPasswordIsNamedWithoutEchoingIt() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let wrong = "wrong-\(UUID().uuidString)"
        TestRunRecord.registerSecret(wrong)
        let error = try await startupError(url: cluster.url(), password: wrong)
        expectOneLine(error, .authentication, containing: ["refused the password of user 'ares'", DatabaseSettings.passwordFileVariable],
                      not: [wrong, cluster.password])
    }

    @Test func noPasswordAtAllSaysWhereToPutIt() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let error = try await startupError(url: cluster.url(), password: nil)
        expectOneLine(error, .authentication, containing: ["asks user 'ares' for a password and none is set"], not: [cluster.password])
    }

    @Test func aMissingDatabaseIsNamed() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let error = try await startupError(url: cluster.url(database: "no_such_db"), password: cluster.password)
        expectOneLine(error, .missingDatabase, containing: ["'no_such_db' does not exist", "127.0.0.1:\(cluster.port)"], not: [cluster.password])
    }

    @Test func aUserWithoutPrivilegesIsToldWhichIsMissing() async throws {
        let database = try await PostgresTestDatabase.make()
        let password = "pw-\(UUID().uuidString)"
        TestRunRecord.registerSecret(password)
        let role = "reader_\(UUID().uuidString.prefix(8).lowercased())"
        // May log in, may not create tables in the database's schema (PostgreSQL 15's default for non-owners).
        try await database.superuserSQL("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
        let error = try await startupError(url: "postgres://\(role)@127.0.0.1:\(database.cluster.port)/\(database.name)?sslmode=disable",
                                           password: password)
        expectOneLine(error, .missingPrivilege, containing: ["user '\(role)' lacks a privilege", "permission denied for schema public"],
                      not: [password])
        // Not even CONNECT: refused at the door, with the same kind.
        try await database.superuserSQL("REVOKE CONNECT ON DATABASE \(database.name) FROM PUBLIC")
        let refused = try await startupError(url: "postgres://\(role)@127.0.0.1:\(database.cluster.port)/\(database.name)?sslmode=disable",
                                             password: password)
        expectOneLine(refused, .missingPrivilege, containing: ["permission denied for database"], not: [password])
    }

    @Test func anUnreachableDatabaseIsRetriedThenNamed() async throws {
        // A port nothing listens on: bound and released, so it is free.
        let port = try Self.unusedPort()
        // No bound on the elapsed time here (a loaded machine stretches it); that it gives up at
        // all, with the cause named, is the behaviour under test.
        let error = try await startupError(url: "postgres://ares@127.0.0.1:\(port)/ares?sslmode=disable", password: "x", timeout: .seconds(1))
        expectOneLine(error, .unreachable, containing: ["cannot reach the database at 127.0.0.1:\(port)", "connection refused"], not: [])
    }

    @Test func tlsRequiredButNotOfferedIsNamed() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let error = try await startupError(url: "postgres://ares@127.0.0.1:\(cluster.port)/ares?sslmode=require", password: cluster.password)
        expectOneLine(error, .tls, containing: ["does not offer TLS", "sslmode=require"], not: [cluster.password])
    }

    static func unusedPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestPostgresCluster.ClusterError(message: "socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestPostgresCluster.ClusterError(message: "bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
