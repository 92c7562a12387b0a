/// The settings given on the command line, the source that takes precedence over all others.
/// Command-line option groups fill it (`ConfigurationOptionGroup`); tests set it directly.
public struct ConfigurationFlags: Sendable {
    /// `--config`: the configuration file (else `$ARES_CONFIG`).
    public var configurationFile: String?
    private(set) var values: [ConfigurationSetting: ConfigurationValue] = [:]

    public init(configurationFile: String? = nil) {
        self.configurationFile = configurationFile
    }

    public subscript(setting: ConfigurationSetting) -> ConfigurationValue? {
        get { values[setting] }
        set { values[setting] = newValue }
    }

    /// Sets a text, path or URL flag that was given (an absent flag changes nothing).
    public mutating func set(_ setting: ConfigurationSetting, _ value: String?) {
        if let value { values[setting] = .text(value) }
    }

    public mutating func set(_ setting: ConfigurationSetting, _ value: Int?) {
        if let value { values[setting] = .integer(value) }
    }

    public mutating func set(_ setting: ConfigurationSetting, _ value: Double?) {
        if let value { values[setting] = .number(value) }
    }

    /// Sets a boolean flag to `value` when the flag was given (`given`); `--dev` is
    /// `set(.dev, true, given: dev)`, `--no-request-log` is `set(.logRequests, false, given: noRequestLog)`.
    public mutating func set(_ setting: ConfigurationSetting, _ value: Bool, given: Bool) {
        if given { values[setting] = .boolean(value) }
    }
}

/// A group of command-line options that sets configuration flags.
public protocol ConfigurationOptionGroup {
    func apply(to flags: inout ConfigurationFlags)
}
