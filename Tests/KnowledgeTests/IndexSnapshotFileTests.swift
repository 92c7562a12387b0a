import BinaryCoding
import Foundation
import Testing
@testable import Knowledge

/// `index.bin` across format versions. `Fixtures/index-v1.bin` was written by the code before
/// issue 10 (format version 1, the legacy checksum; the program is in `Fixtures/index-v1.md`):
/// BM25 over five documents with one removed, and HNSW over 40 vectors of dimension 8 (m 4, seed 7,
/// one thread) with id 5 removed and id 6 replaced, at generation 42.
@Suite struct IndexSnapshotFileTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/index-v1.bin")

    /// The fixture's vectors.
    static func vector(_ i: Int) -> [Float] { (0..<8).map { j in Float((i * 37 + j * 11 + i * j * 5) % 17) - 8 } }

    @Test func aVersion1SnapshotWrittenBeforeStillReads() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.fixture))
        #expect(bytes[8..<12] == [1, 0, 0, 0], "the fixture is format version 1")
        let contents = try #require(try IndexSnapshotFile(url: Self.fixture).read())
        #expect(contents.generation == 42)
        #expect(contents.embedderIdentity == "hashing-v1-d8")

        #expect(contents.keyword.count == 4 && contents.keyword.contains(id: .max) && !contents.keyword.contains(id: 4))
        let hits = contents.keyword.search(terms: ["vacuum", "lock"], limit: 5)
        #expect(hits.map(\.id) == [3, 1])
        #expect(abs(hits[0].score - 1.9827304) < 1e-5 && abs(hits[1].score - 0.6288345) < 1e-5)

        #expect(contents.vectors.count == 39 && contents.vectors.deletedCount == 2 && !contents.vectors.contains(id: 5))
        #expect(contents.vectors.search(Self.vector(12), k: 5).map(\.id) == [12, 29, 14, 31, 6])
        #expect(contents.vectors.search(Self.vector(99), k: 3).map(\.id) == [14, 31, 6])
    }

    @Test func theCurrentVersionDiffersFromVersion1OnlyInItsVersionAndChecksum() throws {
        let old = [UInt8](try Data(contentsOf: Self.fixture))
        let contents = try #require(try IndexSnapshotFile(url: Self.fixture).read())
        let new = IndexSnapshotFile.encode(contents)
        #expect(IndexSnapshotFile.formatVersion == 2)
        #expect(new.count == old.count)
        #expect(new[0..<8] == old[0..<8])
        #expect(new[8..<12] == [2, 0, 0, 0])
        // Everything between, the BM25 and HNSW images included, is written byte for byte as before.
        #expect(new[12..<(new.count - 8)] == old[12..<(old.count - 8)])
        new.withUnsafeBytes { raw in
            let trailer = BinaryReader.checksummedBody(of: raw)
            #expect(trailer != nil && trailer?.stored == trailer?.computed, "version 2 ends with XXH64")
        }
        let again = try IndexSnapshotFile.decode(new)
        #expect(again.generation == 42 && again.keyword.serialized() == contents.keyword.serialized())
        #expect(again.vectors.serialized() == contents.vectors.serialized())
    }

    @Test func damagedOrUnknownSnapshotsAreRefusedWithTheReason() throws {
        let old = [UInt8](try Data(contentsOf: Self.fixture))
        var flipped = old
        flipped[old.count / 2] ^= 0x40
        #expect { try IndexSnapshotFile.decode(flipped) } throws: { "\($0)".contains("checksum mismatch") }
        // A version-1 file checked with XXH64, or a version-2 one with the legacy checksum, is damaged.
        var relabelled = old
        relabelled[8] = 2
        #expect { try IndexSnapshotFile.decode(relabelled) } throws: { "\($0)".contains("checksum mismatch") }
        // A later version, correctly checksummed, says so.
        var future = IndexSnapshotFile.encode(try #require(try IndexSnapshotFile(url: Self.fixture).read()))
        future[8] = 3
        future.removeLast(8)
        withUnsafeBytes(of: XXH64.hash(future).littleEndian) { future.append(contentsOf: $0) }
        #expect { try IndexSnapshotFile.decode(future) } throws: { "\($0)".contains("version 3 is not supported") }
        // Cut anywhere, it throws (never traps).
        for cut in stride(from: 0, to: old.count, by: 97) {
            #expect(throws: (any Error).self) { try IndexSnapshotFile.decode(Array(old.prefix(cut))) }
        }
    }
}
