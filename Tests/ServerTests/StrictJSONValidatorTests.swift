import Foundation
import Server
import Testing

/// The request-body validator: RFC 8259 exactly, valid UTF-8 only, bounded nesting.
@Suite struct StrictJSONValidatorTests {
    private func check(_ text: String, depth: Int = 32) -> Result<StrictJSONValidator.TopLevel, StrictJSONValidator.Failure> {
        check(Data(text.utf8), depth: depth)
    }

    private func check(_ bytes: Data, depth: Int = 32) -> Result<StrictJSONValidator.TopLevel, StrictJSONValidator.Failure> {
        do { return .success(try StrictJSONValidator.validate(bytes, maximumDepth: depth)) } catch { return .failure(error) }
    }

    private func isSyntaxError(_ result: Result<StrictJSONValidator.TopLevel, StrictJSONValidator.Failure>) -> Bool {
        if case .failure(.syntax) = result { return true }
        return false
    }

    @Test func acceptsEveryKindOfValidJSON() throws {
        let valid: [(String, StrictJSONValidator.TopLevel)] = [
            (#"{"a":[1,-2.5e+3,0,0.1E-2,true,false,null,"x\"\\\/\b\f\n\r\tz\u00e9\uD83D\uDE00"],"b":{}}"#, .object),
            (" [ ] ", .array), (#""é ü 😀""#, .string), ("-0", .number), ("null", .literal), ("\n\t{ }\r\n", .object),
        ]
        for (text, kind) in valid {
            #expect(try check(text).get() == kind, "\(text)")
        }
        // Foundation's own encoder output always passes.
        let encoded = try JSONSerialization.data(withJSONObject: ["text": "line\nbreak \u{1} ü", "n": [1, 2.5, -3]])
        #expect(try check(encoded).get() == .object)
    }

    @Test func refusesWhatFoundationWouldLetThrough() {
        let invalid = [
            #"{"a":1,}"#, "[1,2,]", "[,1]", "{,}", #"{"a" 1}"#, "{'a':1}", "[01]", "[1.]", "[.5]", "[1e]", "[+1]", "[NaN]", "[Infinity]",
            "[tru]", "[nul]", #"["a\x"]"#, #"["\u12G4"]"#, #"["\uD800"]"#, #"["\uDC00x"]"#, "[1] [2]", "", "   ", "{", "[", #"{"a":"#,
            "\"open", "/* comment */ {}",
        ]
        for text in invalid {
            #expect(isSyntaxError(check(text)), "'\(text)' was accepted")
        }
        let badBytes: [[UInt8]] = [
            [0x22, 0xC3, 0x28, 0x22],                 // invalid continuation
            [0x22, 0xC0, 0xAF, 0x22],                 // overlong
            [0x22, 0xED, 0xA0, 0x80, 0x22],           // an encoded surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],     // above U+10FFFF
            [0x22, 0xE2, 0x82, 0x22],                 // truncated
            [0x22, 0x61, 0x00, 0x62, 0x22],           // raw NUL
            [0x22, 0x0A, 0x22],                       // raw line feed
            [0xFF],
        ]
        for bytes in badBytes {
            #expect(isSyntaxError(check(Data(bytes))), "\(bytes) was accepted")
        }
    }

    @Test func boundsTheNestingDepth() throws {
        #expect(try check(String(repeating: "[", count: 32) + String(repeating: "]", count: 32)).get() == .array)
        let deep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect(check(deep) == .failure(.tooDeep(limit: 32)))
        // Far too deep, and not closed: refused at the limit, without recursing further.
        #expect(check(String(repeating: "[{\"a\":", count: 100_000)) == .failure(.tooDeep(limit: 32)))
        #expect(try check(#"{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#).get() == .object, "brackets in strings do not count")
    }

    @Test func saysWhereTheTextWentWrong() {
        guard case let .failure(failure) = check(#"{"a":1,}"#) else { Issue.record("accepted"); return }
        #expect(failure.message.contains("trailing comma") && failure.message.contains("byte 7"), "\(failure.message)")
    }
}
