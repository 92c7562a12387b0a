import Foundation

/// BERT's text normalization, as Hugging Face's `BertNormalizer` does it, in the same order:
/// drop control characters, NUL and U+FFFD and turn whitespace into spaces (`cleanText`); put
/// spaces around CJK ideographs (`handleChineseCharacters`); decompose (NFD) and drop
/// non-spacing marks (`stripAccents`); lowercase each scalar with its full Unicode mapping
/// (`lowercase`, no context rules, as the reference does).
///
/// Character classes follow the reference: whitespace is tab, newline, carriage return and
/// Unicode's White_Space; a control character is a control, format, private-use or surrogate
/// code point (Cc, Cf, Co, Cs; not an unassigned one) other than tab, newline and carriage return.
public struct BertTextNormalizer: Sendable, Equatable {
    public var cleanText: Bool
    public var handleChineseCharacters: Bool
    public var stripAccents: Bool
    public var lowercase: Bool

    public init(cleanText: Bool = true, handleChineseCharacters: Bool = true, stripAccents: Bool = true, lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseCharacters = handleChineseCharacters
        self.stripAccents = stripAccents
        self.lowercase = lowercase
    }

    public func normalize<Scalars: Sequence<Unicode.Scalar>>(_ text: Scalars) -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.underestimatedCount)
        var allASCII = true
        for scalar in text {
            if cleanText {
                if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
                if Self.isWhitespace(scalar) {
                    scalars.append(" ")
                    continue
                }
            }
            if handleChineseCharacters, Self.isChineseCharacter(scalar) {
                scalars.append(" ")
                scalars.append(scalar)
                scalars.append(" ")
                allASCII = false
                continue
            }
            if !scalar.isASCII { allASCII = false }
            scalars.append(scalar)
        }
        // ASCII has nothing to decompose and lowercases by itself: the common case stays cheap.
        if allASCII {
            if lowercase {
                for index in scalars.indices where scalars[index].value >= 0x41 && scalars[index].value <= 0x5A {
                    scalars[index] = Unicode.Scalar(UInt8(truncatingIfNeeded: scalars[index].value | 0x20))
                }
            }
            return scalars
        }
        if stripAccents {
            var string = ""
            string.unicodeScalars.append(contentsOf: scalars)
            scalars = string.decomposedStringWithCanonicalMapping.unicodeScalars.filter {
                $0.properties.generalCategory != .nonspacingMark
            }
        }
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(scalars.count)
            for scalar in scalars {
                if scalar.isASCII {
                    lowered.append(scalar.value >= 0x41 && scalar.value <= 0x5A ? Unicode.Scalar(UInt8(truncatingIfNeeded: scalar.value | 0x20)) : scalar)
                } else {
                    lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                }
            }
            scalars = lowered
        }
        return scalars
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.isWhitespace
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        // Not unassigned code points: the reference's tables count them as letters of a word
        // (they end up as [UNK]), and so must ares.
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks and their extensions and compatibility blocks, as
    /// Hugging Face's tokenizers define "Chinese characters" (its ranges verbatim, including the gap at
    /// U+2B820...U+2B91F; Hangul, kana and CJK punctuation are not among them).
    static func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
