/// How one request of a load phase ended. Every request the plan asked for ends in exactly one
/// of these, including the ones the generator could not send on time (`unsent`), so a report's
/// counts always add up to what was asked.
public enum RequestOutcome: String, Sendable, Codable, CaseIterable, Comparable {
    /// A 2xx answer that is not a JSON-RPC error.
    case ok
    /// HTTP 4xx (other than 429) or a JSON-RPC error that blames the request.
    case clientError
    /// HTTP 5xx, a JSON-RPC internal error or "busy" (-32050): the server failed or refused for lack of capacity.
    case serverError
    /// HTTP 429 or the JSON-RPC rate-limit and quota errors.
    case rateLimited
    /// No complete answer within the request timeout.
    case timeout
    /// The connection could not be made or broke before the answer was complete.
    case connectionError
    /// No connection or concurrency slot was free within the send deadline after the request was
    /// due: the generator did not send it. Counted against the target (it could not absorb the
    /// rate), never dropped.
    case unsent

    public static func < (lhs: RequestOutcome, rhs: RequestOutcome) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

/// What one executed request reports back to the generator: its kind (a label of the request
/// mix, e.g. "GetTask") and its outcome. Latency is measured by the generator, not here.
public struct RequestResult: Sendable {
    public var kind: String
    public var outcome: RequestOutcome

    public init(kind: String, outcome: RequestOutcome) {
        self.kind = kind
        self.outcome = outcome
    }
}
