import ArgumentParser

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
        "builtin (default: no model, no network) or openai (any OpenAI-compatible /v1/embeddings endpoint; $ARES_EMBEDDER).",
        valueName: "embedder"))
    public var embedder: String?

    @Option(help: "The endpoint's API base URL, e.g. http://127.0.0.1:11434/v1 ($ARES_EMBEDDING_URL).")
    public var embeddingURL: String?

    @Option(help: "The embedding model name ($ARES_EMBEDDING_MODEL).")
    public var embeddingModel: String?

    @Option(help: "A file holding the API key (else $ARES_EMBEDDING_API_KEY_FILE or $ARES_EMBEDDING_API_KEY).")
    public var embeddingKeyFile: String?

    @Option(help: "Texts per embeddings request (default 64; $ARES_EMBEDDING_BATCH_SIZE).")
    public var embeddingBatchSize: Int?

    public init() {}

    public func apply(to flags: inout ConfigurationFlags) {
        flags.set(.embedder, embedder)
        flags.set(.embeddingURL, embeddingURL)
        flags.set(.embeddingModel, embeddingModel)
        flags.set(.embeddingAPIKey, embeddingKeyFile)
        flags.set(.embeddingBatchSize, embeddingBatchSize)
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

    public init() {}

    public func apply(to flags: inout ConfigurationFlags) {
        flags.set(.modelURL, modelURL)
        flags.set(.model, model)
        flags.set(.modelAPIKey, modelKeyFile)
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
    }
}
