/// The signature algorithms ares accepts on tokens. `none` and the HMAC family are refused by
/// design: an HMAC "public key" is no secret, so HS256 with the JWKS key as secret is a forgery.
public enum SigningAlgorithm: String, Sendable, CaseIterable, Hashable {
    case rs256 = "RS256"
    case ps256 = "PS256"
    case es256 = "ES256"
    case eddsa = "EdDSA"

    static let acceptedList = allCases.map(\.rawValue).joined(separator: ", ")
}
