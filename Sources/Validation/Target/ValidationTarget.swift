import Foundation

/// The deployment a validation run talks to: its base URL and the credential every request
/// carries. The credential is read from a file (never a flag value) and never printed:
/// `description` shows only its kind.
public struct ValidationTarget: Sendable, CustomStringConvertible {
    public enum Credential: Sendable {
        /// An ares API key, sent as `Authorization: Bearer`.
        case apiKey(String)
        /// An OAuth2 access token (JWT), sent as `Authorization: Bearer`.
        case bearerToken(String)
        case none
    }

    /// Where the server listens, e.g. `http://127.0.0.1:8080` (no trailing slash needed).
    public var baseURL: URL
    public var credential: Credential

    public init(baseURL: URL, credential: Credential) {
        self.baseURL = baseURL
        self.credential = credential
    }

    /// Reads the credential from a file: the first line, surrounding whitespace removed.
    /// A file that is missing, unreadable or empty is refused with a message naming it.
    public static func readCredential(fromFile path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationTargetError("cannot read the credential file \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let firstLine = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let credential = firstLine.trimmingCharacters(in: .whitespaces)
        guard !credential.isEmpty else { throw ValidationTargetError("the credential file \(path) is empty") }
        return credential
    }

    /// The `Authorization` header value, or nil without a credential.
    public var authorizationHeader: String? {
        switch credential {
        case let .apiKey(secret), let .bearerToken(secret): "Bearer \(secret)"
        case .none: nil
        }
    }

    /// The URL of `path` ("/a2a", "/health/ready") under the base URL.
    public func url(_ path: String) -> String {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return base + (path.hasPrefix("/") ? path : "/" + path)
    }

    public var description: String {
        let kind = switch credential {
        case .apiKey: "API key"
        case .bearerToken: "bearer token"
        case .none: "no credential"
        }
        return "\(baseURL.absoluteString) (\(kind))"
    }
}

public struct ValidationTargetError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
