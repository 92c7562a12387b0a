import TaskService
import Foundation
import ResearchCore

/// What a recorded step looks like on an A2A stream (and in a push notification): a status
/// update for every step, preceded by the report artifact when the task completes.
public enum A2AStreamEvents {
    public static func responses(for update: TaskUpdate) -> [A2AStreamResponse] {
        let snapshot = update.snapshot
        var responses: [A2AStreamResponse] = []
        if case .completed = update.event, let artifact = A2ATaskMapper.reportArtifact(snapshot) {
            responses.append(A2AStreamResponse(artifactUpdate: A2ATaskArtifactUpdateEvent(
                taskId: snapshot.id, contextId: A2ATaskMapper.contextID(of: snapshot), artifact: artifact,
                append: false, lastChunk: true)))
        }
        responses.append(A2AStreamResponse(statusUpdate: A2ATaskStatusUpdateEvent(
            taskId: snapshot.id, contextId: A2ATaskMapper.contextID(of: snapshot),
            status: A2ATaskMapper.status(snapshot, latest: update.event), metadata: [
                "step": .string(update.event.typeName), "version": .integer(snapshot.version),
            ])))
        return responses
    }
}
