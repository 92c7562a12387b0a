/// Checks a request body's JSON nesting before it is parsed: a parser given
/// `[[[[...]]]]` ten thousand deep spends stack and time on it, and no valid ares request
/// nests deeper than a few levels.
public enum JSONShapeLimits {
    /// The deepest array/object nesting in `bytes`, or nil when it exceeds `limit` (the scan
    /// stops there). Brackets inside strings do not count.
    public static func nestingDepth(of bytes: some Collection<UInt8>, limit: Int) -> Int? {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return nil }
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            default:
                break
            }
        }
        return deepest
    }
}
