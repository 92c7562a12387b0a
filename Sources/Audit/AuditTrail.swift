import Foundation
import Logging
import Storage

/// The audit trail of a data directory: security events in their own hash-chained stream,
/// in their own SQLite file (`audit.sqlite`, 0600), apart from the task events so that
/// neither pruning tasks nor a damaged task store touches it.
///
/// It reuses the event store (`SQLiteEventStore`): the same chain format, the same group
/// commit and `synchronous=FULL`, the same `verify`; every event is one record of the stream
/// `audit`, its type the event's kind. Several processes may append (the server and
/// `ares keys`): each append is one IMMEDIATE SQLite transaction that reads the stream's head
/// inside it, so the chain stays linear.
///
/// Two ways in, by what an event may cost:
/// - `record`: the request path (authentication failures, denials). Never waits: the event is
///   queued (bounded and coalesced, see `AuditQueue`) and `AuditWriter` commits it within
///   about a quarter of a second. What can be lost: the refusals still queued when the process
///   dies without a graceful stop (at most `capacity` records, at most the last ~0.25 s of
///   refusals; a graceful stop writes them all). Accepted because these
///   events are refusals, where nothing was done and nothing was revealed; making each
///   refused request wait for an fsync would hand a flood of bad credentials a way to slow
///   the server down.
/// - `recordDurably`: actions that change something (keys, ingests, cancels, the start):
///   returns once the record is committed, so an acknowledged action is on disk.
public final class AuditTrail: Sendable {
    public static let fileName = "audit.sqlite"
    /// The one stream of the audit file.
    static let stream = "audit"
    public static let defaultCapacity = 4096

    public let path: String
    let store: SQLiteEventStore
    let queue: AuditQueue
    private let logger: Logger

    /// Opens the trail at `path`, creating the file (owner-only) if needed.
    public init(path: String, capacity: Int = AuditTrail.defaultCapacity, logger: Logger = Logger(label: "ares.audit")) throws {
        try Self.preparePrivateFile(path)
        self.path = path
        store = try SQLiteEventStore(path: path)
        queue = AuditQueue(capacity: capacity)
        self.logger = logger
    }

    /// Opens an existing trail for reading (`ares audit list|verify`); an error that says so
    /// when there is none yet, rather than an empty file made by looking.
    public static func openExisting(path: String) throws -> AuditTrail {
        guard FileManager.default.fileExists(atPath: path) else { throw AuditTrailError.noAuditFile(path) }
        return try AuditTrail(path: path)
    }

    /// The service that writes queued events; the server runs it beside its other services.
    public var writer: AuditWriter { writer(pause: .milliseconds(250)) }

    public func writer(pause: Duration) -> AuditWriter { AuditWriter(trail: self, pause: pause) }

    /// Queues `event` without waiting (see the type's notes on what may be lost). Returns
    /// false when the queue was full and the event was only counted.
    @discardableResult
    public func record(_ event: AuditEvent) -> Bool {
        queue.add(event)
    }

    /// Appends `event` and returns once it is committed to disk.
    public func recordDurably(_ event: AuditEvent) async throws {
        _ = try await store.append([try Self.encode(event)], to: Self.stream, expectedVersion: nil)
    }

    /// Writes everything queued, and a count of what was dropped since the last flush.
    func flush() async {
        let batch = queue.takeAll()
        var events = batch.events
        if !batch.dropped.isEmpty {
            // Saturating sum: the counts are saturated themselves.
            let total = batch.dropped.values.reduce(0) { sum, count in
                let (next, overflow) = sum.addingReportingOverflow(count)
                return overflow ? Int.max : next
            }
            var details = ["total": String(total)]
            for (kind, count) in batch.dropped { details[kind.rawValue] = String(count) }
            events.append(AuditEvent(kind: .recordsDropped, outcome: .failed, details: details))
        }
        var start = events.startIndex
        while start < events.endIndex {
            let end = min(start + SQLiteEventStore.maximumBatch, events.endIndex)
            let chunk = events[start..<end]
            do {
                _ = try await store.append(try chunk.map(Self.encode), to: Self.stream, expectedVersion: nil)
            } catch {
                // Nothing else can keep them; the log line says how many and why.
                logger.error("audit records could not be written", metadata: ["count": .stringConvertible(chunk.count),
                                                                               "error": .string(String(describing: error))])
            }
            start = end
        }
    }

    /// The newest records (at most `limit`), oldest first; only of `kinds` and only recorded
    /// at or after `since`, when given.
    public func list(kinds: [AuditKind]? = nil, since: Date? = nil, limit: Int) async throws -> [AuditRecord] {
        let sinceMicroseconds = since.map { Self.microseconds($0) }
        let stored = try await store.newestEvents(stream: Self.stream, types: kinds?.map(\.rawValue), recordedSince: sinceMicroseconds, limit: limit)
        return try stored.reversed().map { event in
            let decoded: AuditEvent
            do {
                decoded = try Self.decoder.decode(AuditEvent.self, from: event.payload)
            } catch {
                throw AuditTrailError.unreadableRecord(position: event.version, reason: String(describing: error).prefix(200).description)
            }
            return AuditRecord(position: event.version, recordedAt: event.recordedAt, hash: event.hash, event: decoded)
        }
    }

    /// Checks the chain: every record linked to the one before and matching its hash, none
    /// missing, and the newest one the one the stream's head names (records cut off the end
    /// are caught unless the head was rewritten too; keep the head hash elsewhere for that).
    public func verify() async throws -> AuditVerification {
        let chain = try await store.verify()
        var breaks = chain.breaks.map { AuditVerification.Break(position: $0.version, problem: $0.stream == Self.stream ? $0.problem : "stream '\($0.stream.prefix(100))': \($0.problem)") }
        let streams = try await store.streams()
        let head = try await store.newestEvents(stream: Self.stream, limit: 1).first
        if let foreign = streams.first(where: { $0.stream != Self.stream }) {
            breaks.append(.init(position: 0, problem: "the file holds a stream that is not the audit trail: '\(foreign.stream.prefix(100))'"))
        }
        if let info = streams.first(where: { $0.stream == Self.stream }) {
            if info.version != head?.version ?? 0 {
                breaks.append(.init(position: head?.version ?? 0,
                                    problem: "the trail's head says \(info.version) records but the newest is record \(head?.version ?? 0): records were removed from the end"))
            }
        } else if head != nil {
            breaks.append(.init(position: head?.version ?? 0, problem: "the trail has records but no head: the file was edited"))
        }
        return AuditVerification(records: chain.events, headHash: head?.hash, breaks: breaks)
    }

    /// Queued events not yet written (for tests and metrics).
    public var pendingCount: Int { queue.pendingCount }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static let decoder = JSONDecoder()

    static func encode(_ event: AuditEvent) throws -> NewEvent {
        NewEvent(type: event.kind.rawValue, payload: try encoder.encode(event))
    }

    /// Microseconds since 1970, clamped: a date far outside the representable range must not trap.
    static func microseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard value.isFinite else { return value > 0 ? Int64.max : Int64.min }
        if value >= 9.2e18 { return Int64.max }
        if value <= -9.2e18 { return Int64.min }
        return Int64(value)
    }

    /// Creates the file owner-only (0600) before SQLite opens it (SQLite gives its -wal and
    /// -shm files the database file's permissions), and tightens an existing one.
    private static func preparePrivateFile(_ path: String) throws {
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            guard manager.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let attributes = try manager.attributesOfItem(atPath: path)
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
    }
}
