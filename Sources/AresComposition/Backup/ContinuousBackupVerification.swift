import Foundation
import Storage

/// Checks one generation of a continuous backup without restoring it: its base as `ares verify
/// --backup` checks a backup (files, checksums, integrity, chains, heads), then every segment in
/// order: numbered 1, 2, 3, ... without a gap, each intact (framing, SHA-256) and naming the
/// SHA-256 of the one before it (the first: the base's manifest), and every shipped event
/// extending its stream's hash chain from the head the base recorded. Each problem names its
/// generation and segment (and stream).
public struct ContinuousBackupVerification: Sendable {
    /// What a restore needs to know of one intact segment.
    public struct Segment: Sendable {
        public var url: URL
        public var header: BackupSegment.Header
        public var sha256: String
    }

    public var generation: ContinuousBackupLayout.Generation
    public var manifest: BackupManifest
    public var segments: [Segment]
    public var problems: [String]
    /// Events in the base, and shipped in segments.
    public var baseEvents: Int
    public var shippedEvents: Int
    /// The newest event time (microseconds) the generation holds, base or segments.
    public var newestRecordedAt: Int64?
    public var isIntact: Bool { problems.isEmpty }

    public static func check(_ generation: ContinuousBackupLayout.Generation) throws -> ContinuousBackupVerification {
        let base = try BackupVerification.check(backup: generation.base)
        var problems = base.problems.map { "\(generation.name)/base: \($0)" }
        let manifest = base.manifest
        let dataRoot = generation.base.appendingPathComponent(BackupManifest.dataFolder)
        // Each event store's heads and last position as the base holds them.
        var heads: [String: [String: EventChainLink.Head]] = [:]
        var positions: [String: Int64] = [:]
        var newest: Int64?
        for file in manifest.files where file.kind == .sqlite {
            let path = dataRoot.appendingPathComponent(file.path).path
            guard EventLogTail.isEventStore(path) else { continue }
            do {
                let tail = try EventLogTail(path: path)
                defer { tail.close() }
                heads[file.path] = try tail.heads()
                positions[file.path] = try tail.maximumPosition()
                if let recordedAt = try tail.newestRecordedAt() { newest = max(newest ?? recordedAt, recordedAt) }
            } catch {
                problems.append("\(generation.name)/base: \(file.path): cannot read its events: \(error)")
            }
        }
        var previous: String
        do { previous = try FileSHA256.digest(generation.base.appendingPathComponent(BackupManifest.fileName).path).hex } catch {
            throw BackupError.unreadable(generation.base.path, "\(error)")
        }
        var segments: [Segment] = []
        var shipped = 0
        let names = (try? FileManager.default.contentsOfDirectory(atPath: generation.segments.path)) ?? []
        var numbered: [(sequence: Int64, name: String)] = []
        for name in names {
            if let sequence = BackupSegment.sequence(fromFileName: name) {
                numbered.append((sequence, name))
            } else if !name.hasPrefix(".") {
                // Hidden names are a round's temporary files (never counted shipped).
                problems.append("\(generation.name)/segments/\(name): not a segment")
            }
        }
        numbered.sort { $0.sequence < $1.sequence }
        var expected: Int64 = 1
        for (sequence, name) in numbered {
            let label = "\(generation.name)/segments/\(name)"
            guard sequence == expected else {
                problems.append("\(label): segment \(expected) is missing before it (segments must follow each other without a gap)")
                break
            }
            expected &+= 1
            let contents: BackupSegment.Contents
            do { contents = try BackupSegment.read(generation.segments.appendingPathComponent(name)) } catch {
                problems.append("\(label): \(error)")
                break
            }
            let header = contents.header
            guard header.sequence == sequence else {
                problems.append("\(label): its header says it is segment \(header.sequence)")
                break
            }
            guard header.previousSHA256 == previous else {
                problems.append("\(label): it does not follow the segment before it (or the base): a segment was replaced or removed")
                break
            }
            previous = contents.sha256
            guard BackupManifest.isSafeRelativePath(header.file) else {
                problems.append("\(label): file path '\(header.file.prefix(200))' leaves the data directory")
                break
            }
            switch header.kind {
            case .events:
                guard var fileHeads = heads[header.file], var position = positions[header.file] else {
                    problems.append("\(label): events for \(header.file), which the base holds no event store for")
                    break
                }
                for event in contents.events {
                    if event.globalPosition <= position {
                        problems.append("\(label): \(event.stream) v\(event.version): position \(event.globalPosition) is not after \(position)")
                    }
                    position = event.globalPosition
                    if let problem = EventChainLink.problem(event, after: fileHeads[event.stream]) {
                        problems.append("\(label): \(header.file): stream \(event.stream) v\(event.version): \(problem)")
                    }
                    fileHeads[event.stream] = EventChainLink.Head(version: event.version, hash: event.hash)
                    newest = max(newest ?? event.recordedAtMicroseconds, event.recordedAtMicroseconds)
                }
                heads[header.file] = fileHeads
                positions[header.file] = position
                shipped += contents.events.count
            case .file:
                if heads[header.file] != nil {
                    problems.append("\(label): a copy of \(header.file), whose changes ship as events")
                }
            }
            segments.append(Segment(url: generation.segments.appendingPathComponent(name), header: header, sha256: contents.sha256))
        }
        return ContinuousBackupVerification(generation: generation, manifest: manifest, segments: segments, problems: problems,
                                            baseEvents: base.events, shippedEvents: shipped, newestRecordedAt: newest)
    }

    /// Checks every complete generation of the continuous backup at `directory`, oldest first.
    public static func checkAll(_ directory: URL) throws -> [ContinuousBackupVerification] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackupError.sourceMissing(directory.path)
        }
        let complete = try ContinuousBackupLayout(root: directory).generations().filter(\.isComplete)
        guard !complete.isEmpty else { throw BackupError.noManifest(directory.path) }
        return try complete.map(check)
    }
}
