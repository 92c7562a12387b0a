import Foundation

/// The agents a research task runs with.
public struct ResearchAgents: Sendable {
    public var planner: any ResearchPlanner
    public var researcher: any SubQuestionResearcher
    public var evaluator: any ResearchEvaluator
    public var synthesizer: any ReportSynthesizer
    public var checker: any CitationChecker
    /// The memory manager's store: a finished task is recorded as an episode (optional).
    public var memory: (any EpisodicMemory)?

    public init(planner: any ResearchPlanner, researcher: any SubQuestionResearcher, evaluator: any ResearchEvaluator,
                synthesizer: any ReportSynthesizer, checker: any CitationChecker, memory: (any EpisodicMemory)? = nil) {
        self.planner = planner
        self.researcher = researcher
        self.evaluator = evaluator
        self.synthesizer = synthesizer
        self.checker = checker
        self.memory = memory
    }
}

/// Limits that make every task end: parallel researchers, wall time for research rounds,
/// and the number of recorded steps.
public struct ResearchBudget: Sendable {
    public var parallelResearchers: Int
    /// After this long, no new research round starts: the report is written from what is known.
    public var researchTime: Duration
    /// A task that records more events than this fails: a guard against a runaway loop.
    public var maximumEvents: Int

    public init(parallelResearchers: Int = 4, researchTime: Duration = .seconds(30), maximumEvents: Int = 500) {
        self.parallelResearchers = max(1, parallelResearchers)
        self.researchTime = researchTime
        self.maximumEvents = maximumEvents
    }
}

/// Runs a research task as a sequence of recorded steps: plan, research the sub-questions in
/// parallel, evaluate (and go back for another round while the evaluator asks and the
/// budget allows), synthesize, verify citations, complete.
///
/// Every step is an event passed to `record`, which must make it durable before returning;
/// the workflow applies the event to its state only afterwards. Started from the state folded
/// from a task's stored events, it continues from the last recorded step, so a crash costs
/// at most the step that was in flight. Cancellation records why and stops.
public struct ResearchWorkflow: Sendable {
    public var agents: ResearchAgents
    public var budget: ResearchBudget
    /// Tells an agent's error that interrupts the research from outside (the knowledge base's
    /// database away, its indexes still loading) from a failure of the research. Such an error
    /// is thrown on, not recorded: the task stays at its last recorded step and the runner
    /// tries it again, as for a step the store could not record. The default treats every
    /// error as a failure; the composition, which knows the storage's errors, says otherwise.
    public var isInterruption: @Sendable (any Error) -> Bool

    public init(agents: ResearchAgents, budget: ResearchBudget = ResearchBudget(),
                isInterruption: @escaping @Sendable (any Error) -> Bool = { _ in false }) {
        self.agents = agents
        self.budget = budget
        self.isInterruption = isInterruption
    }

    public typealias Recorder = @Sendable (TaskEvent) async throws -> Void

    /// `taskID` names the task in episodic memory.
    public func run(from initial: TaskState, taskID: String = "", record: Recorder) async throws -> TaskState {
        var state = initial
        let clock = ContinuousClock()
        let started = clock.now
        func emit(_ event: TaskEvent) async throws {
            guard state.eventCount < budget.maximumEvents || event.isEnding else {
                try await emit(.failed(reason: "the task exceeded its budget of \(budget.maximumEvents) steps"))
                return
            }
            do {
                try await record(event)
            } catch {
                throw RecordingFailure(underlying: error)
            }
            try state.apply(event)
        }

        while !state.isTerminal {
            if Task.isCancelled {
                try await emit(.canceled(reason: "canceled while \(state.phase?.rawValue ?? "starting")"))
                break
            }
            do {
                try await step(state, taskID: taskID, emit: emit, outOfTime: clock.now - started > budget.researchTime)
            } catch is CancellationError {
                try await emit(.canceled(reason: "canceled while \(state.phase?.rawValue ?? "starting")"))
            } catch let error as TaskStateError {
                throw error
            } catch let failure as RecordingFailure {
                // The store refused a step (a full disk, a stopping runner): that is no
                // failure of the research, and recording one would fail the same way or,
                // worse, succeed. The task stays at its last recorded step and resumes there.
                throw failure.underlying
            } catch where isInterruption(error) {
                throw error
            } catch {
                try await emit(.failed(reason: "\(error)"))
            }
        }
        return state
    }

    /// One recorded step from `state` (a copy: `emit` updates the workflow's own state).
    private func step(_ state: TaskState, taskID: String, emit: (TaskEvent) async throws -> Void, outOfTime: Bool) async throws {
        switch state.phase {
        case nil:
            throw TaskStateError(phase: nil, event: "(none)")
        case .submitted:
            try await emit(.planned(try await agents.planner.plan(question: state.question)))
        case .researching:
            try await researchPending(state, emit: emit)
        case .evaluating:
            guard let plan = state.plan else { throw TaskStateError(phase: state.phase, event: "(plan missing)") }
            if state.critiques.count < state.round {
                let critique = try await agents.evaluator.evaluate(subQuestions: plan.subQuestions, evidence: state.evidence, round: state.round)
                try await emit(.critiqueIssued(round: state.round, critique: critique))
            } else if let last = state.critiques.last, !last.isSatisfied, !outOfTime {
                try await emit(.revised(round: state.round + 1, subQuestions: last.revisions))
            } else {
                var report = try await agents.synthesizer.synthesize(question: state.question, plan: plan, evidence: state.evidence)
                // The synthesizer sees only evidence: what researchers and critiques noted for the
                // reader (a model that failed, say) joins the report here.
                let notes = state.reportNotes.filter { !report.notes.contains($0) }
                if !notes.isEmpty {
                    report.notes = notes + report.notes
                    report.markdown = ResearchReport.renderMarkdown(question: state.question, answer: report.answer, sections: report.sections,
                                                              citations: report.citations, notes: report.notes)
                }
                try await emit(.synthesized(report))
            }
        case .verifying:
            guard let report = state.report else { throw TaskStateError(phase: state.phase, event: "(report missing)") }
            let (verified, check) = try await agents.checker.verify(report)
            try await emit(.citationsVerified(check, report: verified))
        case .verified:
            // Memory is a help, not a duty: a task whose episode cannot be stored still completes.
            if let memory = agents.memory, let plan = state.plan, let report = state.report {
                try? await memory.record(Episode(
                    taskID: taskID, question: state.question, plan: ResearchPlan(subQuestions: plan.subQuestions),
                    sources: Array(Set(report.citations.map(\.passage.source))).sorted(),
                    coverage: state.critiques.last?.coverage ?? 0,
                    supportedSentences: state.citationCheck?.supportedSentences ?? 0, recordedAt: Date()))
            }
            try await emit(.completed)
        case .completed, .failed, .canceled:
            return
        }
    }

    /// Researches the pending sub-questions, at most `parallelResearchers` at a time; each
    /// result is recorded as soon as it arrives, so a crash keeps what was found.
    private func researchPending(_ state: TaskState, emit: (TaskEvent) async throws -> Void) async throws {
        let pending = state.pendingSubQuestions
        let round = state.round
        let researcher = agents.researcher
        for subQuestion in pending {
            try await emit(.subQuestionStarted(subQuestionID: subQuestion.id, round: round))
        }
        try await withThrowingTaskGroup(of: (String, ResearchFindings).self) { group in
            var next = 0
            func startNext() {
                guard next < pending.count else { return }
                let subQuestion = pending[next]
                next += 1
                group.addTask { (subQuestion.id, try await researcher.findings(for: subQuestion)) }
            }
            for _ in 0..<min(budget.parallelResearchers, pending.count) { startNext() }
            while let (id, findings) = try await group.next() {
                try await emit(.evidenceFound(subQuestionID: id, round: round, evidence: findings.evidence,
                                              notes: findings.notes.isEmpty ? nil : findings.notes))
                startNext()
            }
        }
    }
}

extension TaskEvent {
    /// Failing and canceling must always be recordable, even past the step budget.
    var isEnding: Bool {
        switch self {
        case .failed, .canceled, .completed: true
        default: false
        }
    }
}

/// A step could not be recorded: carried through the workflow's task groups unchanged, so
/// that it is told apart from a failure of an agent.
struct RecordingFailure: Error {
    var underlying: any Error
}
