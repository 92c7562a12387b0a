import Foundation

extension AresConfiguration {
    /// Every setting that is set, as the audit trail records it at start: `value (source)`,
    /// with secrets as where they are kept (never their contents, which the configuration
    /// does not hold) and URLs without any user or password written into them.
    public var auditedSettings: [String: String] {
        var details: [String: String] = [:]
        for resolved in settings {
            guard let value = resolved.value else { continue }
            let text: String
            switch value {
            case let .text(plain): text = Self.withoutCredentials(plain)
            case let .integer(number): text = String(number)
            case let .number(number): text = String(number)
            case let .boolean(flag): text = String(flag)
            case let .secret(reference): text = reference.redacted
            }
            details[resolved.setting.name] = "\(text) (\(resolved.source.rawValue))"
        }
        return details
    }

    /// `https://user:password@host/` → `https://***@host/`: a URL setting may carry a
    /// credential in its user part, which must not reach the audit file.
    static func withoutCredentials(_ text: String) -> String {
        guard text.contains("@"), var components = URLComponents(string: text), components.scheme != nil,
              components.user != nil || components.password != nil else { return text }
        components.user = "***"
        components.password = nil
        return components.string ?? "(a URL with credentials)"
    }
}
