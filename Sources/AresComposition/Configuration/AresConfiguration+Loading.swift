import Agents
import Foundation
import LocalModels
import Logging
import Security
import Server
import TaskService

extension AresConfiguration {
    /// The environment variable that names the configuration file when `--config` does not.
    public static let configurationFileVariable = "ARES_CONFIG"

    /// Loads the configuration from the option groups of a command, the process environment,
    /// the configuration file (`--config`, else `$ARES_CONFIG`) and the defaults.
    public static func load(_ groups: any ConfigurationOptionGroup...) throws -> AresConfiguration {
        var flags = ConfigurationFlags()
        for group in groups { group.apply(to: &flags) }
        return try load(flags: flags)
    }

    /// Loads and validates the configuration. Each setting takes its value from the first
    /// source that sets it: flags, then the environment, then the configuration file, then
    /// the default. An empty value counts as unset. Only the value in effect is checked, and
    /// an error names the setting, the accepted values, the value found and where it was found.
    /// Relative paths are relative to `workingDirectory`, or to the configuration file's
    /// folder for paths the file gives.
    public static func load(flags: ConfigurationFlags, environment: [String: String] = ProcessInfo.processInfo.environment,
                            workingDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) throws -> AresConfiguration {
        // A directory URL (trailing slash), so that relative paths resolve inside it.
        let workingDirectory = URL(fileURLWithPath: workingDirectory.path, isDirectory: true)
        var file: ConfigurationFile?
        var fileSource = ConfigurationSource.default
        if let path = flags.configurationFile.nonEmpty ?? environment[configurationFileVariable].nonEmpty {
            fileSource = flags.configurationFile.nonEmpty == nil ? .env : .flag
            file = try ConfigurationFile(url: URL(fileURLWithPath: expandingTilde(path), relativeTo: workingDirectory).standardizedFileURL)
        }
        let resolver = SettingResolver(flags: flags, environment: environment, file: file, workingDirectory: workingDirectory)
        let settings = try ConfigurationSetting.allCases.map(resolver.resolve)
        var configuration = try AresConfiguration(settings: settings, environment: environment)
        configuration.configurationFile = file?.url
        configuration.configurationFileSource = fileSource
        return configuration
    }

    /// Builds the typed configuration from resolved settings and checks the rules that join
    /// several settings.
    init(settings: [ResolvedSetting], environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let values = Dictionary(uniqueKeysWithValues: settings.map { ($0.setting, $0.value) })
        func text(_ setting: ConfigurationSetting) -> String? {
            if case let .text(value)? = values[setting] { return value }
            return nil
        }
        func integer(_ setting: ConfigurationSetting) -> Int? {
            if case let .integer(value)? = values[setting] { return value }
            return nil
        }
        func number(_ setting: ConfigurationSetting) -> Double? {
            if case let .number(value)? = values[setting] { return value }
            return nil
        }
        func boolean(_ setting: ConfigurationSetting) -> Bool {
            if case let .boolean(value)? = values[setting] { return value }
            return false
        }
        func secret(_ setting: ConfigurationSetting) -> SecretReference? {
            if case let .secret(value)? = values[setting] { return value }
            return nil
        }
        // Defaults exist for every setting read with `!` below.
        let kind = EmbedderKind(rawValue: text(.embedder)!)!
        let embedding = Embedding(kind: kind, url: text(.embeddingURL).flatMap(URL.init(string:)), model: text(.embeddingModel),
                                  batchSize: integer(.embeddingBatchSize)!, apiKey: secret(.embeddingAPIKey),
                                  modelDirectory: text(.embeddingModelDir).map { URL(fileURLWithPath: $0, isDirectory: true) },
                                  quantization: EmbeddingQuantization(rawValue: text(.embeddingQuantization)!)!)
        if kind == .local, embedding.modelDirectory == nil {
            let setting = ConfigurationSetting.embeddingModelDir
            throw ConfigurationError(setting: setting.name, "the local embedder needs \(setting.name), a sentence-transformers model folder (config.json, model.safetensors, tokenizer.json or vocab.txt): set \(setting.sourcesInWords)")
        }
        if kind == .openai {
            for (setting, example) in [(ConfigurationSetting.embeddingURL, " (e.g. http://127.0.0.1:11434/v1)"), (.embeddingModel, "")]
            where text(setting) == nil {
                throw ConfigurationError(setting: setting.name, "the openai embedder needs \(setting.name): set \(setting.sourcesInWords)\(example)")
            }
        }
        var chatModel: ChatModel?
        if let url = text(.modelURL).flatMap(URL.init(string:)) {
            guard let name = text(.model) else {
                throw ConfigurationError(setting: ConfigurationSetting.model.name,
                                         "a model URL needs a model name: set \(ConfigurationSetting.model.sourcesInWords)")
            }
            chatModel = ChatModel(url: url, name: name, apiKey: secret(.modelAPIKey))
            // The value was checked against the choices, which are the raw values.
            if let mode = text(.modelStructuredOutput).flatMap(OpenAIChatConfiguration.StructuredOutput.init(rawValue:)) {
                chatModel?.structuredOutput = mode
            }
            if let seconds = integer(.modelTimeout) { chatModel?.requestTimeout = .seconds(seconds) }
        }
        let server = Server(
            host: text(.host)!, port: integer(.port)!, publicURL: text(.publicURL), developmentMode: boolean(.dev),
            maximumRunningTasks: integer(.maxRunningTasks)!, maximumQueuedTasks: integer(.maxQueuedTasks)!,
            maximumBodyBytes: integer(.maxBodyBytes)!, maximumConnections: integer(.maxConnections)!,
            requestHeadTimeout: .seconds(integer(.requestHeadTimeout)!), requestBodyTimeout: .seconds(integer(.requestBodyTimeout)!),
            researcherQuota: Quota(maximumQueued: integer(.researcherMaxQueued), maximumRunning: integer(.researcherMaxRunning)),
            adminQuota: Quota(maximumQueued: integer(.adminMaxQueued), maximumRunning: integer(.adminMaxRunning)),
            logRequests: boolean(.logRequests), logLevel: Logger.Level(rawValue: text(.logLevel)!)!,
            allowPrivateWebhooks: boolean(.allowPrivateWebhooks), otlpEndpoint: text(.otlpEndpoint).flatMap(URL.init(string:)),
            traceSamplingRatio: number(.traceSamplingRatio)!)
        if server.developmentMode, !ServerConfiguration.isLoopback(server.host) {
            throw ConfigurationError(setting: ConfigurationSetting.dev.name, """
                --dev lets anyone act as admin, so it is refused on \(server.host): \
                use a loopback address for host (127.0.0.1, ::1 or localhost)
                """)
        }
        func roleMap(_ setting: ConfigurationSetting) -> [String: Role] {
            // Checked when the setting was read.
            text(setting).flatMap { try? RoleMap(parsing: $0).roles } ?? [:]
        }
        let identity = Identity(oidcIssuer: text(.oidcIssuer).flatMap(URL.init(string:)), oidcAudience: text(.oidcAudience),
                                oidcRoleClaim: text(.oidcRoleClaim)!, oidcRoleMap: roleMap(.oidcRoleMap),
                                oidcLeewaySeconds: integer(.oidcLeeway)!, oidcConsoleClientId: text(.oidcConsoleClientId))
        if identity.oidcIssuer != nil, identity.oidcAudience == nil {
            throw ConfigurationError(setting: ConfigurationSetting.oidcAudience.name, """
                an OIDC issuer needs the audience tokens must be issued for: set \(ConfigurationSetting.oidcAudience.sourcesInWords)
                """)
        }
        if identity.oidcIssuer != nil, identity.oidcRoleMap.isEmpty {
            throw ConfigurationError(setting: ConfigurationSetting.oidcRoleMap.name, "the OIDC role map grants no role, so no token could be used")
        }
        if identity.oidcIssuer == nil, identity.oidcConsoleClientId != nil {
            throw ConfigurationError(setting: ConfigurationSetting.oidcConsoleClientId.name,
                                     "a console client id needs the issuer it is registered with: set \(ConfigurationSetting.oidcIssuer.sourcesInWords)")
        }
        let clientCA = text(.tlsClientCA)
        let clientAuthentication = text(.tlsClientAuth).flatMap(TLS.ClientAuthentication.init(rawValue:)) ?? (clientCA == nil ? .none : .require)
        let tls = TLS(certificateFile: text(.tlsCert), keyFile: text(.tlsKey), clientCAFile: clientCA,
                      clientAuthentication: clientAuthentication, clientRoleMap: roleMap(.tlsClientRoleMap))
        if (tls.certificateFile == nil) != (tls.keyFile == nil) {
            let missing = tls.certificateFile == nil ? ConfigurationSetting.tlsCert : .tlsKey
            throw ConfigurationError(setting: missing.name, "TLS needs both a certificate and its key: set \(missing.sourcesInWords)")
        }
        if tls.clientAuthentication != .none, clientCA == nil {
            throw ConfigurationError(setting: ConfigurationSetting.tlsClientCA.name, """
                client certificates (tlsClientAuth \(tls.clientAuthentication.rawValue)) need the CA that signs them: \
                set \(ConfigurationSetting.tlsClientCA.sourcesInWords)
                """)
        }
        if clientCA != nil, !tls.isEnabled {
            throw ConfigurationError(setting: ConfigurationSetting.tlsClientCA.name, "client certificates need TLS: set --tls-cert and --tls-key")
        }
        let outbound = Outbound(caFile: text(.caFile), modelClientCertificateFile: text(.modelClientCert), modelClientKeyFile: text(.modelClientKey))
        if (outbound.modelClientCertificateFile == nil) != (outbound.modelClientKeyFile == nil) {
            let missing = outbound.modelClientCertificateFile == nil ? ConfigurationSetting.modelClientCert : .modelClientKey
            throw ConfigurationError(setting: missing.name, "a model client certificate needs both the certificate and its key: set \(missing.sourcesInWords)")
        }
        let rateLimits = text(.rateLimits).flatMap { try? RateLimitRules(parsing: $0) } ?? .unlimited
        self.init(configurationFile: nil, dataDirectory: URL(fileURLWithPath: text(.dataDir)!), embedding: embedding,
                  chatModel: chatModel, server: server, identity: identity, tls: tls, outbound: outbound, rateLimits: rateLimits,
                  settings: settings)
        // The choice was checked when the setting was read; the default is compact.
        eventFormat = text(.eventFormat).flatMap(TaskEventFormat.init(rawValue:)) ?? .compact
        if let period = text(.retention) {
            do {
                retention = try RetentionPeriod(parsing: period)
            } catch {
                throw ConfigurationError(setting: ConfigurationSetting.retention.name,
                                         "\(ConfigurationSetting.retention.name) (\(ConfigurationSetting.retention.sourcesInWords)): \(error)")
            }
        }
        // Defaults exist for all three limits.
        continuousBackup = text(.backupTo).map { directory in
            ContinuousBackup(directory: URL(fileURLWithPath: directory), failureLimit: .seconds(integer(.backupFailureLimit) ?? 60),
                             segmentsPerBase: integer(.backupSegmentsPerBase) ?? 10_000, maximumLag: .seconds(integer(.backupMaxLag) ?? 1))
        }
        if let backup = continuousBackup, backup.maximumLag > backup.failureLimit {
            // Writes wait at most the failure limit: a larger lag could never be reached.
            throw ConfigurationError(setting: ConfigurationSetting.backupMaxLag.name, """
                \(ConfigurationSetting.backupMaxLag.name) (\(ConfigurationSetting.backupMaxLag.sourcesInWords)) is \(backup.maximumLag.components.seconds) s, \
                more than \(ConfigurationSetting.backupFailureLimit.name) (\(backup.failureLimit.components.seconds) s): writes never wait longer than the failure limit, \
                so the lag must be at most that
                """)
        }
        database = try Self.database(text: text, secret: secret(.databasePasswordFile), environment: environment)
        // Defaults exist for all five; each was checked against its range when it was read.
        relevance = RelevanceThresholds(minimumWordShare: number(.minimumWordShare) ?? RelevanceThresholds().minimumWordShare,
                                        minimumCosine: number(.minimumCosine) ?? RelevanceThresholds().minimumCosine,
                                        minimumShareOfBest: number(.minimumShareOfBest) ?? RelevanceThresholds().minimumShareOfBest,
                                        minimumScore: number(.minimumScore) ?? RelevanceThresholds().minimumScore,
                                        sourcesPerSection: integer(.sourcesPerSection) ?? RelevanceThresholds().sourcesPerSection)
    }

    static func expandingTilde(_ path: String) -> String {
        path == "~" || path.hasPrefix("~/") ? (path as NSString).expandingTildeInPath : path
    }
}

/// Picks each setting's value from the first source that sets it, and reads and checks it.
struct SettingResolver {
    let flags: ConfigurationFlags
    let environment: [String: String]
    let file: ConfigurationFile?
    let workingDirectory: URL

    /// A value as its source holds it, before it is read for its setting.
    enum Raw {
        case flag(ConfigurationValue)
        case text(String)
        case json(ConfigurationFile.Value)

        var isEmpty: Bool {
            switch self {
            case let .flag(.text(value)), let .text(value), let .json(.string(value)): value.isEmpty
            default: false
            }
        }

        var literal: String {
            switch self {
            case let .flag(.text(value)), let .text(value): "'\(value)'"
            case let .flag(.integer(value)): "\(value)"
            case let .flag(.number(value)): "\(value)"
            case let .flag(.boolean(value)): "\(value)"
            case let .flag(.secret(value)): value.redacted
            case let .json(value): value.literal
            }
        }
    }

    func resolve(_ setting: ConfigurationSetting) throws -> ResolvedSetting {
        if let value = flags[setting], !Raw.flag(value).isEmpty {
            return try read(setting, .flag(value), source: .flag, origin: setting.flag ?? "a flag", base: workingDirectory)
        }
        if let variable = setting.environmentVariable, let text = environment[variable].nonEmpty {
            return try read(setting, .text(text), source: .env, origin: variable, base: workingDirectory)
        }
        // The key itself in the environment, when no key file is named there: it stays there
        // and is read when a client is built.
        if case let .secret(variable) = setting.kind, environment[variable].nonEmpty != nil {
            return ResolvedSetting(setting: setting, value: .secret(.environment(variable)), source: .env, origin: variable)
        }
        if let file, let value = file.values[setting], !Raw.json(value).isEmpty {
            return try read(setting, .json(value), source: .file, origin: file.url.path, base: file.url.deletingLastPathComponent())
        }
        guard let value = setting.defaultValue else {
            return ResolvedSetting(setting: setting, value: nil, source: .default, origin: nil)
        }
        return try read(setting, .flag(value), source: .default, origin: "the default", base: workingDirectory)
    }

    private func read(_ setting: ConfigurationSetting, _ raw: Raw, source: ConfigurationSource, origin: String, base: URL) throws -> ResolvedSetting {
        func invalid(_ requirement: String) -> ConfigurationError {
            ConfigurationError(setting: setting.name, "\(setting.name) must be \(requirement) (got \(raw.literal) from \(origin))")
        }
        func string() throws -> String {
            switch raw {
            case let .flag(.text(value)), let .text(value), let .json(.string(value)): return value
            default: throw invalid(setting.acceptedValues)
            }
        }
        func path() throws -> String {
            URL(fileURLWithPath: AresConfiguration.expandingTilde(try string()), relativeTo: base).standardizedFileURL.path
        }
        let value: ConfigurationValue
        switch setting.kind {
        case .path:
            value = .text(try path())
        case .secret:
            value = .secret(.file(try path()))
        case .roleMap:
            let definition = try string()
            do {
                _ = try RoleMap(parsing: definition)
            } catch {
                throw invalid("\(setting.acceptedValues): \(error.description)")
            }
            value = .text(definition)
        case .rateLimits:
            let definition = try string()
            do {
                _ = try RateLimitRules(parsing: definition)
            } catch {
                throw invalid("\(setting.acceptedValues): \(error.description)")
            }
            value = .text(definition)
        case .text:
            value = .text(try string())
        case let .url(schemes):
            let text = try string()
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), schemes?.contains(scheme) ?? true,
                  schemes == nil || url.host != nil else {
                throw invalid(setting.acceptedValues + (setting.example.map { " such as \($0)" } ?? ""))
            }
            value = .text(text)
        case let .choice(choices):
            let text = try string()
            guard choices.contains(text) else { throw invalid(setting.acceptedValues) }
            value = .text(text)
        case let .integer(range):
            let number: Int
            switch raw {
            case let .flag(.integer(given)), let .json(.integer(given)): number = given
            case let .text(text):
                guard let parsed = Int(text.trimmingCharacters(in: .whitespaces)) else { throw invalid(setting.acceptedValues) }
                number = parsed
            default: throw invalid(setting.acceptedValues)
            }
            guard range.contains(number) else { throw invalid("between \(range.lowerBound) and \(range.upperBound)") }
            value = .integer(number)
        case .fraction:
            let fraction: Double
            switch raw {
            case let .flag(.number(given)), let .json(.number(given)): fraction = given
            case let .json(.integer(given)): fraction = Double(given)
            case let .text(text):
                guard let parsed = Double(text.trimmingCharacters(in: .whitespaces)) else { throw invalid(setting.acceptedValues) }
                fraction = parsed
            default: throw invalid(setting.acceptedValues)
            }
            guard fraction.isFinite, (0...1).contains(fraction) else { throw invalid("between 0 and 1") }
            value = .number(fraction)
        case .boolean:
            switch raw {
            case let .flag(.boolean(given)), let .json(.boolean(given)): value = .boolean(given)
            case let .text(text):
                switch text.lowercased() {
                case "true", "1", "yes", "on": value = .boolean(true)
                case "false", "0", "no", "off": value = .boolean(false)
                default: throw invalid(setting.acceptedValues + " (or 1, 0, yes, no, on, off)")
                }
            default: throw invalid(setting.acceptedValues)
            }
        }
        return ResolvedSetting(setting: setting, value: value, source: source, origin: source == .default ? nil : origin)
    }
}

extension ConfigurationSetting {
    /// An example value, for messages about URLs.
    var example: String? {
        switch self {
        case .embeddingURL, .modelURL: "http://127.0.0.1:11434/v1"
        case .otlpEndpoint: "http://127.0.0.1:4318"
        case .publicURL: "https://ares.example.com"
        case .oidcIssuer: "https://idp.example.com/realms/ares"
        default: nil
        }
    }
}

extension Optional where Wrapped == String {
    /// The text, or nil when it is absent or empty.
    var nonEmpty: String? {
        switch self {
        case let .some(text) where !text.isEmpty: text
        default: nil
        }
    }
}
