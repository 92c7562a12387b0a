/// Two evidence sentences from different sources that cannot both be true as written: the
/// same statement with and without a negation, or with different numbers for the same quantity.
public struct Contradiction: Sendable, Codable, Hashable {
    /// One side of a contradiction: the sentence and the passage it came from.
    public struct Side: Sendable, Codable, Hashable {
        public var subQuestionID: String
        public var sentence: String
        public var source: String
        public var chunkId: String

        public init(subQuestionID: String, sentence: String, source: String, chunkId: String) {
            self.subQuestionID = subQuestionID
            self.sentence = sentence
            self.source = source
            self.chunkId = chunkId
        }

        public init(_ evidence: Evidence) {
            self.init(subQuestionID: evidence.subQuestionID, sentence: evidence.sentence,
                      source: evidence.passage.source, chunkId: evidence.passage.chunkId)
        }
    }

    public var first: Side
    public var second: Side
    /// Why the two disagree, for people ("negation: …", "numbers differ: 8 vs 16").
    public var reason: String

    public init(first: Side, second: Side, reason: String) {
        self.first = first
        self.second = second
        self.reason = reason
    }
}
