import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// UTC timestamps with milliseconds, e.g. 2026-11-28T08:41:56.127Z, formatted by hand: they
/// go into every log line and task status, and Foundation's date formatting costs microseconds.
enum RFC3339 {
    static func string(from date: Date) -> String {
        let interval = date.timeIntervalSince1970
        let wholeSeconds = interval.rounded(.down)
        return string(seconds: Int(wholeSeconds), milliseconds: Int((interval - wholeSeconds) * 1000))
    }

    static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return string(seconds: Int(now.tv_sec), milliseconds: Int(now.tv_nsec / 1_000_000))
    }

    private static func string(seconds: Int, milliseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = min(999, max(0, milliseconds))
        let millisText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millisText)Z"
    }
}
