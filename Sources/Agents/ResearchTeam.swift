import Knowledge
import ResearchCore

/// The research agents over one knowledge base, assembled the same way for `ares` and for
/// the benchmarks: the built-in team, or with a language model the LLM-backed one, in which
/// the researcher falls back to the built-in researcher. With a memory, a near-identical
/// past task's plan is reused. `relevance` is how relevant a sentence must be to enter a
/// report (the built-in researcher's and synthesizer's gates; also behind the LLM-backed
/// agents' fallbacks).
public enum ResearchTeam {
    public static func agents(knowledge: KnowledgeBase, embedder: any Embedder, model: (any LanguageModel)? = nil,
                              memory: (any EpisodicMemory)? = nil, expansionTerms: Int = 5,
                              relevance: RelevanceThresholds = RelevanceThresholds()) -> ResearchAgents {
        let retrieval = RetrievalResearcher(
            retriever: knowledge, expander: QueryExpander(statistics: knowledge), neighborhood: knowledge,
            meaning: embedder.capturesMeaning ? embedder : nil, expansionTerms: expansionTerms,
            minimumOverlap: relevance.minimumWordShare, minimumCosine: relevance.minimumCosine)
        let extractive = ExtractiveSynthesizer(minimumShareOfBest: relevance.minimumShareOfBest, minimumScore: relevance.minimumScore,
                                               sourcesPerSection: relevance.sourcesPerSection)
        func remembering(_ planner: any ResearchPlanner) -> any ResearchPlanner {
            memory.map { MemoryAwarePlanner(planner: planner, memory: $0) } ?? planner
        }
        guard let model else {
            return ResearchAgents(planner: remembering(HeuristicPlanner()), researcher: retrieval, evaluator: CoverageEvaluator(),
                                  synthesizer: extractive, checker: QuotationCitationChecker(), memory: memory)
        }
        return ResearchAgents(
            planner: remembering(LanguageModelPlanner(model: model)),
            researcher: LanguageModelResearcher(model: model, fallback: retrieval),
            evaluator: LanguageModelEvaluator(model: model), synthesizer: LanguageModelSynthesizer(model: model, fallback: extractive),
            checker: LanguageModelCitationChecker(model: model), memory: memory)
    }
}
