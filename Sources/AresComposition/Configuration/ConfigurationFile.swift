import Foundation

/// The configuration file: a JSON object whose keys are settings' names (`ConfigurationSetting.fileKey`),
/// with `quotas` nested by role: `{"port": 8080, "quotas": {"researcher": {"maxQueued": 100}}}`.
/// A key that is not a setting is an error (a misspelt key would otherwise be ignored in
/// silence), and so is a key that would hold a secret. A null value counts as unset.
struct ConfigurationFile {
    /// The file's absolute URL.
    let url: URL
    /// The values the file sets, by setting.
    let values: [ConfigurationSetting: Value]

    /// Reads and checks the file's structure; the values are checked when they are used.
    init(url: URL) throws {
        self.url = url
        let contents: Data
        do {
            contents = try Data(contentsOf: url)
        } catch {
            throw ConfigurationError("cannot read the config file '\(url.path)': \(error.localizedDescription)")
        }
        let document: Value
        do {
            document = try JSONDecoder().decode(Value.self, from: contents)
        } catch {
            throw ConfigurationError("the config file '\(url.path)' is not valid JSON: \(Self.describe(error))")
        }
        guard case let .object(members) = document else {
            throw ConfigurationError("the config file '\(url.path)' must hold a JSON object of settings, such as {\"port\": 8080}")
        }
        var values: [ConfigurationSetting: Value] = [:]
        try Self.collect(members, prefix: "", into: &values, file: url.path)
        self.values = values
    }

    /// Settings by file key; `quotas` and its roles are the objects that nest.
    private static let settingsByKey: [String: ConfigurationSetting] = Dictionary(
        uniqueKeysWithValues: ConfigurationSetting.allCases.compactMap { setting in setting.fileKey.map { ($0, setting) } })
    private static let nestingKeys: Set<String> = ["quotas", "quotas.researcher", "quotas.admin"]

    private static func collect(_ members: [String: Value], prefix: String, into values: inout [ConfigurationSetting: Value], file: String) throws {
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            let path = prefix + key
            if nestingKeys.contains(path) {
                switch value {
                case .null: continue
                case let .object(inner): try collect(inner, prefix: path + ".", into: &values, file: file)
                default:
                    throw ConfigurationError(setting: path, "\(path) must be an object such as {\"researcher\": {\"maxQueued\": 100, \"maxRunning\": 2}} (in \(file))")
                }
                continue
            }
            guard let setting = settingsByKey[path] else {
                throw unknownKey(path, file: file)
            }
            if case .null = value { continue }
            values[setting] = value
        }
    }

    private static func unknownKey(_ path: String, file: String) -> ConfigurationError {
        let lowered = path.lowercased()
        if lowered.contains("key") || lowered.contains("secret") || lowered.contains("token") || lowered.contains("password") {
            return ConfigurationError(setting: path, """
                the config file '\(file)' may not hold a secret ('\(path)'): secrets are never configuration values. \
                Write the key to a file and name it with modelKeyFile or embeddingKeyFile, or set ARES_MODEL_API_KEY or ARES_EMBEDDING_API_KEY
                """)
        }
        let parent = path.split(separator: ".").dropLast().joined(separator: ".")
        let siblings: [String]
        if parent.isEmpty {
            siblings = ConfigurationSetting.allCases.compactMap(\.fileKey).filter { !$0.contains(".") } + ["quotas"]
        } else if parent == "quotas" {
            siblings = ["researcher", "admin"]
        } else {
            siblings = ["maxQueued", "maxRunning"]
        }
        return ConfigurationError(setting: path, "the config file '\(file)' has an unknown setting '\(path)': the settings\(parent.isEmpty ? "" : " of \(parent)") are \(siblings.joined(separator: ", "))")
    }

    private static func describe(_ error: Error) -> String {
        if case let DecodingError.dataCorrupted(context) = error {
            return (context.underlyingError.map { "\($0.localizedDescription)" }) ?? context.debugDescription
        }
        return "\(error)"
    }
}

extension ConfigurationFile {
    /// A JSON value, as the configuration file holds it.
    enum Value: Decodable, Sendable, Equatable {
        case null
        case boolean(Bool)
        case integer(Int)
        case number(Double)
        case string(String)
        case array([Value])
        case object([String: Value])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .boolean(value)
            } else if let value = try? container.decode(Int.self) {
                self = .integer(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode([String: Value].self) {
                self = .object(value)
            } else {
                self = .array(try container.decode([Value].self))
            }
        }

        /// The value as written in JSON, for messages.
        var literal: String {
            switch self {
            case .null: "null"
            case let .boolean(value): "\(value)"
            case let .integer(value): "\(value)"
            case let .number(value): "\(value)"
            case let .string(value): "\"\(value)\""
            case .array: "an array"
            case .object: "an object"
            }
        }
    }
}
