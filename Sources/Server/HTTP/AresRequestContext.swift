import Hummingbird
import NIOCore
import Security
import Synchronization

/// The request context of ares's routes: Hummingbird's core context, who is calling (set once,
/// from the headers, by `AuthenticationMiddleware`; handlers read it and never authenticate),
/// and a record that the handlers fill in (which JSON-RPC method, how it ended) for the one
/// log line per request.
public struct AresRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var authentication: RequestAuthentication = .missing
    public let record = RequestRecord()
    /// The connection the request came on (its channel's identity): the TLS layer's table of
    /// verified client certificates is keyed by it.
    public let connection: ObjectIdentifier
    /// The identity of the connection's verified client certificate (URI SAN, else DNS SAN, else
    /// subject CN), set by `ClientCertificateMiddleware` on a mutual-TLS connection.
    public var clientCertificateIdentity: String?
    /// The peer's address, for the audit trail's record of refused requests (NIO caches it on
    /// the channel, so reading it costs nothing).
    public let remoteAddress: SocketAddress?

    /// The caller, when the request carried valid credentials (or came to a `--dev` server).
    public var principal: Principal? {
        if case let .principal(principal) = authentication { return principal }
        return nil
    }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        connection = ObjectIdentifier(source.channel)
        remoteAddress = source.channel.remoteAddress
    }
}

/// What a handler learned about its request, read by the logging middleware afterwards.
public final class RequestRecord: Sendable {
    private struct Fields {
        var principal: String?
        var operation: String?
        var outcome: String?
    }

    private let fields = Mutex(Fields())

    public var principal: String? {
        get { fields.withLock { $0.principal } }
        set { fields.withLock { $0.principal = newValue } }
    }

    /// How the request ended in its protocol's terms (`ok`, `error -32001`, ...); without one,
    /// the request is counted under its HTTP status.
    public var outcome: String? {
        get { fields.withLock { $0.outcome } }
        set { fields.withLock { $0.outcome = newValue } }
    }

    /// The JSON-RPC or MCP method, when the route has one.
    public var operation: String? {
        get { fields.withLock { $0.operation } }
        set { fields.withLock { $0.operation = newValue } }
    }
}
