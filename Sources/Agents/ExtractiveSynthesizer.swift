import ResearchCore

/// The built-in synthesizer: it writes only sentences it can cite. It selects the best
/// evidence sentences per sub-question, drops repeats, numbers the cited passages in order
/// of first use, and puts a short direct answer (the strongest sentences) first.
public struct ExtractiveSynthesizer: ReportSynthesizer {
    public var sentencesPerSection: Int

    public init(sentencesPerSection: Int = 4) {
        self.sentencesPerSection = max(1, sentencesPerSection)
    }

    /// The best `limit` sentences, at most `perPassage` of them from one passage while others
    /// are left: a section that draws on several passages gives the reader more than one
    /// place to check, and one passage's wording does not crowd out another's answer.
    /// A sentence found again (in a later round, by another query) is chosen once.
    static func choose(_ evidence: [Evidence], limit: Int) -> [Evidence] {
        var seen = Set<String>()
        let ranked = evidence.sorted { $0.score > $1.score }.filter { seen.insert($0.sentence).inserted }
        var chosen: [Evidence] = []
        var perPassage: [String: Int] = [:]
        var deferred: [Evidence] = []
        for item in ranked where chosen.count < limit {
            if perPassage[item.passage.chunkId, default: 0] < sentencesPerPassage {
                perPassage[item.passage.chunkId, default: 0] += 1
                chosen.append(item)
            } else {
                deferred.append(item)
            }
        }
        chosen += deferred.prefix(limit - chosen.count)
        return chosen.sorted { $0.score > $1.score }
    }

    /// Sentences from one passage in a section while other passages have evidence left.
    static let sentencesPerPassage = 2

    public func synthesize(question: String, plan: ResearchPlan, evidence: [String: [Evidence]]) async throws -> ResearchReport {
        var citationIndex: [String: Int] = [:]
        var citations: [Citation] = []
        func cite(_ passage: Passage) -> Int {
            if let index = citationIndex[passage.chunkId] { return index }
            let index = citations.count + 1
            citationIndex[passage.chunkId] = index
            citations.append(Citation(index: index, passage: passage))
            return index
        }

        var used = Set<String>()
        var sections: [ResearchReport.Section] = []
        var leads: [(sentence: String, index: Int, score: Double)] = []
        for subQuestion in plan.subQuestions {
            let chosen = Self.choose((evidence[subQuestion.id] ?? []).filter { !used.contains($0.sentence) }, limit: sentencesPerSection)
            used.formUnion(chosen.map(\.sentence))
            guard !chosen.isEmpty else {
                sections.append(.init(title: subQuestion.text, text: "No passage in the knowledge base answers this.", citations: []))
                continue
            }
            var lines: [String] = []
            var indexes: [Int] = []
            for item in chosen {
                let index = cite(item.passage)
                lines.append("\(item.sentence) [\(index)]")
                if !indexes.contains(index) { indexes.append(index) }
            }
            if let best = chosen.first { leads.append((best.sentence, cite(best.passage), best.score)) }
            sections.append(.init(title: subQuestion.text, text: lines.joined(separator: " "), citations: indexes))
        }
        let answer = leads.isEmpty
            ? "The knowledge base has no passage that answers this question."
            : leads.prefix(2).map { "\($0.sentence) [\($0.index)]" }.joined(separator: " ")
        return ResearchReport(answer: answer, sections: sections, citations: citations,
                              markdown: ResearchReport.renderMarkdown(question: question, answer: answer, sections: sections, citations: citations))
    }
}
