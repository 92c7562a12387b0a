import ResearchCore

/// The built-in evaluator: a sub-question is covered when it has evidence scoring at least
/// `threshold`. Uncovered sub-questions are sent back with broader queries (their content
/// words alone, then each half of them), until `maximumRounds` is reached: the loop always ends.
public struct CoverageEvaluator: ResearchEvaluator {
    public var threshold: Double
    public var maximumRounds: Int

    public init(threshold: Double = 0.4, maximumRounds: Int = 3) {
        self.threshold = threshold
        self.maximumRounds = max(1, maximumRounds)
    }

    public func evaluate(subQuestions: [SubQuestion], evidence: [String: [Evidence]], round: Int) async throws -> Critique {
        let uncovered = subQuestions.filter { question in
            !(evidence[question.id] ?? []).contains { $0.score >= threshold }
        }
        let coverage = subQuestions.isEmpty ? 0 : Double(subQuestions.count - uncovered.count) / Double(subQuestions.count)
        let sources = Set(evidence.values.flatMap { $0.map(\.passage.source) })
        var notes = ["coverage \(subQuestions.count - uncovered.count)/\(subQuestions.count)", "\(sources.count) distinct sources"]
        guard round < maximumRounds, !uncovered.isEmpty else {
            if !uncovered.isEmpty { notes.append("round limit reached with \(uncovered.count) sub-question(s) uncovered") }
            return Critique(coverage: coverage, revisions: [], notes: notes)
        }
        let revisions = uncovered.map { question in
            SubQuestion(id: question.id, text: question.text, queries: Self.broaderQueries(for: question))
        }
        notes.append("researching again: \(revisions.map(\.id).joined(separator: ", "))")
        return Critique(coverage: coverage, revisions: revisions, notes: notes)
    }

    /// Content words only (question words and fillers dropped), then each half of them.
    static func broaderQueries(for question: SubQuestion) -> [String] {
        let fillers: Set<String> = ["how", "what", "why", "when", "where", "which", "who", "do", "does", "i", "can",
                                    "should", "is", "are", "the", "a", "an", "to", "of", "in", "my", "me", "it"]
        let words = question.text.split(whereSeparator: { $0.isWhitespace || $0 == "?" })
            .map(String.init).filter { !fillers.contains($0.lowercased()) }
        guard !words.isEmpty else { return question.queries }
        var queries = [words.joined(separator: " ")]
        if words.count >= 4 {
            queries.append(words.prefix(words.count / 2).joined(separator: " "))
            queries.append(words.suffix(words.count - words.count / 2).joined(separator: " "))
        }
        return queries
    }
}
