import Foundation

/// The shape an agent expects its answer in: a name for it (the endpoint's `json_schema.name`,
/// also the agent's key in `LanguageModelUsage`) and the schema of the JSON object.
public struct AnswerShape: Sendable, Equatable {
    /// `^[A-Za-z0-9_-]{1,64}$`, as OpenAI requires of a schema name.
    public var name: String
    public var schema: JSONSchema

    public init(name: String, schema: JSONSchema) {
        self.name = name
        self.schema = schema
    }
}
