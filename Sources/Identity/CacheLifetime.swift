import Foundation
import NIOHTTP1

/// How long a response may be reused, from its `Cache-Control` header (RFC 9111 §5.2.2):
/// `max-age=N`; `no-store` and `no-cache` mean "as briefly as allowed".
struct CacheLifetime: Equatable {
    /// Nil when the header says nothing usable.
    var seconds: Int64?

    init(headers: HTTPHeaders) {
        self.init(cacheControl: headers[canonicalForm: "Cache-Control"].map(String.init))
    }

    init(cacheControl values: [String]) {
        var seconds: Int64?
        for directive in values.flatMap({ $0.split(separator: ",") }) {
            let parts = directive.split(separator: "=", maxSplits: 1)
            let name = parts.first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            switch name {
            case "no-store", "no-cache":
                seconds = 0
            case "max-age" where parts.count == 2 && seconds != 0:
                let digits = parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                // A huge number is "a long time", not an overflow: at most 19 digits are read.
                if !digits.isEmpty, digits.count <= 18, digits.allSatisfy(\.isASCII), let value = Int64(digits), value >= 0 {
                    seconds = value
                } else if digits.count > 18, digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
                    seconds = Int64.max
                }
            default:
                continue
            }
        }
        self.seconds = seconds
    }

    func clamped(default fallback: Duration, to range: ClosedRange<Duration>) -> Duration {
        guard let seconds else { return min(max(fallback, range.lowerBound), range.upperBound) }
        // Compared in seconds before any Duration is built, so no value can overflow.
        let upper = range.upperBound.components.seconds
        let lower = range.lowerBound.components.seconds
        if seconds >= upper { return range.upperBound }
        if seconds <= lower { return range.lowerBound }
        return .seconds(seconds)
    }
}
