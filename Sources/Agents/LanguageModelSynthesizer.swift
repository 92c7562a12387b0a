import Foundation
import ResearchCore

/// A synthesizer that asks a language model to write the report from numbered evidence,
/// each sentence ending with the markers of the evidence it uses. The citation checker
/// still verifies every sentence afterwards. When the model fails (unreachable, circuit
/// open, unusable answer) the built-in extractive synthesizer writes the report instead,
/// and the report says so in its notes.
public struct LanguageModelSynthesizer: ReportSynthesizer {
    public let model: any LanguageModel
    public let fallback: ExtractiveSynthesizer
    public var maxTokens: Int

    public init(model: any LanguageModel, fallback: ExtractiveSynthesizer = ExtractiveSynthesizer(), maxTokens: Int = 1200) {
        self.model = model
        self.fallback = fallback
        self.maxTokens = maxTokens
    }

    struct ModelReport: Decodable {
        struct Section: Decodable {
            var title: String
            var text: String
        }
        var answer: String
        var sections: [Section]
    }

    /// The shape of `ModelReport` for `plan`, for endpoints with structured output: an answer
    /// and at most one section per sub-question.
    static func answerShape(for plan: ResearchPlan) -> AnswerShape {
        AnswerShape(name: "synthesizer", schema: .object([
            ("answer", .string),
            ("sections", .array(items: .object([("title", .string), ("text", .string)]), minItems: 1, maxItems: max(1, plan.subQuestions.count))),
        ]))
    }

    public func synthesize(question: String, plan: ResearchPlan, evidence: [String: [Evidence]]) async throws -> ResearchReport {
        // Number the passages once, in sub-question order, as the extractive report would.
        var citations: [Citation] = []
        var indexByChunk: [String: Int] = [:]
        var lines: [String] = []
        for subQuestion in plan.subQuestions {
            lines.append("Sub-question \(subQuestion.id): \(subQuestion.text)")
            for item in (evidence[subQuestion.id] ?? []).sorted(by: { $0.score > $1.score }) {
                let index = indexByChunk[item.passage.chunkId] ?? {
                    let next = citations.count + 1
                    citations.append(Citation(index: next, passage: item.passage))
                    indexByChunk[item.passage.chunkId] = next
                    return next
                }()
                lines.append("[\(index)] \(item.sentence)")
            }
        }
        guard !citations.isEmpty else { return try await fallback.synthesize(question: question, plan: plan, evidence: evidence) }
        let messages: [ChatMessage] = [
            .system("""
                You write short research reports from the numbered evidence you are given, and from nothing else. \
                End every sentence with the markers of the evidence it rests on, like [2] or [1][3]. \
                Answer with JSON only: {"answer": "two or three sentences", "sections": [{"title": "the sub-question", "text": "sentences"}]}, \
                one section per sub-question, in order.
                """),
            .user("Question: \(question)\n\nEvidence:\n" + lines.joined(separator: "\n")),
        ]
        do {
            let reply = try await model.complete(messages, maxTokens: maxTokens, shape: Self.answerShape(for: plan))
            let parsed = try LanguageModelReply.decodeJSONObject(reply, as: ModelReport.self)
            let sections = parsed.sections.map { section in
                ResearchReport.Section(title: section.title, text: section.text, citations: Self.markers(in: section.text).filter { $0 >= 1 && $0 <= citations.count })
            }
            // A report that cites none of the evidence (a small model copying the prompt's
            // example text) would lose every sentence to the citation check.
            guard sections.contains(where: { !$0.citations.isEmpty }) else {
                throw LanguageModelError.malformedResponse("the report cites none of the evidence")
            }
            let notes = ["written by \(model.identity)"]
            return ResearchReport(
                answer: parsed.answer, sections: sections, citations: citations,
                markdown: ResearchReport.renderMarkdown(question: question, answer: parsed.answer, sections: sections, citations: citations, notes: notes),
                notes: notes)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            model.usage?.recordFallback(agent: Self.answerShape(for: plan).name, error: error)
            var report = try await fallback.synthesize(question: question, plan: plan, evidence: evidence)
            report.notes.append("the language model was unavailable (\(error)); the built-in extractive synthesizer wrote this report")
            report.markdown = ResearchReport.renderMarkdown(question: question, answer: report.answer, sections: report.sections,
                                                             citations: report.citations, notes: report.notes)
            return report
        }
    }

    static func markers(in text: String) -> [Int] {
        var result: [Int] = []
        var remainder = Substring(text)
        while let open = remainder.firstIndex(of: "["), let close = remainder[open...].firstIndex(of: "]") {
            if let number = Int(remainder[remainder.index(after: open)..<close]), !result.contains(number) { result.append(number) }
            remainder = remainder[remainder.index(after: close)...]
        }
        return result
    }
}
