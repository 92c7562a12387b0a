import Foundation
import ResearchCore

/// A researcher that retrieves passages as the built-in one does and asks a language model
/// which of their sentences answer the sub-question. The model may only quote: every sentence
/// it returns is looked up in its passage, and one that does not occur there (whitespace
/// aside) is dropped; a kept one is widened to the passage's whole sentences and carries their
/// exact span. When the model fails or none of its quotes survive, the built-in researcher
/// picks the evidence instead and the findings say so.
public struct LanguageModelResearcher: SubQuestionResearcher {
    public let model: any LanguageModel
    public let fallback: RetrievalResearcher
    /// At most this many passages (best ranked first) are shown to the model.
    public var passagesForModel: Int
    public var maxTokens: Int

    public init(model: any LanguageModel, fallback: RetrievalResearcher, passagesForModel: Int = 8, maxTokens: Int = 800) {
        self.model = model
        self.fallback = fallback
        self.passagesForModel = max(1, passagesForModel)
        self.maxTokens = maxTokens
    }

    struct ModelEvidence: Decodable {
        struct Item: Decodable {
            var passage: Int
            var sentence: String
            var relevance: Double?
        }
        var evidence: [Item]
    }

    /// The shape of `ModelEvidence` for `passageCount` numbered passages, for endpoints with
    /// structured output: at most the built-in researcher's number of items, each naming a
    /// passage that exists.
    func answerShape(passageCount: Int) -> AnswerShape {
        AnswerShape(name: "researcher", schema: .object([
            ("evidence", .array(items: .object([("passage", .integer(minimum: 1, maximum: max(1, passageCount))), ("sentence", .string),
                                                ("relevance", .number(minimum: 0, maximum: 1))]),
                                minItems: nil, maxItems: fallback.maximumEvidence)),
        ]))
    }

    public func research(_ subQuestion: SubQuestion) async throws -> [Evidence] {
        try await findings(for: subQuestion).evidence
    }

    public func findings(for subQuestion: SubQuestion) async throws -> ResearchFindings {
        let passages = try await fallback.passages(for: subQuestion)
            .enumerated().sorted { ($0.element.rank, $0.offset) < ($1.element.rank, $1.offset) }
            .prefix(passagesForModel).map(\.element.passage)
        guard !passages.isEmpty else { return ResearchFindings(evidence: []) }
        let listing = passages.enumerated().map { "[\($0.offset + 1)] \($0.element.text)" }.joined(separator: "\n\n")
        let messages: [ChatMessage] = [
            .system("""
                You pick evidence for a research sub-question from numbered passages. Copy the sentences that answer \
                the sub-question exactly as they are written in a passage, character for character; never rephrase, \
                shorten or add a sentence. Answer with JSON only: \
                {"evidence": [{"passage": 1, "sentence": "...", "relevance": 0.9}]}, best first, at most \(fallback.maximumEvidence) items, \
                relevance from 0 to 1.
                """),
            .user("Sub-question: \(subQuestion.text)\n\nPassages:\n\(listing)"),
        ]
        do {
            let reply = try await model.complete(messages, maxTokens: maxTokens, shape: answerShape(passageCount: passages.count))
            let items = try LanguageModelReply.decodeJSONObject(reply, as: ModelEvidence.self).evidence
            var evidence: [Evidence] = []
            var invented = 0
            for (order, item) in items.enumerated() {
                // The model's number is range-checked before any arithmetic: `Int.min - 1` would trap.
                guard item.passage >= 1, item.passage <= passages.count,
                      let found = Self.quote(item.sentence, in: passages[item.passage - 1], subQuestionID: subQuestion.id,
                                             score: item.relevance ?? (1 - 0.05 * Double(order)))
                else {
                    invented += 1
                    continue
                }
                if !evidence.contains(where: { $0.passage.chunkId == found.passage.chunkId && $0.start == found.start }) {
                    evidence.append(found)
                }
            }
            guard !evidence.isEmpty else {
                throw LanguageModelError.malformedResponse("none of the \(items.count) quoted sentence(s) occurs in its passage")
            }
            var notes = ["evidence chosen by \(model.identity)"]
            if invented > 0 { notes.append("sentences the model quoted that occur in no passage were dropped") }
            return ResearchFindings(evidence: Array(evidence.prefix(fallback.maximumEvidence)), notes: notes)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            model.usage?.recordFallback(agent: answerShape(passageCount: passages.count).name, error: error)
            return ResearchFindings(evidence: try await fallback.research(subQuestion),
                                    notes: ["the language model could not pick evidence (\(error)); the built-in researcher picked it"])
        }
    }

    /// The evidence for a quote of `passage`: the passage's whole sentences that contain it, with
    /// their span in the document; nil when the passage does not contain the quote.
    static func quote(_ quote: String, in passage: Passage, subQuestionID: String, score: Double) -> Evidence? {
        // A few words are not a statement a report can stand on, and would match too easily.
        guard quote.split(whereSeparator: \.isWhitespace).count >= 3, let span = span(of: quote, in: passage.text) else { return nil }
        let sentences = SentenceSplitter.sentences(in: passage.text).filter { $0.end > span.lowerBound && $0.start < span.upperBound }
        guard let first = sentences.first, let last = sentences.last else { return nil }
        let scalars = Array(passage.text.unicodeScalars)
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[first.start..<last.end])
        return Evidence(subQuestionID: subQuestionID, sentence: String(text), passage: passage,
                        start: passage.start + first.start, end: passage.start + last.end, score: min(max(score, 0), 1))
    }

    /// Where `quote` occurs in `text`, in Unicode-scalar offsets, where runs of whitespace match
    /// any run of whitespace (models reflow lines); nil when it does not occur.
    static func span(of quote: String, in text: String) -> Range<Int>? {
        func collapsed(_ string: String) -> [(scalar: Unicode.Scalar, offset: Int)] {
            var result: [(Unicode.Scalar, Int)] = []
            for (offset, scalar) in string.unicodeScalars.enumerated() {
                if scalar.properties.isWhitespace {
                    if let last = result.last, last.0 != " " { result.append((" ", offset)) }
                } else {
                    result.append((scalar, offset))
                }
            }
            if result.last?.0 == " " { result.removeLast() }
            return result
        }
        let needle = collapsed(quote.trimmingCharacters(in: .whitespacesAndNewlines)).map(\.scalar)
        let haystack = collapsed(text)
        guard !needle.isEmpty, needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start].scalar == needle[0] {
            var matched = true
            for index in 1..<needle.count where haystack[start + index].scalar != needle[index] {
                matched = false
                break
            }
            if matched { return haystack[start].offset..<(haystack[start + needle.count - 1].offset + 1) }
        }
        return nil
    }
}
