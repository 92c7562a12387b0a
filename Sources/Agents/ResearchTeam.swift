import Knowledge
import ResearchCore

/// The research agents over one knowledge base, assembled the same way for `ares` and for
/// the benchmarks: the built-in team, or with a language model the LLM-backed one, in which
/// the researcher falls back to the built-in researcher. With a memory, a near-identical
/// past task's plan is reused.
public enum ResearchTeam {
    public static func agents(knowledge: KnowledgeBase, embedder: any Embedder, model: (any LanguageModel)? = nil,
                              memory: (any EpisodicMemory)? = nil, expansionTerms: Int = 5) -> ResearchAgents {
        let retrieval = RetrievalResearcher(
            retriever: knowledge, expander: QueryExpander(statistics: knowledge), neighborhood: knowledge,
            meaning: embedder.capturesMeaning ? embedder : nil, expansionTerms: expansionTerms)
        func remembering(_ planner: any ResearchPlanner) -> any ResearchPlanner {
            memory.map { MemoryAwarePlanner(planner: planner, memory: $0) } ?? planner
        }
        guard let model else {
            return ResearchAgents(planner: remembering(HeuristicPlanner()), researcher: retrieval, evaluator: CoverageEvaluator(),
                                  synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker(), memory: memory)
        }
        return ResearchAgents(
            planner: remembering(LanguageModelPlanner(model: model)),
            researcher: LanguageModelResearcher(model: model, fallback: retrieval),
            evaluator: LanguageModelEvaluator(model: model), synthesizer: LanguageModelSynthesizer(model: model),
            checker: LanguageModelCitationChecker(model: model), memory: memory)
    }
}
