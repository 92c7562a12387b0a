import Foundation

/// How long ended tasks are kept, as people write it: a whole number and a unit, `90m`, `12h`,
/// `30d` or `2w` (seconds are accepted too, `30s`, for drills and tests). Bounded to one
/// second … ten years, so that no value reaches an overflowing conversion, and a unit is
/// required: a typo such as `30` is refused rather than read as 30 seconds.
public struct RetentionPeriod: Sendable, Equatable, CustomStringConvertible {
    public static let shortest = 1
    public static let longest = 10 * 366 * 86_400
    public static let accepted = "a whole number with a unit s, m, h, d or w (seconds, minutes, hours, days, weeks), between 1s and 3660d, e.g. 12h or 30d"

    public let seconds: Int
    public let description: String

    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let unit = trimmed.last, let multiplier = Self.multipliers[unit],
              let count = Int(trimmed.dropLast()), count > 0, count <= Self.longest / multiplier else {
            throw RetentionPeriodError(text: String(text.prefix(50)))
        }
        let seconds = count * multiplier
        guard seconds >= Self.shortest else { throw RetentionPeriodError(text: String(text.prefix(50))) }
        self.seconds = seconds
        description = trimmed
    }

    private static let multipliers: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400]

    public var duration: Duration { .seconds(seconds) }

    /// The end time before which tasks are pruned, for a pass at `now`.
    public func cutoff(now: Date = Date()) -> Date { now.addingTimeInterval(-Double(seconds)) }
}

public struct RetentionPeriodError: Error, CustomStringConvertible, Sendable, Equatable {
    public var text: String
    public var description: String { "'\(text)' is not a retention period: expected \(RetentionPeriod.accepted)" }
}
