import PostgresNIO

/// The queue's prepared statements: those a runner sends for every task or batch, run on the
/// prepared-statement pool (`PostgresDatabasePool.execute`), whose connections parse and plan
/// each once. Every one of them finds its rows by key or in the queue's order.
extension PostgresTaskQueue {
    /// The oldest $4 rows that wait or whose lease expired, skipping rows being claimed and
    /// the owners at their quota ($3), leased to $1 for $2 milliseconds. The rows are chosen in
    /// a subquery whose result is an array, not joined: planned at every call (as it was before
    /// the prepared-statement pool), that took about half as long (BENCHMARKS.md, 2026-12-02).
    struct ClaimStatement: PostgresPreparedStatement {
        typealias Row = (String, String?, Int64, Int64)
        static let sql = """
            UPDATE ares_task_queue AS q
            SET lease_holder = $1, lease_expires_at = now() + $2 * interval '1 millisecond', attempts = q.attempts + 1
            WHERE q.task_id = ANY(ARRAY(
                SELECT task_id FROM ares_task_queue
                WHERE (lease_expires_at IS NULL OR lease_expires_at <= now())
                  AND (owner IS NULL OR NOT (owner = ANY($3::text[])))
                ORDER BY position
                LIMIT $4
                FOR UPDATE SKIP LOCKED
            )) AND \(PostgresTaskQueue.asynchronousCommit)
            RETURNING q.task_id, q.owner, q.attempts, q.position
            """
        var replicaID: String
        var leaseMilliseconds: Int64
        var excludedOwners: [String]
        var limit: Int64

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(replicaID)
            bindings.append(leaseMilliseconds)
            bindings.append(excludedOwners)
            bindings.append(limit)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// Deletes the rows of ended tasks ($1, $2: ids and attempts): only this replica's ($3)
    /// claims of those attempts.
    struct ReleaseEndedStatement: PostgresPreparedStatement {
        typealias Row = String
        static let sql = """
            DELETE FROM ares_task_queue AS q
            USING unnest($1::text[], $2::bigint[]) AS r(task_id, attempt)
            WHERE q.task_id = r.task_id AND q.attempts = r.attempt AND q.lease_holder = $3
              AND \(PostgresTaskQueue.asynchronousCommit)
            RETURNING q.task_id
            """
        var taskIDs: [String]
        var attempts: [Int64]
        var replicaID: String

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(taskIDs)
            bindings.append(attempts)
            bindings.append(replicaID)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// Extends this replica's ($3) leases of those attempts ($1, $2) by $4 milliseconds; the
    /// rows renewed come back (a claim lost to another replica does not).
    struct RenewStatement: PostgresPreparedStatement {
        typealias Row = String
        static let sql = """
            UPDATE ares_task_queue AS q SET lease_expires_at = now() + $4 * interval '1 millisecond'
            FROM unnest($1::text[], $2::bigint[]) AS c(task_id, attempt)
            WHERE q.task_id = c.task_id AND q.attempts = c.attempt AND q.lease_holder = $3
              AND \(PostgresTaskQueue.asynchronousCommit)
            RETURNING q.task_id
            """
        var taskIDs: [String]
        var attempts: [Int64]
        var replicaID: String
        var leaseMilliseconds: Int64

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(taskIDs)
            bindings.append(attempts)
            bindings.append(replicaID)
            bindings.append(leaseMilliseconds)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// Hands this replica's ($3) claim of one attempt ($1, $2) back: claimable at once, by anyone.
    struct GiveUpStatement: PostgresPreparedStatement {
        typealias Row = String
        static let sql = """
            UPDATE ares_task_queue SET lease_holder = NULL, lease_expires_at = NULL
            WHERE task_id = $1 AND attempts = $2 AND lease_holder = $3 AND \(PostgresTaskQueue.asynchronousCommit)
            RETURNING task_id
            """
        var taskID: String
        var attempt: Int64
        var replicaID: String

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(taskID)
            bindings.append(attempt)
            bindings.append(replicaID)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }
}
