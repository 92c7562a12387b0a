import Foundation

/// How the target answered an attack: refused it (as it must), accepted it (a bypass), or
/// failed (an HTTP 5xx, a JSON-RPC internal error, or a connection closed without an answer).
enum ProbeVerdict: Sendable {
    case refused(String)
    case accepted(String)
    case serverError(String)

    var outcome: ProbeCheck.Outcome {
        switch self {
        case .refused: .passed
        case .accepted: .bypass
        case .serverError: .serverError
        }
    }

    var detail: String {
        switch self {
        case let .refused(text), let .accepted(text), let .serverError(text): text
        }
    }

    /// The answer to a request that must be refused. A JSON-RPC answer is accepted when it
    /// carries a result (an MCP tool result flagged `isError` is a refusal too); any other
    /// 2xx answer is accepted; a 4xx answer is a refusal.
    static func ofRefusal(_ result: Result<ProbeHTTP.Reply, ProbeHTTP.Failure>) -> ProbeVerdict {
        switch result {
        case let .failure(failure):
            return .serverError("no answer: \(failure)")
        case let .success(reply):
            if let failure = serverFailure(reply) { return .serverError(failure) }
            if (200..<300).contains(reply.status) {
                if reply.rpcErrorCode != nil { return .refused(reply.summary) }
                if ProbeJSON.value(reply.object, "result", "isError") as? Bool == true { return .refused(reply.summary + " (a tool error)") }
                return .accepted(reply.summary)
            }
            return .refused(reply.summary)
        }
    }

    /// The answer to a request that may be answered either way but must not break the server.
    static func ofAnswer(_ result: Result<ProbeHTTP.Reply, ProbeHTTP.Failure>) -> ProbeVerdict {
        switch result {
        case let .failure(failure): .serverError("no answer: \(failure)")
        case let .success(reply): serverFailure(reply).map(ProbeVerdict.serverError) ?? .refused(reply.summary)
        }
    }

    /// Why an answer is a server error, if it is one.
    static func serverFailure(_ reply: ProbeHTTP.Reply) -> String? {
        if reply.status >= 500 { return "server error: \(reply.summary)" }
        if reply.rpcErrorCode == -32603 { return "internal error: \(reply.summary)" }
        return nil
    }

    /// Several attempts of one check: any bypass makes it a bypass, else any server error a
    /// server error; the detail names each attempt.
    static func combine(_ attempts: [(String, ProbeVerdict)]) -> ProbeVerdict {
        let detail = attempts.map { "\($0.0): \($0.1.detail)" }.joined(separator: "; ")
        if attempts.contains(where: { if case .accepted = $0.1 { true } else { false } }) { return .accepted(detail) }
        if attempts.contains(where: { if case .serverError = $0.1 { true } else { false } }) { return .serverError(detail) }
        return .refused(detail)
    }
}
