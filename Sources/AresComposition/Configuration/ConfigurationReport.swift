import Foundation

extension AresConfiguration {
    public enum ReportFormat: String, CaseIterable, Sendable {
        case json, text
    }

    /// The effective configuration for `ares config show`: every setting's value and the
    /// source it came from. Secrets are shown as where they are kept (a key file's path, or
    /// "(set in VARIABLE)"), never as their contents, which the configuration does not hold.
    public func report(_ format: ReportFormat) -> String {
        switch format {
        case .json: jsonReport()
        case .text: textReport()
        }
    }

    private var configurationFileOrigin: String? {
        switch configurationFileSource {
        case .flag: "--config"
        case .env: Self.configurationFileVariable
        case .file, .default: nil
        }
    }

    private func jsonReport() -> String {
        func entry(_ value: String, source: ConfigurationSource, origin: String?) -> String {
            var fields = ["\"value\": \(value)", "\"source\": \(Self.jsonString(source.rawValue))"]
            if let origin { fields.append("\"from\": \(Self.jsonString(origin))") }
            return "{" + fields.joined(separator: ", ") + "}"
        }
        var lines = ["{"]
        lines.append("  \"configFile\": " + entry(configurationFile.map { Self.jsonString($0.path) } ?? "null",
                                                  source: configurationFileSource, origin: configurationFileOrigin) + ",")
        lines.append("  \"precedence\": [\"flag\", \"env\", \"file\", \"default\"],")
        lines.append("  \"settings\": {")
        for (index, resolved) in settings.enumerated() {
            let comma = index == settings.count - 1 ? "" : ","
            lines.append("    \(Self.jsonString(resolved.setting.name)): "
                         + entry(Self.json(resolved.value), source: resolved.source, origin: resolved.origin) + comma)
        }
        lines.append("  }")
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    private func textReport() -> String {
        var lines: [String] = []
        if let file = configurationFile {
            lines.append("configuration file: \(file.path) (from \(configurationFileOrigin ?? "?"))")
        } else {
            lines.append("configuration file: none (--config FILE or \(Self.configurationFileVariable))")
        }
        lines.append("precedence: flag > env > file > default")
        lines.append("")
        let rows = [("SETTING", "VALUE", "SOURCE")] + settings.map { resolved in
            (resolved.setting.name, Self.text(resolved.value), resolved.source.rawValue + (resolved.origin.map { " (\($0))" } ?? ""))
        }
        let nameWidth = rows.map(\.0.count).max() ?? 0
        let valueWidth = rows.map(\.1.count).max() ?? 0
        for (name, value, source) in rows {
            lines.append(name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                         + value.padding(toLength: valueWidth, withPad: " ", startingAt: 0) + "  " + source)
        }
        return lines.joined(separator: "\n")
    }

    private static func json(_ value: ConfigurationValue?) -> String {
        switch value {
        case nil: "null"
        case let .text(text)?: jsonString(text)
        case let .integer(number)?: "\(number)"
        case let .number(number)?: "\(number)"
        case let .boolean(flag)?: "\(flag)"
        case let .secret(reference)?: jsonString(reference.redacted)
        }
    }

    private static func text(_ value: ConfigurationValue?) -> String {
        switch value {
        case nil: "(unset)"
        case let .text(text)?: text
        case let .integer(number)?: "\(number)"
        case let .number(number)?: "\(number)"
        case let .boolean(flag)?: "\(flag)"
        case let .secret(reference)?: reference.redacted
        }
    }

    private static func jsonString(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }
}
