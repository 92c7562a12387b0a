import Foundation
import Storage

/// What a PostgreSQL backup's table files hold, read without a database: each line a JSON
/// object, and in the events and stream-head tables every stream's hash chain recomputed from
/// the rows (as `ares db verify` does in the database). `ares backup --database` records the
/// heads it finds; `BackupVerification` checks a backup with it.
enum TableFileInspection {
    /// One event row as `row_to_json` wrote it.
    struct EventRow: Decodable {
        var stream: String
        var version: Int64
        var type: String
        var payload: String
        var recorded_at: Int64
        var hash: String
        var previous_hash: String
    }

    /// One stream head row.
    struct StreamRow: Decodable {
        var stream: String
        var version: Int64
        var last_hash: String
    }

    /// What the chains of an events file hold: each stream's head, and every break.
    struct ChainInspection {
        var heads: [String: (version: Int64, hash: String)] = [:]
        var breaks: [String] = []
        var events = 0
    }

    /// Counts the lines of a table file, each of which must be one JSON object.
    static func countObjectLines(_ path: String) throws -> (count: Int, problems: [String]) {
        let reader = try JSONLinesReader(path: path)
        var count = 0
        var problems: [String] = []
        while let line = try reader.nextLine() {
            count += 1
            if problems.count < 10, (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] == nil {
                problems.append("row \(count) is not a JSON object")
            }
        }
        return (count, problems)
    }

    /// Recomputes every stream's chain from an events file written in (stream, version) order.
    static func inspectChains(_ path: String) throws -> ChainInspection {
        let reader = try JSONLinesReader(path: path)
        let decoder = JSONDecoder()
        var result = ChainInspection()
        var currentStream: String?
        // Streams whose rows ended: a stream's rows come together, in version order.
        var finished = Set<String>()
        var expectedVersion: Int64 = 1
        var previous = EventHashChain.genesis
        var line = 0
        while let data = try reader.nextLine() {
            line += 1
            guard let row = try? decoder.decode(EventRow.self, from: data) else {
                result.breaks.append("row \(line) is not an event row")
                continue
            }
            guard let payload = hexBytes(row.payload) else {
                result.breaks.append("stream \(row.stream) v\(row.version): its payload is not PostgreSQL hex bytes")
                continue
            }
            if row.stream != currentStream {
                if let currentStream { finished.insert(currentStream) }
                if finished.contains(row.stream) {
                    result.breaks.append("row \(line): stream \(row.stream) continues after other streams (the file was not written by ares backup)")
                }
                currentStream = row.stream
                expectedVersion = 1
                previous = EventHashChain.genesis
            }
            result.events += 1
            if row.version != expectedVersion {
                result.breaks.append("stream \(row.stream) v\(row.version): expected version \(expectedVersion): an event is missing")
            }
            if row.previous_hash != previous {
                result.breaks.append("stream \(row.stream) v\(row.version): its previous-hash does not match the event before it")
            }
            let recomputed = EventHashChain.hash(previous: row.previous_hash, stream: row.stream, version: row.version, type: row.type,
                                                 recordedAt: row.recorded_at, payload: payload)
            if recomputed != row.hash {
                result.breaks.append("stream \(row.stream) v\(row.version): its content does not match its hash: the event was changed")
            }
            previous = row.hash
            expectedVersion = row.version &+ 1
            result.heads[row.stream] = (row.version, row.hash)
        }
        return result
    }

    static func readStreamHeads(_ path: String, problems: inout [String], file: String) throws -> [String: (version: Int64, hash: String)] {
        let reader = try JSONLinesReader(path: path)
        let decoder = JSONDecoder()
        var heads: [String: (version: Int64, hash: String)] = [:]
        var line = 0
        while let data = try reader.nextLine() {
            line += 1
            guard let row = try? decoder.decode(StreamRow.self, from: data) else {
                problems.append("\(file): row \(line) is not a stream row")
                continue
            }
            heads[row.stream] = (row.version, row.last_hash)
        }
        return heads
    }

    /// PostgreSQL's hex form of bytea (`\x0a1b...`) as bytes; nil if it is not that.
    static func hexBytes(_ text: String) -> Data? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else { return nil }
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 97...102: byte - 87
            case 65...70: byte - 55
            default: nil
            }
        }
        var bytes = Data(capacity: (utf8.count - 2) / 2)
        var index = 2
        while index + 1 < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
