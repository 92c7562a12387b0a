import ResearchCore

/// The built-in synthesizer: it writes only sentences it can cite. It selects the best
/// evidence sentences per sub-question, drops repeats, numbers the cited passages in order
/// of first use, and puts a short direct answer (the strongest sentences) first.
///
/// It abstains rather than pads: a section quotes only the documents of its best sentences
/// (`sourcesPerSection`; optionally only sentences close to its best one, `minimumShareOfBest`,
/// or above `minimumScore`), and a sub-question without evidence (the researcher keeps only
/// sentences relevant enough, `RelevanceThresholds`) gets a plain "The knowledge base does
/// not say …" with no citation, which the report's quality block counts as unanswered.
public struct ExtractiveSynthesizer: ReportSynthesizer {
    public var sentencesPerSection: Int
    /// A section's further sentences must score at least this share of its best sentence's
    /// score (0: every sentence the researcher kept may fill the section).
    public var minimumShareOfBest: Double
    /// The least evidence score a sentence needs to enter the report at all.
    public var minimumScore: Double
    /// A section quotes only the sources (documents) of its best sentences, this many (0: any).
    public var sourcesPerSection: Int

    public init(sentencesPerSection: Int = 4, minimumShareOfBest: Double = RelevanceThresholds().minimumShareOfBest,
                minimumScore: Double = RelevanceThresholds().minimumScore, sourcesPerSection: Int = RelevanceThresholds().sourcesPerSection) {
        self.sentencesPerSection = max(1, sentencesPerSection)
        self.minimumShareOfBest = min(max(minimumShareOfBest, 0), 1)
        self.minimumScore = minimumScore
        self.sourcesPerSection = max(0, sourcesPerSection)
    }

    /// What a section says when nothing found answers its sub-question.
    public static func notAnswered(_ subQuestion: String) -> String {
        "The knowledge base does not say: nothing found answers “\(subQuestion)” closely enough to quote."
    }

    /// The direct answer when no sub-question is answered.
    public static let nothingAnswered = "The knowledge base does not say: nothing found answers this question closely enough to quote."

    /// The best `limit` sentences, at most `perPassage` of them from one passage while others
    /// are left: a section that draws on several passages gives the reader more than one
    /// place to check, and one passage's wording does not crowd out another's answer.
    /// A sentence found again (in a later round, by another query) is chosen once.
    /// Sentences scoring below `minimumShareOfBest` of the best one are left out.
    /// With `sourcesPerSection` above 0, only sentences from the documents of the best ones.
    static func choose(_ evidence: [Evidence], limit: Int, minimumShareOfBest: Double = 0, sourcesPerSection: Int = 0) -> [Evidence] {
        var seen = Set<String>()
        let sorted = evidence.sorted { $0.score > $1.score }.filter { seen.insert($0.sentence).inserted }
        let floor = (sorted.first?.score ?? 0) * minimumShareOfBest
        var sources: [String] = []
        for item in sorted where !sources.contains(item.passage.source) { sources.append(item.passage.source) }
        let quoted = Set(sourcesPerSection > 0 ? Array(sources.prefix(sourcesPerSection)) : sources)
        let ranked = sorted.filter { $0.score >= floor && quoted.contains($0.passage.source) }
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
            let chosen = Self.choose((evidence[subQuestion.id] ?? []).filter { !used.contains($0.sentence) && $0.score >= minimumScore },
                                     limit: sentencesPerSection, minimumShareOfBest: minimumShareOfBest, sourcesPerSection: sourcesPerSection)
            used.formUnion(chosen.map(\.sentence))
            guard !chosen.isEmpty else {
                sections.append(.init(title: subQuestion.text, text: Self.notAnswered(subQuestion.text), citations: []))
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
            ? Self.nothingAnswered
            : leads.prefix(2).map { "\($0.sentence) [\($0.index)]" }.joined(separator: " ")
        return ResearchReport(answer: answer, sections: sections, citations: citations,
                              markdown: ResearchReport.renderMarkdown(question: question, answer: answer, sections: sections, citations: citations))
    }
}
