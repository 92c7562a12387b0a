import ArgumentParser
import Foundation
import Logging
import PostgresStorage
import Storage

/// Durable appends with concurrent appenders on PostgreSQL and on SQLite, side by side in one
/// run (rounds alternate, so both see the same machine): issue 16's target is PostgreSQL at
/// 50 % of SQLite's rate or better. bench/postgres/appends.sh starts a throwaway cluster for it.
struct PostgresEventStoreBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eventstore-postgres",
        abstract: "Durable appends/s with concurrent appenders: PostgreSQL against SQLite in the same run.",
        discussion: "The database comes from --database or $ARES_DATABASE_URL, its password from $ARES_DATABASE_PASSWORD_FILE."
    )

    @OptionGroup var postgres: PostgresBenchmarkSetup

    @Option(help: "Concurrent appenders.")
    var appenders = 64

    @Option(help: "Appends per round, over all appenders (one event each).")
    var events = 8_000

    @Option(help: "Rounds per store (alternating); the median is reported.")
    var rounds = 3

    @Option(help: "A scratch folder for the SQLite file (emptied first).")
    var directory = "/tmp/ares-bench-events-pg"

    func run() async throws {
        guard appenders > 0, events >= appenders, rounds > 0 else {
            throw ValidationError("--appenders, --events (at least one per appender) and --rounds must be positive")
        }
        let settings = try postgres.settings()
        let (sqlite, folder) = try PostgresBenchmarkSetup.scratchSQLiteStore(in: directory)
        let logger = PostgresBenchmarkSetup.logger(label: "ares-bench.postgres")
        let payload = Data(String(repeating: "x", count: 180).utf8)
        let perWriter = events / appenders
        let total = perWriter * appenders
        print("durable appends, \(appenders) appenders, \(total) appends of one 180-byte event per round, \(rounds) rounds per store")
        print("PostgreSQL: \(settings) (pool of \(postgres.connections) connections); SQLite: \(folder.path)")

        try await PostgresDatabase.withDatabase(settings: settings, logger: logger) { database in
            let postgresStore = PostgresEventStore(database: database)
            var rates: [String: [Double]] = ["SQLite": [], "PostgreSQL": []]
            for round in 0..<rounds {
                for (name, store) in [("SQLite", sqlite as any EventStore), ("PostgreSQL", postgresStore as any EventStore)] {
                    let seconds = try await Self.appendRound(store: store, prefix: "r\(round)-\(UUID().uuidString.prefix(8))",
                                                             appenders: appenders, perWriter: perWriter, payload: payload)
                    let rate = Double(total) / seconds
                    rates[name, default: []].append(rate)
                    print("round \(round + 1) \(name): \(total) appends in \(Statistics.format(seconds, 2)) s = \(Statistics.whole(rate)) events/s")
                }
            }
            let sqliteMedian = Statistics.percentile(rates["SQLite"] ?? [], 0.5)
            let postgresMedian = Statistics.percentile(rates["PostgreSQL"] ?? [], 0.5)
            print("median SQLite: \(Statistics.whole(sqliteMedian)) events/s")
            print("median PostgreSQL: \(Statistics.whole(postgresMedian)) events/s")
            print("PostgreSQL / SQLite: \(Statistics.whole(postgresMedian / max(sqliteMedian, 1) * 100)) % (target: at least 50 %)")
            let verification = try await postgresStore.verify()
            print("PostgreSQL chains: \(verification.streams) streams, \(verification.events) events, intact: \(verification.isIntact)")
        }
    }

    /// One round: `appenders` tasks, each appending `perWriter` single events to a stream of its own.
    static func appendRound(store: any EventStore, prefix: String, appenders: Int, perWriter: Int, payload: Data) async throws -> Double {
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<appenders {
                    group.addTask {
                        for _ in 0..<perWriter {
                            _ = try await store.append([NewEvent(type: "Bench", payload: payload)], to: "\(prefix)-\(writer)", expectedVersion: nil)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        return Statistics.seconds(elapsed)
    }
}
