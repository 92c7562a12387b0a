import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The on-disk form of the in-memory indexes (`index.bin` in the data directory), so that a
/// process starts by loading them instead of re-analyzing every chunk.
///
/// Layout: magic "ARESIDX1", format version, the store generation it was built at, the
/// embedder identity, the BM25 index, the HNSW index, and a checksum of everything before
/// it. A snapshot whose checksum, version, generation or embedder does not match is not
/// used: the indexes are rebuilt from SQLite, which is the source of truth.
struct IndexSnapshotFile {
    static let magic: [UInt8] = Array("ARESIDX1".utf8)
    static let formatVersion: UInt32 = 1

    struct Contents {
        var generation: Int64
        var embedderIdentity: String
        var keyword: BM25Index
        var vectors: HNSWIndex
    }

    let url: URL

    func write(_ contents: Contents) throws {
        var writer = BinaryWriter(reservingCapacity: 8 << 20)
        for byte in Self.magic { writer.write(byte) }
        writer.write(Self.formatVersion)
        writer.write(contents.generation)
        writer.write(contents.embedderIdentity)
        writer.writeBytes(contents.keyword.serialized())
        writer.writeBytes(Array(contents.vectors.serialized()))
        var bytes = writer.bytes
        let checksum = FastHash.checksum(bytes)
        withUnsafeBytes(of: checksum.littleEndian) { bytes.append(contentsOf: $0) }
        // Written to a temporary file and renamed over the old one: a reader sees either
        // the old snapshot or the new one, never half of one.
        try Data(bytes).write(to: url, options: .atomic)
    }

    /// The snapshot, or nil when there is none; throws `SnapshotFormatError` when it is damaged.
    func read() throws -> Contents? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let bytes = try Self.readWholeFile(url)
        guard bytes.count >= Self.magic.count + 8, Array(bytes.prefix(Self.magic.count)) == Self.magic else {
            throw SnapshotFormatError("not an ares index file (bad magic number)")
        }
        let body = bytes.count - 8
        let stored = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: body, as: UInt64.self)) }
        let actual = bytes.withUnsafeBytes { FastHash.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        guard stored == actual else { throw SnapshotFormatError("checksum mismatch: the file is damaged") }
        var reader = BinaryReader(bytes, offset: Self.magic.count, end: body)
        let version = try reader.read(UInt32.self, "format version")
        guard version == Self.formatVersion else {
            throw SnapshotFormatError("index format version \(version) is not supported (expected \(Self.formatVersion))")
        }
        let generation = try reader.read(Int64.self, "generation")
        let embedder = try reader.readString("embedder identity")
        let keyword = try BM25Index(serialized: try reader.readBytes("BM25 index"))
        let vectors = try HNSWIndex(serialized: try reader.readBytes("HNSW index"))
        return Contents(generation: generation, embedderIdentity: embedder, keyword: keyword, vectors: vectors)
    }

    private static func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutablePointer<UInt8>?, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(descriptor, buffer, count)
        #else
        Darwin.read(descriptor, buffer, count)
        #endif
    }

    /// The file's bytes in one read into one array (start-up time matters for `ares search`).
    static func readWholeFile(_ url: URL) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let size = Int(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        var failure: (any Error)?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var filled = 0
            while filled < size {
                let count = systemRead(handle.fileDescriptor, buffer.baseAddress.map { $0 + filled }, size - filled)
                if count <= 0 {
                    if count < 0, errno == EINTR { continue }
                    failure = SnapshotFormatError(count == 0 ? "the file shrank while being read" : String(cString: strerror(errno)))
                    break
                }
                filled += count
            }
            initialized = filled
        }
        if let failure { throw failure }
        return bytes
    }
}
