import Foundation

/// Removes credentials from text a probe reports: the secrets it knows (the target's, the keys
/// it created) and anything shaped like an ares key or a JWT, in case a target echoes one.
struct ProbeRedaction: Sendable {
    var secrets: [String]

    func apply(_ text: String) -> String {
        var result = text
        for secret in secrets where secret.count >= 8 {
            result = result.replacingOccurrences(of: secret, with: "[credential]")
        }
        // Built per call: Regex is not Sendable, and reports are small.
        let patterns: [Regex<Substring>] = [
            /ares_[A-Za-z0-9]{6,}_[A-Za-z0-9_\-]{8,}/,
            /eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*/,
        ]
        for pattern in patterns {
            result = result.replacing(pattern) { _ in "[credential]" }
        }
        return result
    }

    func apply(_ check: ProbeCheck) -> ProbeCheck {
        var check = check
        check.detail = apply(check.detail)
        return check
    }
}
