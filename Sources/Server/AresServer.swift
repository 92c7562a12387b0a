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

    public init(runner: TaskRunner, pushConfigs: PushNotificationConfigStore, knowledge: KnowledgeBase,
                access: AccessControl, metrics: ServerMetrics, logger: Logger, backgroundServices: [any Service] = []) {
        self.backgroundServices = backgroundServices
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
        configuration: ServerConfiguration, components: ServerComponents, services: [any Service] = [],
        onRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let cards = AgentCardProvider(baseURL: configuration.publicBaseURL ?? "http://\(configuration.host):\(configuration.port)",
                                      version: configuration.version)
        let metrics = components.metrics
        let a2a = A2AMethods(runner: components.runner, pushConfigs: components.pushConfigs, quotas: configuration.principalQuotas,
                             extendedCard: { cards.current.extendedCard })
        let ares = AresMethods(runner: components.runner, knowledge: components.knowledge)
        let endpoint = JSONRPCEndpoint(methods: a2a.methods + A2AMethods.legacyMethods + ares.methods,
                                       maximumNestingDepth: configuration.maximumNestingDepth, logger: components.logger)
        let mcp = MCPEndpoint(dispatcher: MCPDispatcher(tools: MCPTools(runner: components.runner, knowledge: components.knowledge, quotas: configuration.principalQuotas),
                                                        version: configuration.version, maximumNestingDepth: configuration.maximumNestingDepth,
                                                        logger: components.logger),
                              metrics: metrics)

        let router = Router(context: AresRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: components.logger, metrics: metrics, logRequests: configuration.logRequests))
        if ServerConfiguration.isLoopback(configuration.host) { router.add(middleware: LoopbackHostMiddleware()) }
        router.add(middleware: AuthenticationMiddleware(access: components.access, metrics: metrics, logger: components.logger))
        let routes = Routes(configuration: configuration, components: components, cards: cards, endpoint: endpoint, mcp: mcp)
        routes.register(on: router)
        A2ARESTBinding(methods: a2a.methods + ares.methods, maximumBodyBytes: configuration.maximumBodyBytes, logger: components.logger)
            .register(on: router)

        let headTimeout = TimeAmount.nanoseconds(Int64(configuration.requestHeadTimeout.seconds * 1e9))
        let bodyTimeout = TimeAmount.nanoseconds(Int64(configuration.requestBodyTimeout.seconds * 1e9))
        var app = Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [RequestReadDeadlineHandler(headTimeout: headTimeout, bodyTimeout: bodyTimeout)])),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ares",
                                 availableConnectionsDelegate: MaximumAvailableConnections(configuration.maximumConnections, logger: components.logger)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                if configuration.publicBaseURL == nil {
                    let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
                    cards.update(baseURL: "http://\(host):\(port)")
                }
                await onRunning(port)
            },
            logger: components.logger)
        // Shut down in reverse order: the HTTP server first, then the task runner (running
        // tasks reach a recorded step; waiting ones resume at the next start), then the rest.
        app.addServices(services)
        app.addServices(components.backgroundServices)
        app.addServices(components.runner)
        return app
    }
}
