import Foundation

/// One security event: when it happened, what it was, who did it (a principal's id) or where
/// it came from (the source address of an unauthenticated request), a few details and how it
/// ended. Never a credential: callers put ids, names, reasons and paths in `details`.
///
/// Every text is cut to a bounded length when the event is made, so that no request can make
/// an audit record (or the queue of them) large.
public struct AuditEvent: Sendable, Equatable {
    public static let maximumDetails = 100
    public static let maximumKeyLength = 100
    public static let maximumValueLength = 500
    public static let maximumIdentityLength = 300

    public var time: Date
    public var kind: AuditKind
    public var principal: String?
    public var source: String?
    public var details: [String: String]
    public var outcome: AuditOutcome

    public init(kind: AuditKind, outcome: AuditOutcome, principal: String? = nil, source: String? = nil,
                details: [String: String] = [:], time: Date = Date()) {
        self.time = time
        self.kind = kind
        self.outcome = outcome
        self.principal = principal.map { String($0.prefix(Self.maximumIdentityLength)) }
        self.source = source.map { String($0.prefix(Self.maximumIdentityLength)) }
        var bounded: [String: String] = [:]
        for key in details.keys.sorted().prefix(Self.maximumDetails) {
            bounded[String(key.prefix(Self.maximumKeyLength))] = details[key].map { String($0.prefix(Self.maximumValueLength)) }
        }
        self.details = bounded
    }
}

extension AuditEvent: Codable {
    private enum CodingKeys: String, CodingKey { case time, kind, principal, source, details, outcome }

    /// The time as RFC 3339 text with milliseconds, so the stored payload reads the same
    /// everywhere (the record's commit time, kept by the store, has microseconds).
    private static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .time)
        guard let time = try? Self.timeStyle.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: .time, in: container, debugDescription: "time '\(text.prefix(40))' is not an RFC 3339 time")
        }
        self.init(kind: try container.decode(AuditKind.self, forKey: .kind), outcome: try container.decode(AuditOutcome.self, forKey: .outcome),
                  principal: try container.decodeIfPresent(String.self, forKey: .principal),
                  source: try container.decodeIfPresent(String.self, forKey: .source),
                  details: try container.decodeIfPresent([String: String].self, forKey: .details) ?? [:], time: time)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(time.formatted(Self.timeStyle), forKey: .time)
        try container.encode(kind, forKey: .kind)
        try container.encodeIfPresent(principal, forKey: .principal)
        try container.encodeIfPresent(source, forKey: .source)
        try container.encode(details, forKey: .details)
        try container.encode(outcome, forKey: .outcome)
    }
}

extension AuditEvent {
    /// The principal of actions taken on the machine itself (`ares keys`, the server's start):
    /// the operating-system user who ran the command.
    public static var localOperator: String { "local:\(NSUserName())" }
}
