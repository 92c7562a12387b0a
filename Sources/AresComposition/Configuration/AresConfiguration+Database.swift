import Foundation
import PostgresStorage

extension AresConfiguration {
    /// `--database`: the PostgreSQL database several replicas share (issue 16). Without it,
    /// ares keeps everything in the data directory (the embedded default).
    public struct Database: Sendable, Equatable {
        /// How a replica learns of what other replicas recorded.
        public enum NotifyMode: String, CaseIterable, Sendable {
            /// LISTEN/NOTIFY on a connection of its own: one notification per commit.
            case listen
            /// Polling the event table: for poolers in transaction mode (PgBouncer), which do
            /// not carry notifications.
            case poll
        }

        /// Where the database is and how to reach it; its password stays inside (never shown).
        public var settings: DatabaseSettings
        public var notify: NotifyMode
        /// This replica's name in leases and logs; nil: host name, process id and a random
        /// suffix, made at start (`ReplicaIdentity`).
        public var replicaID: String?
    }

    /// The database of the resolved settings, nil without `database`. Every problem is one line
    /// naming the setting, and none repeats the URL (it may carry a password, which is refused).
    static func database(text: (ConfigurationSetting) -> String?, secret: SecretReference?,
                         environment: [String: String]) throws -> Database? {
        guard let url = text(.database) else {
            for setting in [ConfigurationSetting.databaseCAFile, .replicaID] where text(setting) != nil {
                throw ConfigurationError(setting: setting.name, "\(setting.name) needs a database: set \(ConfigurationSetting.database.sourcesInWords)")
            }
            return nil
        }
        // The password as the resolver found it (flag or file naming a file, or the
        // environment), handed to DatabaseSettings the way it reads it. Both variables set
        // stays ambiguous, and is refused there.
        var passwordEnvironment: [String: String] = [:]
        switch secret {
        case let .file(path)?: passwordEnvironment[DatabaseSettings.passwordFileVariable] = path
        case let .environment(variable)?: passwordEnvironment[DatabaseSettings.passwordVariable] = environment[variable]
        case nil: break
        }
        if let file = environment[DatabaseSettings.passwordFileVariable].nonEmpty,
           let value = environment[DatabaseSettings.passwordVariable].nonEmpty {
            passwordEnvironment = [DatabaseSettings.passwordFileVariable: file, DatabaseSettings.passwordVariable: value]
        }
        // How long a request waits for the database (issue 16): passed through as given.
        passwordEnvironment[DatabaseSettings.requestTimeoutVariable] = environment[DatabaseSettings.requestTimeoutVariable]
        var settings: DatabaseSettings
        do {
            settings = try DatabaseSettings(url: url, environment: passwordEnvironment)
        } catch {
            throw ConfigurationError(setting: ConfigurationSetting.database.name, "\(ConfigurationSetting.database.name): \(error.description)")
        }
        if let caFile = text(.databaseCAFile) {
            let setting = ConfigurationSetting.databaseCAFile
            guard settings.certificateAuthorityFile == nil else {
                throw ConfigurationError(setting: setting.name, "the database URL names a CA file (sslrootcert) and so does \(setting.name): set only one")
            }
            guard settings.tlsMode == .verifyFull else {
                throw ConfigurationError(setting: setting.name, "\(setting.name) is only used with sslmode=verify-full (the URL has sslmode=\(settings.tlsMode.rawValue))")
            }
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw ConfigurationError(setting: setting.name, "\(setting.name): cannot read the CA file \(caFile)")
            }
            settings.certificateAuthorityFile = caFile
        }
        var replicaID: String?
        if let given = text(.replicaID) {
            guard (1...100).contains(given.utf8.count),
                  given.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._:-".unicodeScalars.contains($0)) }) else {
                throw ConfigurationError(setting: ConfigurationSetting.replicaID.name,
                                         "\(ConfigurationSetting.replicaID.name) must be 1 to 100 letters, digits, '.', '_', ':' or '-' (got \(given.utf8.count) characters)")
            }
            replicaID = given
        }
        // The choice was checked when the setting was read; the default is listen.
        let notify = text(.databaseNotify).flatMap(Database.NotifyMode.init(rawValue:)) ?? .listen
        return Database(settings: settings, notify: notify, replicaID: replicaID)
    }
}
