import Synchronization

extension PostgresDatabase {
    /// Runs `operation` as a child task of `run()` and returns its result, or throws a
    /// retryable `PostgresStorageError` once `timeout` passed (or, with `leaseDeadline`, once
    /// its duration passed before the flag was set). The caller never waits longer: an
    /// operation stuck where PostgresNIO cannot cancel it (a query on a silent connection)
    /// stays a child of `run()` until its connection or pool ends, not of the caller.
    /// `origin` (the caller's file and line) names the operation in the log, should a shutdown abandon it.
    func withDeadline<Result: Sendable>(_ timeout: Duration, doing what: String, origin: String = "", leaseDeadline: (Duration, LeaseFlag)? = nil,
                                        _ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let outcome = DeadlineOutcome<Result>()
        let address = "\(settings.host):\(settings.port)"
        let expired: @Sendable (Duration, String) -> PostgresStorageError = { limit, waiting in
            PostgresStorageError(.unreachable, """
                the database at \(address) did not answer within \(limit.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow))) \
                (\(waiting)); retry later
                """)
        }
        let job: @Sendable () async -> Void = {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        outcome.resolve(.success(try await operation()))
                    } catch {
                        outcome.resolve(.failure(error))
                    }
                }
                group.addTask {
                    var remaining = timeout
                    if let (leaseTimeout, leased) = leaseDeadline, leaseTimeout < timeout {
                        guard (try? await Task.sleep(for: leaseTimeout)) != nil else { return }
                        if !leased.isSet {
                            outcome.resolve(.failure(expired(leaseTimeout, "waiting for a pooled connection for \(what)")))
                            return
                        }
                        remaining = timeout - leaseTimeout
                    }
                    guard (try? await Task.sleep(for: remaining)) != nil else { return }
                    outcome.resolve(.failure(expired(timeout, what)))
                }
                // The first to finish decides; the other is cancelled (a lease still waiting is
                // withdrawn from the pool, so an abandoned write cannot run later).
                await group.next()
                group.cancelAll()
            }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.install(continuation)
                if case .terminated = submit(job, named: origin.isEmpty ? what : "\(what) at \(origin)") {
                    outcome.resolve(.failure(PostgresStorageError(.unreachable, "the database connection pool is stopped")))
                }
            }
        } onCancel: {
            outcome.resolve(.failure(CancellationError()))
        }
    }
}

/// The one result a deadline-bound operation's caller gets: the operation's, the deadline's
/// or the caller's cancellation, whichever comes first.
final class DeadlineOutcome<Value: Sendable>: Sendable {
    private enum State {
        case pending
        case waiting(CheckedContinuation<Value, any Error>)
        case resolved(Result<Value, any Error>)
        case delivered
    }

    private let state = Mutex<State>(.pending)

    func install(_ continuation: CheckedContinuation<Value, any Error>) {
        let early: Result<Value, any Error>? = state.withLock { state in
            switch state {
            case .pending:
                state = .waiting(continuation)
                return nil
            case let .resolved(result):
                state = .delivered
                return result
            case .waiting, .delivered:
                return nil
            }
        }
        if let early { continuation.resume(with: early) }
    }

    func resolve(_ result: Result<Value, any Error>) {
        let waiting: CheckedContinuation<Value, any Error>? = state.withLock { state in
            switch state {
            case .pending:
                state = .resolved(result)
                return nil
            case let .waiting(continuation):
                state = .delivered
                return continuation
            case .resolved, .delivered:
                return nil
            }
        }
        waiting?.resume(with: result)
    }
}
