import BinaryCoding
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The on-disk form of the in-memory indexes (`index.bin` in the data directory), so that a
/// process starts by loading them instead of re-analyzing every chunk.
///
/// Layout (little-endian): magic "ARESIDX1", format version (UInt32), the store generation it
/// was built at (Int64), the embedder identity (UInt32 length, UTF-8), the BM25 image and the
/// HNSW image (each a UInt64 length and the bytes), and a checksum of everything before it.
/// Version 2 ends with XXH64, the checksum of every ares binary format; version 1, which
/// differs in nothing else, ended with an older checksum of its own (`legacyChecksum`) and
/// is still read. A snapshot whose checksum, version, generation or embedder does not match
/// is not used: the indexes are rebuilt from SQLite, which is the source of truth.
struct IndexSnapshotFile {
    static let magic: [UInt8] = Array("ARESIDX1".utf8)
    static let formatVersion: UInt32 = 2
    /// The version whose trailer is `legacyChecksum`: still read, never written.
    static let legacyFormatVersion: UInt32 = 1

    struct Contents {
        var generation: Int64
        var embedderIdentity: String
        var keyword: BM25Index
        var vectors: HNSWIndex
    }

    let url: URL

    func write(_ contents: Contents) throws {
        // Written to a temporary file and renamed over the old one: a reader sees either
        // the old snapshot or the new one, never half of one.
        try Data(Self.encode(contents)).write(to: url, options: .atomic)
    }

    /// The snapshot's bytes, in the current format version.
    static func encode(_ contents: Contents) -> [UInt8] {
        var writer = BinaryWriter(reservingCapacity: 8 << 20)
        writer.write(bytes: magic)
        writer.write(formatVersion)
        writer.write(contents.generation)
        writer.write(contents.embedderIdentity, lengthPrefix: UInt32.self)
        writer.write(prefixedBytes: contents.keyword.serialized(), lengthPrefix: UInt64.self)
        writer.write(prefixedBytes: contents.vectors.serialized(), lengthPrefix: UInt64.self)
        writer.writeChecksum()
        return writer.bytes
    }

    /// The snapshot, or nil when there is none; throws `SnapshotFormatError` when it is damaged.
    func read() throws -> Contents? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try Self.decode(try Self.readWholeFile(url))
    }

    /// Reads a snapshot of the current or the legacy format version.
    static func decode(_ bytes: [UInt8]) throws -> Contents {
        guard bytes.count >= magic.count + 8, Array(bytes.prefix(magic.count)) == magic else {
            throw SnapshotFormatError("not an ares index file (bad magic number)")
        }
        do {
            return try bytes.withUnsafeBytes { raw in
                // The version says which checksum ends the file, so it is read first; nothing
                // else is read before the checksum matched.
                let body = UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 8)])
                var reader = BinaryReader(body, offset: magic.count)
                let version = try reader.read(UInt32.self)
                let stored = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: body.count, as: UInt64.self))
                let computed = version == legacyFormatVersion ? legacyChecksum(body) : XXH64.hash(body)
                guard stored == computed else { throw SnapshotFormatError("checksum mismatch: the file is damaged") }
                guard version == formatVersion || version == legacyFormatVersion else {
                    throw SnapshotFormatError("index format version \(version) is not supported (expected \(formatVersion) or \(legacyFormatVersion))")
                }
                let generation = try reader.read(Int64.self)
                let embedder = try reader.readString(lengthPrefix: UInt32.self)
                let keyword = try BM25Index(serialized: Array(try reader.readBytes(lengthPrefix: UInt64.self)))
                let vectors = try HNSWIndex(serialized: Array(try reader.readBytes(lengthPrefix: UInt64.self)))
                return Contents(generation: generation, embedderIdentity: embedder, keyword: keyword, vectors: vectors)
            }
        } catch let error as BinaryReadError {
            throw SnapshotFormatError(error, reading: "the index file")
        }
    }

    /// The checksum that ends a version-1 snapshot: four independent multiply-rotate lanes
    /// over 32-byte blocks, folded with SplitMix64's finalizer. Kept only to read snapshots
    /// written before XXH64 became the one checksum of ares's formats.
    static func legacyChecksum(_ buffer: UnsafeRawBufferPointer) -> UInt64 {
        @inline(__always) func rotate(_ value: UInt64) -> UInt64 { (value << 31) | (value >> 33) }
        let prime: UInt64 = 0x9e37_79b1_85eb_ca87
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344, 0xa409_3822_299f_31d0, UInt64(buffer.count))
        let blocks = buffer.count / 32
        var offset = 0
        for _ in 0..<blocks {
            lanes.0 = rotate(lanes.0 &+ buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self) &* prime) &* prime
            lanes.1 = rotate(lanes.1 &+ buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self) &* prime) &* prime
            lanes.2 = rotate(lanes.2 &+ buffer.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self) &* prime) &* prime
            lanes.3 = rotate(lanes.3 &+ buffer.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self) &* prime) &* prime
            offset += 32
        }
        var hash = FastHash.mix(lanes.0) ^ FastHash.mix(lanes.1 &+ 1) ^ FastHash.mix(lanes.2 &+ 2) ^ FastHash.mix(lanes.3 &+ 3)
        while offset < buffer.count {
            hash = FastHash.mix(hash ^ UInt64(buffer[offset]))
            offset += 1
        }
        return FastHash.mix(hash)
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
