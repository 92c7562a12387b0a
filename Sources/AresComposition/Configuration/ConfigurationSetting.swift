import Agents
import LocalModels
import PostgresStorage
import Security
import Server
import TaskService

/// Every setting ares reads, with the names it goes by in each of its sources: a flag, an
/// environment variable, a key of the configuration file. The setting's name is its
/// configuration-file key (dotted for the nested `quotas`), and errors and `ares config show`
/// use it. docs/configuration.md is this table in prose.
public enum ConfigurationSetting: String, CaseIterable, Sendable {
    case dataDir
    case embedder, embeddingURL, embeddingModel, embeddingBatchSize, embeddingAPIKey, embeddingModelDir, embeddingQuantization
    case modelURL, model, modelAPIKey, modelStructuredOutput, modelTimeout
    case host, port, publicURL, dev
    case maxRunningTasks, maxQueuedTasks, maxBodyBytes, maxConnections, requestHeadTimeout, requestBodyTimeout
    case researcherMaxQueued = "quotas.researcher.maxQueued"
    case researcherMaxRunning = "quotas.researcher.maxRunning"
    case adminMaxQueued = "quotas.admin.maxQueued"
    case adminMaxRunning = "quotas.admin.maxRunning"
    case logRequests, logLevel, allowPrivateWebhooks, otlpEndpoint, traceSamplingRatio
    case oidcIssuer, oidcAudience, oidcRoleClaim, oidcRoleMap, oidcLeeway, oidcConsoleClientId
    case tlsCert, tlsKey, tlsClientCA, tlsClientAuth, tlsClientRoleMap
    case caFile, modelClientCert, modelClientKey
    case rateLimits
    case backupTo, backupFailureLimit, backupSegmentsPerBase, backupMaxLag
    case retention, eventFormat
    case database, databasePasswordFile, databaseCAFile, databaseNotify, replicaID
    // How relevant a sentence must be to enter a report (`RelevanceThresholds`).
    case minimumWordShare, minimumCosine, minimumShareOfBest, minimumScore, sourcesPerSection

    /// What values a setting takes, which decides how each source's text is read and checked.
    enum Kind: Sendable {
        /// A file or folder. Relative paths are relative to the working directory (flags and
        /// environment) or to the configuration file's folder (the file).
        case path
        case text
        /// A URL with one of `schemes` (nil: any scheme).
        case url(schemes: [String]?)
        case choice([String])
        case integer(ClosedRange<Int>)
        /// A number between 0 and 1.
        case fraction
        /// `VALUE=ROLE` pairs separated by commas: which role a claim value or a certificate
        /// identity grants (read by `RoleMap`).
        case roleMap
        /// Per-role, per-class request rates (read by `RateLimitRules`).
        case rateLimits
        case boolean
        /// A secret: never a value of the configuration. Its flag, `*_FILE` variable and file
        /// key name a file holding it; `variable` is the environment variable that may hold it.
        case secret(variable: String)
    }

    public var name: String { rawValue }

    var kind: Kind {
        switch self {
        case .dataDir: .path
        case .embedder: .choice(AresConfiguration.EmbedderKind.allCases.map(\.rawValue))
        case .embeddingURL, .modelURL: .url(schemes: nil)
        case .publicURL, .otlpEndpoint: .url(schemes: ["http", "https"])
        case .embeddingModel, .model, .host: .text
        case .embeddingBatchSize: .integer(1...2048)
        case .embeddingModelDir: .path
        case .embeddingQuantization: .choice(EmbeddingQuantization.allCases.map(\.rawValue))
        case .embeddingAPIKey: .secret(variable: "ARES_EMBEDDING_API_KEY")
        case .modelAPIKey: .secret(variable: "ARES_MODEL_API_KEY")
        // At most the model HTTP client's read timeout (120 s): a chat answer that is not
        // streamed sends no byte until it is done, so a longer limit could never be reached.
        case .modelTimeout: .integer(1...120)
        case .modelStructuredOutput: .choice(OpenAIChatConfiguration.StructuredOutput.allCases.map(\.rawValue))
        case .port: .integer(0...65535)
        case .dev, .logRequests, .allowPrivateWebhooks: .boolean
        case .maxRunningTasks, .researcherMaxRunning, .adminMaxRunning: .integer(1...256)
        case .maxQueuedTasks, .researcherMaxQueued, .adminMaxQueued: .integer(0...10_000_000)
        case .maxBodyBytes: .integer(1024...(64 << 20))
        case .maxConnections: .integer(1...100_000)
        case .requestHeadTimeout, .requestBodyTimeout: .integer(1...3600)
        case .logLevel: .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"])
        case .traceSamplingRatio: .fraction
        case .oidcIssuer: .url(schemes: ["https", "http"])
        case .oidcAudience, .oidcRoleClaim, .oidcConsoleClientId: .text
        case .oidcRoleMap, .tlsClientRoleMap: .roleMap
        case .oidcLeeway: .integer(0...300)
        case .tlsCert, .tlsKey, .tlsClientCA, .caFile, .modelClientCert, .modelClientKey: .path
        case .tlsClientAuth: .choice(AresConfiguration.TLS.ClientAuthentication.allCases.map(\.rawValue))
        case .rateLimits: .rateLimits
        case .backupTo: .path
        case .backupFailureLimit: .integer(1...86_400)
        case .backupMaxLag: .integer(1...3600)
        case .backupSegmentsPerBase: .integer(1...10_000_000)
        // Read by `RetentionPeriod` (12h, 30d) when the configuration is built.
        case .retention: .text
        case .eventFormat: .choice(TaskEventFormat.allCases.map(\.rawValue))
        // Read by `DatabaseSettings` when the configuration is built: its messages never repeat
        // the URL, which a `.url` kind would quote back (with any password written into it).
        case .database: .text
        case .databasePasswordFile: .secret(variable: DatabaseSettings.passwordVariable)
        case .databaseCAFile: .path
        case .databaseNotify: .choice(AresConfiguration.Database.NotifyMode.allCases.map(\.rawValue))
        case .replicaID: .text
        case .minimumWordShare, .minimumCosine, .minimumShareOfBest, .minimumScore: .fraction
        case .sourcesPerSection: .integer(0...100)
        }
    }

    /// The command-line flag, where a command offers one.
    public var flag: String? {
        switch self {
        case .dataDir: "--data-dir"
        case .embedder: "--embedder"
        case .embeddingURL: "--embedding-url"
        case .embeddingModel: "--embedding-model"
        case .embeddingBatchSize: "--embedding-batch-size"
        case .embeddingModelDir: "--embedding-model-dir"
        case .embeddingQuantization: "--embedding-quantization"
        case .embeddingAPIKey: "--embedding-key-file"
        case .modelURL: "--model-url"
        case .model: "--model"
        case .modelAPIKey: "--model-key-file"
        case .modelStructuredOutput: "--model-structured-output"
        case .modelTimeout: "--model-timeout"
        case .host: "--host"
        case .port: "--port"
        case .publicURL: "--public-url"
        case .dev: "--dev"
        case .maxRunningTasks: "--max-running-tasks"
        case .maxQueuedTasks: "--max-queued-tasks"
        case .maxBodyBytes: "--max-body-bytes"
        case .maxConnections: "--max-connections"
        case .requestHeadTimeout: "--request-head-timeout"
        case .requestBodyTimeout: "--request-body-timeout"
        case .researcherMaxQueued, .researcherMaxRunning, .adminMaxQueued, .adminMaxRunning: nil
        case .logRequests: "--no-request-log"
        case .logLevel: "--log-level"
        case .allowPrivateWebhooks: "--allow-private-webhooks"
        case .otlpEndpoint: "--otlp-endpoint"
        case .traceSamplingRatio: "--trace-sampling-ratio"
        case .oidcIssuer: "--oidc-issuer"
        case .oidcAudience: "--oidc-audience"
        case .oidcRoleClaim: "--oidc-role-claim"
        case .oidcRoleMap: "--oidc-role-map"
        case .oidcLeeway: "--oidc-leeway"
        case .oidcConsoleClientId: "--oidc-console-client-id"
        case .tlsCert: "--tls-cert"
        case .tlsKey: "--tls-key"
        case .tlsClientCA: "--tls-client-ca"
        case .tlsClientAuth: "--tls-client-auth"
        case .tlsClientRoleMap: "--tls-client-role-map"
        case .caFile: "--ca-file"
        case .modelClientCert: "--model-client-cert"
        case .modelClientKey: "--model-client-key"
        case .rateLimits: "--rate-limits"
        case .backupTo: "--backup-to"
        case .backupFailureLimit: "--backup-failure-limit"
        case .backupMaxLag: "--backup-max-lag"
        case .backupSegmentsPerBase: "--backup-segments-per-base"
        case .retention: "--retention"
        case .eventFormat: "--event-format"
        case .database: "--database"
        // A password is never a flag: only the file or the environment holds it.
        case .databasePasswordFile: nil
        case .databaseCAFile: "--database-ca-file"
        case .databaseNotify: "--database-notify"
        case .replicaID: "--replica-id"
        case .minimumWordShare: "--minimum-word-share"
        case .minimumCosine: "--minimum-cosine"
        case .minimumShareOfBest: "--minimum-share-of-best"
        case .minimumScore: "--minimum-score"
        case .sourcesPerSection: "--sources-per-section"
        }
    }

    /// The environment variable. Development mode has none on purpose: it lets anyone act as
    /// admin, so it is said on the command line, where it is seen. Quotas are structured and
    /// live in the file only.
    public var environmentVariable: String? {
        switch self {
        case .dataDir: "ARES_DATA_DIR"
        case .embedder: "ARES_EMBEDDER"
        case .embeddingURL: "ARES_EMBEDDING_URL"
        case .embeddingModel: "ARES_EMBEDDING_MODEL"
        case .embeddingBatchSize: "ARES_EMBEDDING_BATCH_SIZE"
        case .embeddingModelDir: "ARES_EMBEDDING_MODEL_DIR"
        case .embeddingQuantization: "ARES_EMBEDDING_QUANTIZATION"
        case .embeddingAPIKey: "ARES_EMBEDDING_API_KEY_FILE"
        case .modelURL: "ARES_MODEL_URL"
        case .model: "ARES_MODEL"
        case .modelAPIKey: "ARES_MODEL_API_KEY_FILE"
        case .modelStructuredOutput: "ARES_MODEL_STRUCTURED_OUTPUT"
        case .modelTimeout: "ARES_MODEL_TIMEOUT"
        case .host: "ARES_HOST"
        case .port: "ARES_PORT"
        case .publicURL: "ARES_PUBLIC_URL"
        case .dev: nil
        case .maxRunningTasks: "ARES_MAX_RUNNING_TASKS"
        case .maxQueuedTasks: "ARES_MAX_QUEUED_TASKS"
        case .maxBodyBytes: "ARES_MAX_BODY_BYTES"
        case .maxConnections: "ARES_MAX_CONNECTIONS"
        case .requestHeadTimeout: "ARES_REQUEST_HEAD_TIMEOUT"
        case .requestBodyTimeout: "ARES_REQUEST_BODY_TIMEOUT"
        case .researcherMaxQueued, .researcherMaxRunning, .adminMaxQueued, .adminMaxRunning: nil
        case .logRequests: "ARES_LOG_REQUESTS"
        case .logLevel: "ARES_LOG_LEVEL"
        case .allowPrivateWebhooks: "ARES_ALLOW_PRIVATE_WEBHOOKS"
        case .otlpEndpoint: "OTEL_EXPORTER_OTLP_ENDPOINT"
        case .traceSamplingRatio: "OTEL_TRACES_SAMPLER_ARG"
        case .oidcIssuer: "ARES_OIDC_ISSUER"
        case .oidcAudience: "ARES_OIDC_AUDIENCE"
        case .oidcRoleClaim: "ARES_OIDC_ROLE_CLAIM"
        case .oidcRoleMap: "ARES_OIDC_ROLE_MAP"
        case .oidcLeeway: "ARES_OIDC_LEEWAY"
        case .oidcConsoleClientId: "ARES_OIDC_CONSOLE_CLIENT_ID"
        case .tlsCert: "ARES_TLS_CERT"
        case .tlsKey: "ARES_TLS_KEY_FILE"
        case .tlsClientCA: "ARES_TLS_CLIENT_CA"
        case .tlsClientAuth: "ARES_TLS_CLIENT_AUTH"
        case .tlsClientRoleMap: "ARES_TLS_CLIENT_ROLE_MAP"
        case .caFile: "ARES_CA_FILE"
        case .modelClientCert: "ARES_MODEL_CLIENT_CERT"
        case .modelClientKey: "ARES_MODEL_CLIENT_KEY_FILE"
        case .rateLimits: "ARES_RATE_LIMITS"
        case .backupTo: "ARES_BACKUP_TO"
        case .backupFailureLimit: "ARES_BACKUP_FAILURE_LIMIT"
        case .backupMaxLag: "ARES_BACKUP_MAX_LAG"
        case .backupSegmentsPerBase: "ARES_BACKUP_SEGMENTS_PER_BASE"
        case .retention: "ARES_RETENTION"
        case .eventFormat: "ARES_EVENT_FORMAT"
        case .database: DatabaseSettings.urlVariable
        case .databasePasswordFile: DatabaseSettings.passwordFileVariable
        case .databaseCAFile: "ARES_DATABASE_CA_FILE"
        case .databaseNotify: "ARES_DATABASE_NOTIFY"
        case .replicaID: "ARES_REPLICA_ID"
        case .minimumWordShare: "ARES_MINIMUM_WORD_SHARE"
        case .minimumCosine: "ARES_MINIMUM_COSINE"
        case .minimumShareOfBest: "ARES_MINIMUM_SHARE_OF_BEST"
        case .minimumScore: "ARES_MINIMUM_SCORE"
        case .sourcesPerSection: "ARES_SOURCES_PER_SECTION"
        }
    }

    /// The key in the configuration file (a dotted path for nested keys); nil for `dev`.
    public var fileKey: String? {
        switch self {
        case .dev: nil
        case .embeddingAPIKey: "embeddingKeyFile"
        case .modelAPIKey: "modelKeyFile"
        default: rawValue
        }
    }

    /// The value when no source sets one (nil: unset).
    var defaultValue: ConfigurationValue? {
        switch self {
        case .dataDir: .text(".ares")
        case .embedder: .text(AresConfiguration.EmbedderKind.builtin.rawValue)
        case .embeddingBatchSize: .integer(64)
        case .embeddingQuantization: .text(EmbeddingQuantization.none.rawValue)
        case .modelTimeout: .integer(60)
        case .modelStructuredOutput: .text(OpenAIChatConfiguration.StructuredOutput.jsonSchema.rawValue)
        case .host: .text("127.0.0.1")
        case .port: .integer(8080)
        case .dev, .allowPrivateWebhooks: .boolean(false)
        case .maxRunningTasks: .integer(4)
        case .maxQueuedTasks: .integer(1000)
        case .maxBodyBytes: .integer(1 << 20)
        case .maxConnections: .integer(512)
        case .requestHeadTimeout: .integer(30)
        case .requestBodyTimeout: .integer(60)
        case .researcherMaxQueued: .integer(100)
        case .logRequests: .boolean(true)
        case .logLevel: .text("info")
        case .traceSamplingRatio: .number(1)
        case .oidcRoleClaim: .text("roles")
        case .oidcRoleMap: .text(RoleMap.identityDefinition)
        case .oidcLeeway: .integer(30)
        case .rateLimits: .text(RateLimitRules.defaultDefinition)
        case .backupFailureLimit: .integer(60)
        case .backupMaxLag: .integer(1)
        case .backupSegmentsPerBase: .integer(10_000)
        case .backupTo, .retention: nil
        case .eventFormat: .text(TaskEventFormat.compact.rawValue)
        case .databaseNotify: .text(AresConfiguration.Database.NotifyMode.listen.rawValue)
        case .database, .databasePasswordFile, .databaseCAFile, .replicaID: nil
        case .minimumWordShare: .number(RelevanceThresholds().minimumWordShare)
        case .minimumCosine: .number(RelevanceThresholds().minimumCosine)
        case .minimumShareOfBest: .number(RelevanceThresholds().minimumShareOfBest)
        case .minimumScore: .number(RelevanceThresholds().minimumScore)
        case .sourcesPerSection: .integer(RelevanceThresholds().sourcesPerSection)
        case .oidcIssuer, .oidcAudience, .oidcConsoleClientId, .tlsCert, .tlsKey, .tlsClientCA, .tlsClientAuth, .tlsClientRoleMap,
             .caFile, .modelClientCert, .modelClientKey:
            nil
        case .embeddingURL, .embeddingModel, .embeddingAPIKey, .embeddingModelDir, .modelURL, .model, .modelAPIKey, .publicURL,
             .researcherMaxRunning, .adminMaxQueued, .adminMaxRunning, .otlpEndpoint:
            nil
        }
    }

    /// The accepted values, in words, for messages and documentation.
    var acceptedValues: String {
        switch kind {
        case .path: "a path"
        case .text: "a non-empty text"
        case let .url(schemes): schemes.map { "an \($0.joined(separator: " or ")) URL" } ?? "a URL"
        case let .choice(choices): "one of \(choices.joined(separator: ", "))"
        case let .integer(range): "an integer between \(range.lowerBound) and \(range.upperBound)"
        case .fraction: "a number between 0 and 1"
        case .boolean: "true or false"
        case .secret: "the path of a file holding the key"
        case .roleMap: "VALUE=ROLE pairs separated by commas, ROLE one of viewer, researcher, admin (e.g. ares-admin=admin,ares-user=researcher)"
        case .rateLimits: "off, or CLASS=RATE pairs separated by commas, CLASS one of read, write (or ROLE.CLASS), RATE requests per second with an optional burst, e.g. read=200/s:400,write=20/s,admin.write=off"
        }
    }

    /// Every way to set this setting, for messages: "--port, ARES_PORT or port in the configuration file".
    var sourcesInWords: String {
        var ways = [flag, environmentVariable].compactMap { $0 }
        if let fileKey { ways.append("\(fileKey) in the configuration file") }
        switch ways.count {
        case 0: return name
        case 1: return ways[0]
        default: return ways.dropLast().joined(separator: ", ") + " or " + ways.last!
        }
    }
}
