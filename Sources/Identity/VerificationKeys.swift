import Foundation

/// The identity provider's signing keys from one JWKS fetch, by `kid`, each with the
/// algorithms it may verify.
///
/// There is no default key: a token is verified with the key its `kid` names or not at all.
/// (jwt-kit's `JWTKeyCollection` falls back to a default key for an unknown or missing `kid`;
/// it is not used here, see `OIDCTokenVerifier`.) A key's algorithms come from its `kty`,
/// `crv` and `alg`, never from a token, so a token cannot choose HMAC or another padding for
/// a key published for something else.
struct VerificationKeys: Sendable {
    struct Entry: Sendable {
        var key: VerificationKey
        var algorithms: Set<SigningAlgorithm>
    }

    let entries: [String: Entry]
    /// Why keys of the set were left out (for the log; no key material).
    let skipped: [String]

    var keyCount: Int { entries.count }

    /// Reads a JWKS document. Keys that are not signature keys of an accepted type, have no
    /// `kid`, share a `kid` with another key, or cannot be read are left out with a reason.
    static func parse(_ document: Data, maximumKeys: Int) throws(IdentityProviderError) -> VerificationKeys {
        guard let root = try? JSONDecoder().decode([String: ClaimValue].self, from: document),
              case let .array(keys)? = root["keys"] else {
            throw IdentityProviderError("the JWKS is not a JSON object with a 'keys' array")
        }
        var entries: [String: Entry] = [:]
        var ambiguous: Set<String> = []
        var skipped: [String] = []
        for (position, item) in keys.prefix(maximumKeys).enumerated() {
            guard let jwk = item.object else { skipped.append("key \(position) is not an object"); continue }
            guard let kid = jwk["kid"]?.string, !kid.isEmpty, kid.utf8.count <= 256 else {
                skipped.append("key \(position) has no kid"); continue
            }
            // Two keys under one kid: which one a token means is unknowable, so neither is used.
            if entries[kid] != nil || ambiguous.contains(kid) {
                entries[kid] = nil
                ambiguous.insert(kid)
                skipped.append("kid \(kid) names more than one key"); continue
            }
            if let use = jwk["use"]?.string, use != "sig" { skipped.append("key \(kid) is for '\(use)', not signatures"); continue }
            guard let algorithms = acceptedAlgorithms(of: jwk) else {
                skipped.append("key \(kid) is not an RS256/PS256, ES256 (P-256) or EdDSA (Ed25519) key"); continue
            }
            guard let key = VerificationKey.from(jwk) else { skipped.append("key \(kid) has invalid parameters"); continue }
            entries[kid] = Entry(key: key, algorithms: algorithms)
        }
        if keys.count > maximumKeys { skipped.append("\(keys.count - maximumKeys) keys beyond the first \(maximumKeys) ignored") }
        return VerificationKeys(entries: entries, skipped: skipped)
    }

    /// The accepted algorithms a JWK may verify, from its `kty`, `crv` and `alg`; nil: none.
    private static func acceptedAlgorithms(of key: [String: ClaimValue]) -> Set<SigningAlgorithm>? {
        let candidates: Set<SigningAlgorithm>
        switch key["kty"]?.string {
        case "RSA": candidates = [.rs256, .ps256]
        case "EC" where key["crv"]?.string == "P-256": candidates = [.es256]
        case "OKP" where key["crv"]?.string == "Ed25519": candidates = [.eddsa]
        default: return nil
        }
        guard let declared = key["alg"]?.string else { return candidates }
        // "Ed25519" is the newer registered name of EdDSA over Ed25519 (RFC 9864).
        let algorithm = declared == "Ed25519" ? SigningAlgorithm.eddsa : SigningAlgorithm(rawValue: declared)
        guard let algorithm, candidates.contains(algorithm) else { return nil }
        return [algorithm]
    }
}
