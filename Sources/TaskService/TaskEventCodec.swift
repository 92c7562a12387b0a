import BinaryCoding
import Foundation
import ResearchCore

/// The stored form of task events: a compact binary encoding (a version byte, then the
/// fields in a fixed order), because rebuilding a task's state must decode every event and
/// JSONDecoder costs about 7 µs per event. Payloads that do not start with the version byte
/// are read as JSON, the encoding earlier stores used.
///
/// Tags are never reused or changed: a field added later gets a new tag for the extended
/// form (11: a submission with a context id, 12: evidence with notes, 13: a critique with
/// contradictions or report notes), and events without the new field keep the old tag, so
/// old logs decode and old readers can still read what they understand.
public enum TaskEventCodec {
    static let binaryV1: UInt8 = 0xA1

    public static func encode(_ event: TaskEvent) -> Data {
        var writer = BinaryWriter()
        writer.u8(binaryV1)
        switch event {
        case let .submitted(question, principal, nil):
            writer.u8(0); writer.string(question); writer.optionalString(principal)
        case let .submitted(question, principal, contextID?):
            writer.u8(11); writer.string(question); writer.optionalString(principal); writer.string(contextID)
        case let .planned(plan):
            writer.u8(1); writer.plan(plan)
        case let .subQuestionStarted(id, round):
            writer.u8(2); writer.string(id); writer.int(round)
        case let .evidenceFound(id, round, evidence, notes):
            writer.u8(notes == nil ? 3 : 12); writer.string(id); writer.int(round)
            writer.int(evidence.count); evidence.forEach { writer.evidence($0) }
            if let notes { writer.strings(notes) }
        case let .critiqueIssued(round, critique) where critique.contradictions.isEmpty && critique.contradictionScore == 0
                                                        && critique.reportNotes.isEmpty:
            writer.u8(4); writer.int(round); writer.critique(critique)
        case let .critiqueIssued(round, critique):
            writer.u8(13); writer.int(round); writer.critique(critique)
            writer.int(critique.contradictions.count); critique.contradictions.forEach { writer.contradiction($0) }
            writer.double(critique.contradictionScore); writer.strings(critique.reportNotes)
        case let .revised(round, subQuestions):
            writer.u8(5); writer.int(round); writer.int(subQuestions.count); subQuestions.forEach { writer.subQuestion($0) }
        case let .synthesized(report):
            writer.u8(6); writer.report(report)
        case let .citationsVerified(check, report):
            writer.u8(7); writer.int(check.supportedSentences); writer.int(check.unsupportedSentences)
            writer.strings(check.flagged); writer.report(report)
        case .completed:
            writer.u8(8)
        case let .failed(reason):
            writer.u8(9); writer.string(reason)
        case let .canceled(reason):
            writer.u8(10); writer.string(reason)
        }
        return Data(writer.bytes)
    }

    public static func decode(_ data: Data) throws -> TaskEvent {
        guard data.first == binaryV1 else { return try JSONDecoder().decode(TaskEvent.self, from: data) }
        return try data.withUnsafeBytes { raw in
            var reader = BinaryReader(raw, offset: 1)
            let tag = try reader.u8()
            let event: TaskEvent
            switch tag {
            case 0: event = .submitted(question: try reader.string(), principal: try reader.optionalString())
            case 1: event = .planned(try reader.plan())
            case 2: event = .subQuestionStarted(subQuestionID: try reader.string(), round: try reader.int())
            case 3:
                let id = try reader.string(), round = try reader.int()
                event = .evidenceFound(subQuestionID: id, round: round, evidence: try reader.array { try $0.evidence() })
            case 4: event = .critiqueIssued(round: try reader.int(), critique: try reader.critique())
            case 5: event = .revised(round: try reader.int(), subQuestions: try reader.array { try $0.subQuestion() })
            case 6: event = .synthesized(try reader.report())
            case 7:
                let check = CitationCheck(supportedSentences: try reader.int(), unsupportedSentences: try reader.int(), flagged: try reader.strings())
                event = .citationsVerified(check, report: try reader.report())
            case 8: event = .completed
            case 9: event = .failed(reason: try reader.string())
            case 10: event = .canceled(reason: try reader.string())
            case 11:
                event = .submitted(question: try reader.string(), principal: try reader.optionalString(), contextID: try reader.string())
            case 12:
                let id = try reader.string(), round = try reader.int()
                let evidence = try reader.array { try $0.evidence() }
                event = .evidenceFound(subQuestionID: id, round: round, evidence: evidence, notes: try reader.strings())
            case 13:
                let round = try reader.int()
                var critique = try reader.critique()
                critique.contradictions = try reader.array { try $0.contradiction() }
                critique.contradictionScore = try reader.double()
                critique.reportNotes = try reader.strings()
                event = .critiqueIssued(round: round, critique: critique)
            default: throw Failure("unknown event tag \(tag)")
            }
            guard reader.isAtEnd else { throw Failure("\(reader.remaining) unexpected trailing bytes") }
            return event
        }
    }
}

extension TaskEventCodec {
    /// A payload that is not a task event this codec wrote.
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// The fields of the v1 encoding, written with the shared `BinaryWriter`: every integer as a
/// little-endian Int64, doubles by their bits, strings as UTF-8 after an Int64 length.
extension BinaryWriter {
    mutating func u8(_ value: UInt8) { write(value) }
    mutating func int(_ value: Int) { write(Int64(value)) }
    mutating func double(_ value: Double) { write(value) }
    mutating func string(_ value: String) { write(value, lengthPrefix: Int64.self) }
    mutating func optionalString(_ value: String?) {
        if let value { u8(1); string(value) } else { u8(0) }
    }
    mutating func strings(_ values: [String]) { int(values.count); values.forEach { string($0) } }

    mutating func passage(_ passage: Passage) {
        string(passage.chunkId); string(passage.source); string(passage.title); strings(passage.headingPath)
        string(passage.text); int(passage.start); int(passage.end)
    }
    mutating func subQuestion(_ subQuestion: SubQuestion) { string(subQuestion.id); string(subQuestion.text); strings(subQuestion.queries) }
    mutating func plan(_ plan: ResearchPlan) {
        int(plan.subQuestions.count); plan.subQuestions.forEach { subQuestion($0) }; optionalString(plan.reusedFromTask)
    }
    mutating func evidence(_ evidence: Evidence) {
        string(evidence.subQuestionID); string(evidence.sentence); passage(evidence.passage)
        int(evidence.start); int(evidence.end); double(evidence.score)
    }
    mutating func critique(_ critique: Critique) {
        double(critique.coverage); int(critique.revisions.count); critique.revisions.forEach { subQuestion($0) }; strings(critique.notes)
    }
    mutating func contradiction(_ contradiction: Contradiction) {
        for side in [contradiction.first, contradiction.second] {
            string(side.subQuestionID); string(side.sentence); string(side.source); string(side.chunkId)
        }
        string(contradiction.reason)
    }
    mutating func report(_ report: ResearchReport) {
        string(report.answer)
        int(report.sections.count)
        for section in report.sections {
            string(section.title); string(section.text); int(section.citations.count); section.citations.forEach { int($0) }
        }
        int(report.citations.count)
        for citation in report.citations { int(citation.index); passage(citation.passage) }
        string(report.markdown); strings(report.notes)
    }
}

/// Reads the fields `BinaryWriter` wrote with the shared, bounds-checked `BinaryReader`:
/// every length is checked, so a damaged payload throws.
extension BinaryReader {
    mutating func u8() throws -> UInt8 { try read(UInt8.self) }
    mutating func int() throws -> Int {
        let value = try read(Int64.self)
        guard let exact = Int(exactly: value) else { throw TaskEventCodec.Failure("integer out of range") }
        return exact
    }
    mutating func double() throws -> Double { try read(Double.self) }
    mutating func string() throws -> String { try readString(lengthPrefix: Int64.self) }
    mutating func optionalString() throws -> String? { try u8() == 0 ? nil : try string() }
    mutating func array<T>(_ element: (inout BinaryReader) throws -> T) throws -> [T] {
        let count = try int()
        // Every element takes at least 8 bytes (an int, or a string's length), so a count is
        // checked against that: a damaged count cannot reserve far more memory than the payload.
        guard count >= 0, count <= remaining / 8 else { throw TaskEventCodec.Failure("array of \(count) elements exceeds the payload") }
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try element(&self)) }
        return result
    }
    mutating func strings() throws -> [String] { try array { try $0.string() } }

    mutating func passage() throws -> Passage {
        Passage(chunkId: try string(), source: try string(), title: try string(), headingPath: try strings(),
                text: try string(), start: try int(), end: try int())
    }
    mutating func subQuestion() throws -> SubQuestion { SubQuestion(id: try string(), text: try string(), queries: try strings()) }
    mutating func plan() throws -> ResearchPlan {
        ResearchPlan(subQuestions: try array { try $0.subQuestion() }, reusedFromTask: try optionalString())
    }
    mutating func evidence() throws -> Evidence {
        Evidence(subQuestionID: try string(), sentence: try string(), passage: try passage(), start: try int(), end: try int(), score: try double())
    }
    mutating func critique() throws -> Critique {
        Critique(coverage: try double(), revisions: try array { try $0.subQuestion() }, notes: try strings())
    }
    mutating func contradiction() throws -> Contradiction {
        func side() throws -> Contradiction.Side {
            Contradiction.Side(subQuestionID: try string(), sentence: try string(), source: try string(), chunkId: try string())
        }
        return Contradiction(first: try side(), second: try side(), reason: try string())
    }
    mutating func report() throws -> ResearchReport {
        let answer = try string()
        let sections = try array { reader in
            ResearchReport.Section(title: try reader.string(), text: try reader.string(), citations: try reader.array { try $0.int() })
        }
        let citations = try array { reader in Citation(index: try reader.int(), passage: try reader.passage()) }
        return ResearchReport(answer: answer, sections: sections, citations: citations, markdown: try string(), notes: try strings())
    }
}
