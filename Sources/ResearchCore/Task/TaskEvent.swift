/// Everything that happens to a research task, in the order it happened. A task's state is
/// the fold of its events (`TaskState.apply`); the event log is the source of truth.
///
/// Events are append-only and Codable; `typeName` is what the event store records as the
/// event's type. Adding a case is a compatible change; renaming or changing one needs a new
/// case and an upcaster, because old logs must stay readable.
public enum TaskEvent: Sendable, Codable, Hashable {
    /// `contextID` groups related tasks (A2A's contextId); nil for tasks from the CLI.
    case submitted(question: String, principal: String?, contextID: String? = nil)
    case planned(ResearchPlan)
    case subQuestionStarted(subQuestionID: String, round: Int)
    /// `notes` are for the report's reader (nil when there are none; optional so that events
    /// stored before notes existed still decode).
    case evidenceFound(subQuestionID: String, round: Int, evidence: [Evidence], notes: [String]? = nil)
    case critiqueIssued(round: Int, critique: Critique)
    /// The evaluator asked for another round with these (reformulated) sub-questions.
    case revised(round: Int, subQuestions: [SubQuestion])
    case synthesized(ResearchReport)
    case citationsVerified(CitationCheck, report: ResearchReport)
    case completed
    case failed(reason: String)
    case canceled(reason: String)

    public var typeName: String {
        switch self {
        case .submitted: "TaskSubmitted"
        case .planned: "TaskPlanned"
        case .subQuestionStarted: "SubQuestionStarted"
        case .evidenceFound: "EvidenceFound"
        case .critiqueIssued: "CritiqueIssued"
        case .revised: "TaskRevised"
        case .synthesized: "ReportSynthesized"
        case .citationsVerified: "CitationsVerified"
        case .completed: "TaskCompleted"
        case .failed: "TaskFailed"
        case .canceled: "TaskCanceled"
        }
    }
}
