import Foundation
import ResearchCore
import Testing
@testable import TaskService

@Suite struct TaskEventCodecTests {
    static let passage = Passage(chunkId: "c1", source: "docs/wal.html", title: "WAL — «log»", headingPath: ["A", "B"],
                                 text: "WAL records are flushed first. 😀", start: 3, end: 36)
    static let subQuestion = SubQuestion(id: "sq1", text: "when is WAL flushed?", queries: ["WAL flushed", "wal"])
    static let report = ResearchReport(
        answer: "First [1].", sections: [.init(title: "t", text: "First [1].", citations: [1])],
        citations: [Citation(index: 1, passage: passage)], markdown: "# q\n\nFirst [1].", notes: ["a note"])
    static let everyKind: [TaskEvent] = [
        .submitted(question: "How does WAL work?", principal: nil),
        .submitted(question: "q", principal: "alice"),
        .submitted(question: "q", principal: "alice", contextID: "ctx-1"),
        .planned(ResearchPlan(subQuestions: [subQuestion], reusedFromTask: "task-1")),
        .planned(ResearchPlan(subQuestions: [])),
        .subQuestionStarted(subQuestionID: "sq1", round: 2),
        .evidenceFound(subQuestionID: "sq1", round: 1, evidence: [
            Evidence(subQuestionID: "sq1", sentence: "WAL records are flushed first.", passage: passage, start: 3, end: 33, score: 0.875)]),
        .critiqueIssued(round: 1, critique: Critique(coverage: 0.5, revisions: [subQuestion], notes: ["n"])),
        .evidenceFound(subQuestionID: "sq1", round: 1, evidence: [], notes: ["the built-in researcher stood in"]),
        .evidenceFound(subQuestionID: "sq1", round: 1, evidence: [], notes: []),
        .critiqueIssued(round: 1, critique: Critique(
            coverage: 1, revisions: [], notes: [],
            contradictions: [Contradiction(first: .init(subQuestionID: "sq1", sentence: "A locks.", source: "a.html", chunkId: "c1"),
                                           second: .init(subQuestionID: "sq2", sentence: "A does not lock.", source: "b.html", chunkId: "c2"),
                                           reason: "negation")],
            contradictionScore: 0.5, reportNotes: ["sources disagree"])),
        .critiqueIssued(round: 2, critique: Critique(coverage: 1, revisions: [], notes: [], reportNotes: ["model down"])),
        .revised(round: 2, subQuestions: [subQuestion]),
        .synthesized(report),
        .citationsVerified(CitationCheck(supportedSentences: 3, unsupportedSentences: 1, flagged: ["x"]), report: report),
        .completed, .failed(reason: "boom"), .canceled(reason: "user"),
    ]

    /// The event encoded, decoded and its evidence's text filled in from a knowledge base that
    /// still holds `passage` (evidence is stored as references since issue 12).
    static func roundTrip(_ event: TaskEvent) throws -> TaskEvent {
        let decoded = try TaskEventCodec.decode(TaskEventCodec.encode(event), context: TaskEventCodec.Context())
        return EvidenceReference.resolve(decoded.event, references: decoded.references, texts: [passage.chunkId: passage.text])
    }

    @Test func everyEventRoundTrips() throws {
        for event in Self.everyKind {
            #expect(try Self.roundTrip(event) == event)
        }
    }

    /// `--event-format compatible` (a rolling upgrade from a release before compact events):
    /// only tags that release reads, with the evidence's text in the payload, even when the
    /// context would let a check refer to its synthesized report; and it decodes unchanged
    /// without a knowledge base.
    @Test func theCompatibleFormatWritesOnlyTheTagsTheReleaseBeforeReads() throws {
        var context = TaskEventCodec.Context(question: "How does WAL work?", synthesized: Self.report)
        context.format = .compatible
        for event in Self.everyKind {
            let payload = TaskEventCodec.encode(event, context: context)
            let tag = try #require(payload.dropFirst().first)
            #expect((0...13).contains(tag), "\(event.typeName) written with tag \(tag)")
            let decoded = try TaskEventCodec.decode(payload, context: TaskEventCodec.Context())
            #expect(decoded.references.isEmpty)
            #expect(decoded.event == event)
        }
        // The compact format refers instead (the evidence without its text, the check by digest).
        context.format = .compact
        let compactTags = Self.everyKind.compactMap { TaskEventCodec.encode($0, context: context).dropFirst().first }
        #expect(compactTags.contains(14) && compactTags.contains(15) && compactTags.contains(16), "\(compactTags)")
    }

    @Test func jsonPayloadsOfEarlierStoresStillDecode() throws {
        for event in Self.everyKind {
            #expect(try TaskEventCodec.decode(try JSONEncoder().encode(event)) == event)
        }
    }

    /// Little-endian Int64, as v1 writes every integer.
    static func int(_ value: Int64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    static func string(_ value: String) -> [UInt8] { int(Int64(value.utf8.count)) + Array(value.utf8) }

    @Test func payloadsWrittenBeforeNotesAndContradictionsStillDecode() throws {
        // Laid out by hand as v1 wrote them before tags 12 and 13 existed.
        let evidence: [UInt8] = [0xA1, 3] + Self.string("sq1") + Self.int(2) + Self.int(0)
        #expect(try TaskEventCodec.decode(Data(evidence)) == .evidenceFound(subQuestionID: "sq1", round: 2, evidence: []))
        let half = withUnsafeBytes(of: (0.5).bitPattern.littleEndian) { Array($0) }
        let critique: [UInt8] = [0xA1, 4] + Self.int(1) + half + Self.int(0) + Self.int(1) + Self.string("n")
        let decoded = try TaskEventCodec.decode(Data(critique))
        #expect(decoded == .critiqueIssued(round: 1, critique: Critique(coverage: 0.5, revisions: [], notes: ["n"])))
        // Critiques without the new fields are still written in exactly that form, for older
        // readers; evidence is written as references since issue 12 (tag 14).
        #expect(TaskEventCodec.encode(.evidenceFound(subQuestionID: "sq1", round: 2, evidence: [])).prefix(2) == Data([0xA1, 14]))
        #expect(TaskEventCodec.encode(decoded) == Data(critique))

        // JSON payloads of the earliest stores, as JSONEncoder wrote them then.
        let oldEvidence = #"{"evidenceFound":{"subQuestionID":"sq1","round":2,"evidence":[]}}"#
        #expect(try TaskEventCodec.decode(Data(oldEvidence.utf8)) == .evidenceFound(subQuestionID: "sq1", round: 2, evidence: []))
        let oldCritique = #"{"critiqueIssued":{"round":1,"critique":{"coverage":0.5,"revisions":[],"notes":["n"]}}}"#
        #expect(try TaskEventCodec.decode(Data(oldCritique.utf8)) == decoded)
    }

    @Test func anArrayCountIsCheckedAgainstTheBytesItsElementsNeed() {
        // 16 evidence items claimed with 16 bytes left: each takes at least 8, so at most 2 fit.
        let payload: [UInt8] = [0xA1, 3] + Self.string("sq1") + Self.int(1) + Self.int(16) + [UInt8](repeating: 0, count: 16)
        #expect { try TaskEventCodec.decode(Data(payload)) } throws: { "\($0)".contains("array of 16 elements exceeds the payload") }
        let huge: [UInt8] = [0xA1, 3] + Self.string("sq1") + Self.int(1) + Self.int(Int64.max)
        #expect { try TaskEventCodec.decode(Data(huge)) } throws: { "\($0)".contains("exceeds the payload") }
    }

    @Test func damagedPayloadsThrowInsteadOfCrashing() {
        let encoded = TaskEventCodec.encode(Self.everyKind[5])
        for cut in [1, 2, 10, encoded.count / 2, encoded.count - 1] {
            #expect(throws: (any Error).self) { try TaskEventCodec.decode(encoded.prefix(cut)) }
        }
        #expect(throws: (any Error).self) { try TaskEventCodec.decode(Data([0xA1, 99])) }
        #expect(throws: (any Error).self) { try TaskEventCodec.decode(encoded + Data([0])) }
        for event in Self.everyKind where event.typeName == "CritiqueIssued" || event.typeName == "EvidenceFound" {
            let payload = TaskEventCodec.encode(event)
            for cut in [2, payload.count - 1] {
                #expect(throws: (any Error).self) { try TaskEventCodec.decode(payload.prefix(cut)) }
            }
        }
    }
}
