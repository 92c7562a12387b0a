import Foundation
import ResearchCore
import TaskService

/// Shows ares tasks as A2A tasks: the question as the user's message, each recorded step as
/// a status, and the report as one artifact with a Markdown part and a JSON data part (the
/// same document as `ares ask --format json`).
public enum A2ATaskMapper {
    public static let reportArtifactID = "report"

    public static func task(_ snapshot: TaskSnapshot, historyLength: Int? = nil, includeArtifacts: Bool = true) -> A2ATask {
        let contextID = contextID(of: snapshot)
        var history: [A2AMessage]?
        if historyLength != 0 {
            history = [A2AMessage(messageId: snapshot.id + "-question", contextId: contextID, taskId: snapshot.id,
                                  role: .user, parts: [A2APart(text: snapshot.state.question)])]
        }
        let artifacts = includeArtifacts ? reportArtifact(snapshot).map { [$0] } : nil
        return A2ATask(id: snapshot.id, contextId: contextID, status: status(snapshot, latest: nil),
                       artifacts: artifacts, history: history, metadata: nil)
    }

    public static func contextID(of snapshot: TaskSnapshot) -> String {
        snapshot.state.contextID ?? snapshot.id
    }

    public static func state(of snapshot: TaskSnapshot) -> A2ATaskState {
        if snapshot.isQueued { return .submitted }
        switch snapshot.state.phase {
        case nil, .submitted: return .submitted
        case .researching, .evaluating, .verifying, .verified: return .working
        case .completed: return .completed
        case .failed: return .failed
        case .canceled: return .canceled
        }
    }

    /// The task's status; `latest` (the step just recorded) words the agent's status message.
    public static func status(_ snapshot: TaskSnapshot, latest: TaskEvent?) -> A2ATaskStatus {
        let state = state(of: snapshot)
        var text: String?
        switch snapshot.state.phase {
        case .failed, .canceled: text = snapshot.state.endReason
        case .completed: text = snapshot.state.report?.answer
        default: text = latest.flatMap(TaskProgressLine.describe)
        }
        let message = text.map {
            A2AMessage(messageId: "\(snapshot.id)-status-\(snapshot.version)", contextId: contextID(of: snapshot),
                       taskId: snapshot.id, role: .agent, parts: [A2APart(text: $0)])
        }
        return A2ATaskStatus(state: state, message: message, timestamp: timestamp(snapshot.updatedAt))
    }

    /// The report artifact, once the report's citations are verified.
    public static func reportArtifact(_ snapshot: TaskSnapshot) -> A2AArtifact? {
        guard let report = snapshot.state.report, snapshot.state.citationCheck != nil else { return nil }
        let document = TaskReportJSON.document(taskID: snapshot.id, state: snapshot.state, totalMilliseconds: nil)
        let data = (try? JSONValue.encoding(document)) ?? .null
        return A2AArtifact(artifactId: reportArtifactID, name: "report",
                           description: "The research report: Markdown with numbered citations, and the same report as JSON.",
                           parts: [A2APart(text: report.markdown, mediaType: "text/markdown"),
                                   A2APart(data: data, mediaType: "application/json")],
                           metadata: nil)
    }

    static func timestamp(_ date: Date) -> String {
        RFC3339.string(from: date)
    }
}
