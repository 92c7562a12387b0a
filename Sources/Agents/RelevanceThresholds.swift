/// How relevant a sentence must be to its sub-question to enter a report. Below these, the
/// built-in agents leave it out, and a sub-question left with nothing is reported as one the
/// knowledge base does not answer: a short honest report is worth more to a reader than one
/// padded with sentences that merely share a word with the question.
///
/// The defaults were calibrated on the development question set only
/// (`bench/pgdocs/questions.json`, `ares-bench research --minimum-word-share … --sources-per-section …`;
/// BENCHMARKS.md, "Reports that abstain rather than pad"). There, raising the keyword gate or
/// adding an absolute score floor made whole reports abstain on questions the engine had
/// answered (answer-cited 0.632 → 0.579 at a word share or score of 0.4) without making the
/// remaining reports more precise: the built-in keyword score does not tell an answer from a
/// sentence that shares its words well enough for more. Quoting only the sources of a
/// section's best sentences did: precision 0.571 → 0.632 with recall unchanged. With a
/// semantic model, a stricter cosine helped as well (`minimumCosine`).
public struct RelevanceThresholds: Sendable, Equatable {
    /// Without a semantic model: the least share of the sub-question's (idf-weighted) terms a
    /// sentence must hold.
    public var minimumWordShare: Double
    /// With a semantic model: the least cosine of sentence and sub-question for a sentence to
    /// count as close in meaning (a sentence holding `minimumWordShare` of the terms counts too).
    /// With all-MiniLM-L6-v2, 0.45–0.5 gave the best reports on all three measures (0.3 before;
    /// 0.55 and above lost answers); the cosine alone, without the word share, made the text
    /// lose answer hints.
    public var minimumCosine: Double
    /// Within a section: the least share of the section's best score a further sentence must
    /// reach (0: any sentence that passed the researcher's gate). A section's weaker sentences
    /// are where padding lives. Off by default: 0.7 and 0.8 gained less precision than
    /// `sourcesPerSection` and 0.8 lost an answer from the text.
    public var minimumShareOfBest: Double
    /// The least evidence score (the researcher's 0...1 blend of the sentence's own words or
    /// meaning, its headings and its passage's rank) for a sentence to enter a report. Off by
    /// default (see above: it cost answers, not padding).
    public var minimumScore: Double
    /// A section quotes at most this many sources (documents), those of its best sentences
    /// (0: any number). A sentence from yet another document, weaker than the best ones, tends
    /// to share the question's words rather than answer it (the example: a GIN, a
    /// BRIN and a WAL page quoted for a question about table size). 1 lost answers that the
    /// second-best document held; 3 changed almost nothing.
    public var sourcesPerSection: Int

    public init(minimumWordShare: Double = 0.25, minimumCosine: Double = 0.45, minimumShareOfBest: Double = 0, minimumScore: Double = 0,
                sourcesPerSection: Int = 2) {
        self.minimumWordShare = minimumWordShare
        self.minimumCosine = minimumCosine
        self.minimumShareOfBest = minimumShareOfBest
        self.minimumScore = minimumScore
        self.sourcesPerSection = max(0, sourcesPerSection)
    }
}
