import Foundation

public struct A2ASendMessageConfiguration: Codable, Sendable {
    public var acceptedOutputModes: [String]?
    public var taskPushNotificationConfig: A2ATaskPushNotificationConfig?
    public var historyLength: Int?
    public var returnImmediately: Bool?
}

public struct A2ASendMessageRequest: Codable, Sendable {
    public var tenant: String?
    public var message: A2AMessage
    public var configuration: A2ASendMessageConfiguration?
    public var metadata: [String: JSONValue]?
}

public struct A2AGetTaskRequest: Codable, Sendable {
    public var tenant: String?
    public var id: String
    public var historyLength: Int?
}

public struct A2AListTasksRequest: Codable, Sendable {
    public var tenant: String?
    public var contextId: String?
    public var status: A2ATaskState?
    public var pageSize: Int?
    public var pageToken: String?
    public var historyLength: Int?
    public var statusTimestampAfter: String?
    public var includeArtifacts: Bool?
}

/// CancelTask and SubscribeToTask name a task by `id`.
public struct A2ATaskIDRequest: Codable, Sendable {
    public var tenant: String?
    public var id: String
    public var metadata: [String: JSONValue]?
}

/// Get/Delete of one push config.
public struct A2APushConfigRequest: Codable, Sendable {
    public var tenant: String?
    public var taskId: String
    public var id: String
}

public struct A2AListPushConfigsRequest: Codable, Sendable {
    public var tenant: String?
    public var taskId: String
    public var pageSize: Int?
    public var pageToken: String?
}
