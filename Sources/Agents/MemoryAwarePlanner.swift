import ResearchCore

/// The supervisor's first move: reuse the plan of a near-identical past task when episodic
/// memory has one, else ask the underlying planner. A memory failure never stops planning.
public struct MemoryAwarePlanner: ResearchPlanner {
    public let planner: any ResearchPlanner
    public let memory: any EpisodicMemory

    public init(planner: any ResearchPlanner, memory: any EpisodicMemory) {
        self.planner = planner
        self.memory = memory
    }

    public func plan(question: String) async throws -> ResearchPlan {
        if let episode = try? await memory.recall(similarTo: question) {
            return ResearchPlan(subQuestions: episode.plan.subQuestions, reusedFromTask: episode.taskID)
        }
        return try await planner.plan(question: question)
    }
}
