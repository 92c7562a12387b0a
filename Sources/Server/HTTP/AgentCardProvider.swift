import Crypto
import Foundation
import Synchronization

/// The encoded agent cards (public and extended) with the validators HTTP caches need.
/// Rebuilt when the server learns its address (a port chosen by the system is known only
/// once the server is listening).
public final class AgentCardProvider: Sendable {
    public struct Encoded: Sendable {
        public var publicCard: Data
        public var extendedCard: Data
        public var etag: String
        public var lastModified: String
    }

    private let version: String
    private let authentication: A2AAuthenticationSchemes
    private let encoded: Mutex<Encoded>

    public init(baseURL: String, version: String, authentication: A2AAuthenticationSchemes = .init()) {
        self.version = version
        self.authentication = authentication
        encoded = Mutex(Self.encode(baseURL: baseURL, version: version, authentication: authentication, at: Date()))
    }

    public var current: Encoded { encoded.withLock { $0 } }

    public func update(baseURL: String) {
        let fresh = Self.encode(baseURL: baseURL, version: version, authentication: authentication, at: Date())
        encoded.withLock { $0 = fresh }
    }

    private static func encode(baseURL: String, version: String, authentication: A2AAuthenticationSchemes, at date: Date) -> Encoded {
        func card(extended: Bool) -> Data {
            (try? JSONRPCResponseWriter.encode(A2AAgentCard.ares(baseURL: baseURL, version: version, extended: extended, authentication: authentication)))
                ?? Data("{}".utf8)
        }
        let publicCard = card(extended: false)
        let extendedCard = card(extended: true)
        let digest = SHA256.hash(data: publicCard).prefix(12).map { String(format: "%02x", $0) }.joined()
        return Encoded(publicCard: publicCard, extendedCard: extendedCard, etag: "\"\(digest)\"", lastModified: httpDate(date))
    }

    /// RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
