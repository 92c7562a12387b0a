import BinaryCoding

/// Checks that a request body is exactly one JSON text as RFC 8259 defines it, before any
/// decoder sees it: Foundation's decoder is lenient (trailing commas pass) and reports invalid
/// UTF-8 or raw control characters as a type mismatch deep inside the params, which a client
/// would read as a bad field instead of a bad body. One pass, no allocation; also bounds the
/// nesting depth, since a parser given `[[[[...]]]]` ten thousand deep spends stack and time on it.
public enum StrictJSONValidator {
    /// What the top-level value is.
    public enum TopLevel: Sendable, Equatable {
        case object, array, string, number, literal
    }

    /// Why the text is not acceptable JSON.
    public enum Failure: Error, Sendable, Equatable {
        /// Not JSON at all (a parse error), with where and why.
        case syntax(offset: Int, reason: String)
        /// Valid so far, but nested deeper than the limit.
        case tooDeep(limit: Int)

        public var message: String {
            switch self {
            case let .syntax(offset, reason): "\(reason) at byte \(offset)"
            case let .tooDeep(limit): "the JSON nests deeper than \(limit) levels"
            }
        }
    }

    /// What a valid text is: the kind of its top-level value and, when asked for, where the
    /// value of one member of a top-level object lies (byte offsets), so that it can be
    /// decoded on its own without decoding the whole text twice.
    public struct Validated: Sendable, Equatable {
        public var topLevel: TopLevel
        /// The byte range of the captured member's value (the last one, if repeated).
        public var capturedRange: Range<Int>?
        /// A top-level member name used an escape sequence, so the captured member may be
        /// spelled in a way a byte comparison does not see.
        public var hasEscapedTopLevelName: Bool
    }

    /// Validates `bytes`; returns the kind of the top-level value.
    public static func validate(_ bytes: some Collection<UInt8>, maximumDepth: Int) throws(Failure) -> TopLevel {
        try validate(bytes, maximumDepth: maximumDepth, capturing: nil).topLevel
    }

    /// Validates `bytes`, noting where the value of the top-level member `capturing` lies.
    public static func validate(_ bytes: some Collection<UInt8>, maximumDepth: Int, capturing name: String?) throws(Failure) -> Validated {
        let key = name.map { Array($0.utf8) }
        let result = bytes.withContiguousStorageIfAvailable { scan($0, maximumDepth: maximumDepth, capturing: key) }
            ?? Array(bytes).withUnsafeBufferPointer { scan($0, maximumDepth: maximumDepth, capturing: key) }
        return try result.get()
    }

    private static func scan(_ buffer: UnsafeBufferPointer<UInt8>, maximumDepth: Int, capturing key: [UInt8]?) -> Result<Validated, Failure> {
        var scanner = Scanner(bytes: buffer, maximumDepth: maximumDepth, capturing: key)
        do throws(Failure) {
            let topLevel = try scanner.document()
            return .success(Validated(topLevel: topLevel, capturedRange: scanner.captured, hasEscapedTopLevelName: scanner.escapedTopLevelName))
        } catch {
            return .failure(error)
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        let maximumDepth: Int
        let key: [UInt8]?
        var position = 0
        var depth = 0
        var captured: Range<Int>?
        var escapedTopLevelName = false

        init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int, capturing key: [UInt8]?) {
            self.bytes = bytes
            self.maximumDepth = maximumDepth
            self.key = key
        }

        /// Whether the name that spans `range` (quotes excluded) is the captured key.
        private func isKey(_ range: Range<Int>) -> Bool {
            guard let key, range.count == key.count else { return false }
            return zip(bytes[range], key).allSatisfy { $0 == $1 }
        }

        private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        private func fail(_ reason: String) -> Failure { .syntax(offset: position, reason: reason) }

        mutating func document() throws(Failure) -> TopLevel {
            skipWhitespace()
            guard current != nil else { throw fail("the body is empty") }
            let kind = try value()
            skipWhitespace()
            guard current == nil else { throw fail("unexpected text after the JSON value") }
            return kind
        }

        private mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
        }

        private mutating func value() throws(Failure) -> TopLevel {
            guard let byte = current else { throw fail("unexpected end of the body, a value was expected") }
            switch byte {
            case UInt8(ascii: "{"): try object(); return .object
            case UInt8(ascii: "["): try array(); return .array
            case UInt8(ascii: "\""): try string(); return .string
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number(); return .number
            case UInt8(ascii: "t"): try literal("true"); return .literal
            case UInt8(ascii: "f"): try literal("false"); return .literal
            case UInt8(ascii: "n"): try literal("null"); return .literal
            default: throw fail(byte < 0x20 ? "a control character where a value was expected" : "'\(Character(Unicode.Scalar(byte)))' cannot start a value")
            }
        }

        private mutating func enter() throws(Failure) {
            depth += 1
            if depth > maximumDepth { throw .tooDeep(limit: maximumDepth) }
        }

        private mutating func object() throws(Failure) {
            try enter()
            position += 1
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                position += 1
                depth -= 1
                return
            }
            let isTopLevel = depth == 1
            while true {
                guard current == UInt8(ascii: "\"") else {
                    throw fail(current == UInt8(ascii: "}") ? "a trailing comma before '}'" : "an object member name (a string) was expected")
                }
                let nameStart = position + 1
                try string()
                let name = nameStart..<(position - 1)
                var capture = false
                if isTopLevel, key != nil {
                    if bytes[name].contains(UInt8(ascii: "\\")) { escapedTopLevelName = true }
                    capture = isKey(name)
                }
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw fail("':' was expected after a member name") }
                position += 1
                skipWhitespace()
                let valueStart = position
                _ = try value()
                if capture { captured = valueStart..<position }
                skipWhitespace()
                switch current {
                case UInt8(ascii: ",")?:
                    position += 1
                    skipWhitespace()
                case UInt8(ascii: "}")?:
                    position += 1
                    depth -= 1
                    return
                default:
                    throw fail("',' or '}' was expected in an object")
                }
            }
        }

        private mutating func array() throws(Failure) {
            try enter()
            position += 1
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                position += 1
                depth -= 1
                return
            }
            while true {
                if current == UInt8(ascii: "]") { throw fail("a trailing comma before ']'") }
                _ = try value()
                skipWhitespace()
                switch current {
                case UInt8(ascii: ",")?:
                    position += 1
                    skipWhitespace()
                case UInt8(ascii: "]")?:
                    position += 1
                    depth -= 1
                    return
                default:
                    throw fail("',' or ']' was expected in an array")
                }
            }
        }

        private mutating func literal(_ word: StaticString) throws(Failure) {
            let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
            for byte in expected {
                guard current == byte else { throw fail("not a JSON literal (true, false or null)") }
                position += 1
            }
        }

        private mutating func digits() -> Int {
            let start = position
            while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
            return position - start
        }

        private mutating func number() throws(Failure) {
            if current == UInt8(ascii: "-") { position += 1 }
            if current == UInt8(ascii: "0") {
                position += 1
            } else {
                guard digits() > 0 else { throw fail("a digit was expected in a number") }
            }
            if current == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { throw fail("a digit was expected after the decimal point") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                position += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
                guard digits() > 0 else { throw fail("a digit was expected in the exponent") }
            }
        }

        private mutating func string() throws(Failure) {
            position += 1
            while true {
                guard let byte = current else { throw fail("a string is not closed") }
                switch byte {
                case UInt8(ascii: "\""):
                    position += 1
                    return
                case UInt8(ascii: "\\"):
                    try escape()
                case 0..<0x20:
                    throw fail("a raw control character (U+\(hex(byte))) in a string; escape it")
                case 0x20..<0x80:
                    position += 1
                default:
                    try multibyteCharacter()
                }
            }
        }

        private func hex(_ byte: UInt8) -> String {
            let digits = Array("0123456789ABCDEF")
            return "00" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
        }

        private mutating func escape() throws(Failure) {
            position += 1
            guard let byte = current else { throw fail("a string is not closed") }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                position += 1
            case UInt8(ascii: "u"):
                position += 1
                let unit = try hexQuad()
                if (0xD800...0xDBFF).contains(unit) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard current == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                        throw fail("an unpaired surrogate escape")
                    }
                    position += 2
                    guard (0xDC00...0xDFFF).contains(try hexQuad()) else { throw fail("an unpaired surrogate escape") }
                } else if (0xDC00...0xDFFF).contains(unit) {
                    throw fail("an unpaired surrogate escape")
                }
            default:
                throw fail("an invalid escape sequence in a string")
            }
        }

        private mutating func hexQuad() throws(Failure) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = current else { throw fail("a string is not closed") }
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw fail("\\u must be followed by four hexadecimal digits")
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            return value
        }

        /// One UTF-8 sequence of two to four bytes, as RFC 3629 allows it.
        private mutating func multibyteCharacter() throws(Failure) {
            let length = UTF8Sequence.validLength(in: bytes, at: position)
            guard length > 0 else { throw fail("invalid UTF-8") }
            position += length
        }
    }
}
