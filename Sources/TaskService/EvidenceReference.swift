import Foundation
import ResearchCore

/// Where one evidence of an EvidenceFound event (written as references, tag 14) gets its
/// passage's text: the passage's chunk id and the digest of its text when the evidence was
/// found. Filled in from the knowledge base when a task is read or resumed; a passage that is
/// gone, or whose text is no longer the one found, is shown as `Passage.noLongerInKnowledgeBase`
/// rather than as whatever text the chunk id names now.
public struct EvidenceReference: Sendable, Hashable {
    /// The evidence's position in its event.
    public var evidenceIndex: Int
    public var chunkId: String
    public var textDigest: [UInt8]
    /// The sentence was left out as the passage's text at the evidence's span.
    public var sentenceFromText: Bool

    /// `event` with the passages' text from `texts` (by chunk id) where it is still the text
    /// that was found, and the explicit note where it is not.
    static func resolve(_ event: TaskEvent, references: [EvidenceReference], texts: [String: String]) -> TaskEvent {
        guard case .evidenceFound(let id, let round, var evidence, let notes) = event, !references.isEmpty else { return event }
        for reference in references where evidence.indices.contains(reference.evidenceIndex) {
            var item = evidence[reference.evidenceIndex]
            let current = texts[reference.chunkId].flatMap { TaskEventCodec.textDigest($0) == reference.textDigest ? $0 : nil }
            item.passage.text = current ?? Passage.noLongerInKnowledgeBase
            if reference.sentenceFromText {
                let span = TaskEventCodec.sentenceSpan(of: item)
                item.sentence = current.flatMap { text in span.flatMap { TaskEventCodec.span(of: text, from: $0.start, to: $0.end) } }
                    ?? Passage.noLongerInKnowledgeBase
            }
            evidence[reference.evidenceIndex] = item
        }
        return .evidenceFound(subQuestionID: id, round: round, evidence: evidence, notes: notes)
    }

    /// A task's events decoded in order (`TaskEventStreamDecoder`) with their evidence's text
    /// filled in from `source` in one lookup; with no source, every referenced passage reads as gone.
    static func resolve(_ decoded: [(event: TaskEvent, references: [EvidenceReference])],
                        from source: (any PassageTextSource)?) async throws -> [TaskEvent] {
        let chunkIds = Set(decoded.flatMap { $0.references.map(\.chunkId) })
        guard !chunkIds.isEmpty else { return decoded.map(\.event) }
        let texts = try await source?.passageTexts(chunkIds: chunkIds) ?? [:]
        return decoded.map { resolve($0.event, references: $0.references, texts: texts) }
    }
}

/// Reads a task's events in stream order, carrying what later encodings refer to: the
/// question and the synthesized report (see `TaskEventCodec`).
public struct TaskEventStreamDecoder: Sendable {
    public private(set) var context = TaskEventCodec.Context()

    public init() {}

    /// A decoder that continues a stream after the events that made `context`.
    public init(context: TaskEventCodec.Context) {
        self.context = context
    }

    /// The event of one payload after the events that made this decoder's context.
    public func decoding(_ data: Data) throws -> TaskEvent {
        try TaskEventCodec.decode(data, context: context).event
    }

    /// The next event of the stream, with the references its evidence's text is to be
    /// filled in from (`EvidenceReference`).
    public mutating func decode(_ data: Data) throws -> (event: TaskEvent, references: [EvidenceReference]) {
        let decoded = try TaskEventCodec.decode(data, context: context)
        context.record(decoded.event)
        return decoded
    }
}

extension TaskEventCodec.Context {
    /// Keeps what encodings after `event` may refer to.
    public mutating func record(_ event: TaskEvent) {
        switch event {
        case let .submitted(question, _, _): self.question = question
        case let .synthesized(report): synthesized = report
        default: break
        }
    }

    /// The context a task in `state` continues from.
    public init(state: TaskState) {
        self.init(question: state.question, synthesized: state.phase == .verifying ? state.report : nil)
    }
}
