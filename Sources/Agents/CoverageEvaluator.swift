import Knowledge
import ResearchCore

/// The built-in evaluator: a sub-question is covered when it has evidence scoring at least
/// `threshold`. Uncovered sub-questions are sent back with broader queries (their content
/// words alone, then each half of them), until `maximumRounds` is reached: the loop always ends.
///
/// It also looks for evidence sentences that contradict each other across sources
/// (`ContradictionDetector`). In the first `contradictionRounds` rounds, a sub-question caught
/// in a contradiction is researched again with a query for the disputed statement, so a third
/// source may settle it; contradictions that remain are scored and reported, not chased.
public struct CoverageEvaluator: ResearchEvaluator {
    public var threshold: Double
    public var maximumRounds: Int
    public var contradictionRounds: Int
    public var detector: ContradictionDetector
    /// At most this many contradictions are spelled out in the report's notes.
    static let notedContradictions = 3

    public init(threshold: Double = 0.4, maximumRounds: Int = 3, contradictionRounds: Int = 1,
                detector: ContradictionDetector = ContradictionDetector()) {
        self.threshold = threshold
        self.maximumRounds = max(1, maximumRounds)
        self.contradictionRounds = max(0, contradictionRounds)
        self.detector = detector
    }

    public func evaluate(subQuestions: [SubQuestion], evidence: [String: [Evidence]], round: Int) async throws -> Critique {
        let uncovered = subQuestions.filter { question in
            !(evidence[question.id] ?? []).contains { $0.score >= threshold }
        }
        let coverage = subQuestions.isEmpty ? 0 : Double(subQuestions.count - uncovered.count) / Double(subQuestions.count)
        let sources = Set(evidence.values.flatMap { $0.map(\.passage.source) })
        var notes = ["coverage \(subQuestions.count - uncovered.count)/\(subQuestions.count)", "\(sources.count) distinct sources"]
        let contradictions = detector.contradictions(in: evidence)
        if !contradictions.isEmpty { notes.append("\(contradictions.count) contradiction(s) between sources") }

        var revisions = uncovered.map { question in
            SubQuestion(id: question.id, text: question.text, queries: Self.broaderQueries(for: question))
        }
        if round <= contradictionRounds {
            revisions += Self.settlingRevisions(subQuestions.filter { question in !uncovered.contains { $0.id == question.id } },
                                                contradictions: contradictions)
        }
        if round >= maximumRounds {
            if !uncovered.isEmpty { notes.append("round limit reached with \(uncovered.count) sub-question(s) uncovered") }
            revisions = []
        } else if !revisions.isEmpty {
            notes.append("researching again: \(revisions.map(\.id).joined(separator: ", "))")
        }
        return Critique(coverage: coverage, revisions: revisions, notes: notes, contradictions: contradictions,
                        contradictionScore: ContradictionDetector.score(contradictions, evidence: evidence),
                        reportNotes: Self.reportNotes(for: contradictions))
    }

    /// Covered sub-questions caught in a contradiction, each with a query for the disputed
    /// statement: the words its two sentences share.
    static func settlingRevisions(_ covered: [SubQuestion], contradictions: [Contradiction]) -> [SubQuestion] {
        covered.compactMap { question in
            let disputes = contradictions.filter { $0.first.subQuestionID == question.id || $0.second.subQuestionID == question.id }
            guard !disputes.isEmpty else { return nil }
            var queries: [String] = []
            for dispute in disputes {
                let query = sharedWords(dispute.first.sentence, dispute.second.sentence)
                if !query.isEmpty, !queries.contains(query) { queries.append(query) }
            }
            return queries.isEmpty ? nil : SubQuestion(id: question.id, text: question.text, queries: Array(queries.prefix(3)))
        }
    }

    /// The lower-case words of `a` whose stems `b` also has ("locks" meets "lock"), in `a`'s
    /// order, without stop words or numbers.
    static func sharedWords(_ a: String, _ b: String) -> String {
        let stems = TextAnalyzer()
        let other = Set(stems.terms(b))
        var seen = Set<String>()
        return TextAnalyzer(stemming: false).terms(a)
            .filter { word in
                word.first?.isNumber == false && seen.insert(word).inserted && stems.terms(word).contains { other.contains($0) }
            }
            .prefix(8).joined(separator: " ")
    }

    /// A reader should know when sources disagree: the first few contradictions, quoted.
    static func reportNotes(for contradictions: [Contradiction]) -> [String] {
        guard !contradictions.isEmpty else { return [] }
        let quoted = contradictions.prefix(notedContradictions).map { item in
            "“\(item.first.sentence)” (\(item.first.source)) and “\(item.second.sentence)” (\(item.second.source)): \(item.reason)"
        }
        let more = contradictions.count > notedContradictions ? " (and \(contradictions.count - notedContradictions) more)" : ""
        return ["sources disagree\(more): " + quoted.joined(separator: "; ")]
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
