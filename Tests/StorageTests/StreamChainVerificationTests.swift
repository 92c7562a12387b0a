import Foundation
import Testing
import Storage

/// One stream's hash chain checked from its stored events (what `ares/verifyTask` answers).
@Suite struct StreamChainVerificationTests {
    private func storedStream() async throws -> [StoredEvent] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-chain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteEventStore(path: directory.appendingPathComponent("events.sqlite").path)
        _ = try await store.append((1...4).map { NewEvent(type: "Step", payload: Data(#"{"n":\#($0)}"#.utf8)) }, to: "task-1", expectedVersion: 0)
        return try await store.read(stream: "task-1")
    }

    @Test func anUntouchedStreamIsIntact() async throws {
        let events = try await storedStream()
        #expect(events.count == 4)
        #expect(StreamChainVerification.breaks(in: events).isEmpty)
    }

    @Test func aChangedRemovedOrReorderedEventIsReported() async throws {
        let events = try await storedStream()
        var changed = events
        changed[1].payload = Data(#"{"n":99}"#.utf8)
        #expect(StreamChainVerification.breaks(in: changed).map(\.version) == [2])
        #expect(StreamChainVerification.breaks(in: changed).first?.problem.contains("changed") == true)

        var removed = events
        removed.remove(at: 2)
        let removedBreaks = StreamChainVerification.breaks(in: removed)
        #expect(removedBreaks.contains { $0.version == 4 && $0.problem.contains("missing") })

        let swapped = [events[0], events[2], events[1], events[3]]
        #expect(!StreamChainVerification.breaks(in: swapped).isEmpty)

        var extreme = events
        extreme[3].version = .max
        #expect(!StreamChainVerification.breaks(in: extreme).isEmpty, "a version of Int64.max is reported, not an overflow")
    }
}
