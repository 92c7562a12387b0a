import AresComposition
import Foundation
import Testing

/// `--database` and its companions: read from every source, the password only from a file or
/// the environment, every problem one line naming the setting, and no password ever echoed.
@Suite struct DatabaseConfigurationTests {
    func load(_ flags: ConfigurationFlags = ConfigurationFlags(), environment: [String: String] = [:]) throws -> AresConfiguration {
        try AresConfiguration.load(flags: flags, environment: environment, workingDirectory: URL(fileURLWithPath: "/srv/work"))
    }

    func error(_ flags: ConfigurationFlags = ConfigurationFlags(), environment: [String: String] = [:]) -> ConfigurationError? {
        do {
            _ = try load(flags, environment: environment)
            return nil
        } catch {
            return error as? ConfigurationError
        }
    }

    @Test func theDatabaseComesFromTheEnvironmentWithItsPasswordFile() throws {
        #expect(try load().database == nil, "the embedded default: no database")
        // The password is read when the configuration is loaded (a missing file fails the start).
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ares-db-password-\(UUID().uuidString)")
        try Data(UUID().uuidString.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let configuration = try load(environment: ["ARES_DATABASE_URL": "postgres://ares@db.example:6432/research?sslmode=require",
                                                   "ARES_DATABASE_PASSWORD_FILE": file.path])
        let database = try #require(configuration.database)
        #expect("\(database.settings)" == "postgres://ares@db.example:6432/research?sslmode=require (password: from the file \(file.path))")
        #expect(database.notify == .listen)
        #expect(database.replicaID == nil)
        #expect(configuration.resolved(.database).source == .env)
        // The report shows where the password is, which is all the configuration holds.
        let report = configuration.report(.text)
        #expect(report.contains(file.path) && report.contains("postgres://ares@db.example:6432/research?sslmode=require"))
    }

    @Test func aPasswordInTheURLIsRefusedWithoutRepeatingIt() throws {
        let password = "pw-\(UUID().uuidString)"
        var flags = ConfigurationFlags()
        flags.set(.database, "postgres://ares:\(password)@db.example/ares")
        let refused = try #require(error(flags))
        #expect(refused.setting == "database")
        #expect(refused.message.contains("carries a password") && !refused.message.contains(password) && !refused.message.contains("\n"))
        let fromEnvironment = try #require(error(environment: ["ARES_DATABASE_URL": "postgres://ares:\(password)@db.example/ares"]))
        #expect(!fromEnvironment.message.contains(password))
    }

    @Test func companionsAreCheckedAndJoinAsTheyMust() throws {
        let url = ["ARES_DATABASE_URL": "postgres://ares@127.0.0.1/ares?sslmode=disable"]
        var poll = ConfigurationFlags()
        poll.set(.databaseNotify, "poll")
        poll.set(.replicaID, "replica-a.1")
        let database = try #require(try load(poll, environment: url).database)
        #expect(database.notify == .poll && database.replicaID == "replica-a.1")

        var push = ConfigurationFlags()
        push.set(.databaseNotify, "push")
        #expect(try #require(error(push, environment: url)).message.contains("one of listen, poll"))
        var spaces = ConfigurationFlags()
        spaces.set(.replicaID, "replica a")
        #expect(try #require(error(spaces, environment: url)).setting == "replicaID")
        var alone = ConfigurationFlags()
        alone.set(.replicaID, "a")
        #expect(try #require(error(alone)).message.contains("needs a database"))
        var plainWithCA = ConfigurationFlags()
        plainWithCA.set(.databaseCAFile, "/etc/ssl/certs/ca-certificates.crt")
        #expect(try #require(error(plainWithCA, environment: url)).message.contains("only used with sslmode=verify-full"))
        let both = ["ARES_DATABASE_URL": "postgres://ares@h/d", "ARES_DATABASE_PASSWORD_FILE": "/f", "ARES_DATABASE_PASSWORD": UUID().uuidString]
        #expect(try #require(error(environment: both)).message.contains("set only one"))
    }
}
