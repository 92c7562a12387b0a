import BinaryCoding

/// The error of a damaged or foreign snapshot file; the message says what did not fit.
public struct SnapshotFormatError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// A read that ran past the end of the data, while reading `what`.
    init(_ error: BinaryReadError, reading what: String) {
        self.init("\(error) while reading \(what)")
    }
}
