import AresComposition
import Foundation
import Testing

/// AresConfiguration: precedence (flag > env > file > default), validation messages that
/// name the setting, the accepted values and where the value came from, and redaction.
@Suite struct AresConfigurationTests {
    /// A scratch folder for configuration and key files.
    final class Folder: @unchecked Sendable {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ares-configuration-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }

        @discardableResult
        func write(_ name: String, _ text: String) throws -> String {
            let file = url.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: file)
            return file.path
        }
    }

    static let workingDirectory = URL(fileURLWithPath: "/srv/work")

    func load(_ flags: ConfigurationFlags = ConfigurationFlags(), environment: [String: String] = [:]) throws -> AresConfiguration {
        try AresConfiguration.load(flags: flags, environment: environment, workingDirectory: Self.workingDirectory)
    }

    func error(_ flags: ConfigurationFlags = ConfigurationFlags(), environment: [String: String] = [:]) -> ConfigurationError? {
        do {
            _ = try load(flags, environment: environment)
            return nil
        } catch let error as ConfigurationError {
            return error
        } catch {
            Issue.record("not a ConfigurationError: \(error)")
            return nil
        }
    }

    // MARK: - Defaults and precedence

    @Test func defaultsApplyWhenNothingIsSet() throws {
        let configuration = try load()
        #expect(configuration.dataDirectory.path == "/srv/work/.ares")
        #expect(configuration.configurationFile == nil)
        #expect(configuration.embedding == .builtin)
        #expect(configuration.chatModel == nil)
        let server = configuration.server
        #expect(server.host == "127.0.0.1" && server.port == 8080 && server.publicURL == nil && !server.developmentMode)
        #expect(server.maximumRunningTasks == 4 && server.maximumQueuedTasks == 1000)
        #expect(server.maximumBodyBytes == 1 << 20 && server.maximumConnections == 512)
        #expect(server.requestHeadTimeout == .seconds(30) && server.requestBodyTimeout == .seconds(60))
        #expect(server.researcherQuota.maximumQueued == 100 && server.researcherQuota.maximumRunning == nil)
        #expect(server.adminQuota.maximumQueued == nil && server.adminQuota.maximumRunning == nil)
        #expect(server.logRequests && server.logLevel == .info && !server.allowPrivateWebhooks && server.otlpEndpoint == nil)
        #expect(configuration.settings.count == ConfigurationSetting.allCases.count)
        #expect(configuration.settings.allSatisfy { $0.source == .default })
    }

    @Test func flagsBeatTheEnvironmentWhichBeatsTheFileWhichBeatsTheDefault() throws {
        let folder = try Folder()
        let file = try folder.write("ares.json", #"{"port": 1000, "maxRunningTasks": 2, "host": "127.0.0.2", "dataDir": "from-file"}"#)
        var flags = ConfigurationFlags(configurationFile: file)
        flags.set(.port, 3000)
        let environment = ["ARES_PORT": "2000", "ARES_MAX_RUNNING_TASKS": "3", "ARES_DATA_DIR": "from-env"]

        let all = try load(flags, environment: environment)
        #expect(all.server.port == 3000)
        #expect(all.resolved(.port).source == .flag && all.resolved(.port).origin == "--port")
        #expect(all.server.maximumRunningTasks == 3)
        #expect(all.resolved(.maxRunningTasks).source == .env && all.resolved(.maxRunningTasks).origin == "ARES_MAX_RUNNING_TASKS")
        #expect(all.server.host == "127.0.0.2")
        #expect(all.resolved(.host).source == .file && all.resolved(.host).origin == file)
        #expect(all.server.maximumQueuedTasks == 1000 && all.resolved(.maxQueuedTasks).source == .default)
        #expect(all.dataDirectory.path == "/srv/work/from-env", "an environment path is relative to the working directory")

        let withoutFlag = try load(ConfigurationFlags(configurationFile: file), environment: environment)
        #expect(withoutFlag.server.port == 2000 && withoutFlag.resolved(.port).source == .env)

        let fileOnly = try load(ConfigurationFlags(configurationFile: file))
        #expect(fileOnly.server.port == 1000 && fileOnly.resolved(.port).source == .file)
        #expect(fileOnly.dataDirectory.path == folder.url.appendingPathComponent("from-file").path,
                "a path in the file is relative to the file's folder")

        let none = try load()
        #expect(none.server.port == 8080 && none.resolved(.port).source == .default)
    }

    @Test func theFileIsNamedByTheFlagOrByAresConfig() throws {
        let folder = try Folder()
        let byEnvironment = try folder.write("env.json", #"{"port": 1}"#)
        let byFlag = try folder.write("flag.json", #"{"port": 2}"#)
        let fromEnvironment = try load(environment: ["ARES_CONFIG": byEnvironment])
        #expect(fromEnvironment.server.port == 1 && fromEnvironment.configurationFileSource == .env)
        let fromFlag = try load(ConfigurationFlags(configurationFile: byFlag), environment: ["ARES_CONFIG": byEnvironment])
        #expect(fromFlag.server.port == 2 && fromFlag.configurationFileSource == .flag)
        #expect(fromFlag.configurationFile?.path == byFlag)
    }

    @Test func everyKeyOfTheServeConfigurationFileStillWorks() throws {
        let folder = try Folder()
        let file = try folder.write("ares.json", """
            {"host": "::1", "port": 9000, "publicURL": "https://ares.example.com", "maxRunningTasks": 8, "maxQueuedTasks": 50,
             "maxBodyBytes": 2048, "maxConnections": 10, "requestHeadTimeout": 5, "requestBodyTimeout": 6,
             "logRequests": false, "logLevel": "debug",
             "quotas": {"researcher": {"maxQueued": 3, "maxRunning": 1}, "admin": {"maxQueued": 9, "maxRunning": 7}}}
            """)
        let server = try load(ConfigurationFlags(configurationFile: file)).server
        #expect(server.host == "::1" && server.port == 9000 && server.publicURL == "https://ares.example.com")
        #expect(server.maximumRunningTasks == 8 && server.maximumQueuedTasks == 50 && server.maximumBodyBytes == 2048)
        #expect(server.maximumConnections == 10 && server.requestHeadTimeout == .seconds(5) && server.requestBodyTimeout == .seconds(6))
        #expect(!server.logRequests && server.logLevel == .debug)
        #expect(server.researcherQuota == AresConfiguration.Quota(maximumQueued: 3, maximumRunning: 1))
        #expect(server.adminQuota == AresConfiguration.Quota(maximumQueued: 9, maximumRunning: 7))
    }

    @Test func aQuotaSetForOneLimitKeepsTheOthersDefault() throws {
        let folder = try Folder()
        let file = try folder.write("ares.json", #"{"quotas": {"researcher": {"maxRunning": 2}}}"#)
        let server = try load(ConfigurationFlags(configurationFile: file)).server
        #expect(server.researcherQuota == AresConfiguration.Quota(maximumQueued: 100, maximumRunning: 2))
        #expect(server.adminQuota == AresConfiguration.Quota(maximumQueued: nil, maximumRunning: nil))
    }

    @Test func embedderAndModelComeFromTheEnvironmentAsBefore() throws {
        let configuration = try load(environment: [
            "ARES_EMBEDDER": "openai", "ARES_EMBEDDING_URL": "http://127.0.0.1:8765/v1", "ARES_EMBEDDING_MODEL": "e5",
            "ARES_EMBEDDING_API_KEY_FILE": "keys/embedding", "ARES_MODEL_URL": "http://127.0.0.1:11434/v1", "ARES_MODEL": "llama3",
            "ARES_MODEL_API_KEY": "sk-model", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        ])
        #expect(configuration.embedding.kind == .openai && configuration.embedding.model == "e5")
        #expect(configuration.embedding.url?.absoluteString == "http://127.0.0.1:8765/v1")
        #expect(configuration.embedding.apiKey == .file("/srv/work/keys/embedding"))
        #expect(configuration.chatModel?.name == "llama3" && configuration.chatModel?.apiKey == .environment("ARES_MODEL_API_KEY"))
        #expect(configuration.server.otlpEndpoint?.absoluteString == "http://127.0.0.1:4318")
    }

    @Test func anEmptyValueCountsAsUnset() throws {
        let configuration = try load(environment: ["ARES_DATA_DIR": "", "ARES_MODEL_URL": "", "ARES_PORT": ""])
        #expect(configuration.dataDirectory.path == "/srv/work/.ares" && configuration.chatModel == nil && configuration.server.port == 8080)
    }

    @Test func aKeyFileBeatsTheKeyVariableAndTheFileComesLast() throws {
        let folder = try Folder()
        let file = try folder.write("ares.json", #"{"modelURL": "http://m/v1", "model": "m", "modelKeyFile": "model.key"}"#)
        let flags = ConfigurationFlags(configurationFile: file)
        #expect(try load(flags).chatModel?.apiKey == .file(folder.url.appendingPathComponent("model.key").path))
        #expect(try load(flags, environment: ["ARES_MODEL_API_KEY": "sk"]).chatModel?.apiKey == .environment("ARES_MODEL_API_KEY"))
        #expect(try load(flags, environment: ["ARES_MODEL_API_KEY": "sk", "ARES_MODEL_API_KEY_FILE": "/run/key"]).chatModel?.apiKey == .file("/run/key"))
        var withFlag = flags
        withFlag.set(.modelAPIKey, "/flag/key")
        #expect(try load(withFlag, environment: ["ARES_MODEL_API_KEY_FILE": "/run/key"]).chatModel?.apiKey == .file("/flag/key"))
    }

    // MARK: - Validation

    @Test func aValueOutOfRangeNamesTheSettingTheRangeAndItsSource() throws {
        var flags = ConfigurationFlags()
        flags.set(.maxRunningTasks, 0)
        let fromFlag = try #require(error(flags))
        #expect(fromFlag.setting == "maxRunningTasks")
        #expect(fromFlag.message == "maxRunningTasks must be between 1 and 256 (got 0 from --max-running-tasks)")

        let fromEnvironment = try #require(error(environment: ["ARES_PORT": "70000"]))
        #expect(fromEnvironment.message == "port must be between 0 and 65535 (got '70000' from ARES_PORT)")

        let notANumber = try #require(error(environment: ["ARES_MAX_BODY_BYTES": "lots"]))
        #expect(notANumber.message == "maxBodyBytes must be an integer between 1024 and 67108864 (got 'lots' from ARES_MAX_BODY_BYTES)")

        let folder = try Folder()
        let file = try folder.write("ares.json", #"{"quotas": {"researcher": {"maxRunning": 0}}}"#)
        let inFile = try #require(error(ConfigurationFlags(configurationFile: file)))
        #expect(inFile.setting == "quotas.researcher.maxRunning")
        #expect(inFile.message == "quotas.researcher.maxRunning must be between 1 and 256 (got 0 from \(file))")

        let wrongType = try folder.write("type.json", #"{"port": "8080"}"#)
        #expect(error(ConfigurationFlags(configurationFile: wrongType))?.message == "port must be an integer between 0 and 65535 (got \"8080\" from \(wrongType))")
    }

    @Test func aChoiceNamesTheAcceptedValues() throws {
        #expect(error(environment: ["ARES_EMBEDDER": "bert"])?.message == "embedder must be one of builtin, openai, local (got 'bert' from ARES_EMBEDDER)")
        var flags = ConfigurationFlags()
        flags.set(.logLevel, "loud")
        #expect(error(flags)?.message == "logLevel must be one of trace, debug, info, notice, warning, error, critical (got 'loud' from --log-level)")
        #expect(error(environment: ["ARES_LOG_REQUESTS": "maybe"])?.setting == "logRequests")
        #expect(try load(environment: ["ARES_LOG_REQUESTS": "no"]).server.logRequests == false)
    }

    @Test func urlsAreChecked() throws {
        let otlp = try #require(error(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"]))
        #expect(otlp.message == "otlpEndpoint must be an http or https URL such as http://127.0.0.1:4318 (got 'collector:4318' from OTEL_EXPORTER_OTLP_ENDPOINT)")
        #expect(error(environment: ["ARES_MODEL_URL": "not a url", "ARES_MODEL": "m"])?.setting == "modelURL")
    }

    @Test func theTraceSamplingRatioIsAFraction() throws {
        #expect(try load().server.traceSamplingRatio == 1)
        #expect(try load(environment: ["OTEL_TRACES_SAMPLER_ARG": "0.25"]).server.traceSamplingRatio == 0.25)
        #expect(error(environment: ["OTEL_TRACES_SAMPLER_ARG": "2"])?.message
                == "traceSamplingRatio must be between 0 and 1 (got '2' from OTEL_TRACES_SAMPLER_ARG)")
        let folder = try Folder()
        let file = try folder.write("ares.json", #"{"traceSamplingRatio": 0}"#)
        #expect(try load(ConfigurationFlags(configurationFile: file)).server.traceSamplingRatio == 0)
    }

    @Test func theLocalEmbedderCanBeQuantized() throws {
        #expect(try load().embedding.quantization == .none)
        #expect(try load(environment: ["ARES_EMBEDDING_QUANTIZATION": "int8"]).embedding.quantization == .int8)
        var flags = ConfigurationFlags()
        flags.set(.embeddingQuantization, "int8")
        #expect(try load(flags).embedding.quantization == .int8)
        let wrong = try #require(error(environment: ["ARES_EMBEDDING_QUANTIZATION": "int4"]))
        #expect(wrong.setting == "embeddingQuantization" && wrong.message.contains("none, int8") && wrong.message.contains("int4"))
    }

    @Test func settingsThatNeedEachOtherSaySo() throws {
        let noURL = try #require(error(environment: ["ARES_EMBEDDER": "openai"]))
        #expect(noURL.setting == "embeddingURL")
        #expect(noURL.message.contains("--embedding-url, ARES_EMBEDDING_URL or embeddingURL in the configuration file"))
        let noModel = try #require(error(environment: ["ARES_EMBEDDER": "openai", "ARES_EMBEDDING_URL": "http://e/v1"]))
        #expect(noModel.setting == "embeddingModel")
        let noFolder = try #require(error(environment: ["ARES_EMBEDDER": "local"]))
        #expect(noFolder.setting == "embeddingModelDir")
        #expect(noFolder.message.contains("--embedding-model-dir, ARES_EMBEDDING_MODEL_DIR or embeddingModelDir in the configuration file"))
        let folder = try Folder()
        let localFile = try folder.write("local.json", #"{"embedder": "local", "embeddingModelDir": "models/minilm"}"#)
        let localEmbedding = try load(ConfigurationFlags(configurationFile: localFile)).embedding
        #expect(localEmbedding.kind == .local && localEmbedding.modelDirectory?.path == folder.url.appendingPathComponent("models/minilm").path,
                "a relative folder in the file is relative to the file's folder")
        let noName = try #require(error(environment: ["ARES_MODEL_URL": "http://m/v1"]))
        #expect(noName.setting == "model" && noName.message.contains("--model, ARES_MODEL or model"))

        var exposed = ConfigurationFlags()
        exposed.set(.dev, true, given: true)
        exposed.set(.host, "0.0.0.0")
        let dev = try #require(error(exposed))
        #expect(dev.setting == "dev" && dev.message.contains("refused on 0.0.0.0") && dev.message.contains("loopback"))
        var local = ConfigurationFlags()
        local.set(.dev, true, given: true)
        let server = try load(local).server
        #expect(server.developmentMode && server.webhooksMayReachPrivateAddresses && !server.allowPrivateWebhooks)
    }

    @Test func theFileIsCheckedForUnknownKeysAndSecrets() throws {
        let folder = try Folder()
        let typo = try folder.write("typo.json", #"{"maxRuningTasks": 2}"#)
        let unknown = try #require(error(ConfigurationFlags(configurationFile: typo)))
        #expect(unknown.setting == "maxRuningTasks")
        #expect(unknown.message.contains("unknown setting 'maxRuningTasks'") && unknown.message.contains("maxRunningTasks"))

        let role = try folder.write("role.json", #"{"quotas": {"viewer": {"maxQueued": 1}}}"#)
        #expect(error(ConfigurationFlags(configurationFile: role))?.message.contains("the settings of quotas are researcher, admin") == true)

        let secret = try folder.write("secret.json", #"{"modelAPIKey": "sk-live-123"}"#)
        let refused = try #require(error(ConfigurationFlags(configurationFile: secret)))
        #expect(refused.message.contains("may not hold a secret") && refused.message.contains("modelKeyFile"))
        #expect(!refused.message.contains("sk-live-123"))

        let broken = try folder.write("broken.json", #"{"port": 80"#)
        #expect(error(ConfigurationFlags(configurationFile: broken))?.message.hasPrefix("the config file '\(broken)' is not valid JSON") == true)
        #expect(error(ConfigurationFlags(configurationFile: "/nonexistent/ares.json"))?.message.hasPrefix("cannot read the config file '/nonexistent/ares.json'") == true)
        let nulls = try folder.write("nulls.json", #"{"port": null, "quotas": null}"#)
        #expect(try load(ConfigurationFlags(configurationFile: nulls)).server.port == 8080)
    }

    @Test func onlyTheValueInEffectIsChecked() throws {
        var flags = ConfigurationFlags()
        flags.set(.embedder, "builtin")
        #expect(try load(flags, environment: ["ARES_EMBEDDER": "bert"]).embedding.kind == .builtin)
    }

    // MARK: - Secrets

    @Test func theReportShowsWhereKeysAreNeverTheKeys() throws {
        let folder = try Folder()
        let keyFile = try folder.write("embedding.key", "sk-embedding-secret\n")
        var flags = ConfigurationFlags()
        flags.set(.embedder, "openai")
        flags.set(.embeddingURL, "http://127.0.0.1:8765/v1")
        flags.set(.embeddingModel, "e5")
        flags.set(.embeddingAPIKey, keyFile)
        let environment = ["ARES_MODEL_URL": "http://127.0.0.1:11434/v1", "ARES_MODEL": "llama3", "ARES_MODEL_API_KEY": "sk-model-secret"]
        let configuration = try load(flags, environment: environment)
        for format in AresConfiguration.ReportFormat.allCases {
            let report = configuration.report(format)
            #expect(!report.contains("sk-model-secret") && !report.contains("sk-embedding-secret"), "\(format): \(report)")
            #expect(report.contains("(set in ARES_MODEL_API_KEY)"), "\(format)")
            #expect(report.contains(keyFile), "\(format)")
        }
        // The keys are read when a client is built, from where the configuration says.
        #expect(try configuration.embedding.apiKey?.read() == "sk-embedding-secret")
        #expect(try configuration.chatModel?.apiKey?.read(environment: environment) == "sk-model-secret")
        #expect(try SecretReference.environment("ARES_MODEL_API_KEY").read(environment: [:]) == nil)
        #expect(throws: ConfigurationError.self) { try SecretReference.file("/nonexistent/key").read() }
    }

    @Test func theJSONReportNamesEverySettingWithValueAndSource() throws {
        var flags = ConfigurationFlags()
        flags.set(.port, 9000)
        let configuration = try load(flags, environment: ["ARES_HOST": "::1"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(configuration.report(.json).utf8)) as? [String: Any])
        let settings = try #require(object["settings"] as? [String: [String: Any]])
        #expect(Set(settings.keys) == Set(ConfigurationSetting.allCases.map(\.name)))
        #expect(settings["port"]?["value"] as? Int == 9000 && settings["port"]?["source"] as? String == "flag")
        #expect(settings["port"]?["from"] as? String == "--port")
        #expect(settings["host"]?["value"] as? String == "::1" && settings["host"]?["source"] as? String == "env")
        #expect(settings["modelURL"]?["value"] is NSNull && settings["modelURL"]?["source"] as? String == "default")
        #expect(object["precedence"] as? [String] == ["flag", "env", "file", "default"])
        let text = configuration.report(.text)
        #expect(text.contains("precedence: flag > env > file > default"))
        #expect(text.split(separator: "\n").contains { $0.hasPrefix("port") && $0.contains("9000") && $0.hasSuffix("flag (--port)") })
    }

    // MARK: - Identity, TLS, outbound TLS and rate limits (issue 11)

    @Test func identityAndTransportSettingsDefaultToOffAndJoinAsTheyMust() throws {
        let defaults = try load()
        #expect(defaults.identity.oidcIssuer == nil && !defaults.identity.acceptsTokens)
        #expect(defaults.identity.oidcRoleClaim == "roles" && defaults.identity.oidcLeewaySeconds == 30)
        #expect(defaults.identity.oidcRoleMap == ["viewer": .viewer, "researcher": .researcher, "admin": .admin])
        #expect(!defaults.tls.isEnabled && defaults.tls.clientAuthentication == .none)
        #expect(defaults.outbound.caFile == nil && defaults.rateLimits.limitsAnything)

        let noAudience = try #require(error(environment: ["ARES_OIDC_ISSUER": "https://idp.example/realms/ares"]))
        #expect(noAudience.setting == "oidcAudience" && noAudience.message.contains("--oidc-audience"))
        let badMap = try #require(error(environment: ["ARES_OIDC_ROLE_MAP": "ares-admin=root"]))
        #expect(badMap.setting == "oidcRoleMap" && badMap.message.contains("'root' in 'ares-admin=root' is not a role"))
        let configured = try load(environment: ["ARES_OIDC_ISSUER": "https://idp.example/realms/ares", "ARES_OIDC_AUDIENCE": "ares",
                                                "ARES_OIDC_ROLE_MAP": "ares-admin=admin", "ARES_OIDC_ROLE_CLAIM": "realm_access.roles"])
        #expect(configured.identity.acceptsTokens && configured.identity.oidcRoleMap == ["ares-admin": .admin])
        #expect(configured.serverConfiguration(version: "t").authenticationSchemes.openIDConnectDiscoveryURL
                == "https://idp.example/realms/ares/.well-known/openid-configuration")

        var certificateOnly = ConfigurationFlags()
        certificateOnly.set(.tlsCert, "certs/server.pem")
        #expect(try #require(error(certificateOnly)).setting == "tlsKey")
        var clientCAWithoutTLS = ConfigurationFlags()
        clientCAWithoutTLS.set(.tlsClientCA, "ca.pem")
        #expect(try #require(error(clientCAWithoutTLS)).message.contains("client certificates need TLS"))
        var mutual = ConfigurationFlags()
        mutual.set(.tlsCert, "certs/server.pem")
        mutual.set(.tlsKey, "certs/server.key")
        mutual.set(.tlsClientCA, "certs/ca.pem")
        let tls = try load(mutual)
        #expect(tls.tls.certificateFile == "/srv/work/certs/server.pem" && tls.tls.clientAuthentication == .require,
                "a client CA alone means client certificates are required")
        #expect(tls.serverConfiguration(version: "t").authenticationSchemes.mutualTLS)
        mutual.set(.tlsClientAuth, "sometimes")
        #expect(try #require(error(mutual)).message.contains("one of none, optional, require"))

        var halfClient = ConfigurationFlags()
        halfClient.set(.modelClientCert, "client.pem")
        #expect(try #require(error(halfClient)).setting == "modelClientKey")
        #expect(try load(environment: ["ARES_RATE_LIMITS": "off"]).rateLimits.limitsAnything == false)
        #expect(try #require(error(environment: ["ARES_RATE_LIMITS": "read=often"])).setting == "rateLimits")
    }
}
