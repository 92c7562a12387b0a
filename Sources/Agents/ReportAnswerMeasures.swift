import Foundation
import ResearchCore

/// How a report reads against a known answer (a benchmark's answer key): not only whether it
/// cites the answer somewhere (recall), but how much of what it says comes from a page that
/// answers the question, and whether the answer itself is in the text a person reads
/// (precision). A report can cite the answering passage as its fourth source and still be
/// three sentences of padding; the answer-cited share alone does not show that.
public struct ReportAnswerMeasures: Sendable, Equatable {
    /// Distinct cited sentences (claims) in the answer and the sections. Text without a citation
    /// marker ("The knowledge base does not say …") claims nothing and is not counted.
    public var claims: Int
    /// Claims with at least one marker pointing at a passage from an answering page.
    public var claimsFromAnsweringPages: Int
    /// The answer hint occurs in the report's own text (answer and sections, not the sources list).
    public var hintInText: Bool
    /// The report lists a passage from an answering page that contains the hint (the strict
    /// answer-cited measure of BENCHMARKS.md).
    public var citesAnsweringPassage: Bool
    /// Sections that make no cited claim: sub-questions the report says it cannot answer.
    public var unansweredSections: Int

    public init(claims: Int, claimsFromAnsweringPages: Int, hintInText: Bool, citesAnsweringPassage: Bool, unansweredSections: Int) {
        self.claims = claims
        self.claimsFromAnsweringPages = claimsFromAnsweringPages
        self.hintInText = hintInText
        self.citesAnsweringPassage = citesAnsweringPassage
        self.unansweredSections = unansweredSections
    }

    /// Measures `report` against the pages that answer its question (file names, as the last
    /// path component of a passage's source) and a phrase the answer contains. Matching
    /// ignores case and runs of whitespace.
    public static func measure(_ report: ResearchReport, answeringPages: Set<String>, hint: String) -> ReportAnswerMeasures {
        let hint = normalize(hint)
        func answers(_ passage: Passage) -> Bool { answeringPages.contains(page(of: passage)) }
        let passages = Dictionary(report.citations.map { ($0.index, $0.passage) }, uniquingKeysWith: { first, _ in first })
        // The extractive answer repeats the sections' best sentences: each claim counts once.
        var seen = Set<String>()
        var claims = 0, fromAnswering = 0
        for text in [report.answer] + report.sections.map(\.text) {
            for claim in QuotationCitationChecker.claims(in: text).claims where seen.insert(claim.written).inserted {
                claims += 1
                if claim.markers.contains(where: { passages[$0].map(answers) ?? false }) { fromAnswering += 1 }
            }
        }
        let text = normalize(([report.answer] + report.sections.map(\.text)).joined(separator: " "))
        return ReportAnswerMeasures(
            claims: claims, claimsFromAnsweringPages: fromAnswering,
            hintInText: !hint.isEmpty && text.contains(hint),
            citesAnsweringPassage: !hint.isEmpty && report.citations.contains { answers($0.passage) && normalize($0.passage.text).contains(hint) },
            unansweredSections: report.unansweredSections.count)
    }

    /// The cited sentences of a report text, each with the citation markers it ends with, in
    /// order (what the citation checker verifies one by one).
    public static func claims(in text: String) -> [(text: String, markers: [Int])] {
        QuotationCitationChecker.claims(in: text).claims.map { ($0.text, $0.markers) }
    }

    /// The page a passage comes from: its source's file name ("sql-vacuum.html").
    public static func page(of passage: Passage) -> String {
        URL(fileURLWithPath: passage.source).lastPathComponent
    }

    static func normalize(_ text: String) -> String {
        text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
