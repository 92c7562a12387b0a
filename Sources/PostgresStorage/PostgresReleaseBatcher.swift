import Storage
import TaskService

/// Ends the claims of finished tasks a batch at a time: one statement deletes the rows of
/// every task that ended while the previous statement ran, as PgQueuer buffers its
/// acknowledgements. Each task's release was one statement of its own, a quarter of what a
/// short task cost PostgreSQL.
///
/// Shaped like `PostgresGroupCommitter`: the batches are written in a task of their own, one
/// at a time, so a caller canceled (a runner tearing a task down) cannot cancel the statement
/// that carries the others' releases. Every caller returns once the statement that carried its
/// release has ended.
actor PostgresReleaseBatcher {
    private var waiting: [(claim: TaskClaim, continuation: CheckedContinuation<Void, Never>)] = []
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
        await withCheckedContinuation { continuation in
            waiting.append((claim, continuation))
            if !writing {
                writing = true
                Task { await self.writeWaiting() }
            }
        }
    }

    /// Writes batches until none waits; releases that arrive meanwhile join the next batch.
    private func writeWaiting() async {
        while !waiting.isEmpty {
            let count = min(waiting.count, Self.maximumBatch)
            let batch = Array(waiting.prefix(count))
            waiting.removeFirst(count)
            await write(batch.map(\.claim))
            for entry in batch { entry.continuation.resume() }
        }
        writing = false
    }
}
