import Foundation
import GRDB
import Testing
@testable import Storage

/// The event store's growth under retention, on real SQLite files (issue 12): tasks are written
/// and pruned as a server with `--retention` does, and the file must grow by no more than what a
/// pruned task leaves on purpose (its summary and checkpoint, its episode) plus a bounded
/// overhead. Deterministic: fixed sizes and pseudo-random ids from a fixed seed, no clock.
@Suite struct RetentionDiskGrowthTests {
    typealias Scratch = SQLiteEventStoreTests.Scratch

    /// Event sizes of one finished task, shaped like a real one (~7 kB over 10 events, BENCHMARKS.md
    /// "Bytes per finished task"): submitted, planned, evidence, report, citations, completed.
    static let taskEventBytes = [420, 380, 1_300, 1_250, 1_330, 310, 2_600, 60, 240, 90]
    /// A summary and an episode of the sizes the retention soak measured (~410 and ~450 bytes).
    static let summaryBytes = 410
    static let episodeBytes = 450
    /// Tasks kept unpruned at any time (the retention window), and tasks per retention pass.
    static let window = 20
    static let pass = 20

    /// SplitMix64: ids that look like UUIDs and arrive in random order, as task ids do (the
    /// order matters to how full the checkpoint index's pages are), but the same every run.
    struct IDs {
        var state: UInt64
        mutating func next() -> String {
            func word() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
            let hex = String(format: "%016llx%016llx", word(), word())
            let characters = Array(hex)
            return "task-\(String(characters[0..<8]))-\(String(characters[8..<12]))-\(String(characters[12..<16]))-\(String(characters[16..<20]))-\(String(characters[20..<32]))"
        }
    }

    /// Writes `count` tasks (each with an episode in `memory-episodes`), pruning every task but
    /// the newest `window` after every `pass` tasks; returns the store's bytes (file + WAL)
    /// after each pass.
    func soak(_ store: SQLiteEventStore, tasks count: Int, ids: inout IDs, kept: inout [(String, Int64)]) async throws -> [Int64] {
        var sizes: [Int64] = []
        for index in 1...count {
            let id = ids.next()
            let events = Self.taskEventBytes.enumerated().map { step, bytes in
                NewEvent(type: "Step\(step)", payload: Data(repeating: UInt8(truncatingIfNeeded: index &+ step), count: bytes))
            }
            let stored = try await store.append(events, to: id, expectedVersion: 0)
            kept.append((id, try #require(stored.last).version))
            _ = try await store.append([NewEvent(type: "EpisodeRecorded", payload: Data(repeating: 0x65, count: Self.episodeBytes))],
                                       to: "memory-episodes", expectedVersion: nil)
            guard index % Self.pass == 0, kept.count > Self.window else { continue }
            let prune = kept.prefix(kept.count - Self.window)
            let outcome = try await store.prune(prune.map {
                PruneRequest(stream: $0.0, expectedVersion: $0.1, summary: Data(repeating: 0x73, count: Self.summaryBytes))
            })
            #expect(outcome.pruned.count == prune.count)
            kept.removeFirst(prune.count)
            sizes.append(outcome.bytesAfter)
        }
        return sizes
    }

    /// Where the file's bytes are (table or index: pages, bytes, unused bytes), for the message
    /// of a failing expectation; empty when this SQLite lacks the dbstat table.
    func breakdown(_ path: String) -> String {
        guard let queue = try? DatabaseQueue(path: path),
              let rows = try? queue.read({ db in
                  try Row.fetchAll(db, sql: "SELECT name, count(*), sum(pgsize), sum(unused) FROM dbstat GROUP BY name ORDER BY sum(pgsize) DESC")
              }) else { return "" }
        return rows.map { "\($0[0] as String? ?? "?"): \($0[1] as Int? ?? 0) pages, \($0[2] as Int? ?? 0) bytes, \($0[3] as Int? ?? 0) unused" }
            .joined(separator: "; ")
    }

    /// A store created by an older version (no auto-vacuum: its file was written before the
    /// store chose incremental mode) cannot give pages back, but reuses them: it grows as slowly.
    @Test(arguments: [true, false])
    func aPrunedTaskLeavesOnlyItsSummaryCheckpointAndEpisode(newFile: Bool) async throws {
        let scratch = try Scratch()
        if !newFile {
            let older = try DatabaseQueue(path: scratch.path)
            try await older.write { db in try db.execute(sql: "CREATE TABLE olderVersion (x INTEGER)") }
            try older.close()
        }
        let store = try SQLiteEventStore(path: scratch.path)
        #expect(try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") } == (newFile ? 2 : 0))
        var ids = IDs(state: 12)
        var kept: [(String, Int64)] = []
        // Warm-up: the retention window fills and the first passes run.
        let warm = try await soak(store, tasks: 100, ids: &ids, kept: &kept)
        let measured = try await soak(store, tasks: 400, ids: &ids, kept: &kept)
        let start = try #require(warm.last), end = try #require(measured.last)
        let perTask = Double(end - start) / 400
        // On purpose: the summary and the episode (860 bytes), plus the checkpoint row (~130:
        // id, version, head hash, time), its line in the retention record (~250: id, head hash,
        // summary hash) and the episode row's hashes (~180); the rest is SQLite's own (index
        // entries, B-tree pages about a fifth empty). Measured 1,812 bytes; 2,365 while the
        // retention record kept a second copy of every summary (base64), which this bound
        // refuses. A task itself (~8 kB here) must never stay.
        let bound = Double(Self.summaryBytes + Self.episodeBytes + 1_100)
        let message = "\(start) → \(end) bytes over 400 tasks: \(Int(perTask)) bytes a pruned task (bound \(Int(bound))); \(breakdown(scratch.path))"
        print(message)
        #expect(perTask <= bound, "\(message)")
        #expect(try await store.verify().isIntact)
        #expect(try await store.read(stream: "memory-episodes").count == 500)
    }
}
