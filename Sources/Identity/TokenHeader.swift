import Foundation
import Synchronization

/// A token split into its parts, with the JWS header fields it is checked by before any key
/// is looked up.
struct TokenHeader: Sendable, Equatable {
    var algorithm: SigningAlgorithm
    var keyID: String
    /// `header.payload` as sent: what the signature signs.
    var signingInput: Data
    var encodedPayload: Substring
    var signature: Data

    struct Refusal: Error, CustomStringConvertible { var description: String }

    /// Reads the first segment of a token already known to be three base64url segments.
    static func parse(_ token: String) -> Result<TokenHeader, Refusal> {
        // Split at the dots on the bytes: splitting by Character (grapheme clusters) cost more
        // than the signature check.
        let bytes = token.utf8
        guard let firstDot = bytes.firstIndex(of: UInt8(ascii: ".")),
              let secondDot = bytes[bytes.index(after: firstDot)...].firstIndex(of: UInt8(ascii: ".")) else {
            return .failure(Refusal(description: "the token is not three base64url parts separated by dots"))
        }
        let parts = [Substring(bytes[..<firstDot]), Substring(bytes[bytes.index(after: firstDot)..<secondDot]),
                     Substring(bytes[bytes.index(after: secondDot)...])]
        guard !parts[2].utf8.contains(UInt8(ascii: ".")), let signature = Base64URL.decode(parts[2]) else {
            return .failure(Refusal(description: "the token is not three base64url parts separated by dots"))
        }
        // The header of a provider's tokens repeats (alg, kid, typ): a header once read is
        // looked up instead of decoded again. Only headers that passed every check are kept.
        let encodedHeader = String(parts[0])
        if let known = recentHeaders.withLock({ $0[encodedHeader] }) {
            return .success(TokenHeader(algorithm: known.algorithm, keyID: known.keyID, signingInput: signingInput(of: token, parts),
                                        encodedPayload: parts[1], signature: signature))
        }
        guard let data = Base64URL.decode(parts[0]),
              let header = try? JSONDecoder().decode(RawTokenHeader.self, from: data) else {
            return .failure(Refusal(description: "the token's header is not base64url-encoded JSON"))
        }
        guard let name = header.alg else {
            return .failure(Refusal(description: "the token's header names no algorithm (alg)"))
        }
        if name.lowercased() == "none" {
            return .failure(Refusal(description: "unsigned tokens (alg 'none') are refused"))
        }
        guard let algorithm = SigningAlgorithm(rawValue: name) else {
            if name.uppercased().hasPrefix("HS") {
                return .failure(Refusal(description: "HMAC-signed tokens (alg '\(name.prefix(16))') are refused; accepted: \(SigningAlgorithm.acceptedList)"))
            }
            return .failure(Refusal(description: "the algorithm '\(name.prefix(16))' is not accepted; accepted: \(SigningAlgorithm.acceptedList)"))
        }
        // A critical extension this server does not implement must make the token invalid (RFC 7515 §4.1.11).
        if header.hasCritical {
            return .failure(Refusal(description: "the token's header has critical extensions (crit) this server does not implement"))
        }
        // Without a kid jwt-kit would try a default key; there is none here, and no guessing either.
        guard let keyID = header.kid, !keyID.isEmpty, keyID.utf8.count <= 256 else {
            return .failure(Refusal(description: "the token's header names no signing key (kid)"))
        }
        if parts[0].utf8.count <= 1024 {
            recentHeaders.withLock { headers in
                // Bounded: a flood of distinct (forged) headers only ever empties it.
                if headers.count >= 128 { headers.removeAll(keepingCapacity: true) }
                headers[encodedHeader] = KnownHeader(algorithm: algorithm, keyID: keyID)
            }
        }
        return .success(TokenHeader(algorithm: algorithm, keyID: keyID, signingInput: signingInput(of: token, parts),
                                    encodedPayload: parts[1], signature: signature))
    }

    private struct KnownHeader {
        var algorithm: SigningAlgorithm
        var keyID: String
    }

    /// Encoded header → its checked fields.
    private static let recentHeaders = Mutex<[String: KnownHeader]>([:])

    private static func signingInput(of token: String, _ parts: [Substring]) -> Data {
        Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
    }
}

/// base64url without padding (RFC 7515 §2), decoded from the bytes directly (this runs on
/// every request; Foundation's decoder would need two copies with `+` and `/` first).
enum Base64URL {
    static func decode(_ text: some StringProtocol) -> Data? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count / 4 * 3 + 2)
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.utf8 {
            let value: UInt32
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(character - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(character - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(character - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "_"): value = 63
            default: return nil
            }
            // At most 7 bits wait in the buffer, so it never holds more than 13.
            buffer = (buffer << 6) | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
                buffer &= (1 << UInt32(bits)) - 1
            }
        }
        // One character alone (6 bits) cannot end a byte: the length was 1 more than a multiple of 4.
        guard bits < 6 else { return nil }
        return Data(bytes)
    }
}
