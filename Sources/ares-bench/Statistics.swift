import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Small helpers for reporting measurements.
enum Statistics {
    /// The q-quantile (0...1) of `values` by nearest rank.
    static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty, q.isFinite else { return .nan }
        let sorted = values.sorted()
        // q is clamped to 0...1 first, so the rank is a finite number from 0 to the count: the conversion cannot trap.
        let rank = Int((min(max(q, 0), 1) * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// Peak resident set size of this process so far, in MB.
    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Resident set size of this process now, in MB (Linux: /proc/self/statm; 0 elsewhere).
    static func residentMegabytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// A measurement as a whole number for a report line (a rate, a count of bytes), or "n/a"
    /// when it is not finite: a round too short for the clock gives an infinite rate, a median of
    /// no rounds NaN, and `Int(_:)` of either would stop the benchmark.
    static func whole(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        return String(format: "%.0f", value.rounded())
    }

    static func format(_ value: Double, _ digits: Int = 3) -> String {
        String(format: "%.\(digits)f", value)
    }
}
