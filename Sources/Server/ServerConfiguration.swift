import TaskService

/// How `ares serve` runs: where it listens, how it admits work, and its limits.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The URL clients reach the server at (for the agent card); default http://host:port.
    public var publicBaseURL: String?
    /// Requests without credentials act as a local admin; only on a loopback address.
    public var developmentMode: Bool
    public var maximumBodyBytes: Int
    public var maximumNestingDepth: Int
    public var tasks: TaskRunner.Limits
    public var logRequests: Bool
    /// Per-principal task limits, by role.
    public var principalQuotas: PrincipalTaskQuotas
    public var version: String
    /// Open connections at most; beyond that the server stops accepting until one closes.
    public var maximumConnections: Int
    /// A request's head must arrive within this time of the connection opening (or of the
    /// previous response, on a kept-alive connection), its body within `requestBodyTimeout`.
    public var requestHeadTimeout: Duration
    public var requestBodyTimeout: Duration
    /// Requests per second per principal, by role and request class.
    public var rateLimits: RateLimitRules = .unlimited
    /// The ways to authenticate the agent card declares.
    public var authenticationSchemes = A2AAuthenticationSchemes()
    /// OIDC sign-in for the web console; nil: the console offers API keys only.
    public var consoleSignIn: ConsoleSignIn?
    /// HTTPS (and client certificates) when set; plain HTTP otherwise. `ares serve` loads the
    /// files into a `ServingTLS` before it starts, so that a bad file stops it with one line.
    public var tls: ServerTLSSettings?

    public init(host: String = "127.0.0.1", port: Int = 8080, publicBaseURL: String? = nil, developmentMode: Bool = false,
                maximumBodyBytes: Int = 1 << 20, maximumNestingDepth: Int = 32, tasks: TaskRunner.Limits = .init(),
                logRequests: Bool = true, principalQuotas: PrincipalTaskQuotas = .init(), version: String = "0.4.0",
                maximumConnections: Int = 512, requestHeadTimeout: Duration = .seconds(30), requestBodyTimeout: Duration = .seconds(60)) {
        self.host = host
        self.port = port
        self.publicBaseURL = publicBaseURL
        self.developmentMode = developmentMode
        self.maximumBodyBytes = maximumBodyBytes
        self.maximumNestingDepth = maximumNestingDepth
        self.tasks = tasks
        self.logRequests = logRequests
        self.principalQuotas = principalQuotas
        self.version = version
        self.maximumConnections = maximumConnections
        self.requestHeadTimeout = requestHeadTimeout
        self.requestBodyTimeout = requestBodyTimeout
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }
}
