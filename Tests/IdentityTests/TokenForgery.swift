import Crypto
import Foundation
@testable import Identity

/// Builds the altered and forged tokens the tests present: each starts from a real token
/// (from nanoidp) or from keys the test made, and changes one thing.
enum TokenForgery {
    static func base64URL(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func json(_ object: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }

    static func parts(_ token: String) -> [String] { token.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }

    static func decode(_ segment: String) -> [String: Any] {
        guard let data = Base64URL.decode(segment), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object
    }

    /// The token with its header replaced (the signature kept).
    static func withHeader(_ token: String, _ change: (inout [String: Any]) -> Void) -> String {
        let parts = parts(token)
        var header = decode(parts[0])
        change(&header)
        return [base64URL(json(header)), parts[1], parts[2]].joined(separator: ".")
    }

    /// The token with its payload replaced (the signature kept).
    static func withPayload(_ token: String, _ change: (inout [String: Any]) -> Void) -> String {
        let parts = parts(token)
        var payload = decode(parts[1])
        change(&payload)
        return [parts[0], base64URL(json(payload)), parts[2]].joined(separator: ".")
    }

    /// `alg: none`: the real payload, no signature.
    static func unsigned(_ token: String) -> String {
        let parts = parts(token)
        var header = decode(parts[0])
        header["alg"] = "none"
        return [base64URL(json(header)), parts[1], ""].joined(separator: ".")
    }

    /// HS256 with `secret` (the provider's public key, which anyone can read) as the HMAC key.
    static func hmacSigned(_ token: String, secret: Data) -> String {
        let parts = parts(token)
        var header = decode(parts[0])
        header["alg"] = "HS256"
        let input = base64URL(json(header)) + "." + parts[1]
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: secret))
        return input + "." + base64URL(Data(mac))
    }

    /// A token signed by the test itself with `sign` over `header.payload`.
    static func signed(header: [String: Any], payload: [String: Any], sign: (Data) throws -> Data) rethrows -> String {
        let input = base64URL(json(header)) + "." + base64URL(json(payload))
        return input + "." + base64URL(try sign(Data(input.utf8)))
    }
}
