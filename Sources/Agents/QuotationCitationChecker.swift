import Knowledge
import ResearchCore

/// The built-in citation verifier. A claim is the text before a citation marker ("… [2]");
/// it is supported when its cited passage contains it word for word (whitespace and case
/// aside) or shares at least `minimumTermOverlap` of its analyzed terms. Unsupported claims
/// are removed from the report and listed in the check.
public struct QuotationCitationChecker: CitationChecker {
    public var minimumTermOverlap: Double
    private let analyzer = TextAnalyzer()

    public init(minimumTermOverlap: Double = 0.8) {
        self.minimumTermOverlap = minimumTermOverlap
    }

    struct Claim {
        var text: String
        var markers: [Int]
        /// The claim with its markers, as written.
        var written: String
    }

    public func verify(_ report: ResearchReport) async throws -> (report: ResearchReport, check: CitationCheck) {
        let passages = Dictionary(report.citations.map { ($0.index, $0.passage.text) }, uniquingKeysWith: { a, _ in a })
        return Self.keeping(report) { claim in
            claim.markers.contains(where: { passages[$0].map { isSupported(claim.text, by: $0) } ?? false })
        }
    }

    /// The report with only the claims `keep` accepts (in the answer and every section), and
    /// the count of kept and dropped ones; the Markdown is rendered again from what is left.
    static func keeping(_ report: ResearchReport, _ keep: (Claim) -> Bool) -> (report: ResearchReport, check: CitationCheck) {
        var supported = 0
        var flagged: [String] = []
        func filter(_ text: String) -> String {
            let (claims, rest) = Self.claims(in: text)
            var kept: [String] = []
            for claim in claims {
                if keep(claim) {
                    supported += 1
                    kept.append(claim.written)
                } else {
                    flagged.append(claim.text)
                }
            }
            let trailing = rest.trimmingCharacters(in: .whitespaces)
            if claims.isEmpty { return trailing }  // no claims: a note such as "No passage answers this."
            return kept.joined(separator: " ")
        }
        var verified = report
        verified.answer = filter(report.answer)
        verified.sections = report.sections.map { section in
            var copy = section
            copy.text = filter(section.text)
            return copy
        }
        if verified.answer.isEmpty { verified.answer = "No claim of the answer could be verified against its sources." }
        verified.markdown = ResearchReport.renderMarkdown(
            question: question(of: report), answer: verified.answer, sections: verified.sections, citations: verified.citations, notes: verified.notes)
        return (verified, CitationCheck(supportedSentences: supported, unsupportedSentences: flagged.count, flagged: flagged))
    }

    /// The question a report answers: its Markdown title.
    static func question(of report: ResearchReport) -> String {
        report.markdown.split(separator: "\n").first.map { String($0.dropFirst(2)) } ?? ""
    }

    func isSupported(_ claim: String, by passage: String) -> Bool {
        let normalizedClaim = Self.normalize(claim)
        guard !normalizedClaim.isEmpty else { return false }
        if Self.normalize(passage).contains(normalizedClaim) { return true }
        let claimTerms = Set(analyzer.terms(claim))
        guard !claimTerms.isEmpty else { return false }
        let overlap = Double(claimTerms.intersection(Set(analyzer.terms(passage))).count) / Double(claimTerms.count)
        return overlap >= minimumTermOverlap
    }

    static func normalize(_ text: String) -> String {
        text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// The claims of a text (each ends with one or more "[n]" markers) and the text after the last one.
    static func claims(in text: String) -> (claims: [Claim], rest: String) {
        var claims: [Claim] = []
        var current = ""
        var markers: [Int] = []
        var written = ""
        var index = text.startIndex
        func close() {
            let claimText = current.trimmingCharacters(in: .whitespaces)
            claims.append(Claim(text: claimText, markers: markers, written: written.trimmingCharacters(in: .whitespaces)))
            current = ""
            written = ""
            markers = []
        }
        while index < text.endIndex {
            if text[index] == "[", let closing = text[index...].firstIndex(of: "]"),
               let number = Int(text[text.index(after: index)..<closing]) {
                markers.append(number)
                written += text[index...closing]
                index = text.index(after: closing)
                // More markers may follow ("[1][2]" or "[1], [2]"); the claim closes at the next text.
                let next = text[index...].drop { $0 == " " || $0 == "," }
                if next.first != "[" { close() }
                continue
            }
            if !markers.isEmpty { close() }
            current.append(text[index])
            written.append(text[index])
            index = text.index(after: index)
        }
        return (claims, current)
    }
}
