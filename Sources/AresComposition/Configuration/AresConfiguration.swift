import Agents
import Foundation
import LocalModels
import Logging
import Security
import Server
import TaskService

/// Everything that can be configured about ares, read once from flags, the environment, a
/// configuration file and defaults (in that order of precedence) and validated once, by
/// `AresConfiguration.load`. The rest of ares reads its settings from here and nowhere else.
/// Secrets are not values of the configuration: only where to find them (`SecretReference`).
public struct AresConfiguration: Sendable {
    public enum EmbedderKind: String, CaseIterable, Sendable {
        /// The hashing embedder: no model, no network.
        case builtin
        /// Any OpenAI-compatible `/v1/embeddings` endpoint.
        case openai
        /// A sentence-transformers model folder run inside ares (LocalModels).
        case local
    }

    /// Which embedder turns text into vectors.
    public struct Embedding: Sendable, Equatable {
        public var kind: EmbedderKind
        /// The endpoint's API base URL and model name (set when `kind` is `openai`).
        public var url: URL?
        public var model: String?
        /// Texts per embeddings request.
        public var batchSize: Int
        public var apiKey: SecretReference?
        /// The model folder of the local embedder (set when `kind` is `local`).
        public var modelDirectory: URL? = nil
        /// How the local embedder computes its linear layers (float32 or 8-bit).
        public var quantization: EmbeddingQuantization = .none

        /// The built-in embedder.
        public static let builtin = Embedding(kind: .builtin, url: nil, model: nil, batchSize: 64, apiKey: nil)
    }

    /// The chat model of the LLM-backed agents.
    public struct ChatModel: Sendable, Equatable {
        public var url: URL
        public var name: String
        public var apiKey: SecretReference?
        /// "json-schema": each agent's answer schema goes with its request (`response_format`),
        /// so that servers with structured output (llama.cpp, vLLM, Ollama, OpenAI) answer in
        /// shape; "none": for endpoints that reject `response_format`.
        public var structuredOutput: OpenAIChatConfiguration.StructuredOutput = .jsonSchema
        /// How long one request may take (a small local model on a busy CPU is slow).
        public var requestTimeout: Duration = .seconds(60)
    }

    /// One role's task limits; nil: only the server-wide limit applies.
    public struct Quota: Sendable, Equatable {
        public var maximumQueued: Int?
        public var maximumRunning: Int?

        public init(maximumQueued: Int? = nil, maximumRunning: Int? = nil) {
            self.maximumQueued = maximumQueued
            self.maximumRunning = maximumRunning
        }
    }

    /// How `ares serve` listens and admits work.
    public struct Server: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// The URL clients reach the server at (for the agent card); nil: http://host:port.
        public var publicURL: String?
        /// Requests without credentials act as a local admin (loopback only).
        public var developmentMode: Bool
        public var maximumRunningTasks: Int
        public var maximumQueuedTasks: Int
        public var maximumBodyBytes: Int
        public var maximumConnections: Int
        public var requestHeadTimeout: Duration
        public var requestBodyTimeout: Duration
        public var researcherQuota: Quota
        public var adminQuota: Quota
        public var logRequests: Bool
        public var logLevel: Logger.Level
        /// The setting as given; development mode allows private webhooks too.
        public var allowPrivateWebhooks: Bool
        /// Where traces are exported over OTLP/HTTP; nil: no tracing.
        public var otlpEndpoint: URL?
        /// The share (0...1) of new traces that are sampled.
        public var traceSamplingRatio: Double

        /// Whether push-notification webhooks may reach loopback, private and link-local addresses.
        public var webhooksMayReachPrivateAddresses: Bool { allowPrivateWebhooks || developmentMode }
    }

    /// ares as an OAuth2 resource server: bearer tokens from an OpenID Connect provider.
    public struct Identity: Sendable, Equatable {
        /// The provider's issuer URL (its discovery document is under it); nil: no tokens accepted.
        public var oidcIssuer: URL?
        /// The audience a token must name (`aud`); required with an issuer.
        public var oidcAudience: String?
        /// The claim roles are read from: a dotted path (`realm_access.roles`) to a string array,
        /// or to a space-separated string (`scope`).
        public var oidcRoleClaim: String
        /// Claim value → role; a token's highest mapped role wins, one without any is refused.
        public var oidcRoleMap: [String: Role]
        /// Seconds of clock difference tolerated for `exp` and `nbf`.
        public var oidcLeewaySeconds: Int
        /// The public OAuth2 client (no secret) the web console signs users in with, by
        /// authorization code + PKCE; nil: the console offers API keys only.
        public var oidcConsoleClientId: String? = nil

        /// Whether bearer tokens are accepted.
        public var acceptsTokens: Bool { oidcIssuer != nil }
    }

    /// How `ares serve` speaks TLS, and whom it accepts by client certificate.
    public struct TLS: Sendable, Equatable {
        public enum ClientAuthentication: String, Sendable, CaseIterable {
            /// No client certificate is asked for.
            case none
            /// A client certificate is verified when one is presented; others authenticate otherwise.
            case optional
            /// The handshake fails without a client certificate the client CA signed.
            case require
        }

        /// The PEM certificate chain; nil: plain HTTP.
        public var certificateFile: String?
        /// The PEM private key's file (a secret: only its path is configuration).
        public var keyFile: String?
        /// The PEM CA bundle client certificates must chain to.
        public var clientCAFile: String?
        public var clientAuthentication: ClientAuthentication
        /// Certificate identity (URI SAN, else DNS SAN, else subject CN) → role. A verified
        /// certificate not in the map is no principal.
        public var clientRoleMap: [String: Role]

        public var isEnabled: Bool { certificateFile != nil }
    }

    /// The TLS of ares's own calls (model, embedding, webhook, identity-provider and telemetry endpoints).
    public struct Outbound: Sendable, Equatable {
        /// A PEM bundle of CAs trusted besides the system's.
        public var caFile: String?
        /// A client certificate and key presented to the model and embedding endpoints.
        public var modelClientCertificateFile: String?
        public var modelClientKeyFile: String?
    }

    /// The configuration file read, if any, and whether `--config` or `$ARES_CONFIG` named it.
    public var configurationFile: URL?
    public var configurationFileSource: ConfigurationSource = .default
    /// The data directory (absolute).
    public var dataDirectory: URL
    public var embedding: Embedding
    /// Nil: the built-in agents only.
    public var chatModel: ChatModel?
    public var server: Server
    public var identity: Identity
    public var tls: TLS
    public var outbound: Outbound
    /// Requests per second each principal may make, by role and request class.
    public var rateLimits: RateLimitRules
    /// Every setting with its value and source, in `ConfigurationSetting` order (for `ares config show`).
    public var settings: [ResolvedSetting]
    /// `ares serve --retention 30d`: ended tasks older than this are pruned (a summary and a
    /// chain checkpoint remain); nil: tasks are kept forever.
    public var retention: RetentionPeriod? = nil
    /// `--event-format`: the task event tags written (`compatible` during a rolling upgrade
    /// from a release that cannot read the compact ones).
    public var eventFormat: TaskEventFormat = .compact
    /// `ares serve --backup-to DIR`: continuous backup shipping; nil: none.
    public var continuousBackup: ContinuousBackup? = nil
    /// `--database URL`: shared state in PostgreSQL; nil: the data directory only (the default).
    public var database: Database? = nil
    /// How relevant a sentence must be to its sub-question to enter a report (`--minimum-word-share`,
    /// `--minimum-cosine`, ...; the defaults were calibrated on the development questions).
    public var relevance = RelevanceThresholds()

    /// Where and how `ares serve` ships every commit (docs/operations.md, Backups).
    public struct ContinuousBackup: Sendable, Equatable {
        /// The backup directory (absolute), outside the data directory.
        public var directory: URL
        /// Shipping failing (or behind) for longer than this makes the server not ready.
        public var failureLimit: Duration
        /// A new base snapshot after this many segments.
        public var segmentsPerBase: Int
        /// Bounded RPO: task-store writes wait while the backup misses a commit older than this
        /// (`BackupAcknowledgementGate`).
        public var maximumLag: Duration = .seconds(1)
    }

    /// The resolved setting `setting`.
    public func resolved(_ setting: ConfigurationSetting) -> ResolvedSetting {
        settings.first { $0.setting == setting } ?? ResolvedSetting(setting: setting, value: nil, source: .default, origin: nil)
    }
}
