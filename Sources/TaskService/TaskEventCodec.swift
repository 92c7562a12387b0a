import BinaryCoding
import Foundation
import ResearchCore
import Storage

/// The stored form of task events: a compact binary encoding (a version byte, then the
/// fields in a fixed order), because rebuilding a task's state must decode every event and
/// JSONDecoder costs about 7 µs per event. Payloads that do not start with the version byte
/// are read as JSON, the encoding earlier stores used.
///
/// Tags are never reused or changed: a field added later gets a new tag for the extended
/// form (11: a submission with a context id, 12: evidence with notes, 13: a critique with
/// contradictions or report notes), and events without the new field keep the old tag, so
/// old logs decode and old readers can still read what they understand.
///
/// Issue 12 (a finished task in a few kB): 14 writes evidence as references — each passage
/// once, as its chunk id, place and a digest of its text, without the text, and a sentence
/// only when it is not simply the passage's text at the evidence's span; reading a task fills
/// the text in from the knowledge base (`EvidenceReference`). 15 writes a citation check that
/// kept the synthesized report's sources as the check's verdicts and the changed text only,
/// naming the synthesized report by digest: the report's sources are stored once, in
/// ReportSynthesized. 16 writes that report whole but for its Markdown, rendered again from
/// the question and the report's fields when that gives the same text. 15 and 16 need what
/// came before in the stream to read back (`TaskEventStreamDecoder`); 3, 6, 7 and 12 still
/// decode, so old stores read as before.
public enum TaskEventCodec {
    static let binaryV1: UInt8 = 0xA1
    /// Bytes of SHA-256 kept as a digest of a passage's text or of a synthesized report: 128
    /// bits tell a changed text from the one referred to (the hash chain guards the payloads).
    static let digestLength = 16

    /// What an encoding may refer to instead of repeating it: the task's question and the
    /// report recorded by its ReportSynthesized (nil before there is one).
    public struct Context: Sendable {
        /// Nil until the stream's TaskSubmitted was read (a payload decoded on its own).
        public var question: String?
        public var synthesized: ResearchReport?
        /// Which tags may be written: `.compatible` keeps to those the previous release reads.
        public var format: TaskEventFormat = .compact

        public init(question: String? = nil, synthesized: ResearchReport? = nil) {
            self.question = question
            self.synthesized = synthesized
        }
    }

    /// The event without context: a citation check is written whole (tag 7).
    public static func encode(_ event: TaskEvent) -> Data {
        encode(event, context: Context())
    }

    /// The event, referring to what `context` holds where it can (tag 15 for a citation check
    /// whose report kept the synthesized report's sources).
    public static func encode(_ event: TaskEvent, context: Context) -> Data {
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
        case let .evidenceFound(id, round, evidence, notes) where context.format == .compatible:
            writer.u8(notes == nil ? 3 : 12); writer.string(id); writer.int(round)
            writer.int(evidence.count); evidence.forEach { writer.evidence($0) }
            if let notes { writer.strings(notes) }
        case let .evidenceFound(id, round, evidence, notes):
            writer.u8(14); writer.string(id); writer.int(round)
            writer.evidenceReferences(evidence)
            if let notes { writer.u8(1); writer.strings(notes) } else { writer.u8(0) }
        case let .critiqueIssued(round, critique) where critique.contradictions.isEmpty && critique.contradictionScore == 0
                                                        && critique.reportNotes.isEmpty:
            writer.u8(4); writer.int(round); writer.critique(critique)
        case let .critiqueIssued(round, critique):
            writer.u8(13); writer.int(round); writer.critique(critique)
            writer.int(critique.contradictions.count); critique.contradictions.forEach { writer.contradiction($0) }
            writer.double(critique.contradictionScore); writer.strings(critique.reportNotes)
        case let .revised(round, subQuestions):
            writer.u8(5); writer.int(round); writer.int(subQuestions.count); subQuestions.forEach { writer.subQuestion($0) }
        case let .synthesized(report) where context.question == nil || context.format == .compatible:
            writer.u8(6); writer.report(report)
        case let .synthesized(report):
            // The report whole, but its Markdown only when it is not what its question and
            // fields render to (tag 16).
            writer.u8(16); writer.report(report, markdownUnlessRendered: context.question)
        case let .citationsVerified(check, report):
            if context.format == .compact, let synthesized = context.synthesized, synthesized.citations == report.citations {
                writer.u8(15); writer.int(check.supportedSentences); writer.int(check.unsupportedSentences)
                writer.strings(check.flagged); writer.write(bytes: reportDigest(synthesized))
                writer.reportChanges(report, from: synthesized, question: context.question)
            } else {
                writer.u8(7); writer.int(check.supportedSentences); writer.int(check.unsupportedSentences)
                writer.strings(check.flagged); writer.report(report)
            }
        case .completed:
            writer.u8(8)
        case let .failed(reason):
            writer.u8(9); writer.string(reason)
        case let .canceled(reason):
            writer.u8(10); writer.string(reason)
        }
        return Data(writer.bytes)
    }

    /// One event read on its own. Evidence written as references (tag 14) comes back without
    /// its passages' text (see `EvidenceReference`), and a citation check that refers to the
    /// synthesized report (tag 15) cannot be read without it: read a task's events in order
    /// with `TaskEventStreamDecoder`.
    public static func decode(_ data: Data) throws -> TaskEvent {
        try decode(data, context: Context()).event
    }

    /// The event and, for evidence written as references, what its passages' text is to be
    /// filled in from.
    static func decode(_ data: Data, context: Context) throws -> (event: TaskEvent, references: [EvidenceReference]) {
        guard data.first == binaryV1 else { return (try JSONDecoder().decode(TaskEvent.self, from: data), []) }
        return try data.withUnsafeBytes { raw in
            var reader = BinaryReader(raw, offset: 1)
            let tag = try reader.u8()
            let event: TaskEvent
            var references: [EvidenceReference] = []
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
            case 14:
                let id = try reader.string(), round = try reader.int()
                let (evidence, found) = try reader.evidenceReferences()
                let notes = try reader.u8() == 0 ? nil : try reader.strings()
                references = found
                event = .evidenceFound(subQuestionID: id, round: round, evidence: evidence, notes: notes)
            case 15:
                let check = CitationCheck(supportedSentences: try reader.int(), unsupportedSentences: try reader.int(), flagged: try reader.strings())
                let digest = [UInt8](try reader.readBytes(digestLength))
                guard let synthesized = context.synthesized else {
                    throw Failure("a citation check that refers to the synthesized report, read without the task's ReportSynthesized before it")
                }
                guard reportDigest(synthesized) == digest else {
                    throw Failure("the citation check refers to a synthesized report other than the one recorded before it")
                }
                event = .citationsVerified(check, report: try reader.reportChanges(from: synthesized, question: context.question))
            case 16:
                event = .synthesized(try reader.report(markdownUnlessRendered: context.question))
            default: throw Failure("unknown event tag \(tag)")
            }
            guard reader.isAtEnd else { throw Failure("\(reader.remaining) unexpected trailing bytes") }
            return (event, references)
        }
    }

    /// The digest a citation check (tag 15) names its synthesized report by: of the report's
    /// binary encoding, which is deterministic.
    static func reportDigest(_ report: ResearchReport) -> [UInt8] {
        var writer = BinaryWriter()
        writer.report(report)
        return ContentSHA256.prefix(Data(writer.bytes), count: digestLength)
    }

    /// The digest evidence (tag 14) names its passage's text by.
    static func textDigest(_ text: String) -> [UInt8] {
        ContentSHA256.prefix(Data(text.utf8), count: digestLength)
    }

    /// The text of `text` from Unicode scalar `start` to `end`; nil when that is not a span of it.
    static func span(of text: String, from start: Int, to end: Int) -> String? {
        guard start >= 0, end >= start else { return nil }
        let scalars = text.unicodeScalars
        guard let lower = scalars.index(scalars.startIndex, offsetBy: start, limitedBy: scalars.endIndex),
              let upper = scalars.index(lower, offsetBy: end - start, limitedBy: scalars.endIndex) else { return nil }
        return String(scalars[lower..<upper])
    }

    /// Where the evidence's sentence lies in its passage's text (scalar offsets); nil when the
    /// offsets do not fit in the passage.
    static func sentenceSpan(of evidence: Evidence) -> (start: Int, end: Int)? {
        let (start, startOverflow) = evidence.start.subtractingReportingOverflow(evidence.passage.start)
        let (end, endOverflow) = evidence.end.subtractingReportingOverflow(evidence.passage.start)
        return startOverflow || endOverflow ? nil : (start, end)
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
    /// Evidence as references (tag 14): the distinct passages once, without their text, then
    /// each evidence naming its passage by position.
    mutating func evidenceReferences(_ evidence: [Evidence]) {
        var positions: [Passage: Int] = [:]
        var passages: [Passage] = []
        for item in evidence where positions[item.passage] == nil {
            positions[item.passage] = passages.count
            passages.append(item.passage)
        }
        int(passages.count)
        for passage in passages {
            string(passage.chunkId); string(passage.source); string(passage.title); strings(passage.headingPath)
            int(passage.start); int(passage.end); write(bytes: TaskEventCodec.textDigest(passage.text))
        }
        int(evidence.count)
        for item in evidence {
            string(item.subQuestionID); int(positions[item.passage] ?? 0); int(item.start); int(item.end); double(item.score)
            // The sentence is left out when the passage's text at the span is that sentence.
            let span = TaskEventCodec.sentenceSpan(of: item)
            if let span, TaskEventCodec.span(of: item.passage.text, from: span.start, to: span.end) == item.sentence {
                u8(0)
            } else {
                u8(1); string(item.sentence)
            }
        }
    }

    /// A checked report as what changed from the synthesized one (tag 15): the answer, the
    /// sections and the notes each only when they differ (a flag byte, 0 for unchanged), the
    /// sources never (tag 15 is written only when they are the same), the Markdown only when
    /// it is not what `renderMarkdown` makes of the rest.
    mutating func reportChanges(_ report: ResearchReport, from synthesized: ResearchReport, question: String?) {
        if report.answer == synthesized.answer { u8(0) } else { u8(1); string(report.answer) }
        if report.sections == synthesized.sections { u8(0) } else { u8(1); sections(report.sections) }
        if report.notes == synthesized.notes { u8(0) } else { u8(1); strings(report.notes) }
        markdown(report, unlessRenderedFor: question)
    }

    mutating func sections(_ sections: [ResearchReport.Section]) {
        int(sections.count)
        for section in sections {
            string(section.title); string(section.text); int(section.citations.count); section.citations.forEach { int($0) }
        }
    }

    /// 0 when the report's Markdown is what `renderMarkdown` makes of `question` and its
    /// fields; else 1 and the Markdown.
    mutating func markdown(_ report: ResearchReport, unlessRenderedFor question: String?) {
        if let question, report.markdown == ResearchReport.renderMarkdown(
            question: question, answer: report.answer, sections: report.sections, citations: report.citations, notes: report.notes) {
            u8(0)
        } else {
            u8(1); string(report.markdown)
        }
    }

    /// A report whole (tag 16) but for its Markdown when rendered from `question`.
    mutating func report(_ report: ResearchReport, markdownUnlessRendered question: String?) {
        string(report.answer)
        sections(report.sections)
        int(report.citations.count)
        for citation in report.citations { int(citation.index); passage(citation.passage) }
        strings(report.notes)
        markdown(report, unlessRenderedFor: question)
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
    /// Evidence written by `evidenceReferences`: passages without their text (and sentences
    /// left out empty), with the references that say how to fill them in.
    mutating func evidenceReferences() throws -> ([Evidence], [EvidenceReference]) {
        let passages = try array { reader in
            let passage = Passage(chunkId: try reader.string(), source: try reader.string(), title: try reader.string(),
                                  headingPath: try reader.strings(), text: "", start: try reader.int(), end: try reader.int())
            return (passage, [UInt8](try reader.readBytes(TaskEventCodec.digestLength)))
        }
        var references: [EvidenceReference] = []
        let evidence = try array { reader in
            let subQuestionID = try reader.string(), position = try reader.int()
            guard passages.indices.contains(position) else { throw TaskEventCodec.Failure("evidence names passage \(position) of \(passages.count)") }
            let (passage, digest) = passages[position]
            let start = try reader.int(), end = try reader.int(), score = try reader.double()
            let sentence: String? = try reader.u8() == 0 ? nil : try reader.string()
            let item = Evidence(subQuestionID: subQuestionID, sentence: sentence ?? "", passage: passage, start: start, end: end, score: score)
            references.append(EvidenceReference(evidenceIndex: references.count, chunkId: passage.chunkId, textDigest: digest,
                                                sentenceFromText: sentence == nil))
            return item
        }
        return (evidence, references)
    }

    /// A checked report written by `reportChanges`, completed from the synthesized one.
    mutating func reportChanges(from synthesized: ResearchReport, question: String?) throws -> ResearchReport {
        let answer = try u8() == 0 ? synthesized.answer : try string()
        let sections = try u8() == 0 ? synthesized.sections : try self.sections()
        let notes = try u8() == 0 ? synthesized.notes : try strings()
        var report = ResearchReport(answer: answer, sections: sections, citations: synthesized.citations, markdown: "", notes: notes)
        report.markdown = try markdown(of: report, question: question)
        return report
    }

    mutating func sections() throws -> [ResearchReport.Section] {
        try array { reader in
            ResearchReport.Section(title: try reader.string(), text: try reader.string(), citations: try reader.array { try $0.int() })
        }
    }

    /// The Markdown `markdown(_:unlessRenderedFor:)` wrote: stored, or rendered again from the question.
    mutating func markdown(of report: ResearchReport, question: String?) throws -> String {
        guard try u8() == 0 else { return try string() }
        guard let question else { throw TaskEventCodec.Failure("a report whose Markdown is rendered from the question, read without the task's TaskSubmitted") }
        return ResearchReport.renderMarkdown(question: question, answer: report.answer, sections: report.sections,
                                             citations: report.citations, notes: report.notes)
    }

    /// A report written by `report(_:markdownUnlessRendered:)` (tag 16).
    mutating func report(markdownUnlessRendered question: String?) throws -> ResearchReport {
        let answer = try string()
        let sections = try self.sections()
        let citations = try array { reader in Citation(index: try reader.int(), passage: try reader.passage()) }
        var report = ResearchReport(answer: answer, sections: sections, citations: citations, markdown: "", notes: try strings())
        report.markdown = try markdown(of: report, question: question)
        return report
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
