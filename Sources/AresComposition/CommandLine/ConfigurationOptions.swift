import ArgumentParser
import Server

// The command-line flags of the configuration, shared by `ares` and `ares-bench`. Each group
// only records what was given; `AresConfiguration.load` merges it with the environment, the
// configuration file and the defaults (ConfigurationSetting names every source).

/// `--config FILE`: the configuration file.
public struct ConfigurationFileOptions: ParsableArguments, ConfigurationOptionGroup {
    @Option(name: .customLong("config"), help: ArgumentHelp(
        "A JSON configuration file (else $ARES_CONFIG). Flags and the environment override it; see docs/configuration.md.",
        valueName: "file"))
    public var file: String?

    public init() {}

    public func apply(to flags: inout ConfigurationFlags) {
        if let file { flags.configurationFile = file }
    }
}

/// Where the data lives, and the configuration file.
public struct DataDirectoryOptions: ParsableArguments, ConfigurationOptionGroup {
    @Option(name: .customLong("data-dir"), help: "The data directory (default: $ARES_DATA_DIR, else ./.ares).")
    public var dataDirectory: String?

    @OptionGroup public var configurationFile: ConfigurationFileOptions

    public init() {}

    public func apply(to flags: inout ConfigurationFlags) {
        configurationFile.apply(to: &flags)
        flags.set(.dataDir, dataDirectory)
    }
}

/// Which embedder turns text into vectors.
public struct EmbedderOptions: ParsableArguments, ConfigurationOptionGroup {
    @Option(help: ArgumentHelp(
        "builtin (default: no model, no network), openai (any OpenAI-compatible /v1/embeddings endpoint) or local (a sentence-transformers model folder run inside ares, see --embedding-model-dir; $ARES_EMBEDDER).",
        valueName: "embedder"))
    public var embedder: String?

    @Option(help: "The endpoint's API base URL, e.g. http://127.0.0.1:11434/v1 ($ARES_EMBEDDING_URL).")
    public var embeddingURL: String?

    @Option(help: "The embedding model name ($ARES_EMBEDDING_MODEL).")
    public var embeddingModel: String?

    @Option(help: "A file holding the API key (else $ARES_EMBEDDING_API_KEY_FILE or $ARES_EMBEDDING_API_KEY).")
    public var embeddingKeyFile: String?

    @Option(help: ArgumentHelp(
        "The local embedder's model folder, as published on Hugging Face: config.json, model.safetensors, tokenizer.json or vocab.txt, 1_Pooling/ ($ARES_EMBEDDING_MODEL_DIR).",
        valueName: "dir"))
    public var embeddingModelDir: String?

    @Option(help: "How the local embedder computes: none (float32, the reference's vectors) or int8 (8-bit layers: faster, cosine ≥ 0.99 to float32; $ARES_EMBEDDING_QUANTIZATION).")
    public var embeddingQuantization: String?

    @Option(help: "Texts per embeddings request (default 64; $ARES_EMBEDDING_BATCH_SIZE).")
    public var embeddingBatchSize: Int?

    @Option(help: ArgumentHelp(
        "A PEM file of CA certificates trusted for ares's outgoing HTTPS (model, embedding, webhook and identity-provider endpoints) besides the system's ($ARES_CA_FILE).",
        valueName: "file"))
    public var caFile: String?

    @Option(help: ArgumentHelp("A PEM client certificate presented to the model and embedding endpoints ($ARES_MODEL_CLIENT_CERT).", valueName: "file"))
    public var modelClientCert: String?

    @Option(help: ArgumentHelp("The PEM private key of --model-client-cert ($ARES_MODEL_CLIENT_KEY_FILE).", valueName: "file"))
    public var modelClientKey: String?

    public init() {}

    public func apply(to flags: inout ConfigurationFlags) {
        flags.set(.embedder, embedder)
        flags.set(.embeddingURL, embeddingURL)
        flags.set(.embeddingModel, embeddingModel)
        flags.set(.embeddingAPIKey, embeddingKeyFile)
        flags.set(.embeddingModelDir, embeddingModelDir)
        flags.set(.embeddingQuantization, embeddingQuantization)
        flags.set(.embeddingBatchSize, embeddingBatchSize)
        flags.set(.caFile, caFile)
        flags.set(.modelClientCert, modelClientCert)
        flags.set(.modelClientKey, modelClientKey)
    }
}

/// An optional language model for the LLM-backed agents: any OpenAI-compatible
/// chat-completions endpoint. Without one, the built-in agents do all the work.
public struct ModelOptions: ParsableArguments, ConfigurationOptionGroup {
    @Option(help: "The chat model's API base URL, e.g. http://127.0.0.1:11434/v1 ($ARES_MODEL_URL). Unset: built-in agents only.")
    public var modelURL: String?

    @Option(help: "The chat model name ($ARES_MODEL).")
    public var model: String?

    @Option(help: "A file holding the model API key (else $ARES_MODEL_API_KEY_FILE or $ARES_MODEL_API_KEY).")
    public var modelKeyFile: String?

    @Option(help: "Send each agent's answer schema to the model (json-schema, the default) or not (none) ($ARES_MODEL_STRUCTURED_OUTPUT).")
    public var modelStructuredOutput: String?

    @Option(help: "Seconds one model request may take, 1-120 (default 60; $ARES_MODEL_TIMEOUT).")
    public var modelTimeout: Int?

    public init() {}

    public func apply(to flags: inout ConfigurationFlags) {
        flags.set(.modelURL, modelURL)
        flags.set(.model, model)
        flags.set(.modelAPIKey, modelKeyFile)
        flags.set(.modelStructuredOutput, modelStructuredOutput)
        flags.set(.modelTimeout, modelTimeout)
    }
}

/// How relevant a sentence must be to its sub-question to enter a report; a sub-question left
/// without such a sentence is reported as one the knowledge base does not answer.
public struct RelevanceOptions: ParsableArguments, ConfigurationOptionGroup {
    @Option(help: ArgumentHelp("Without a semantic embedding model: the least idf-weighted share (0-1) of a sub-question's terms a report sentence must hold (default 0.25; $ARES_MINIMUM_WORD_SHARE).",
                               valueName: "share"))
    public var minimumWordShare: Double?

    @Option(help: ArgumentHelp("With a semantic embedding model: the least cosine (0-1) of sentence and sub-question that counts as close in meaning (default 0.45; $ARES_MINIMUM_COSINE).",
                               valueName: "cosine"))
    public var minimumCosine: Double?

    @Option(help: ArgumentHelp("The least share (0-1) of its section's best score a further report sentence must reach (default 0: off; $ARES_MINIMUM_SHARE_OF_BEST).",
                               valueName: "share"))
    public var minimumShareOfBest: Double?

    @Option(help: ArgumentHelp("The least evidence score (0-1) a report sentence must have (default 0: off; $ARES_MINIMUM_SCORE).", valueName: "score"))
    public var minimumScore: Double?

    @Option(help: ArgumentHelp("The most sources (documents) one report section quotes, 0-100 (default 2; 0: any number; $ARES_SOURCES_PER_SECTION).",
                               valueName: "count"))
    public var sourcesPerSection: Int?

    public init() {}

    public func apply(to flags: inout ConfigurationFlags) {
        flags.set(.minimumWordShare, minimumWordShare)
        flags.set(.minimumCosine, minimumCosine)
        flags.set(.minimumShareOfBest, minimumShareOfBest)
        flags.set(.minimumScore, minimumScore)
        flags.set(.sourcesPerSection, sourcesPerSection)
    }
}

/// How `ares serve` listens and admits work.
public struct ServerOptions: ParsableArguments, ConfigurationOptionGroup {
    @Option(help: "The address to listen on (default 127.0.0.1; $ARES_HOST).")
    public var host: String?

    @Option(help: "The port (default 8080; 0 picks a free one; $ARES_PORT).")
    public var port: Int?

    @Flag(help: "Development mode (loopback only): requests without credentials act as a local admin.")
    public var dev = false

    @Option(help: "The URL clients reach this server at, for the agent card (default http://HOST:PORT; $ARES_PUBLIC_URL).")
    public var publicURL: String?

    @Option(help: "Research tasks run at once (default 4; $ARES_MAX_RUNNING_TASKS).")
    public var maxRunningTasks: Int?

    @Option(help: "Tasks admitted to wait for a worker; beyond that a submission is refused as busy (default 1000; $ARES_MAX_QUEUED_TASKS).")
    public var maxQueuedTasks: Int?

    @Option(help: "The largest request body in bytes (default 1048576; $ARES_MAX_BODY_BYTES).")
    public var maxBodyBytes: Int?

    @Option(help: "Open connections at most; beyond that new ones wait to be accepted (default 512; $ARES_MAX_CONNECTIONS).")
    public var maxConnections: Int?

    @Option(help: "Seconds a client has to send a request's head after connecting or after the previous answer (default 30; $ARES_REQUEST_HEAD_TIMEOUT).")
    public var requestHeadTimeout: Int?

    @Option(help: "Seconds a client has to send a request's body after its head (default 60; $ARES_REQUEST_BODY_TIMEOUT).")
    public var requestBodyTimeout: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical (default info; $ARES_LOG_LEVEL).")
    public var logLevel: String?

    @Flag(help: "Allow push-notification webhooks on loopback, private or link-local addresses (always allowed with --dev; $ARES_ALLOW_PRIVATE_WEBHOOKS).")
    public var allowPrivateWebhooks = false

    @Flag(help: "Do not log one line per request ($ARES_LOG_REQUESTS=false).")
    public var noRequestLog = false

    @Option(help: "Export traces over OTLP/HTTP (JSON) to this collector, e.g. http://127.0.0.1:4318 ($OTEL_EXPORTER_OTLP_ENDPOINT). Unset: no tracing.")
    public var otlpEndpoint: String?

    @Option(help: "The share (0-1) of new traces that are sampled (default 1; $OTEL_TRACES_SAMPLER_ARG).")
    public var traceSamplingRatio: Double?

    @Option(help: ArgumentHelp("Accept OAuth2 bearer tokens from this OpenID Connect issuer ($ARES_OIDC_ISSUER).", valueName: "url"))
    public var oidcIssuer: String?

    @Option(help: ArgumentHelp("The audience (aud) tokens must be issued for; required with --oidc-issuer ($ARES_OIDC_AUDIENCE).", valueName: "audience"))
    public var oidcAudience: String?

    @Option(help: ArgumentHelp("The token claim roles are read from: a dotted path such as realm_access.roles, or scope (default roles; $ARES_OIDC_ROLE_CLAIM).",
                               valueName: "claim"))
    public var oidcRoleClaim: String?

    @Option(help: ArgumentHelp("Claim values to roles, e.g. ares-admin=admin,ares-user=researcher (default: viewer, researcher and admin by name; $ARES_OIDC_ROLE_MAP).",
                               valueName: "map"))
    public var oidcRoleMap: String?

    @Option(help: "Seconds of clock difference tolerated in token times (default 30; $ARES_OIDC_LEEWAY).")
    public var oidcLeeway: Int?

    @Option(help: ArgumentHelp("The public client id (no secret) the web console signs in with at --oidc-issuer, by authorization code + PKCE ($ARES_OIDC_CONSOLE_CLIENT_ID).",
                               valueName: "id"))
    public var oidcConsoleClientId: String?

    @Option(help: ArgumentHelp("Serve HTTPS with this PEM certificate chain; reloaded when the file changes ($ARES_TLS_CERT).", valueName: "file"))
    public var tlsCert: String?

    @Option(help: ArgumentHelp("The PEM private key of --tls-cert; reloaded when the file changes ($ARES_TLS_KEY_FILE).", valueName: "file"))
    public var tlsKey: String?

    @Option(help: ArgumentHelp("Verify client certificates against this PEM CA bundle (mutual TLS; $ARES_TLS_CLIENT_CA).", valueName: "file"))
    public var tlsClientCa: String?

    @Option(help: ArgumentHelp("none, optional or require (default require with --tls-client-ca; $ARES_TLS_CLIENT_AUTH).", valueName: "mode"))
    public var tlsClientAuth: String?

    @Option(help: ArgumentHelp("Client certificate identities (URI SAN, else DNS SAN, else CN) to roles, e.g. spiffe://orch/gateway=researcher ($ARES_TLS_CLIENT_ROLE_MAP).",
                               valueName: "map"))
    public var tlsClientRoleMap: String?

    @Option(help: ArgumentHelp("Requests per second per principal: off, or rules such as read=1000/s:2000,write=100/s,admin.*=off (default \(RateLimitRules.defaultDefinition); $ARES_RATE_LIMITS).",
                               valueName: "rules"))
    public var rateLimits: String?

    @Option(help: ArgumentHelp("Continuous backup: ship every commit to this directory within a second (a base snapshot plus segments; restore with `ares restore DIR`; $ARES_BACKUP_TO).",
                               valueName: "dir"))
    public var backupTo: String?

    @Option(help: ArgumentHelp("Seconds backup shipping may fail (or lag) before /health/ready says not ready (default 60; $ARES_BACKUP_FAILURE_LIMIT).",
                               valueName: "seconds"))
    public var backupFailureLimit: Int?

    @Option(help: ArgumentHelp("Bounded RPO: writes wait while the backup misses a commit older than this many seconds (default 1; at most the failure limit; $ARES_BACKUP_MAX_LAG).",
                               valueName: "seconds"))
    public var backupMaxLag: Int?

    @Option(help: ArgumentHelp("A new base snapshot after this many segments, or once they outgrow the base (default 10000; $ARES_BACKUP_SEGMENTS_PER_BASE).",
                               valueName: "count"))
    public var backupSegmentsPerBase: Int?

    @Option(help: ArgumentHelp("Prune tasks that ended longer ago than this (12h, 30d, 2w): a summary and a chain checkpoint remain; default: keep every task ($ARES_RETENTION).",
                               valueName: "period"))
    public var retention: String?

    @Option(help: ArgumentHelp("Task event tags to write: compact (the default: evidence by reference, each report once) or compatible (what releases before compact events read; for a rolling upgrade from one; $ARES_EVENT_FORMAT).",
                               valueName: "format"))
    public var eventFormat: String?

    public init() {}

    public func apply(to flags: inout ConfigurationFlags) {
        flags.set(.host, host)
        flags.set(.port, port)
        flags.set(.dev, true, given: dev)
        flags.set(.publicURL, publicURL)
        flags.set(.maxRunningTasks, maxRunningTasks)
        flags.set(.maxQueuedTasks, maxQueuedTasks)
        flags.set(.maxBodyBytes, maxBodyBytes)
        flags.set(.maxConnections, maxConnections)
        flags.set(.requestHeadTimeout, requestHeadTimeout)
        flags.set(.requestBodyTimeout, requestBodyTimeout)
        flags.set(.logLevel, logLevel)
        flags.set(.allowPrivateWebhooks, true, given: allowPrivateWebhooks)
        flags.set(.logRequests, false, given: noRequestLog)
        flags.set(.otlpEndpoint, otlpEndpoint)
        flags.set(.traceSamplingRatio, traceSamplingRatio)
        flags.set(.oidcIssuer, oidcIssuer)
        flags.set(.oidcAudience, oidcAudience)
        flags.set(.oidcRoleClaim, oidcRoleClaim)
        flags.set(.oidcRoleMap, oidcRoleMap)
        flags.set(.oidcLeeway, oidcLeeway)
        flags.set(.oidcConsoleClientId, oidcConsoleClientId)
        flags.set(.tlsCert, tlsCert)
        flags.set(.tlsKey, tlsKey)
        flags.set(.tlsClientCA, tlsClientCa)
        flags.set(.tlsClientAuth, tlsClientAuth)
        flags.set(.tlsClientRoleMap, tlsClientRoleMap)
        flags.set(.rateLimits, rateLimits)
        flags.set(.backupTo, backupTo)
        flags.set(.backupFailureLimit, backupFailureLimit)
        flags.set(.backupMaxLag, backupMaxLag)
        flags.set(.backupSegmentsPerBase, backupSegmentsPerBase)
        flags.set(.retention, retention)
        flags.set(.eventFormat, eventFormat)
    }
}
