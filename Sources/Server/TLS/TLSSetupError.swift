/// Why the TLS files cannot be served. Says which setting and file is wrong and how; never
/// quotes a file's content (one of them is the private key).
public struct TLSSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
