import Foundation
import TaskService

/// The A2A error codes (-32001…-32009), each carrying a `google.rpc.ErrorInfo` in
/// `error.data` with its reason, as the A2A 1.0 JSON-RPC binding specifies.
public enum A2AError {
    public static let domain = "a2a-protocol.org"

    public static func taskNotFound(_ id: String) -> JSONRPCError {
        make(JSONRPCError.Code.taskNotFound, "TASK_NOT_FOUND", "Task not found: there is no task '\(id)' visible to this principal", ["taskId": id])
    }

    /// A task retention removed: still "not found" (its events are gone) for clients that only
    /// know the A2A codes, with the summary that remains in the message and the error info.
    public static func taskPruned(_ summary: PrunedTaskSummary) -> JSONRPCError {
        var metadata = ["taskId": summary.taskID, "pruned": "true", "state": summary.state, "question": String(summary.question.prefix(500)),
                        "submittedAt": summary.submittedAt.formatted(.iso8601), "endedAt": summary.endedAt.formatted(.iso8601)]
        metadata["prunedAt"] = summary.prunedAt?.formatted(.iso8601)
        metadata["reportSHA256"] = summary.reportSHA256
        metadata["title"] = summary.title
        metadata["contextId"] = summary.contextID
        return make(JSONRPCError.Code.taskNotFound, "TASK_PRUNED", "Task not found: \(summary); only its summary remains (see error.data)", metadata)
    }

    public static func taskNotCancelable(_ id: String, state: A2ATaskState) -> JSONRPCError {
        make(JSONRPCError.Code.taskNotCancelable, "TASK_NOT_CANCELABLE", "Task not cancelable: task '\(id)' has already ended (\(state.rawValue))", ["taskId": id])
    }

    public static func pushNotificationNotSupported(_ detail: String) -> JSONRPCError {
        make(JSONRPCError.Code.pushNotificationNotSupported, "PUSH_NOTIFICATION_NOT_SUPPORTED", "Push notification not supported: \(detail)", [:])
    }

    public static func unsupportedOperation(_ detail: String) -> JSONRPCError {
        make(JSONRPCError.Code.unsupportedOperation, "UNSUPPORTED_OPERATION", "Unsupported operation: \(detail)", [:])
    }

    public static func contentTypeNotSupported(_ detail: String) -> JSONRPCError {
        make(JSONRPCError.Code.contentTypeNotSupported, "CONTENT_TYPE_NOT_SUPPORTED", "Content type not supported: \(detail)", [:])
    }

    public static func extendedAgentCardNotConfigured() -> JSONRPCError {
        make(JSONRPCError.Code.extendedAgentCardNotConfigured, "EXTENDED_AGENT_CARD_NOT_CONFIGURED", "Extended agent card not configured", [:])
    }

    public static func versionNotSupported(_ version: String) -> JSONRPCError {
        // The header is the client's text: echo a short, printable excerpt only.
        var shown = String(String.UnicodeScalarView(version.unicodeScalars.prefix(16).filter { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }))
        if version.unicodeScalars.count > 16 { shown += "…" }
        return make(JSONRPCError.Code.versionNotSupported, "VERSION_NOT_SUPPORTED",
                    "Version not supported: this endpoint speaks A2A 1.0; the request asked for '\(shown)' (send the header 'A2A-Version: 1.0')",
                    ["requestedVersion": shown, "supportedVersions": "1.0"])
    }

    private static func make(_ code: Int, _ reason: String, _ message: String, _ metadata: [String: String]) -> JSONRPCError {
        JSONRPCError(code: code, message: message, data: .array([.object([
            "@type": .string("type.googleapis.com/google.rpc.ErrorInfo"),
            "reason": .string(reason),
            "domain": .string(domain),
            "metadata": .object(metadata.mapValues(JSONValue.string)),
        ])]))
    }
}
