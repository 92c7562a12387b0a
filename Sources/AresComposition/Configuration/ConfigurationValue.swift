/// A setting's value once read from its source: paths are absolute, URLs and choices are
/// checked text, secrets are references (never the secret itself).
public enum ConfigurationValue: Sendable, Equatable {
    case text(String)
    case integer(Int)
    case number(Double)
    case boolean(Bool)
    case secret(SecretReference)
}

/// Where a setting's value came from, in precedence order: a flag beats the environment,
/// which beats the configuration file, which beats the default.
public enum ConfigurationSource: String, Sendable, CaseIterable {
    case flag, env, file, `default`
}

/// One setting as resolved: its value (nil: unset), the source that won, and which flag,
/// variable or file it was (nil for defaults).
public struct ResolvedSetting: Sendable, Equatable {
    public var setting: ConfigurationSetting
    public var value: ConfigurationValue?
    public var source: ConfigurationSource
    public var origin: String?
}
