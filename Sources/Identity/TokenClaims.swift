import Foundation

/// The claims of a token that ares reads: the registered ones it checks, the names it shows,
/// and the role claim (its full name and the first segment of its dotted path). Other claims
/// are skipped unread, which keeps a token check cheap on every request.
struct TokenClaims: Decodable {
    private static let read: Set<String> = ["iss", "sub", "aud", "exp", "nbf", "iat", "preferred_username", "client_id"]
    static let roleClaimKey = CodingUserInfoKey(rawValue: "ares.roleClaim")

    var claims: [String: ClaimValue] = [:]

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let roleClaim = Self.roleClaimKey.flatMap { decoder.userInfo[$0] as? String } ?? "roles"
        let roleRoot = roleClaim.split(separator: ".", maxSplits: 1).first.map(String.init) ?? roleClaim
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys where Self.read.contains(key.stringValue) || key.stringValue == roleClaim || key.stringValue == roleRoot {
            claims[key.stringValue] = try container.decode(ClaimValue.self, forKey: key)
        }
    }

    /// Decodes a payload; nil when it is not a JSON object.
    static func decode(_ data: Data, roleClaim: String) -> [String: ClaimValue]? {
        let decoder = JSONDecoder()
        if let roleClaimKey { decoder.userInfo[roleClaimKey] = roleClaim }
        return try? decoder.decode(TokenClaims.self, from: data).claims
    }
}

/// The JWS header fields ares reads; others are skipped unread.
struct RawTokenHeader: Decodable {
    var alg: String?
    var kid: String?
    var hasCritical: Bool

    private enum Keys: String, CodingKey { case alg, kid, crit }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        // A non-string alg or kid is treated as absent (and refused as such).
        alg = try? container.decodeIfPresent(String.self, forKey: .alg)
        kid = try? container.decodeIfPresent(String.self, forKey: .kid)
        hasCritical = container.contains(.crit)
    }
}
