import Crypto
import Foundation
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// One file of a continuous backup after its base snapshot: either the events one shipping
/// round found committed in an event store file (`tasks.sqlite`, `audit.sqlite`), or a new copy
/// of another file that changed (`knowledge.sqlite` after an ingest, `access.sqlite` after a key
/// change, `index.bin`).
///
/// Layout, chosen so that a damaged or cut-off file is always noticed and a reader never needs
/// more than the header to know what follows:
///
///     ares-backup-segment 1\n
///     {header JSON}\n
///     body (header.bodyBytes bytes: JSON lines of events, or the copied file)
///     sha256 <64 hex digits of everything above>\n
///
/// Segments are numbered from 1 within a generation, and each header names the SHA-256 of the
/// one before it (the first: of the base's manifest), so a missing, repeated or swapped segment
/// breaks the chain as surely as a changed byte breaks the checksum.
public enum BackupSegment {
    public static let magic = "ares-backup-segment 1\n"
    public static let fileExtension = "segment"
    static let trailerPrefix = "sha256 "
    /// The trailer: the prefix, 64 hex digits, a newline.
    static let trailerBytes = 7 + 64 + 1
    static let maximumHeaderBytes = 64 << 10
    /// Event segments are read whole; shipping writes them far smaller (`ContinuousBackupShipper`).
    static let maximumEventBodyBytes = 256 << 20

    public enum Kind: String, Codable, Sendable {
        case events
        case file
    }

    public struct Header: Codable, Sendable, Equatable {
        public var formatVersion: Int
        public var sequence: Int64
        public var kind: Kind
        /// The data-directory file this segment brings forward, relative and `/`-separated.
        public var file: String
        public var previousSHA256: String
        /// When it was written (microseconds since 1970).
        public var shippedAt: Int64
        public var bodyBytes: Int64
        // Events: how many, which global positions, when they were recorded (microseconds).
        public var events: Int?
        public var firstPosition: Int64?
        public var lastPosition: Int64?
        public var firstRecordedAt: Int64?
        public var lastRecordedAt: Int64?
        // A file copy: how it was copied, and when the copy began (the state it holds).
        public var fileKind: BackupManifest.FileKind?
        public var capturedAt: Int64?
    }

    /// An event as a segment stores it: every column, the payload in base64.
    struct EventLine: Codable {
        var position: Int64
        var stream: String
        var version: Int64
        var type: String
        var recordedAt: Int64
        var hash: String
        var previousHash: String
        var payload: Data

        init(_ event: StoredEvent) {
            position = event.globalPosition
            stream = event.stream
            version = event.version
            type = event.type
            recordedAt = event.recordedAtMicroseconds
            hash = event.hash
            previousHash = event.previousHash
            payload = event.payload
        }

        var event: StoredEvent {
            StoredEvent(stream: stream, version: version, globalPosition: position, type: type, payload: payload,
                        recordedAtMicroseconds: recordedAt, hash: hash, previousHash: previousHash)
        }
    }

    /// Why a segment cannot be used, said of the segment.
    public struct Damage: Error, CustomStringConvertible, Sendable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public static func fileName(sequence: Int64) -> String {
        String(format: "%012lld.%@", sequence, fileExtension)
    }

    /// The sequence number in a segment's file name; nil for any other name.
    public static func sequence(fromFileName name: String) -> Int64? {
        guard name.hasSuffix("." + fileExtension), !name.hasPrefix(".") else { return nil }
        let digits = name.dropLast(fileExtension.count + 1)
        guard digits.count == 12, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int64(digits)
    }

    // MARK: Writing

    /// Writes an events segment into `directory` (temporary name, fsync, rename, fsync of the
    /// directory) and returns its SHA-256: once this returns, the events are shipped.
    static func writeEvents(_ events: [StoredEvent], header: Header, into directory: URL) throws -> (sha256: String, bytes: Int64) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var body = Data()
        for event in events {
            body.append(try encoder.encode(EventLine(event)))
            body.append(0x0A)
        }
        var header = header
        header.kind = .events
        header.bodyBytes = Int64(body.count)
        return try write(header: header, into: directory) { output, hasher in
            hasher.update(data: body)
            try output.write(contentsOf: body)
        }
    }

    /// Writes a file segment holding a copy of the file at `copy` (made by the caller).
    static func writeFile(copy: URL, header: Header, into directory: URL) throws -> (sha256: String, bytes: Int64) {
        let size = try FileSHA256.digest(copy.path).size
        var header = header
        header.kind = .file
        header.bodyBytes = size
        return try write(header: header, into: directory) { output, hasher in
            let input = try FileHandle(forReadingFrom: copy)
            defer { try? input.close() }
            var copied: Int64 = 0
            while let block = try input.read(upToCount: 1 << 20), !block.isEmpty {
                hasher.update(data: block)
                try output.write(contentsOf: block)
                copied &+= Int64(block.count)
            }
            guard copied == size else { throw Damage("\(copy.lastPathComponent) changed while it was shipped") }
        }
    }

    private static func write(header: Header, into directory: URL,
                              body: (FileHandle, inout SHA256) throws -> Void) throws -> (sha256: String, bytes: Int64) {
        let name = fileName(sequence: header.sequence)
        let temporary = directory.appendingPathComponent("." + name + ".partial")
        let final = directory.appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw BackupError.notWritable(directory.path, "cannot create \(temporary.lastPathComponent): \(String(cString: strerror(errno)))")
        }
        do {
            let output = try FileHandle(forWritingTo: temporary)
            defer { try? output.close() }
            var hasher = SHA256()
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            var head = Data(magic.utf8)
            head.append(try encoder.encode(header))
            head.append(0x0A)
            hasher.update(data: head)
            try output.write(contentsOf: head)
            try body(output, &hasher)
            let digest = hex(hasher.finalize())
            try output.write(contentsOf: Data((trailerPrefix + digest + "\n").utf8))
            // Durable before it counts: the segment's bytes, then its name in the directory.
            try output.synchronize()
            guard rename(temporary.path, final.path) == 0 else {
                throw BackupError.notWritable(directory.path, "cannot rename \(name) into place: \(String(cString: strerror(errno)))")
            }
            try syncDirectory(directory)
            let bytes = Int64(head.count) &+ header.bodyBytes &+ Int64(trailerBytes)
            return (digest, bytes)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// fsync of a directory: makes the names created or renamed in it durable.
    static func syncDirectory(_ directory: URL) throws {
        let descriptor = open(directory.path, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { throw BackupError.notWritable(directory.path, String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw BackupError.notWritable(directory.path, "fsync: \(String(cString: strerror(errno)))") }
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Reading

    /// A segment read and checked: its header and, for events, its events. The body of a file
    /// segment is not held; `copyBody(of:to:)` writes it out.
    public struct Contents: Sendable {
        public var header: Header
        public var sha256: String
        public var events: [StoredEvent]
        /// Where the body starts in the file (for copying a file segment's body out).
        var bodyOffset: UInt64
    }

    /// Reads the segment at `url` and checks its framing and checksum; events are decoded.
    public static func read(_ url: URL) throws -> Contents {
        guard let input = FileHandle(forReadingAtPath: url.path) else { throw Damage("cannot be opened") }
        defer { try? input.close() }
        var hasher = SHA256()
        let magicData = try input.read(upToCount: magic.utf8.count) ?? Data()
        guard magicData == Data(magic.utf8) else { throw Damage("not a backup segment (its first line is not '\(magic.dropLast())')") }
        hasher.update(data: magicData)
        // The header line, read in small blocks up to its newline.
        var headerLine = Data()
        while true {
            guard let block = try input.read(upToCount: 4096), !block.isEmpty else { throw Damage("ends inside its header: the file is cut off") }
            if let newline = block.firstIndex(of: 0x0A) {
                headerLine.append(block[block.startIndex..<newline])
                break
            }
            headerLine.append(block)
            guard headerLine.count <= maximumHeaderBytes else { throw Damage("its header is longer than \(maximumHeaderBytes) bytes") }
        }
        hasher.update(data: headerLine)
        hasher.update(data: Data([0x0A]))
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: headerLine) } catch {
            throw Damage("its header is not valid: \(error)")
        }
        guard header.formatVersion == 1 else { throw Damage("format version \(header.formatVersion), this ares reads version 1") }
        guard header.bodyBytes >= 0 else { throw Damage("its header gives a negative body size") }
        let bodyOffset = UInt64(magicData.count) + UInt64(headerLine.count) + 1
        if header.kind == .events, header.bodyBytes > Int64(maximumEventBodyBytes) {
            throw Damage("its events take \(header.bodyBytes) bytes, more than a segment may")
        }
        // The size says at once whether the file was cut off or grew.
        let size = try input.seekToEnd()
        let (bodyEnd, overflow) = bodyOffset.addingReportingOverflow(UInt64(header.bodyBytes))
        guard !overflow else { throw Damage("its header gives an impossible body size") }
        let expected = bodyEnd &+ UInt64(trailerBytes)
        guard size == expected else {
            throw Damage(size < expected ? "is cut off: \(expected - size) of its \(expected) bytes are missing"
                                         : "has \(size - expected) bytes more than its header and checksum line account for")
        }
        try input.seek(toOffset: bodyOffset)
        // The body: kept for events, only hashed for a file.
        var body = Data()
        var remaining = header.bodyBytes
        while remaining > 0 {
            guard let block = try input.read(upToCount: Int(min(remaining, 1 << 20))), !block.isEmpty else { throw Damage("ended early while it was read") }
            hasher.update(data: block)
            if header.kind == .events { body.append(block) }
            remaining -= Int64(block.count)
        }
        let trailer = try input.read(upToCount: trailerBytes) ?? Data()
        let recorded = String(decoding: trailer, as: UTF8.self)
        let digest = hex(hasher.finalize())
        guard recorded == trailerPrefix + digest + "\n" else {
            throw Damage("its checksum does not match its contents: the file was changed or damaged")
        }
        var events: [StoredEvent] = []
        if header.kind == .events {
            let decoder = JSONDecoder()
            for line in body.split(separator: 0x0A) {
                do { events.append(try decoder.decode(EventLine.self, from: line).event) } catch {
                    throw Damage("an event line is not valid: \(error)")
                }
            }
            guard events.count == header.events else {
                throw Damage("holds \(events.count) events, its header says \(header.events.map(String.init) ?? "none")")
            }
        }
        return Contents(header: header, sha256: digest, events: events, bodyOffset: bodyOffset)
    }

    /// Copies a checked file segment's body into a new private file at `destination`.
    static func copyBody(of contents: Contents, in url: URL, to destination: URL) throws {
        guard let input = FileHandle(forReadingAtPath: url.path) else { throw Damage("cannot be opened") }
        defer { try? input.close() }
        try input.seek(toOffset: contents.bodyOffset)
        guard FileManager.default.createFile(atPath: destination.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw BackupError.notWritable(destination.path, "cannot create the file")
        }
        let output = try FileHandle(forWritingTo: destination)
        defer { try? output.close() }
        var remaining = contents.header.bodyBytes
        while remaining > 0, let block = try input.read(upToCount: Int(min(remaining, 1 << 20))), !block.isEmpty {
            try output.write(contentsOf: block)
            remaining -= Int64(block.count)
        }
        guard remaining == 0 else { throw Damage("ended early while it was copied") }
        try output.synchronize()
    }
}
