import Foundation
import NIOCore

/// Reads the outcome of a JSON-RPC call from its HTTP answer: the status, and for a 2xx answer
/// whether the body is a JSON-RPC error and which. ares sends protocol errors with HTTP 200 and
/// the failures HTTP has a word for with that status (401/403/413/429/503).
enum JSONRPCReplyClassifier {
    /// The JSON-RPC codes that name rate limits and quotas (ares: -32052 rate limit, -32051 quota).
    static let rateLimitCodes: Set<Int> = [-32052, -32051]
    /// Codes that mean the server failed or had no capacity: internal error, busy.
    static let serverErrorCodes: Set<Int> = [-32603, -32050]

    struct Envelope: Decodable {
        struct ErrorObject: Decodable { var code: Int }
        var error: ErrorObject?
    }

    /// The outcome class of an HTTP status alone.
    static func classify(status: Int) -> RequestOutcome {
        switch status {
        case 200..<300: .ok
        case 429: .rateLimited
        case 400..<500: .clientError
        default: .serverError
        }
    }

    static func classify(errorCode: Int) -> RequestOutcome {
        if rateLimitCodes.contains(errorCode) { return .rateLimited }
        if serverErrorCodes.contains(errorCode) { return .serverError }
        return .clientError
    }

    /// The outcome of a JSON-RPC answer, and its JSON-RPC error code if it carried one.
    static func classify(_ answer: LoadHTTPClient.Answer) -> (RequestOutcome, Int?) {
        if let failure = answer.failure { return (failure, nil) }
        let byStatus = classify(status: answer.status)
        guard byStatus == .ok || byStatus == .clientError else { return (byStatus, nil) }
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(answer.body.readableBytesView)) else {
            // A 2xx answer to a JSON-RPC call that is not JSON at all is the server's failure.
            return (byStatus == .ok ? .serverError : byStatus, nil)
        }
        if let code = envelope.error?.code { return (classify(errorCode: code), code) }
        return (byStatus, nil)
    }
}
