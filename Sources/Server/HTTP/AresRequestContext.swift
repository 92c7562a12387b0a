import Hummingbird
import Security
import Synchronization

/// The request context of ares's routes: Hummingbird's core context plus a record that the
/// handlers fill in (who called, which JSON-RPC method) for the one log line per request.
public struct AresRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let record = RequestRecord()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// What a handler learned about its request, read by the logging middleware afterwards.
public final class RequestRecord: Sendable {
    private struct Fields {
        var principal: String?
        var operation: String?
        var metricsRecorded = false
    }

    private let fields = Mutex(Fields())

    public var principal: String? {
        get { fields.withLock { $0.principal } }
        set { fields.withLock { $0.principal = newValue } }
    }

    /// Whether the route recorded the request's metrics itself (per JSON-RPC or MCP method).
    public var metricsRecorded: Bool {
        get { fields.withLock { $0.metricsRecorded } }
        set { fields.withLock { $0.metricsRecorded = newValue } }
    }

    /// The JSON-RPC or MCP method, when the route has one.
    public var operation: String? {
        get { fields.withLock { $0.operation } }
        set { fields.withLock { $0.operation = newValue } }
    }
}
