import Foundation

/// The agent card (A2A 1.0): who ares is, where its JSON-RPC endpoint is, how to
/// authenticate, and its skills. Encoded once at start; served with an ETag.
public struct A2AAgentCard: Codable, Sendable {
    public struct Interface: Codable, Sendable {
        public var url: String
        public var protocolBinding: String
        public var protocolVersion: String
    }

    public struct Provider: Codable, Sendable {
        public var url: String
        public var organization: String
    }

    public struct Capabilities: Codable, Sendable {
        public var streaming: Bool
        public var pushNotifications: Bool
        public var extendedAgentCard: Bool
    }

    public struct Skill: Codable, Sendable {
        public var id: String
        public var name: String
        public var description: String
        public var tags: [String]
        public var examples: [String]
        public var inputModes: [String]
        public var outputModes: [String]
    }

    public var name: String
    public var description: String
    public var supportedInterfaces: [Interface]
    public var provider: Provider
    public var version: String
    public var documentationUrl: String?
    public var capabilities: Capabilities
    public var securitySchemes: [String: JSONValue]
    public var securityRequirements: [JSONValue]
    public var defaultInputModes: [String]
    public var defaultOutputModes: [String]
    public var skills: [Skill]

    /// The card of a server whose public base URL is `baseURL` (no trailing slash).
    public static func ares(baseURL: String, version: String, extended: Bool, authentication: A2AAuthenticationSchemes = .init()) -> A2AAgentCard {
        var skills = [
            Skill(id: "research", name: "Research a question",
                  description: "Plans sub-questions, researches them in parallel over the knowledge base, critiques coverage and writes a report in which every sentence is cited to the passage it came from.",
                  tags: ["research", "citations", "report"],
                  examples: ["How does PostgreSQL's write-ahead log make commits durable?"],
                  inputModes: ["text/plain"], outputModes: ["text/markdown", "application/json"]),
            Skill(id: "search", name: "Search the knowledge base",
                  description: "Hybrid keyword and vector search over the ingested documents (JSON-RPC method ares/search).",
                  tags: ["search", "retrieval"], examples: ["vacuum freeze"],
                  inputModes: ["application/json"], outputModes: ["application/json"]),
        ]
        if extended {
            skills.append(Skill(id: "ingest", name: "Ingest documents",
                                description: "Adds text, Markdown and HTML files on the server's disk to the knowledge base (JSON-RPC method ares/ingest; admin only).",
                                tags: ["ingest", "admin"], examples: ["/srv/docs"], inputModes: ["application/json"], outputModes: ["application/json"]))
        }
        return A2AAgentCard(
            name: "ares",
            description: "An agentic research engine: a team of agents researches a question over a knowledge base and returns a report in which every claim is cited.",
            supportedInterfaces: [
                Interface(url: baseURL + "/a2a", protocolBinding: "JSONRPC", protocolVersion: "1.0"),
                Interface(url: baseURL + "/rest", protocolBinding: "HTTP+JSON", protocolVersion: "1.0"),
            ],
            provider: Provider(url: "https://github.com/ares-research/ares", organization: "ares"),
            version: version,
            documentationUrl: nil,
            capabilities: Capabilities(streaming: true, pushNotifications: true, extendedAgentCard: true),
            securitySchemes: authentication.securitySchemes,
            securityRequirements: authentication.securityRequirements,
            defaultInputModes: ["text/plain"],
            defaultOutputModes: ["text/markdown", "application/json"],
            skills: skills)
    }
}
