import Foundation
import HTTPTypes
import Hummingbird
import Security

/// Finds the principal behind a request: an API key in `Authorization: Bearer` or
/// `X-API-Key`; with neither, nobody, except on a `--dev` server, where a request without
/// credentials acts as the local admin. Deny unless a rule allows.
public struct AccessControl: Sendable {
    public var authenticator: APIKeyAuthenticator?
    public var developmentMode: Bool

    public init(authenticator: APIKeyAuthenticator?, developmentMode: Bool) {
        self.authenticator = authenticator
        self.developmentMode = developmentMode
    }

    /// Spaces and tabs off both ends (Foundation's character-set trimming costs more than a
    /// whole key check, on every request).
    private static func trimmed(_ text: Substring) -> String {
        func isBlank(_ character: Character) -> Bool { character == " " || character == "\t" }
        var start = text.startIndex
        var end = text.endIndex
        while start < end, isBlank(text[start]) { start = text.index(after: start) }
        while end > start, isBlank(text[text.index(before: end)]) { end = text.index(before: end) }
        return String(text[start..<end])
    }

    public func authenticate(_ headers: HTTPFields) -> RequestAuthentication {
        var presented: String?
        if let authorization = headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                return .rejected("the Authorization header must be 'Bearer <ares API key>'")
            }
            presented = Self.trimmed(parts[1])
        } else if let key = headers[.apiKey] {
            presented = Self.trimmed(Substring(key))
        }
        guard let presented else { return developmentMode ? .principal(.localDevelopmentAdmin) : .missing }
        guard let authenticator else { return .rejected("this server has no API keys configured") }
        switch authenticator.authenticate(presented) {
        case let .authenticated(principal): return .principal(principal)
        case let .rejected(reason): return .rejected(reason)
        }
    }
}
