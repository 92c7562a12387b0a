import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the kernel says about this process, read from /proc at scrape time: the numbers the
/// standard Prometheus process collector exports (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, ...), so that dashboards and alerts written for any other
/// service work for ares unchanged. On a system without /proc every field is nil and the
/// series are simply not exported.
public struct ProcessStatistics: Sendable, Equatable {
    public var cpuSeconds: Double?
    public var residentBytes: Double?
    public var virtualBytes: Double?
    public var startTimeSeconds: Double?
    public var openDescriptors: Double?
    public var maximumDescriptors: Double?

    public init() {}

    /// Reads the current process's statistics; fields that cannot be read stay nil.
    public static func current() -> ProcessStatistics {
        var statistics = ProcessStatistics()
        #if os(Linux)
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let fields = Self.statFields(stat), ticksPerSecond > 0 {
            statistics = Self.from(statFields: fields, ticksPerSecond: ticksPerSecond, pageSize: pageSize,
                                   bootTime: Self.bootTime())
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            statistics.openDescriptors = Double(entries.count)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {  // rlim_t.max is RLIM_INFINITY (the macro does not import)
            statistics.maximumDescriptors = Double(limit.rlim_cur)
        }
        #endif
        return statistics
    }

    /// The fields of /proc/self/stat after the command name, which is in parentheses and may
    /// itself contain spaces and parentheses: everything after the *last* ')' is split.
    /// Element 0 is the state (field 3 in proc(5)), so field N is at index N - 3.
    public static func statFields(_ stat: String) -> [Substring]? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
    }

    /// Builds the statistics from the stat fields (proc(5): utime 14, stime 15, starttime 22,
    /// vsize 23, rss 24). A field that is missing or not a number leaves its value nil.
    public static func from(statFields fields: [Substring], ticksPerSecond: Double, pageSize: Double, bootTime: Double?) -> ProcessStatistics {
        func field(_ number: Int) -> Double? {
            let index = number - 3
            guard index >= 0, index < fields.count else { return nil }
            return Double(fields[index])
        }
        var statistics = ProcessStatistics()
        if let user = field(14), let system = field(15) { statistics.cpuSeconds = (user + system) / ticksPerSecond }
        statistics.virtualBytes = field(23)
        if let pages = field(24) { statistics.residentBytes = pages * pageSize }
        if let started = field(22), let bootTime { statistics.startTimeSeconds = bootTime + started / ticksPerSecond }
        return statistics
    }

    /// The boot time in seconds since the epoch (`btime` in /proc/stat).
    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
