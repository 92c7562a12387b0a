import ArgumentParser
import Foundation
import Knowledge

/// `ares-bench hnsw`: builds (or loads) the knowledge base's HNSW index over .fvecs files and
/// prints what bench/hnsw/run.sh compares with hnswlib: build seconds per thread count, a
/// serialization round trip, and per efSearch recall@10, single-thread QPS and p50/p99 latency.
struct HNSWBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hnsw",
        abstract: "Benchmark the HNSW vector index: build time, recall@10, single-thread QPS, latency.",
        discussion: """
            Data: .fvecs base and query vectors and .ivecs exact neighbours (bench/hnsw/make_vectors.py \
            writes them); base row i is inserted with id i. QPS is single-threaded: one search after \
            another on this thread, median of --rounds passes. bench/hnsw/run.sh runs this beside \
            hnswlib on the same files and prints both side by side.
            """
    )

    @Option(help: "Base vectors (.fvecs); row i gets id i.")
    var base: String
    @Option(help: "Query vectors (.fvecs).")
    var queries: String
    @Option(help: "Exact neighbours per query (.ivecs: base row numbers, nearest first).")
    var truth: String
    @Option(help: "Links per node on the upper levels (level 0 keeps 2·m).")
    var m: Int = 16
    @Option(help: "Candidate list size while building.")
    var efConstruction: Int = 200
    @Option(help: "Comma-separated candidate list sizes to search with.")
    var efSearch: IntegerList = IntegerList(values: [32, 64, 128, 256])
    @Option(help: "Build threads; a comma-separated list builds once per value, and the first build is queried.")
    var threads: IntegerList = IntegerList(values: [1])
    @Option(help: "Neighbours per query; recall is measured at 10.")
    var k: Int = 10
    @Option(help: "Timed passes over all queries per efSearch; medians are reported.")
    var rounds: Int = 3
    @Option(help: "Seed for the random node levels.")
    var seed: UInt64 = 42
    @Option(help: "Write the serialized index to this file.")
    var saveIndex: String?
    @Option(help: "Load this serialized index instead of building one.")
    var loadIndex: String?
    @Flag(help: "Only build (and save); run no queries.")
    var skipSearch = false
    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    func run() throws {
        let baseVectors = try VectorFile.read(base, kind: .floats)
        let queryVectors = try VectorFile.read(queries, kind: .floats)
        let truthRows = try VectorFile.read(truth, kind: .integers)
        guard baseVectors.dimension == queryVectors.dimension else {
            throw ValidationError("base has dimension \(baseVectors.dimension), queries \(queryVectors.dimension)")
        }
        guard truthRows.integerRows.count == queryVectors.rows.count, truthRows.dimension >= 10, k >= 10 else {
            throw ValidationError("need one ground-truth row of at least 10 neighbours per query, and k ≥ 10")
        }
        let parameters = HNSWParameters(m: m, efConstruction: efConstruction, efSearch: efSearch.values.first ?? 64)
        var summary = Summary(
            count: baseVectors.rows.count, dimension: baseVectors.dimension, m: m, efConstruction: efConstruction
        )
        print("ares HNSW: \(baseVectors.rows.count) × \(baseVectors.dimension) base, \(queryVectors.rows.count) queries, M=\(m), efC=\(efConstruction)")

        let index: HNSWIndex
        if let loadIndex {
            var loaded: HNSWIndex?
            let seconds = try Self.seconds {
                let bytes = try Self.readFile(loadIndex)
                loaded = try HNSWIndex(serialized: bytes)
            }
            guard let loaded else { throw ValidationError("could not load \(loadIndex)") }
            index = loaded
            summary.loadSeconds = seconds
            print("  load (read file + decode + validate): \(Self.format(seconds, digits: 3)) s")
        } else {
            let batch = baseVectors.rows.enumerated().map { (id: UInt64($0.offset), vector: $0.element) }
            var first: HNSWIndex?
            for threadCount in threads.values {
                let built = HNSWIndex(dimension: baseVectors.dimension, parameters: parameters, seed: seed)
                built.reserveCapacity(batch.count)
                let seconds = try Self.seconds { try built.insert(batch: batch, threads: threadCount) }
                summary.builds.append(Summary.Build(threads: threadCount, seconds: seconds))
                print("  build (\(threadCount) thread\(threadCount == 1 ? "" : "s")): \(Self.format(seconds, digits: 2)) s")
                if first == nil { first = built }
            }
            guard let first else { throw ValidationError("--threads needs at least one value") }
            index = first
            try roundTrip(index, queries: queryVectors.rows, summary: &summary)
        }

        if !skipSearch {
            print("  efSearch  recall@10       QPS    p50 µs    p99 µs")
            for ef in efSearch.values {
                let entry = measure(index, ef: ef, queries: queryVectors.rows, truth: truthRows.integerRows)
                summary.search.append(entry)
                print("  " + [
                    String(ef).leftPadded(8), Self.format(entry.recall, digits: 4).leftPadded(9),
                    Self.format(entry.qps, digits: 0).leftPadded(9), Self.format(entry.p50us, digits: 0).leftPadded(9),
                    Self.format(entry.p99us, digits: 0).leftPadded(9),
                ].joined(separator: " "))
            }
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(summary).write(to: URL(fileURLWithPath: json))
        }
    }

    /// Serializes, reloads, and checks that the copy answers every query exactly as the original.
    private func roundTrip(_ index: HNSWIndex, queries: [[Float]], summary: inout Summary) throws {
        var bytes: [UInt8] = []
        let serializeSeconds = Self.seconds { bytes = index.serialized() }
        var reloaded: HNSWIndex?
        let loadSeconds = try Self.seconds { reloaded = try HNSWIndex(serialized: bytes) }
        guard let reloaded else { throw ValidationError("reload failed") }
        if let saveIndex {
            try Data(bytes).write(to: URL(fileURLWithPath: saveIndex))
        }
        let ef = efSearch.values.max() ?? 64
        var identical = 0
        for query in queries where index.search(query, k: k, efSearch: ef) == reloaded.search(query, k: k, efSearch: ef) {
            identical += 1
        }
        summary.serialization = Summary.Serialization(
            bytes: bytes.count, serializeSeconds: serializeSeconds, loadSeconds: loadSeconds,
            identicalResults: identical, queries: queries.count
        )
        let megabytes = Self.format(Double(bytes.count) / 1_000_000, digits: 1)
        print("  serialize: \(Self.format(serializeSeconds, digits: 3)) s (\(megabytes) MB), load: \(Self.format(loadSeconds, digits: 3)) s; "
            + "reloaded index gives identical results on \(identical)/\(queries.count) queries (efSearch \(ef))")
        guard identical == queries.count else {
            throw ValidationError("serialization round trip changed search results")
        }
    }

    /// `rounds` timed single-thread passes over all queries at one efSearch.
    private func measure(_ index: HNSWIndex, ef: Int, queries: [[Float]], truth: [[Int32]]) -> Summary.Search {
        let clock = ContinuousClock()
        var rates: [Double] = []
        var latencies: [Double] = []
        latencies.reserveCapacity(queries.count * max(rounds, 1))
        // Recall is counted on the first pass; every pass returns the same results.
        var hits = 0
        for round in 0..<max(rounds, 1) {
            let passStart = clock.now
            for (row, query) in queries.enumerated() {
                let start = clock.now
                let results = index.search(query, k: k, efSearch: ef)
                latencies.append(Self.seconds(start.duration(to: clock.now)) * 1_000_000)
                if round == 0 {
                    let expected = Set(truth[row].prefix(10).map { UInt64($0) })
                    hits += results.prefix(10).filter { expected.contains($0.id) }.count
                }
            }
            rates.append(Double(queries.count) / Self.seconds(passStart.duration(to: clock.now)))
        }
        latencies.sort()
        return Summary.Search(
            ef: ef,
            recall: Double(hits) / Double(queries.count * 10),
            qps: Self.median(rates),
            qpsRounds: rates,
            p50us: latencies[latencies.count / 2],
            p99us: latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
        )
    }

    /// The whole file in one allocation (going through Data would copy it a second time).
    private static func readFile(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw ValidationError("cannot open \(path)") }
        defer { fclose(file) }
        guard fseeko(file, 0, SEEK_END) == 0 else { throw ValidationError("cannot seek in \(path)") }
        let size = Int(ftello(file))
        rewind(file)
        let bytes = [UInt8](unsafeUninitializedCapacity: max(size, 0)) { buffer, initialized in
            initialized = buffer.baseAddress.map { fread($0, 1, buffer.count, file) } ?? 0
        }
        guard size >= 0, bytes.count == size else { throw ValidationError("could not read all of \(path)") }
        return bytes
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    private static func seconds(_ work: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try work()
        return seconds(start.duration(to: clock.now))
    }

    private static func format(_ value: Double, digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }

    /// A comma-separated list of integers on the command line, e.g. `--ef-search 32,64,128`.
    struct IntegerList: ExpressibleByArgument {
        var values: [Int]

        init(values: [Int]) { self.values = values }

        init?(argument: String) {
            let parsed = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
            values = parsed.compactMap { $0 }
        }

        var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
    }

    /// What the run printed, as JSON for run.sh (the same shape hnswlib_reference.py writes).
    struct Summary: Codable {
        struct Build: Codable {
            var threads: Int
            var seconds: Double
        }
        struct Serialization: Codable {
            var bytes: Int
            var serializeSeconds: Double
            var loadSeconds: Double
            var identicalResults: Int
            var queries: Int
        }
        struct Search: Codable {
            var ef: Int
            var recall: Double
            var qps: Double
            var qpsRounds: [Double]
            var p50us: Double
            var p99us: Double
        }

        var library = "ares"
        var count: Int
        var dimension: Int
        var m: Int
        var efConstruction: Int
        var builds: [Build] = []
        var loadSeconds: Double?
        var serialization: Serialization?
        var search: [Search] = []
    }

    /// TEXMEX .fvecs / .ivecs files: per row an Int32 dimension, then that many Float32 / Int32.
    struct VectorFile {
        enum Kind { case floats, integers }

        var dimension: Int
        var rows: [[Float]] = []
        var integerRows: [[Int32]] = []

        static func read(_ path: String, kind: Kind) throws -> VectorFile {
            let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
            return try data.withUnsafeBytes { raw -> VectorFile in
                guard raw.count >= 4 else { throw ValidationError("\(path): empty or not a vector file") }
                let dimension = Int(Int32(littleEndian: raw.loadUnaligned(as: Int32.self)))
                let rowBytes = (dimension + 1) * 4
                guard dimension > 0, raw.count % rowBytes == 0 else {
                    throw ValidationError("\(path): not a .fvecs/.ivecs file (dimension \(dimension), \(raw.count) bytes)")
                }
                var file = VectorFile(dimension: dimension)
                for rowStart in stride(from: 0, to: raw.count, by: rowBytes) {
                    guard Int32(littleEndian: raw.loadUnaligned(fromByteOffset: rowStart, as: Int32.self)) == dimension else {
                        throw ValidationError("\(path): rows of different dimensions at byte \(rowStart)")
                    }
                    switch kind {
                    case .floats:
                        file.rows.append((0..<dimension).map {
                            Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: rowStart + 4 + $0 * 4, as: UInt32.self)))
                        })
                    case .integers:
                        file.integerRows.append((0..<dimension).map {
                            Int32(littleEndian: raw.loadUnaligned(fromByteOffset: rowStart + 4 + $0 * 4, as: Int32.self))
                        })
                    }
                }
                return file
            }
        }
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
