import Foundation
import Server
import Testing

/// The /proc/self/stat parsing behind the process_* metrics.
struct ProcessStatisticsTests {
    /// A command name with spaces and parentheses (it is whatever the binary is called) does not
    /// shift the fields: they are read after the last ')'.
    @Test func fieldsAreReadAfterTheLastParenthesisOfTheCommandName() throws {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
        // cutime cstime priority nice threads itrealvalue starttime vsize rss ...
        let stat = "4242 (ares (serve) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 12345 656441344 14720 18446744073709551615"
        let fields = try #require(ProcessStatistics.statFields(stat))
        #expect(fields.first == "S")
        let statistics = ProcessStatistics.from(statFields: fields, ticksPerSecond: 100, pageSize: 4096, bootTime: 1_000_000)
        #expect(statistics.cpuSeconds == 3.0)                         // (250 + 50) / 100
        #expect(statistics.virtualBytes == 656_441_344)
        #expect(statistics.residentBytes == 60_293_120)  // 14,720 pages of 4 kB
        #expect(statistics.startTimeSeconds == 1_000_000 + 123.45)
    }

    @Test func aTruncatedOrDamagedLineGivesNoValuesInsteadOfWrongOnes() {
        #expect(ProcessStatistics.statFields("no parenthesis at all") == nil)
        let short = ProcessStatistics.statFields("1 (x) S 1 2")
        let statistics = ProcessStatistics.from(statFields: short ?? [], ticksPerSecond: 100, pageSize: 4096, bootTime: nil)
        #expect(statistics == ProcessStatistics())
        let garbage = ProcessStatistics.statFields("1 (x) S a b c d e f g h i j k l m n o p q r s t u v") ?? []
        #expect(ProcessStatistics.from(statFields: garbage, ticksPerSecond: 100, pageSize: 4096, bootTime: 0) == ProcessStatistics())
    }

    @Test func thisProcessReportsItsOwnMemoryAndCPU() throws {
        let statistics = ProcessStatistics.current()
        #if os(Linux)
        #expect((statistics.residentBytes ?? 0) > 1_000_000)
        #expect(statistics.cpuSeconds != nil)
        #expect((statistics.openDescriptors ?? 0) >= 3)
        #expect((statistics.startTimeSeconds ?? 0) > 1_600_000_000)
        #endif
    }
}
