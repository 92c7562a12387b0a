/// Where a research task is in its life.
public enum TaskPhase: String, Sendable, Codable, Hashable {
    case submitted, researching, evaluating
    /// A report is written; its citations are being checked.
    case verifying
    /// Citations are checked; the episode is being recorded.
    case verified
    case completed, failed, canceled

    public var isTerminal: Bool { self == .completed || self == .failed || self == .canceled }
}

/// An event that cannot follow the state it was applied to: the log is damaged or the
/// writer has a bug. The fold refuses it rather than guessing.
public struct TaskStateError: Error, CustomStringConvertible, Sendable, Equatable {
    public var phase: TaskPhase?
    public var event: String
    public var description: String {
        "event \(event) cannot follow a task in phase \(phase.map(\.rawValue) ?? "(none: the first event must be TaskSubmitted)")"
    }
}

/// The state of a research task: a pure fold of its events, with no I/O, so that a restart
/// rebuilds exactly the state that was recorded and resumes from it.
public struct TaskState: Sendable, Hashable {
    public private(set) var question = ""
    public private(set) var principal: String?
    /// Groups related tasks (A2A's contextId); nil for tasks from the CLI.
    public private(set) var contextID: String?
    public private(set) var phase: TaskPhase?
    public private(set) var plan: ResearchPlan?
    /// The research round under way (1 for the first).
    public private(set) var round = 0
    /// The sub-questions researched in the current round.
    public private(set) var currentSubQuestions: [SubQuestion] = []
    /// Sub-questions of the current round whose evidence is recorded.
    public private(set) var finishedInRound: Set<String> = []
    /// All evidence found, by sub-question id, across rounds.
    public private(set) var evidence: [String: [Evidence]] = [:]
    public private(set) var critiques: [Critique] = []
    /// What the report's reader should know about how the research went (from researchers'
    /// and critiques' notes), in the order first recorded, without repeats.
    public private(set) var reportNotes: [String] = []
    public private(set) var report: ResearchReport?
    public private(set) var citationCheck: CitationCheck?
    public private(set) var endReason: String?
    public private(set) var eventCount = 0

    public init() {}

    /// The state after `events`, from nothing.
    public static func fold(_ events: some Sequence<TaskEvent>) throws -> TaskState {
        var state = TaskState()
        for event in events { try state.apply(event) }
        return state
    }

    /// Sub-questions of the current round still waiting for evidence: what a resumed task
    /// researches next.
    public var pendingSubQuestions: [SubQuestion] {
        currentSubQuestions.filter { !finishedInRound.contains($0.id) }
    }

    public var isTerminal: Bool { phase?.isTerminal ?? false }

    public mutating func apply(_ event: TaskEvent) throws {
        switch (phase, event) {
        case (nil, let .submitted(question, principal, contextID)):
            self.question = question
            self.principal = principal
            self.contextID = contextID
            phase = .submitted
        case (.submitted, let .planned(plan)):
            self.plan = plan
            startRound(with: plan.subQuestions)
        case (.researching, .subQuestionStarted(_, let round)) where round == self.round:
            break
        case (.researching, let .evidenceFound(id, round, found, notes)) where round == self.round:
            evidence[id, default: []].append(contentsOf: found)
            addReportNotes(notes ?? [])
            finishedInRound.insert(id)
            if pendingSubQuestions.isEmpty { phase = .evaluating }
        case (.evaluating, let .critiqueIssued(round, critique)) where round == self.round:
            critiques.append(critique)
            addReportNotes(critique.reportNotes)
        case (.evaluating, let .revised(round, subQuestions)) where round == self.round + 1:
            startRound(with: subQuestions)
        case (.evaluating, let .synthesized(report)):
            self.report = report
            phase = .verifying
        case (.verifying, let .citationsVerified(check, report)):
            citationCheck = check
            self.report = report
            phase = .verified
        case (.verified, .completed):
            phase = .completed
        case (let current?, let .failed(reason)) where !current.isTerminal:
            endReason = reason
            phase = .failed
        case (let current?, let .canceled(reason)) where !current.isTerminal:
            endReason = reason
            phase = .canceled
        default:
            throw TaskStateError(phase: phase, event: event.typeName)
        }
        eventCount += 1
    }

    private mutating func addReportNotes(_ notes: [String]) {
        for note in notes where !reportNotes.contains(note) { reportNotes.append(note) }
    }

    private mutating func startRound(with subQuestions: [SubQuestion]) {
        round += 1
        currentSubQuestions = subQuestions
        finishedInRound = []
        phase = subQuestions.isEmpty ? .evaluating : .researching
    }
}
