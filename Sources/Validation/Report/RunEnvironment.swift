import Foundation

/// Where and with what a validation ran: the machine of the validator, the target's version
/// (from its agent card), the validator's own build, the plan and its scale.
public struct RunEnvironment: Sendable, Codable, Equatable {
    public var cores: Int
    public var memoryBytes: UInt64
    public var operatingSystem: String
    /// The validating ares binary: version and commit (`ares version`).
    public var validatorVersion: String
    public var validatorCommit: String?
    /// The target's name and version as its agent card states them.
    public var targetName: String?
    public var targetVersion: String?
    public var target: String
    /// Whether `ares validate` started the deployment itself (`--manage`), and how.
    public var managed: String?

    public init(validatorVersion: String, validatorCommit: String?, target: String, managed: String? = nil) {
        cores = ProcessInfo.processInfo.activeProcessorCount
        memoryBytes = ProcessInfo.processInfo.physicalMemory
        operatingSystem = ProcessInfo.processInfo.operatingSystemVersionString
        self.validatorVersion = validatorVersion
        self.validatorCommit = validatorCommit
        self.target = target
        self.managed = managed
    }
}
