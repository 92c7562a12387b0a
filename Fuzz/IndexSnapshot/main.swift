// fuzz-index-snapshot: the readers of the index snapshot (`index.bin`: IndexSnapshotFile, the
// BM25 image, the HNSW image) fed damaged bytes, then what start-up does with what loads: the
// snapshot's indexes are searched and, at the next ingest, changed.
//
// Input: one mode byte, then the bytes. Mode (byte % 4):
//   0  a whole `index.bin`, read from a file, with its checksums made to match (the outer one,
//      and the HNSW image's if its frame can be found), so that damage reaches the parsers;
//   1  a whole `index.bin` as given (checksum, magic and truncation checks);
//   2  an HNSW image alone (HNSWIndex(serialized:)), checksum made to match;
//   3  a BM25 image alone.
// Bit 2 of the mode byte (modes 0 and 2): also make the HNSW header's payload length match.
//
// Checked beyond "no trap": an index that loads serializes to bytes that load again, and
// re-serializing those gives the same bytes.
//
// `fuzz-index-snapshot --write-seeds FOLDER` writes the seed corpus for this target.
import BinaryCoding
import Foundation
import FuzzSupport
@testable import Knowledge

final class IndexSnapshotFuzzTarget: FuzzTarget {
    let file: URL

    init() {
        file = try! FuzzScratch.makeDirectory("index").appendingPathComponent("index.bin")
    }

    func run(_ input: UnsafeRawBufferPointer) {
        guard let mode = input.first else { return }
        var bytes = Array(input.dropFirst())
        let fixLength = mode & 0x4 != 0
        switch mode % 4 {
        case 0:
            Self.fixSnapshot(&bytes, fixLength: fixLength)
            readSnapshot(bytes)
        case 1:
            readSnapshot(bytes)
        case 2:
            Self.fixHNSW(&bytes, in: 0..<bytes.count, fixLength: fixLength)
            if let index = try? HNSWIndex(serialized: bytes) { Self.exercise(index) }
        default:
            if let index = try? BM25Index(serialized: bytes) { Self.exercise(index) }
        }
    }

    private func readSnapshot(_ bytes: [UInt8]) {
        // open/write/close: Data.write(to:) syncs the file to disk, which would be most of the time.
        let descriptor = open(file.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { fuzzFailure("cannot write the scratch file \(file.path)") }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == bytes.count else { fuzzFailure("wrote \(written) of \(bytes.count) bytes to the scratch file") }
        guard let contents = try? IndexSnapshotFile(url: file).read() else { return }
        _ = contents.embedderIdentity
        Self.exercise(contents.keyword)
        Self.exercise(contents.vectors)
    }

    static func exercise(_ index: BM25Index) {
        _ = index.search(terms: ["task", "search", "index", "zzz"], limit: 5)
        _ = index.search(terms: ["a", "the", "task"], limit: 1000)
        let bytes = index.serialized()
        guard let again = try? BM25Index(serialized: bytes) else {
            fuzzFailure("a loaded BM25 index serializes to bytes that do not load")
        }
        guard again.serialized() == bytes else { fuzzFailure("BM25 serialization is not stable after one load") }
    }

    static func exercise(_ index: HNSWIndex) {
        let dimension = index.dimension
        guard dimension <= 1 << 16 else { return }  // a zero-node image may claim any dimension; searching it says nothing more
        var query = [Float](repeating: 0, count: dimension)
        query[0] = 1
        let hits = index.search(query, k: 5)
        _ = index.search(query, k: 50, efSearch: 200)
        let bytes = index.serialized()
        guard let again = try? HNSWIndex(serialized: bytes) else {
            fuzzFailure("a loaded HNSW index serializes to bytes that do not load")
        }
        guard again.serialized() == bytes else { fuzzFailure("HNSW serialization is not stable after one load") }
        // The next ingest changes the loaded index: a new vector, a removed one.
        var vector = [Float](repeating: 0, count: dimension)
        for position in vector.indices { vector[position] = Float((position * 7919) % 13) - 6 }
        if vector.allSatisfy({ $0 == 0 }) { vector[0] = 1 }
        try? index.insert(id: 0xFFFF_FFFF_0000_0001, vector: vector)
        if let first = hits.first { index.remove(id: first.id) }
        _ = index.search(vector, k: 5)
    }

    /// Makes the outer checksum (and the HNSW image's, when its frame parses) match the bytes.
    static func fixSnapshot(_ bytes: inout [UInt8], fixLength: Bool) {
        var offset = IndexSnapshotFile.magic.count + 4 + 8
        func u32(_ at: Int) -> Int? { at + 4 <= bytes.count ? Int(bytes[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) }) : nil }
        func u64(_ at: Int) -> UInt64? { at + 8 <= bytes.count ? bytes[at..<at + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } : nil }
        if let embedderLength = u32(offset) {
            offset += 4 + embedderLength
            if let keywordLength = u64(offset), keywordLength < UInt64(bytes.count) {
                offset += 8 + Int(keywordLength)
                if let vectorLength = u64(offset), vectorLength < UInt64(bytes.count), offset + 8 + Int(vectorLength) <= bytes.count - 8 {
                    Self.fixHNSW(&bytes, in: (offset + 8)..<(offset + 8 + Int(vectorLength)), fixLength: fixLength)
                }
            }
        }
        guard bytes.count >= IndexSnapshotFile.magic.count + 8 else { return }
        let body = bytes.count - 8
        // Version 1 ends with the legacy checksum, every other version with XXH64 (as the reader checks).
        let legacy = u32(IndexSnapshotFile.magic.count) == Int(IndexSnapshotFile.legacyFormatVersion)
        let checksum = bytes.withUnsafeBytes { raw in
            let covered = UnsafeRawBufferPointer(rebasing: raw[0..<body])
            return legacy ? IndexSnapshotFile.legacyChecksum(covered) : XXH64.hash(covered)
        }
        withUnsafeBytes(of: checksum.littleEndian) { bytes.replaceSubrange(body..<bytes.count, with: $0) }
    }

    /// Makes an HNSW image's payload length (optionally) and checksum match its bytes.
    static func fixHNSW(_ bytes: inout [UInt8], in range: Range<Int>, fixLength: Bool) {
        let minimum = HNSWIndex.formatHeaderSize + HNSWIndex.formatChecksumSize
        guard range.count >= minimum else { return }
        if fixLength {
            let payload = UInt64(range.count - minimum)
            withUnsafeBytes(of: payload.littleEndian) { bytes.replaceSubrange((range.lowerBound + 56)..<(range.lowerBound + 64), with: $0) }
        }
        let body = range.lowerBound..<(range.upperBound - 8)
        let checksum = bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[body])) }
        withUnsafeBytes(of: checksum.littleEndian) { bytes.replaceSubrange(body.upperBound..<range.upperBound, with: $0) }
    }
}

/// The seeds: real snapshots of small indexes (with deletions, several levels, an empty one),
/// whole and as their parts, in every mode.
func writeSeeds(to folder: URL) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let analyzer = TextAnalyzer()
    let texts = [
        "Tasks are resumed from their last recorded step after a restart.",
        "Hybrid search fuses BM25 keyword scores with HNSW vector similarity.",
        "The index snapshot ends with a checksum; a damaged one is rebuilt from SQLite.",
        "Ingest skips binary files and PDFs.",
    ]
    var keyword = BM25Index()
    for (id, text) in texts.enumerated() { keyword.add(id: UInt64(id + 1), terms: analyzer.terms(text)) }
    keyword.remove(ids: [3])

    func vectors(count: Int, dimension: Int, m: Int, removing: [UInt64]) throws -> HNSWIndex {
        let index = HNSWIndex(dimension: dimension, parameters: HNSWParameters(m: m, efConstruction: 16, efSearch: 8), seed: 7)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for id in 0..<count {
            var vector: [Float] = []
            for _ in 0..<dimension {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                vector.append(Float(Int(state >> 40) % 2001 - 1000) / 1000)
            }
            if vector.allSatisfy({ $0 == 0 }) { vector[0] = 1 }
            try index.insert(id: UInt64(100 + id), vector: vector)
        }
        for id in removing { index.remove(id: id) }
        return index
    }

    let cases: [(name: String, vectors: HNSWIndex)] = [
        ("small", try vectors(count: 12, dimension: 4, m: 2, removing: [103])),
        ("levels", try vectors(count: 40, dimension: 3, m: 2, removing: [])),
        ("empty", try vectors(count: 0, dimension: 8, m: 4, removing: [])),
        ("one", try vectors(count: 1, dimension: 2, m: 2, removing: [])),
    ]
    var written = 0
    func write(_ mode: UInt8, _ name: String, _ bytes: [UInt8]) throws {
        try Data([mode] + bytes).write(to: folder.appendingPathComponent("\(name).mode\(mode)"))
        written += 1
    }
    let scratch = try FuzzScratch.makeDirectory("seeds")
    for (name, index) in cases {
        let url = scratch.appendingPathComponent("\(name).bin")
        try IndexSnapshotFile(url: url).write(.init(generation: 3, embedderIdentity: "hashing-256", keyword: keyword, vectors: index))
        let snapshot = Array(try Data(contentsOf: url))
        try write(0, "snapshot-\(name)", snapshot)
        try write(2, "hnsw-\(name)", index.serialized())
    }
    let whole = Array(try Data(contentsOf: scratch.appendingPathComponent("small.bin")))
    try write(1, "snapshot-small", whole)
    try write(1, "truncated-small", Array(whole.prefix(whole.count / 2)))
    try write(4, "snapshot-small-fixlength", whole)
    try write(3, "bm25", keyword.serialized())
    try write(3, "bm25-empty", BM25Index().serialized())
    print("wrote \(written) seeds to \(folder.path)")
}

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--write-seeds" {
    try! writeSeeds(to: URL(fileURLWithPath: CommandLine.arguments[2]))
    exit(0)
}
FuzzDriver.run(IndexSnapshotFuzzTarget())
