/// The result of checking the audit chain: how many records it holds, the hash of the newest
/// (an operator may keep it elsewhere to detect a later rewrite of the whole file), and every
/// break found, by position.
public struct AuditVerification: Sendable, Equatable {
    public struct Break: Sendable, Equatable, CustomStringConvertible {
        public var position: Int64
        public var problem: String
        public var description: String { "record \(position): \(problem)" }
    }

    public var records: Int
    public var headHash: String?
    public var breaks: [Break]
    public var isIntact: Bool { breaks.isEmpty }
}
