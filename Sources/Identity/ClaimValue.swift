import Foundation

/// One JSON value of a token's header or payload, or of a JWKS entry. The claims a token
/// carries are open-ended (a role claim may sit at any dotted path, as a string or an array),
/// so they are read as a tree instead of a fixed struct.
public enum ClaimValue: Sendable, Equatable, Codable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([ClaimValue])
    case object([String: ClaimValue])
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode([ClaimValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ClaimValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .string(value): try container.encode(value)
        case let .number(value): try container.encode(value)
        case let .bool(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    public var string: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    /// A number that is finite (JSON has no infinities, but a decoder may round a huge literal to one).
    public var finiteNumber: Double? {
        if case let .number(value) = self, value.isFinite { return value }
        return nil
    }

    public var object: [String: ClaimValue]? {
        if case let .object(value) = self { return value }
        return nil
    }
}
