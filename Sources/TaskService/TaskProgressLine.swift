import Foundation
import ResearchCore

/// One line per recorded step, for people watching a task on a terminal.
public enum TaskProgressLine {
    public static func describe(_ event: TaskEvent) -> String? {
        switch event {
        case .submitted: nil
        case let .planned(plan):
            "plan: " + plan.subQuestions.map { "[\($0.id)] \($0.text)" }.joined(separator: "; ")
                + (plan.reusedFromTask.map { " (reused from \($0))" } ?? "")
        case let .subQuestionStarted(id, round): "researching \(id) (round \(round))"
        case let .evidenceFound(id, _, evidence, _): "\(id): \(evidence.count) evidence sentence\(evidence.count == 1 ? "" : "s")"
        case let .critiqueIssued(round, critique):
            "critique round \(round): coverage \(String(format: "%.2f", critique.coverage))"
                + (critique.contradictions.isEmpty ? "" : ", \(critique.contradictions.count) contradiction\(critique.contradictions.count == 1 ? "" : "s")")
                + (critique.isSatisfied ? "" : ", researching again")
        case let .revised(round, subQuestions): "round \(round): " + subQuestions.map(\.id).joined(separator: ", ")
        case .synthesized: "report written"
        case let .citationsVerified(check, _): "citations checked: \(check.supportedSentences) supported, \(check.unsupportedSentences) removed"
        case .completed: "completed"
        case let .failed(reason): "failed: \(reason)"
        case let .canceled(reason): "canceled: \(reason)"
        }
    }
}
