import Foundation
import ResearchCore

/// The built-in planner: offline and deterministic. It splits a compound question into
/// sub-questions at question marks, semicolons and at "and"/"also" that start a new
/// question ("What is WAL and how do I tune it?"), and gives each sub-question its own
/// text as a query plus, when the part leans on the rest ("how do I tune it"), a query
/// that carries the question's subject along.
public struct HeuristicPlanner: ResearchPlanner {
    /// Words that start a new question after "and" / "also".
    static let questionStarts: Set<String> = [
        "how", "what", "why", "when", "where", "which", "who", "whom", "whose", "is", "are", "can", "could",
        "should", "does", "do", "did", "will", "would",
    ]
    /// At most this many sub-questions: a long list is better researched as fewer, broader parts.
    public var maximumSubQuestions: Int

    public init(maximumSubQuestions: Int = 6) {
        self.maximumSubQuestions = max(1, maximumSubQuestions)
    }

    public func plan(question: String) async throws -> ResearchPlan {
        let parts = Self.split(question)
        let limited = parts.count > maximumSubQuestions
            ? Array(parts.prefix(maximumSubQuestions - 1)) + [parts.dropFirst(maximumSubQuestions - 1).joined(separator: " ")]
            : parts
        let subject = Self.subject(of: limited.first ?? question)
        let subQuestions = limited.enumerated().map { index, text in
            var queries = [text]
            if index > 0, Self.leansOnContext(text), !subject.isEmpty { queries.append("\(subject) \(text)") }
            return SubQuestion(id: "sq\(index + 1)", text: text, queries: queries)
        }
        return ResearchPlan(subQuestions: subQuestions)
    }

    /// The parts of a question, trimmed, without empty ones; the whole question if it has one part.
    static func split(_ question: String) -> [String] {
        var parts: [String] = []
        for sentence in question.split(whereSeparator: { $0 == "?" || $0 == ";" || $0 == "\n" }) {
            let words = sentence.split(whereSeparator: \.isWhitespace).map(String.init)
            var current: [String] = []
            for (index, word) in words.enumerated() {
                let lower = word.lowercased().trimmingCharacters(in: .punctuationCharacters)
                let next = index + 1 < words.count ? words[index + 1].lowercased() : ""
                if (lower == "and" || lower == "also"), questionStarts.contains(next), current.count >= 2 {
                    parts.append(current.joined(separator: " "))
                    current = []
                    continue
                }
                current.append(word)
            }
            if !current.isEmpty { parts.append(current.joined(separator: " ")) }
        }
        let cleaned = parts
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters)) }
            .filter { $0.split(whereSeparator: \.isWhitespace).count >= 2 }
        return cleaned.isEmpty ? [question.trimmingCharacters(in: .whitespacesAndNewlines)] : cleaned
    }

    /// A part that refers back with a pronoun needs the subject of the first part.
    static func leansOnContext(_ text: String) -> Bool {
        let words = Set(text.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init))
        return !words.isDisjoint(with: ["it", "its", "they", "them", "their", "this", "that", "these", "those"])
    }

    /// The content words of the first part, without its question words.
    static func subject(of text: String) -> String {
        let stop: Set<String> = ["how", "what", "why", "when", "where", "which", "who", "is", "are", "do", "does", "i", "a", "an", "the", "can", "should", "to", "of"]
        return text.split(whereSeparator: \.isWhitespace)
            .filter { !stop.contains($0.lowercased()) }
            .joined(separator: " ")
    }
}
