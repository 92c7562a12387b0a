import Foundation
import GRDB

/// Checks the checkpoints of pruned streams against the retention records that anchor them
/// (see `RetentionRecord`). Together with the chain checks of the streams that remain, this
/// is what lets `verify` accept a removed stream as intact: only through a checkpoint whose
/// version, head hash, summary and time match what the hash-chained retention stream says
/// was removed. A checkpoint edited, added or deleted on its own is a break.
///
/// The rule is the backends' common one: each reads its retention events and checkpoints and
/// hands them to `check(records:checkpoints:)`.
package enum PrunedStreamVerification {
    package struct Result {
        package var prunedStreams = 0
        package var breaks: [ChainVerification.Break] = []
    }

    /// The embedded store's checkpoints (`prunedStream`) against its `ares-retention` events.
    static func check(_ db: Database) throws -> Result {
        guard try db.tableExists("prunedStream") else { return Result() }
        var records: [(version: Int64, payload: Data)] = []
        let events = try Row.fetchCursor(db, sql: "SELECT version, payload FROM event WHERE stream = ? ORDER BY version",
                                         arguments: [RetentionRecord.stream])
        while let row = try events.next() { records.append((try row.decode(atIndex: 0), try row.decode(atIndex: 1))) }
        var checkpoints: [PrunedStream] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT id, version, lastHash, summary, prunedAt FROM prunedStream")
        while let row = try rows.next() {
            checkpoints.append(PrunedStream(stream: try row.decode(atIndex: 0), version: try row.decode(atIndex: 1),
                                            headHash: try row.decode(atIndex: 2), summary: try row.decode(atIndex: 3),
                                            prunedAtMicroseconds: try row.decode(atIndex: 4)))
        }
        return check(records: records, checkpoints: checkpoints)
    }

    /// `records`: the payloads of the `ares-retention` stream's events with their versions, in
    /// version order (a later record of a stream supersedes an earlier one); `checkpoints`:
    /// every kept checkpoint.
    package static func check(records: [(version: Int64, payload: Data)], checkpoints: [PrunedStream]) -> Result {
        var result = Result()
        var recorded: [String: (checkpoint: RetentionRecord.Checkpoint, version: Int64)] = [:]
        for (version, payload) in records {
            guard let record = try? JSONDecoder().decode(RetentionRecord.self, from: payload) else {
                result.breaks.append(.init(stream: RetentionRecord.stream, version: version,
                                           problem: "the retention record does not decode: the checkpoints it anchors cannot be checked"))
                continue
            }
            for checkpoint in record.pruned { recorded[checkpoint.stream] = (checkpoint, version) }
        }
        var seen = Set<String>()
        for pruned in checkpoints {
            result.prunedStreams += 1
            seen.insert(pruned.stream)
            guard let (checkpoint, _) = recorded[pruned.stream] else {
                result.breaks.append(.init(stream: pruned.stream, version: pruned.version,
                                           problem: "a checkpoint says the stream was pruned, but no retention record says so: the checkpoint was added or its stream's events removed by hand"))
                continue
            }
            if checkpoint.version != pruned.version || checkpoint.headHash != pruned.headHash
                || checkpoint.summarySHA256 != pruned.summarySHA256 || checkpoint.prunedAt != pruned.prunedAtMicroseconds {
                result.breaks.append(.init(stream: pruned.stream, version: pruned.version,
                                           problem: "its pruning checkpoint does not match the retention record: the checkpoint or summary was changed"))
            }
        }
        for (stream, (checkpoint, version)) in recorded where !seen.contains(stream) {
            result.breaks.append(.init(stream: stream, version: checkpoint.version,
                                       problem: "the retention record (\(RetentionRecord.stream) v\(version)) names this pruned stream, but its checkpoint is missing"))
        }
        result.breaks.sort { ($0.stream, $0.version) < ($1.stream, $1.version) }
        return result
    }
}
