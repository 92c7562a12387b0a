import ArgumentParser
import AresComposition
import Audit
import Foundation

/// `ares audit list|verify`: read the data directory's audit trail (`audit.sqlite`), the
/// hash-chained record of security events that `ares serve` and `ares keys` write.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read and verify the audit trail: authentication failures, denials, key changes, admin actions, server starts.",
        subcommands: [List.self, Verify.self]
    )

    static func openTrail(_ data: DataDirectoryOptions) throws -> AuditTrail {
        let configuration = try AresConfiguration.load(data)
        return try AuditTrail.openExisting(path: ServerEnvironment.auditTrailPath(configuration))
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the newest audit records, oldest first.")

        @Option(help: "Only records since a time: an RFC 3339 date or time (2026-11-30, 2026-11-30T05:00:00Z) or a duration ago (90s, 15m, 2h, 7d).")
        var since: AuditSince?

        @Option(help: "Only records of this kind: \(AuditKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        var kind: AuditKind?

        @Option(help: "At most this many records, the newest (1 to 100000).")
        var limit = 100

        @Option(help: "text or json.")
        var format: Format = .text

        @OptionGroup var data: DataDirectoryOptions

        func validate() throws {
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 100000 (got \(limit))") }
        }

        func run() async throws {
            try await Console.reportingErrors {
                let trail = try AuditCommand.openTrail(data)
                let records = try await trail.list(kinds: kind.map { [$0] }, since: since?.date, limit: limit)
                switch format {
                case .json: print(try AuditRecordJSON.document(records))
                case .text:
                    if records.isEmpty { print("No audit records\(kind == nil && since == nil ? "" : " match").") }
                    for record in records { print(AuditRecordJSON.line(record)) }
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the audit trail's hash chain; exits non-zero and names the first broken record when it was altered.")

        @OptionGroup var data: DataDirectoryOptions

        func run() async throws {
            try await Console.reportingErrors {
                let verification = try await AuditCommand.openTrail(data).verify()
                if let first = verification.breaks.first {
                    print("audit trail BROKEN: \(first)")
                    if verification.breaks.count > 1 { print("(\(verification.breaks.count) problems in all; \(verification.records) records)") }
                    throw ExitCode.failure
                }
                print("audit trail intact: \(verification.records) records, head \(verification.headHash ?? "(none)")")
            }
        }
    }
}

extension AuditKind: ExpressibleByArgument {}

/// `--since`: a point in time, or a duration before now.
struct AuditSince: ExpressibleByArgument {
    var date: Date

    init?(argument: String) {
        guard let date = Self.parse(argument, now: Date()) else { return nil }
        self.date = date
    }

    static func parse(_ text: String, now: Date) -> Date? {
        if let unit = text.last, let seconds = ["s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0][String(unit)],
           let count = Int(text.dropLast()), count >= 0, count <= 36_500 * 86_400 {
            return now.addingTimeInterval(-Double(count) * seconds)
        }
        if let time = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return time }
        if let time = try? Date.ISO8601FormatStyle().parse(text) { return time }
        if let day = try? Date.ISO8601FormatStyle().year().month().day().parse(text) { return day }
        return nil
    }
}
