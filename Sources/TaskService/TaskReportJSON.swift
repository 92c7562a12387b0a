import Foundation
import ResearchCore

/// The JSON contract of a task's result, shared by `ares ask`, `ares tasks show`
/// and the server (the data part of a task's report artifact).
public enum TaskReportJSON {
    public struct Output: Codable, Sendable {
        public struct Report: Codable, Sendable {
            public var markdown: String
            public var answer: String
            public var sections: [Section]
        }
        public struct Section: Codable, Sendable {
            public var title: String
            public var text: String
            public var citations: [Int]
        }
        public struct Citation: Codable, Sendable {
            public var index: Int
            public var source: String
            public var title: String
            public var chunkId: String
            public var text: String
        }
        public struct Contradiction: Codable, Sendable {
            public var reason: String
            public var sentences: [String]
            public var sources: [String]
        }
        public struct Quality: Codable, Sendable {
            public var coverage: Double
            public var supportedSentences: Int
            public var unsupportedSentences: Int
            public var rounds: Int
            /// Share of evidence sentences caught in a contradiction across sources (last critique), 0...1.
            public var contradictionScore: Double
            public var contradictions: [Contradiction]
            /// Sub-questions (report sections) the report says the knowledge base does not
            /// answer; nil without a report. Optional, so documents written before it still decode.
            public var unansweredSubQuestions: Int?
        }
        public struct Timings: Codable, Sendable {
            public var totalMs: Double?
        }
        public var taskId: String
        public var state: String
        public var question: String
        public var report: Report?
        public var citations: [Citation]
        public var quality: Quality
        public var timings: Timings
        public var reason: String?
    }

    /// The document of a task (its report when it has one).
    public static func document(taskID: String, state: TaskState, totalMilliseconds: Double?) -> Output {
        let report = state.report
        return Output(
            taskId: taskID, state: state.phase?.rawValue ?? "unknown", question: state.question,
            report: report.map { .init(markdown: $0.markdown, answer: $0.answer,
                                       sections: $0.sections.map { .init(title: $0.title, text: $0.text, citations: $0.citations) }) },
            citations: (report?.citations ?? []).map {
                .init(index: $0.index, source: $0.passage.source, title: $0.passage.title, chunkId: $0.passage.chunkId, text: $0.passage.text)
            },
            quality: .init(coverage: state.critiques.last?.coverage ?? 0,
                           supportedSentences: state.citationCheck?.supportedSentences ?? 0,
                           unsupportedSentences: state.citationCheck?.unsupportedSentences ?? 0, rounds: state.round,
                           contradictionScore: state.critiques.last?.contradictionScore ?? 0,
                           contradictions: (state.critiques.last?.contradictions ?? []).map {
                               .init(reason: $0.reason, sentences: [$0.first.sentence, $0.second.sentence], sources: [$0.first.source, $0.second.source])
                           },
                           unansweredSubQuestions: report?.unansweredSections.count),
            timings: .init(totalMs: totalMilliseconds), reason: state.endReason)
    }

    /// The document as pretty-printed JSON, for people and scripts.
    public static func encode(taskID: String, state: TaskState, totalMilliseconds: Double?) throws -> String {
        let output = document(taskID: taskID, state: state, totalMilliseconds: totalMilliseconds)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(output), as: UTF8.self)
    }
}
