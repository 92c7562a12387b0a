import Foundation
import ResearchCore
import Storage

/// What remains readable of a task after retention removed its events: who asked what,
/// how and when it ended, and the SHA-256 of its report (so a copy of the report kept
/// elsewhere can still be matched to the task). Stored as the pruned stream's summary (JSON);
/// the stream's chain checkpoint is kept beside it by the event store.
public struct PrunedTaskSummary: Codable, Sendable, Equatable, CustomStringConvertible {
    public static let currentVersion = 1

    public var version: Int
    public var taskID: String
    public var owner: String?
    public var contextID: String?
    /// `completed`, `failed` or `canceled`.
    public var state: String
    public var question: String
    /// The report's first section title, when it has one: what a listing shows beside the question.
    public var title: String?
    public var submittedAt: Date
    public var endedAt: Date
    public var events: Int64
    /// SHA-256 (hex) of the report's Markdown; nil for a task that ended without a report.
    public var reportSHA256: String?
    public var endReason: String?
    /// Filled in from the store when read back (not part of the stored summary).
    public var prunedAt: Date?

    enum CodingKeys: String, CodingKey {
        case version, taskID = "taskId", owner, contextID = "contextId", state, question, title, submittedAt, endedAt, events,
             reportSHA256, endReason
    }

    public init(taskID: String, state: TaskState, events: [StoredEvent]) {
        version = Self.currentVersion
        self.taskID = taskID
        owner = state.principal
        contextID = state.contextID
        self.state = state.phase?.rawValue ?? "unknown"
        question = state.question
        title = state.report?.sections.first?.title
        submittedAt = events.first?.recordedAt ?? Date(timeIntervalSince1970: 0)
        endedAt = events.last?.recordedAt ?? Date(timeIntervalSince1970: 0)
        self.events = events.last?.version ?? 0
        reportSHA256 = state.report.map { ContentSHA256.hex(Data($0.markdown.utf8)) }
        endReason = state.endReason
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    func encoded() throws -> Data { try Self.encoder.encode(self) }

    /// The summary kept for `pruned`; one that does not decode (written by a newer or damaged
    /// writer) is reported with what the checkpoint itself knows.
    public static func decode(_ pruned: PrunedStream) -> PrunedTaskSummary {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var summary = (try? decoder.decode(PrunedTaskSummary.self, from: pruned.summary))
            ?? PrunedTaskSummary(unreadable: pruned.stream, events: pruned.version)
        summary.prunedAt = pruned.prunedAt
        return summary
    }

    private init(unreadable taskID: String, events: Int64) {
        version = 0
        self.taskID = taskID
        state = "unknown"
        question = "(the summary of this pruned task cannot be read)"
        submittedAt = Date(timeIntervalSince1970: 0)
        endedAt = Date(timeIntervalSince1970: 0)
        self.events = events
    }

    /// One line for people: "pruned on …: completed on … — question".
    public var description: String {
        let pruned = prunedAt.map { " on \($0.formatted(.iso8601))" } ?? ""
        return "task '\(taskID)' was removed by retention\(pruned); it ended \(state) on \(endedAt.formatted(.iso8601)) after \(events) events (question: \(question.prefix(200)))"
    }
}
