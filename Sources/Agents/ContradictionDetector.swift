import Knowledge
import ResearchCore

/// Finds evidence sentences from different sources that contradict each other. Two sentences
/// are about the same thing when their content terms (stemmed, stop words and numbers aside)
/// mostly coincide; such a pair contradicts when exactly one of them is negated ("VACUUM FULL
/// locks the table" / "VACUUM FULL does not lock the table"), or when both state numbers and
/// the numbers differ ("the default is 128 MB" / "the default is 64 MB").
///
/// It is deliberately shallow: no parsing, no synonyms. It misses contradictions phrased in
/// different words, and in exchange it runs in microseconds and says exactly why it flagged a
/// pair, so a reader can judge.
public struct ContradictionDetector: Sendable {
    /// Jaccard similarity of content terms above which two sentences state the same thing.
    public var minimumSimilarity: Double
    /// Sentences with fewer content terms than this are too short to compare safely.
    public var minimumTerms: Int
    private let analyzer = TextAnalyzer()
    /// Plain lower-case words, stop words kept: negations are stop words for search.
    private let words = TextAnalyzer(stemming: false, removeStopWords: false)

    static let negations: Set<String> = [
        "not", "no", "never", "cannot", "cant", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent",
        "wont", "wouldnt", "shouldnt", "couldnt", "mustnt", "hasnt", "havent", "hadnt", "neither", "nor", "none",
    ]

    public init(minimumSimilarity: Double = 0.6, minimumTerms: Int = 3) {
        self.minimumSimilarity = minimumSimilarity
        self.minimumTerms = max(1, minimumTerms)
    }

    struct Statement {
        var evidence: Evidence
        var terms: Set<String>
        var negated: Bool
        var numbers: [String]
    }

    /// The contradictions among all evidence, in a stable order (sub-questions by id).
    public func contradictions(in evidence: [String: [Evidence]]) -> [Contradiction] {
        let statements = Self.distinct(evidence).map(statement)
        var found: [Contradiction] = []
        for i in statements.indices {
            for j in statements.indices where j > i {
                let a = statements[i], b = statements[j]
                guard a.evidence.passage.source != b.evidence.passage.source,
                      a.terms.count >= minimumTerms, b.terms.count >= minimumTerms else { continue }
                let shared = a.terms.intersection(b.terms).count
                guard Double(shared) / Double(a.terms.union(b.terms).count) >= minimumSimilarity else { continue }
                let reason: String
                if a.negated != b.negated {
                    reason = "negation: one source states what the other denies"
                } else if !a.numbers.isEmpty, !b.numbers.isEmpty, Set(a.numbers) != Set(b.numbers) {
                    reason = "numbers differ: \(a.numbers.joined(separator: ", ")) vs \(b.numbers.joined(separator: ", "))"
                } else {
                    continue
                }
                found.append(Contradiction(first: .init(a.evidence), second: .init(b.evidence), reason: reason))
            }
        }
        return found
    }

    /// Share of the distinct evidence sentences caught in at least one contradiction, 0...1.
    public static func score(_ contradictions: [Contradiction], evidence: [String: [Evidence]]) -> Double {
        let total = distinct(evidence).count
        guard total > 0 else { return 0 }
        let involved = Set(contradictions.flatMap { [$0.first.sentence, $0.second.sentence] })
        return Double(involved.count) / Double(total)
    }

    /// Each sentence once (the first occurrence, sub-questions in id order).
    static func distinct(_ evidence: [String: [Evidence]]) -> [Evidence] {
        var seen = Set<String>()
        return evidence.keys.sorted().flatMap { evidence[$0] ?? [] }.filter { seen.insert($0.sentence).inserted }
    }

    func statement(_ evidence: Evidence) -> Statement {
        let terms = analyzer.terms(evidence.sentence).filter { $0.first?.isNumber == false }
        let negated = words.terms(evidence.sentence).contains { Self.negations.contains($0) }
        return Statement(evidence: evidence, terms: Set(terms), negated: negated, numbers: Self.numbers(in: evidence.sentence))
    }

    /// The numbers written in a text, in order: digit runs with inner "." or "," ("8.3", "1,000").
    static func numbers(in text: String) -> [String] {
        var numbers: [String] = []
        var current = ""
        var pendingSeparator: Character?
        for character in text {
            if character.isASCII, character.isNumber {
                if let separator = pendingSeparator { current.append(separator) }
                pendingSeparator = nil
                current.append(character)
            } else if !current.isEmpty, pendingSeparator == nil, character == "." || character == "," {
                pendingSeparator = character
            } else {
                if !current.isEmpty { numbers.append(current) }
                current = ""
                pendingSeparator = nil
            }
        }
        if !current.isEmpty { numbers.append(current) }
        return numbers
    }
}
