import Foundation

/// The subset of JSON Schema the LLM-backed agents describe their answers with, sent to the
/// model endpoint as structured output (`response_format` of type `json_schema`).
///
/// It is the subset every server we target turns into a grammar or accepts in strict mode:
/// llama.cpp's `json-schema-to-grammar`, vLLM's guided decoding, Ollama's `format`, and
/// OpenAI's strict structured outputs. That is why every object lists all its properties as
/// required and forbids others (OpenAI's strict mode demands both), and why properties keep
/// the order they are declared in: grammar-based servers generate them in that order, so the
/// model writes the question before the queries, the passage number before the quote.
public indirect enum JSONSchema: Sendable, Equatable {
    case object([(name: String, schema: JSONSchema)])
    /// An array of `items`, `minItems` to `maxItems` long (nil: unbounded). An upper bound keeps
    /// a small model that repeats itself from filling its whole token budget with one array.
    case array(items: JSONSchema, minItems: Int?, maxItems: Int?)
    case string
    /// A string that is one of `values` (e.g. the ids of the sub-questions being judged).
    case enumeration([String])
    case number(minimum: Double?, maximum: Double?)
    case integer(minimum: Int?, maximum: Int?)
    case boolean

    public static func == (lhs: JSONSchema, rhs: JSONSchema) -> Bool {
        switch (lhs, rhs) {
        case let (.object(left), .object(right)):
            left.count == right.count && zip(left, right).allSatisfy { $0.name == $1.name && $0.schema == $1.schema }
        case let (.array(leftItems, leftMin, leftMax), .array(rightItems, rightMin, rightMax)):
            leftItems == rightItems && leftMin == rightMin && leftMax == rightMax
        case (.string, .string), (.boolean, .boolean): true
        case let (.enumeration(left), .enumeration(right)): left == right
        case let (.number(leftMin, leftMax), .number(rightMin, rightMax)): leftMin == rightMin && leftMax == rightMax
        case let (.integer(leftMin, leftMax), .integer(rightMin, rightMax)): leftMin == rightMin && leftMax == rightMax
        default: false
        }
    }

    /// The names of an object's properties, in order (empty for other schemas).
    public var propertyNames: [String] {
        if case let .object(properties) = self { return properties.map(\.name) }
        return []
    }

    /// The schema as JSON text, properties in their declared order. (Foundation's JSONEncoder
    /// does not keep the order of a keyed container's keys on Linux, so the schema writes
    /// itself; strings go through JSONEncoder for their escaping.)
    public var jsonText: String {
        func quoted(_ string: String) -> String {
            (try? JSONEncoder().encode(string)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
        }
        func members(_ pairs: [(String, String)]) -> String {
            "{" + pairs.map { quoted($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
        }
        switch self {
        case let .object(properties):
            return members([
                ("type", quoted("object")),
                ("properties", members(properties.map { ($0.name, $0.schema.jsonText) })),
                ("required", "[" + properties.map { quoted($0.name) }.joined(separator: ",") + "]"),
                ("additionalProperties", "false"),
            ])
        case let .array(items, minItems, maxItems):
            return members([("type", quoted("array")), ("items", items.jsonText)]
                           + (minItems.map { [("minItems", String($0))] } ?? []) + (maxItems.map { [("maxItems", String($0))] } ?? []))
        case .string:
            return members([("type", quoted("string"))])
        case let .enumeration(values):
            return members([("type", quoted("string")), ("enum", "[" + values.map(quoted).joined(separator: ",") + "]")])
        case let .number(minimum, maximum):
            // Only finite bounds are written: JSON has no infinity or NaN.
            return members([("type", quoted("number"))]
                           + (minimum.flatMap { $0.isFinite ? [("minimum", String($0))] : nil } ?? [])
                           + (maximum.flatMap { $0.isFinite ? [("maximum", String($0))] : nil } ?? []))
        case let .integer(minimum, maximum):
            return members([("type", quoted("integer"))]
                           + (minimum.map { [("minimum", String($0))] } ?? []) + (maximum.map { [("maximum", String($0))] } ?? []))
        case .boolean:
            return members([("type", quoted("boolean"))])
        }
    }
}
