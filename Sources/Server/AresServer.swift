import Audit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Knowledge
import Logging
import NIOCore
import Security
import ServiceLifecycle
import Storage
import TaskService

/// Everything the routes use, built once by the composition root (`ares serve`).
public struct ServerComponents: Sendable {
    public var runner: TaskRunner
    public var pushConfigs: PushNotificationConfigStore
    public var knowledge: KnowledgeBase
    public var access: AccessControl
    public var metrics: ServerMetrics
    public var logger: Logger
    /// Long-lived work beside the runner (webhook delivery), stopped after it.
    public var backgroundServices: [any Service]
    /// The API keys (the data directory's, or the shared database's), for the key-management
    /// methods (nil: none offered).
    public var keyStore: (any APIKeyRepository)?
    /// The audit trail of security events (nil: none is kept, as in tests that do not look).
    /// Its writer must be among `backgroundServices`.
    public var audit: AuditTrail?
    /// Continuous backup shipping (`--backup-to`), for readiness and metrics; nil: none. Its
    /// service must be among `backgroundServices`.
    public var backupShipping: BackupShippingStatus?
    /// More conditions of `/health/ready` (the shared database: connected and migrated).
    public var readinessChecks: [ReadinessCheck] = []

    public init(runner: TaskRunner, pushConfigs: PushNotificationConfigStore, knowledge: KnowledgeBase,
                access: AccessControl, metrics: ServerMetrics, logger: Logger, backgroundServices: [any Service] = [],
                keyStore: (any APIKeyRepository)? = nil, audit: AuditTrail? = nil) {
        self.backgroundServices = backgroundServices
        self.audit = audit
        self.keyStore = keyStore
        self.runner = runner
        self.pushConfigs = pushConfigs
        self.knowledge = knowledge
        self.access = access
        self.metrics = metrics
        self.logger = logger
    }

    public var store: any EventStore { runner.service.store }
}

/// The HTTP application: the A2A JSON-RPC endpoint (`/a2a`), MCP (`/mcp`), the agent card,
/// health probes and metrics, behind request logging.
public enum AresServer {
    public static func makeApplication(
        configuration: ServerConfiguration, components: ServerComponents, services: [any Service] = [], tls: ServingTLS? = nil,
        onRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        // HTTPS when TLS is given (Sources/Server/TLS); the agent card's URL says which.
        let scheme = tls == nil ? "http" : "https"
        let cards = AgentCardProvider(baseURL: configuration.publicBaseURL ?? "\(scheme)://\(configuration.host):\(configuration.port)",
                                      version: configuration.version, authentication: configuration.authenticationSchemes)
        let metrics = components.metrics
        let a2a = A2AMethods(runner: components.runner, pushConfigs: components.pushConfigs, quotas: configuration.principalQuotas,
                             extendedCard: { cards.current.extendedCard })
        let ares = AresMethods(runner: components.runner, knowledge: components.knowledge, keyStore: components.keyStore)
        let rateLimiter = configuration.rateLimits.limitsAnything ? PrincipalRateLimiter(rules: configuration.rateLimits) : nil
        let endpoint = JSONRPCEndpoint(methods: a2a.methods + A2AMethods.legacyMethods + ares.methods,
                                       maximumNestingDepth: configuration.maximumNestingDepth, rateLimiter: rateLimiter, logger: components.logger)
        let mcp = MCPEndpoint(dispatcher: MCPDispatcher(tools: MCPTools(runner: components.runner, knowledge: components.knowledge, quotas: configuration.principalQuotas),
                                                        version: configuration.version, maximumNestingDepth: configuration.maximumNestingDepth,
                                                        logger: components.logger),
                              metrics: metrics, rateLimiter: rateLimiter)

        let router = Router(context: AresRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: components.logger, metrics: metrics, logRequests: configuration.logRequests))
        if ServerConfiguration.isLoopback(configuration.host) { router.add(middleware: LoopbackHostMiddleware()) }
        router.add(middleware: AuthenticationMiddleware(access: components.access, metrics: metrics, logger: components.logger))
        // A verified client certificate is the principal of requests that brought no other credential.
        if let registry = tls?.clientCertificates { router.add(middleware: ClientCertificateMiddleware(registry: registry)) }
        // Inside authentication (the principal is known), outside the routes (their answer is).
        if let audit = components.audit {
            router.add(middleware: AuditMiddleware(audit: audit, permissions: endpoint.methods.mapValues(\.permission), logger: components.logger))
        }
        let routes = Routes(configuration: configuration, components: components, cards: cards, endpoint: endpoint, mcp: mcp)
        routes.register(on: router)
        ConsoleRoutes(assets: ConsoleAssets(), signIn: configuration.consoleSignIn).register(on: router)
        A2ARESTBinding(methods: a2a.methods + ares.methods, maximumBodyBytes: configuration.maximumBodyBytes, rateLimiter: rateLimiter,
                       logger: components.logger)
            .register(on: router)

        let headTimeout = TimeAmount.nanoseconds(Int64(configuration.requestHeadTimeout.seconds * 1e9))
        let bodyTimeout = TimeAmount.nanoseconds(Int64(configuration.requestBodyTimeout.seconds * 1e9))
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [RequestReadDeadlineHandler(headTimeout: headTimeout, bodyTimeout: bodyTimeout)])
        var app = Application(
            router: router,
            server: tls.map { $0.serverBuilder(http1) } ?? .http1(configuration: http1),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ares",
                                 availableConnectionsDelegate: MaximumAvailableConnections(configuration.maximumConnections, logger: components.logger)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                if configuration.publicBaseURL == nil {
                    let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
                    cards.update(baseURL: "\(scheme)://\(host):\(port)")
                }
                await onRunning(port)
            },
            logger: components.logger)
        // Shut down in reverse order: the HTTP server first, then the task runner (running
        // tasks reach a recorded step; waiting ones resume at the next start), then the rest.
        app.addServices(services)
        app.addServices(tls?.services ?? [])
        app.addServices(components.backgroundServices)
        app.addServices(components.runner)
        return app
    }
}
