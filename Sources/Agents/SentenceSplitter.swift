/// Splits passage text into sentences with their Unicode-scalar spans, so each piece of
/// evidence can point at exactly the characters it quotes.
public enum SentenceSplitter {
    public struct Sentence: Sendable, Equatable {
        public var text: String
        /// Offsets in Unicode scalars into the text that was split.
        public var start: Int
        public var end: Int
    }

    /// A sentence ends at ".", "?" or "!" followed by whitespace (or the end), or at a blank
    /// line. Abbreviations such as "e.g." are rare in technical prose and cost only a split.
    public static func sentences(in text: String) -> [Sentence] {
        let scalars = Array(text.unicodeScalars)
        var result: [Sentence] = []
        var start = 0
        var index = 0
        func emit(_ end: Int) {
            var low = start, high = end
            while low < high, scalars[low].properties.isWhitespace { low += 1 }
            while high > low, scalars[high - 1].properties.isWhitespace { high -= 1 }
            if high > low {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[low..<high])
                result.append(Sentence(text: String(view), start: low, end: high))
            }
            start = end
        }
        while index < scalars.count {
            let scalar = scalars[index]
            let next = index + 1 < scalars.count ? scalars[index + 1] : nil
            if scalar == "." || scalar == "?" || scalar == "!" {
                if next == nil || next?.properties.isWhitespace == true {
                    emit(index + 1)
                } else if let closer = next, ")]\"'”’".unicodeScalars.contains(closer),
                          index + 2 >= scalars.count || scalars[index + 2].properties.isWhitespace {
                    // "(… vacuumed.) Next" ends after the closing bracket or quote.
                    emit(index + 2)
                    index += 1
                }
            } else if scalar == "\n", next == "\n" {
                emit(index + 1)
            }
            index += 1
        }
        emit(scalars.count)
        return result
    }
}
