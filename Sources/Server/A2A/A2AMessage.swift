import Foundation

/// A2A 1.0 wire types (JSON mapping of `lf.a2a.v1`): camelCase fields, enums by name,
/// absent fields omitted. Decoding ignores fields ares does not use.

/// Who wrote a message.
public enum A2ARole: String, Codable, Sendable {
    case unspecified = "ROLE_UNSPECIFIED"
    case user = "ROLE_USER"
    case agent = "ROLE_AGENT"
}

/// One piece of content: exactly one of text, raw (base64), url or data, with an optional
/// media type and file name.
public struct A2APart: Codable, Sendable, Equatable {
    public var text: String?
    public var raw: String?
    public var url: String?
    public var data: JSONValue?
    public var metadata: [String: JSONValue]?
    public var filename: String?
    public var mediaType: String?

    public init(text: String, mediaType: String? = nil) {
        self.text = text
        self.mediaType = mediaType
    }

    public init(data: JSONValue, mediaType: String? = nil) {
        self.data = data
        self.mediaType = mediaType
    }

    /// How many content fields are set; a valid part has exactly one.
    var contentCount: Int {
        [text != nil, raw != nil, url != nil, data != nil].filter { $0 }.count
    }

    var kindName: String {
        if text != nil { return "text" }
        if raw != nil { return "raw" }
        if url != nil { return "url" }
        if data != nil { return "data" }
        return "empty"
    }
}

public struct A2AMessage: Codable, Sendable, Equatable {
    public var messageId: String
    public var contextId: String?
    public var taskId: String?
    public var role: A2ARole
    public var parts: [A2APart]
    public var metadata: [String: JSONValue]?
    public var extensions: [String]?
    public var referenceTaskIds: [String]?

    public init(messageId: String, contextId: String?, taskId: String?, role: A2ARole, parts: [A2APart]) {
        self.messageId = messageId
        self.contextId = contextId
        self.taskId = taskId
        self.role = role
        self.parts = parts
    }
}
