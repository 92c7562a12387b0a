import Crypto
import Foundation
import _CryptoExtras

/// One public key of the identity provider, as the primitive that checks a JWS signature.
enum VerificationKey: Sendable {
    case rsa(_RSA.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    /// Whether `signature` signs `input` (the token's `header.payload`) under `algorithm`
    /// (RFC 7518 §3.3–3.5, RFC 8037 §3.1). A key of another type never verifies.
    func verifies(_ signature: Data, of input: Data, with algorithm: SigningAlgorithm) -> Bool {
        switch (self, algorithm) {
        case let (.rsa(key), .rs256):
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
        case let (.rsa(key), .ps256):
            // PSS with MGF1-SHA-256 and a salt as long as the digest, as RFC 7518 §3.5 requires.
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .PSS)
        case let (.p256(key), .es256):
            // JWS carries R‖S (64 bytes), not DER.
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: SHA256.hash(data: input))
        case let (.ed25519(key), .eddsa):
            return key.isValidSignature(signature, for: input)
        default:
            return false
        }
    }

    /// The key of a JWK of an accepted type; nil when its parameters are missing or invalid
    /// (RSA below 2048 or above 8192 bits, a point not on the curve).
    static func from(_ jwk: [String: ClaimValue]) -> VerificationKey? {
        func bytes(_ name: String) -> Data? { jwk[name]?.string.flatMap(Base64URL.decode) }
        switch jwk["kty"]?.string {
        case "RSA":
            guard let modulus = bytes("n"), let exponent = bytes("e"), modulus.count <= 1024, exponent.count <= 8,
                  let key = try? _RSA.Signing.PublicKey(n: modulus, e: exponent) else { return nil }
            return .rsa(key)
        case "EC":
            guard jwk["crv"]?.string == "P-256", let x = bytes("x"), let y = bytes("y"), x.count == 32, y.count == 32,
                  let key = try? P256.Signing.PublicKey(rawRepresentation: x + y) else { return nil }
            return .p256(key)
        case "OKP":
            guard jwk["crv"]?.string == "Ed25519", let x = bytes("x"), x.count == 32,
                  let key = try? Curve25519.Signing.PublicKey(rawRepresentation: x) else { return nil }
            return .ed25519(key)
        default:
            return nil
        }
    }
}
