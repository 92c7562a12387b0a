import Foundation
import ResearchCore

/// An evaluator that asks a language model how well each sub-question's evidence answers it
/// (0...1) and, for a weak one, for reformulated search queries. The built-in evaluator still
/// runs first: its contradictions (and the round they are chased in) and its round limit stand,
/// so the loop always ends. When the model fails or leaves a sub-question unscored, the
/// built-in critique is used as it is, and the report says so.
public struct LanguageModelEvaluator: ResearchEvaluator {
    public let model: any LanguageModel
    public let fallback: CoverageEvaluator
    /// A sub-question whose model score is below this is researched again.
    public var threshold: Double
    /// At most this many evidence sentences per sub-question are shown to the model.
    public var sentencesShown: Int
    public var maxTokens: Int

    public init(model: any LanguageModel, fallback: CoverageEvaluator = CoverageEvaluator(), threshold: Double = 0.5,
                sentencesShown: Int = 6, maxTokens: Int = 600) {
        self.model = model
        self.fallback = fallback
        self.threshold = threshold
        self.sentencesShown = max(1, sentencesShown)
        self.maxTokens = maxTokens
    }

    struct ModelCritique: Decodable {
        struct Item: Decodable {
            var id: String
            var coverage: Double
            var queries: [String]?
        }
        var subQuestions: [Item]
    }

    /// The shape of `ModelCritique` for `subQuestions`, for endpoints with structured output:
    /// one item per sub-question, its id one of theirs, with at most three queries.
    static func answerShape(for subQuestions: [SubQuestion]) -> AnswerShape {
        AnswerShape(name: "evaluator", schema: .object([
            ("subQuestions", .array(items: .object([("id", .enumeration(subQuestions.map(\.id))), ("coverage", .number(minimum: 0, maximum: 1)),
                                                    ("queries", .array(items: .string, minItems: nil, maxItems: 3))]),
                                    minItems: subQuestions.count, maxItems: subQuestions.count)),
        ]))
    }

    public func evaluate(subQuestions: [SubQuestion], evidence: [String: [Evidence]], round: Int) async throws -> Critique {
        var builtIn = try await fallback.evaluate(subQuestions: subQuestions, evidence: evidence, round: round)
        guard !subQuestions.isEmpty else { return builtIn }
        let listing = subQuestions.map { question in
            let sentences = (evidence[question.id] ?? []).sorted { $0.score > $1.score }.prefix(sentencesShown)
            return "Sub-question \(question.id): \(question.text)\n"
                + (sentences.isEmpty ? "(no evidence)" : sentences.map { "- \($0.sentence)" }.joined(separator: "\n"))
        }.joined(separator: "\n\n")
        let messages: [ChatMessage] = [
            .system("""
                You judge research coverage. For every sub-question, score from 0 to 1 how completely its evidence answers it, \
                and when the score is below \(threshold) give up to three new keyword search queries that could find what is \
                missing. Answer with JSON only: {"subQuestions": [{"id": "sq1", "coverage": 0.8, "queries": ["..."]}]}
                """),
            .user("Research round \(round).\n\n\(listing)"),
        ]
        do {
            let reply = try await model.complete(messages, maxTokens: maxTokens, shape: Self.answerShape(for: subQuestions))
            let items = try LanguageModelReply.decodeJSONObject(reply, as: ModelCritique.self).subQuestions
            let scores = Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let unscored = subQuestions.filter { scores[$0.id] == nil }.map(\.id)
            guard unscored.isEmpty else {
                throw LanguageModelError.malformedResponse("no score for \(unscored.joined(separator: ", "))")
            }
            let weak = subQuestions.filter { question in scores[question.id].map { min(max($0.coverage, 0), 1) < threshold } ?? true }
            var revisions: [SubQuestion] = []
            if round < fallback.maximumRounds {
                revisions = weak.map { question in
                    let proposed = (scores[question.id]?.queries ?? [])
                        .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter(LanguageModelPlanner.hasWords)
                    return SubQuestion(id: question.id, text: question.text,
                                       queries: proposed.isEmpty ? CoverageEvaluator.broaderQueries(for: question) : Array(proposed.prefix(3)))
                }
                // The built-in evaluator's settling round for contradictions stands.
                if round <= fallback.contradictionRounds {
                    revisions += CoverageEvaluator.settlingRevisions(subQuestions.filter { question in !weak.contains { $0.id == question.id } },
                                                                     contradictions: builtIn.contradictions)
                }
            }
            let covered = subQuestions.count - weak.count
            var notes = ["coverage \(covered)/\(subQuestions.count) judged by \(model.identity)"]
            if !revisions.isEmpty { notes.append("researching again: \(revisions.map(\.id).joined(separator: ", "))") }
            return Critique(coverage: Double(covered) / Double(subQuestions.count), revisions: revisions, notes: notes,
                            contradictions: builtIn.contradictions, contradictionScore: builtIn.contradictionScore,
                            reportNotes: builtIn.reportNotes + ["coverage judged by \(model.identity)"])
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            model.usage?.recordFallback(agent: Self.answerShape(for: subQuestions).name, error: error)
            builtIn.reportNotes.append("the language model could not judge the research (\(error)); the built-in evaluator judged it")
            return builtIn
        }
    }
}
