import Foundation
import ResearchCore

/// A citation verifier in two lines. The built-in quotation check goes first and drops every
/// claim its cited passage does not contain; then a language model reads each remaining claim
/// next to its cited passages and judges whether they support it, which catches what word
/// overlap cannot (a claim that drops a "not" shares all its terms with the passage). Claims
/// the model judges unsupported are dropped and listed as flagged. When the model fails or
/// answers unusably, the quotation check's result stands and the report says so.
public struct LanguageModelCitationChecker: CitationChecker {
    public let model: any LanguageModel
    public let quotation: QuotationCitationChecker
    public var maxTokens: Int

    public init(model: any LanguageModel, quotation: QuotationCitationChecker = QuotationCitationChecker(), maxTokens: Int = 600) {
        self.model = model
        self.quotation = quotation
        self.maxTokens = maxTokens
    }

    struct ModelVerdicts: Decodable {
        struct Item: Decodable {
            var claim: Int
            var supported: Bool
        }
        var verdicts: [Item]
    }

    /// The shape of `ModelVerdicts` for `claimCount` numbered claims, for endpoints with
    /// structured output: exactly one verdict per claim, numbered within range.
    static func answerShape(claimCount: Int) -> AnswerShape {
        AnswerShape(name: "citation_checker", schema: .object([
            ("verdicts", .array(items: .object([("claim", .integer(minimum: 1, maximum: max(1, claimCount))), ("supported", .boolean)]),
                                minItems: claimCount, maxItems: claimCount)),
        ]))
    }

    public func verify(_ report: ResearchReport) async throws -> (report: ResearchReport, check: CitationCheck) {
        let (quoted, firstCheck) = try await quotation.verify(report)
        // Each distinct claim once (the answer repeats section sentences), with its markers.
        var claims: [QuotationCitationChecker.Claim] = []
        for text in [quoted.answer] + quoted.sections.map(\.text) {
            for claim in QuotationCitationChecker.claims(in: text).claims where !claims.contains(where: { $0.written == claim.written }) {
                claims.append(claim)
            }
        }
        guard !claims.isEmpty else { return (quoted, firstCheck) }
        let cited = Set(claims.flatMap(\.markers))
        let passages = quoted.citations.filter { cited.contains($0.index) }.map { "[\($0.index)] \($0.passage.text)" }
        let messages: [ChatMessage] = [
            .system("""
                You check citations. For every numbered claim, decide whether the passages it cites (its [n] markers) state \
                what the claim says; a claim that adds, drops or reverses anything (a "not", a number) is not supported. \
                Answer with JSON only: {"verdicts": [{"claim": 1, "supported": true}]}
                """),
            .user("Passages:\n" + passages.joined(separator: "\n\n") + "\n\nClaims:\n"
                  + claims.enumerated().map { "\($0.offset + 1). \($0.element.written)" }.joined(separator: "\n")),
        ]
        var unchecked = quoted
        do {
            let reply = try await model.complete(messages, maxTokens: maxTokens, shape: Self.answerShape(claimCount: claims.count))
            let verdicts = try LanguageModelReply.decodeJSONObject(reply, as: ModelVerdicts.self).verdicts
            guard verdicts.count == claims.count, Set(verdicts.map(\.claim)) == Set(1...claims.count) else {
                throw LanguageModelError.malformedResponse("\(verdicts.count) verdicts for \(claims.count) claims")
            }
            let rejected = Set(verdicts.filter { !$0.supported }.map { claims[$0.claim - 1].written })
            let (kept, secondCheck) = QuotationCitationChecker.keeping(quoted) { !rejected.contains($0.written) }
            var verified = kept
            verified.notes.append("citations also checked by \(model.identity)"
                                  + (rejected.isEmpty ? "" : "; it judged \(rejected.count) claim(s) unsupported, which were removed"))
            verified.markdown = Self.rendered(verified, like: report)
            return (verified, CitationCheck(supportedSentences: secondCheck.supportedSentences,
                                            unsupportedSentences: firstCheck.unsupportedSentences + secondCheck.unsupportedSentences,
                                            flagged: firstCheck.flagged + secondCheck.flagged))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            model.usage?.recordFallback(agent: Self.answerShape(claimCount: claims.count).name, error: error)
            unchecked.notes.append("the language model could not check citations (\(error)); only the quotation check was applied")
            unchecked.markdown = Self.rendered(unchecked, like: report)
            return (unchecked, firstCheck)
        }
    }

    static func rendered(_ report: ResearchReport, like original: ResearchReport) -> String {
        ResearchReport.renderMarkdown(question: QuotationCitationChecker.question(of: original), answer: report.answer,
                                      sections: report.sections, citations: report.citations, notes: report.notes)
    }
}
