import ArgumentParser
import Foundation
import Storage

/// Durable append throughput of the event store (group commit) and stream read time.
struct EventStoreBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eventstore",
        abstract: "Appended events/s with concurrent appenders, and the time to read a 10,000-event stream."
    )

    @Option(help: "Concurrent appenders.")
    var appenders = 64

    @Option(help: "Events in total, over all appenders.")
    var events = 20_000

    @Option(help: "A scratch folder (emptied first).")
    var directory = "/tmp/ares-bench-events"

    func run() async throws {
        let folder = URL(fileURLWithPath: directory)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("events.sqlite").path)
        let payload = Data(String(repeating: "x", count: 180).utf8)
        let clock = ContinuousClock()

        for (label, writers, total) in [("1 appender", 1, min(2_000, events)), ("\(appenders) appenders", appenders, events)] {
            let perWriter = total / writers
            let elapsed = try await clock.measure {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<writers {
                        group.addTask {
                            for _ in 0..<perWriter {
                                _ = try await store.append([NewEvent(type: "Bench", payload: payload)], to: "\(label)-\(writer)", expectedVersion: nil)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let seconds = Statistics.seconds(elapsed)
            print("\(label): \(writers * perWriter) durable appends in \(Statistics.format(seconds, 2)) s = \(Statistics.whole(Double(writers * perWriter) / seconds)) events/s")
        }

        // One stream of 10,000 events, appended in batches, then read back.
        for start in stride(from: 0, to: 10_000, by: 500) {
            _ = try await store.append(Array(repeating: NewEvent(type: "Step", payload: payload), count: 500), to: "long", expectedVersion: Int64(start))
        }
        var reads: [Double] = []
        for _ in 0..<9 {
            let elapsed = try await clock.measure { _ = try await store.read(stream: "long") }
            reads.append(Statistics.seconds(elapsed) * 1000)
        }
        print("read one 10,000-event stream: median \(Statistics.format(Statistics.percentile(reads, 0.5), 2)) ms")
    }
}
