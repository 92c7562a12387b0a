import Foundation
import TaskService

/// What a webhook config must be before the server stores it: an http(s) URL without user
/// information whose host resolves only to addresses outside the server's network (unless
/// allowed), and header-safe credentials. Errors are -32602 naming the field.
public struct PushNotificationConfigValidator: Sendable {
    /// Webhooks on loopback, private or link-local addresses reach inside the server's network
    /// (server-side request forgery): refused unless allowed (`--allow-private-webhooks`, `--dev`).
    public let allowsPrivateAddresses: Bool
    public var addressPolicy: WebhookAddressPolicy { WebhookAddressPolicy(allowsPrivateAddresses: allowsPrivateAddresses) }

    public init(allowsPrivateAddresses: Bool) {
        self.allowsPrivateAddresses = allowsPrivateAddresses
    }

    /// addresses outside the server's network (unless allowed), and header-safe credentials.
    public func validate(_ config: PushNotificationConfig) async throws {
        guard config.url.utf8.count <= 2048 else { throw JSONRPCError.invalidParams("url: longer than 2048 bytes") }
        guard let url = URL(string: config.url), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty else {
            throw JSONRPCError.invalidParams("url: '\(config.url.prefix(200))' is not an http(s) URL with a host")
        }
        guard url.user == nil, url.password == nil else {
            throw JSONRPCError.invalidParams("url: must not carry a user name or password; use authentication.credentials")
        }
        do {
            _ = try await addressPolicy.check(host: host)
        } catch let refusal as WebhookAddressPolicy.Refusal {
            let hint = allowsPrivateAddresses ? "" : " (start the server with --allow-private-webhooks to permit addresses inside its network)"
            throw JSONRPCError.invalidParams("url: \(refusal.description); this server sends webhooks only to public addresses\(hint)")
        }
        guard (config.token?.utf8.count ?? 0) <= 512 else { throw JSONRPCError.invalidParams("token: longer than 512 bytes") }
        if let token = config.token, !Self.isHeaderSafe(token) {
            throw JSONRPCError.invalidParams("token: only visible ASCII characters and spaces are allowed (it is sent as an HTTP header)")
        }
        if let authentication = config.authentication {
            guard !authentication.scheme.isEmpty, authentication.scheme.utf8.count <= 64,
                  authentication.scheme.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw JSONRPCError.invalidParams("authentication.scheme: must be one word of visible ASCII, e.g. Bearer")
            }
            if let credentials = authentication.credentials {
                guard credentials.utf8.count <= 4096, Self.isHeaderSafe(credentials) else {
                    throw JSONRPCError.invalidParams("authentication.credentials: at most 4096 visible ASCII characters (it is sent as an HTTP header)")
                }
            }
        }
    }

    /// Visible ASCII and spaces only: no CR or LF (header injection), no NUL or other controls.
    static func isHeaderSafe(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }
}
