import Crypto
import Foundation

/// The text of an API key: `ares_<id>_<secret>`. The id (12 lowercase hex digits) names the
/// key and is not secret; the secret is 32 random bytes in base64url. Only the SHA-256 of
/// the secret is stored, so a copy of the key file reveals no usable key.
public struct APIKeyToken: Sendable, Equatable {
    public static let prefix = "ares_"
    public var id: String
    public var secret: String

    public var text: String { Self.prefix + id + "_" + secret }

    /// A new key from the system's secure random generator.
    public static func generate() -> APIKeyToken {
        var generator = SystemRandomNumberGenerator()
        let idBytes = (0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let id = idBytes.map { String(format: "%02x", $0) }.joined()
        let secret = Data(secretBytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return APIKeyToken(id: id, secret: secret)
    }

    /// Parses a presented key; nil when it is not shaped like an ares key.
    public init?(parsing text: String) {
        guard text.hasPrefix(Self.prefix), text.utf8.count < 200 else { return nil }
        let rest = text.dropFirst(Self.prefix.count)
        guard let separator = rest.firstIndex(of: "_") else { return nil }
        let id = String(rest[..<separator])
        let secret = String(rest[rest.index(after: separator)...])
        guard id.count == 12, id.allSatisfy(\.isHexDigit), secret.count >= 32 else { return nil }
        self.init(id: id, secret: secret)
    }

    public init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// What is stored in place of the secret.
    public var secretDigest: [UInt8] { Array(SHA256.hash(data: Data(secret.utf8))) }
}
