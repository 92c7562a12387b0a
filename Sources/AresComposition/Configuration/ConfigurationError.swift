/// A configuration that cannot be used, said so that the user can fix it: the setting at
/// fault (when one is), the accepted values, the value found and where it was found.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The setting's name (its configuration-file key), when one setting is at fault.
    public var setting: String?
    public var message: String

    public init(setting: String? = nil, _ message: String) {
        self.setting = setting
        self.message = message
    }

    public var description: String { message }
}
