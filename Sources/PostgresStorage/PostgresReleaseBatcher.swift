import Storage
import TaskService

/// Ends the claims of finished tasks a batch at a time: one statement deletes the rows of
/// every task that ended while the previous statement ran, as PgQueuer buffers its
/// acknowledgements. Each task's release was one statement of its own, a quarter of what a
/// short task cost PostgreSQL.
///
/// The first caller to find no batch being written writes one (its own release and whatever
/// queued meanwhile), then hands the turn to the first caller that queued while it wrote, so
/// no caller waits for more than the batch before its own and its own. Every caller returns
/// once the statement that carried its release has ended.
actor PostgresReleaseBatcher {
    /// What a waiting caller is woken for: its release was written, or it writes the next batch.
    private enum Turn {
        case released
        case write
    }

    /// Claims waiting for the next batch; the caller that writes it has no continuation.
    private var waiting: [(claim: TaskClaim, continuation: CheckedContinuation<Turn, Never>?)] = []
    private var writing = false
    /// Deletes the rows of ended claims (errors are the closure's to report: a row left
    /// behind only waits for its lease to expire).
    private let write: @Sendable ([TaskClaim]) async -> Void

    /// A batch stops growing at this many claims (one statement's arrays stay small).
    static let maximumBatch = 512

    init(write: @escaping @Sendable ([TaskClaim]) async -> Void) {
        self.write = write
    }

    func release(_ claim: TaskClaim) async {
        if writing {
            let turn = await withCheckedContinuation { continuation in
                waiting.append((claim, continuation))
            }
            if case .released = turn { return }
        } else {
            writing = true
            waiting.append((claim, nil))
        }
        await writeBatch()
    }

    /// Writes the waiting claims (this caller's is among them), wakes their callers, and hands
    /// the next batch to the first caller that queued meanwhile.
    private func writeBatch() async {
        let count = min(waiting.count, Self.maximumBatch)
        let batch = Array(waiting.prefix(count))
        waiting.removeFirst(count)
        // In a task of its own, awaited: the writing caller canceled (a runner tearing a task
        // down) must not cancel the statement that carries the others' releases.
        let write = self.write
        let claims = batch.map(\.claim)
        await Task { await write(claims) }.value
        for entry in batch { entry.continuation?.resume(returning: .released) }
        guard let next = waiting.first?.continuation else {
            writing = false
            return
        }
        waiting[0].continuation = nil
        next.resume(returning: .write)
    }
}
