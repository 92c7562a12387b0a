import Foundation
import ResearchCore

/// A planner that asks a language model to split the question into sub-questions with
/// search queries. When the model fails or answers with something unusable, the built-in
/// heuristic planner plans instead (a plan is never worse than the offline one).
public struct LanguageModelPlanner: ResearchPlanner {
    public let model: any LanguageModel
    public let fallback: HeuristicPlanner
    public var maximumSubQuestions: Int

    public init(model: any LanguageModel, fallback: HeuristicPlanner = HeuristicPlanner(), maximumSubQuestions: Int = 6) {
        self.model = model
        self.fallback = fallback
        self.maximumSubQuestions = max(1, maximumSubQuestions)
    }

    struct ModelPlan: Decodable {
        struct Item: Decodable {
            var question: String
            var queries: [String]?
        }
        var subQuestions: [Item]
    }

    /// The shape of `ModelPlan`, for endpoints with structured output: one to
    /// `maximumSubQuestions` sub-questions, each with at most three queries.
    var answerShape: AnswerShape {
        AnswerShape(name: "planner", schema: .object([
            ("subQuestions", .array(items: .object([("question", .string), ("queries", .array(items: .string, minItems: nil, maxItems: 3))]),
                                    minItems: 1, maxItems: maximumSubQuestions)),
        ]))
    }

    /// Whether `text` holds a word (a letter or digit), not just punctuation such as "...".
    static func hasWords(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.isAlphabetic || $0.properties.numericType != nil }
    }

    public func plan(question: String) async throws -> ResearchPlan {
        let messages: [ChatMessage] = [
            .system("""
                You plan research over a document collection. Split the user's question into at most \(maximumSubQuestions) \
                self-contained sub-questions (one if it is simple), each with two or three keyword search queries. \
                Answer with JSON only: {"subQuestions": [{"question": "...", "queries": ["...", "..."]}]}
                """),
            .user(question),
        ]
        do {
            let reply = try await model.complete(messages, maxTokens: 600, shape: answerShape)
            let parsed = try LanguageModelReply.decodeJSONObject(reply, as: ModelPlan.self)
            // A small model under a schema may copy the prompt's "..." placeholders: text
            // without a letter or digit is no sub-question or query.
            let items = parsed.subQuestions
                .map { (text: $0.question.trimmingCharacters(in: .whitespacesAndNewlines), queries: ($0.queries ?? []).filter(Self.hasWords)) }
                .filter { Self.hasWords($0.text) }
                .prefix(maximumSubQuestions)
            guard !items.isEmpty else { throw LanguageModelError.malformedResponse("the plan has no sub-questions") }
            return ResearchPlan(subQuestions: items.enumerated().map { index, item in
                let queries = [item.text] + item.queries
                return SubQuestion(id: "sq\(index + 1)", text: item.text, queries: Array(queries.prefix(4)))
            })
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            model.usage?.recordFallback(agent: answerShape.name, error: error)
            return try await fallback.plan(question: question)
        }
    }
}
