import TaskService
import Foundation

public enum A2ATaskState: String, Codable, Sendable, CaseIterable {
    case unspecified = "TASK_STATE_UNSPECIFIED"
    case submitted = "TASK_STATE_SUBMITTED"
    case working = "TASK_STATE_WORKING"
    case completed = "TASK_STATE_COMPLETED"
    case failed = "TASK_STATE_FAILED"
    case canceled = "TASK_STATE_CANCELED"
    case inputRequired = "TASK_STATE_INPUT_REQUIRED"
    case rejected = "TASK_STATE_REJECTED"
    case authRequired = "TASK_STATE_AUTH_REQUIRED"

    public var isTerminal: Bool { [.completed, .failed, .canceled, .rejected].contains(self) }

    /// The A2A state of a task the engine lists by its last event.
    public init(_ coarse: CoarseTaskState) {
        switch coarse {
        case .submitted: self = .submitted
        case .working: self = .working
        case .completed: self = .completed
        case .failed: self = .failed
        case .canceled: self = .canceled
        }
    }
}

public struct A2ATaskStatus: Codable, Sendable {
    public var state: A2ATaskState
    public var message: A2AMessage?
    /// RFC 3339.
    public var timestamp: String?
}

public struct A2AArtifact: Codable, Sendable {
    public var artifactId: String
    public var name: String?
    public var description: String?
    public var parts: [A2APart]
    public var metadata: [String: JSONValue]?
}

public struct A2ATask: Codable, Sendable {
    public var id: String
    public var contextId: String
    public var status: A2ATaskStatus
    public var artifacts: [A2AArtifact]?
    public var history: [A2AMessage]?
    public var metadata: [String: JSONValue]?
}

public struct A2ATaskStatusUpdateEvent: Codable, Sendable {
    public var taskId: String
    public var contextId: String
    public var status: A2ATaskStatus
    public var metadata: [String: JSONValue]?
}

public struct A2ATaskArtifactUpdateEvent: Codable, Sendable {
    public var taskId: String
    public var contextId: String
    public var artifact: A2AArtifact
    public var append: Bool?
    public var lastChunk: Bool?
}

/// One element of a stream (and the body of a push notification): exactly one field is set.
public struct A2AStreamResponse: Codable, Sendable {
    public var task: A2ATask?
    public var message: A2AMessage?
    public var statusUpdate: A2ATaskStatusUpdateEvent?
    public var artifactUpdate: A2ATaskArtifactUpdateEvent?

    public init(task: A2ATask) { self.task = task }
    public init(statusUpdate: A2ATaskStatusUpdateEvent) { self.statusUpdate = statusUpdate }
    public init(artifactUpdate: A2ATaskArtifactUpdateEvent) { self.artifactUpdate = artifactUpdate }
}

/// SendMessage's result: the task (ares always answers with a task).
public struct A2ASendMessageResponse: Codable, Sendable {
    public var task: A2ATask?
    public var message: A2AMessage?
}

public struct A2AListTasksResponse: Codable, Sendable {
    public var tasks: [A2ATask]
    public var nextPageToken: String
    public var pageSize: Int
    public var totalSize: Int
}

/// A2A's TaskPushNotificationConfig and AuthenticationInfo are the task engine's push configs.
public typealias A2AAuthenticationInfo = PushNotificationAuthentication
public typealias A2ATaskPushNotificationConfig = PushNotificationConfig

public struct A2AListTaskPushNotificationConfigsResponse: Codable, Sendable {
    public var configs: [A2ATaskPushNotificationConfig]
    public var nextPageToken: String
}
