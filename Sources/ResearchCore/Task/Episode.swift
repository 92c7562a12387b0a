import Foundation

/// A finished task as episodic memory keeps it: enough to reuse its plan for a
/// near-identical question and to judge how well it went.
public struct Episode: Sendable, Codable, Hashable {
    public var taskID: String
    public var question: String
    public var plan: ResearchPlan
    public var sources: [String]
    public var coverage: Double
    public var supportedSentences: Int
    public var recordedAt: Date

    public init(taskID: String, question: String, plan: ResearchPlan, sources: [String], coverage: Double,
                supportedSentences: Int, recordedAt: Date) {
        self.taskID = taskID
        self.question = question
        self.plan = plan
        self.sources = sources
        self.coverage = coverage
        self.supportedSentences = supportedSentences
        self.recordedAt = recordedAt
    }

    /// How alike two questions are: Jaccard similarity of their lower-cased words.
    public static func similarity(_ a: String, _ b: String) -> Double {
        similarity(words(a), words(b))
    }

    public static func similarity(_ left: Set<String>, _ right: Set<String>) -> Double {
        guard !left.isEmpty || !right.isEmpty else { return 1 }
        return Double(left.intersection(right).count) / Double(left.union(right).count)
    }

    /// The lower-cased words similarity compares.
    public static func words(_ text: String) -> Set<String> {
        Set(text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "_" }).map(String.init))
    }
}

/// Remembers finished tasks (the memory manager's store) and recalls the episode of a
/// near-identical past question.
public protocol EpisodicMemory: Sendable {
    func record(_ episode: Episode) async throws
    func recall(similarTo question: String) async throws -> Episode?
}
