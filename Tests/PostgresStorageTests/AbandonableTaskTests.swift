import Foundation
import PostgresStorage
import Synchronization
import Testing

/// The bounded wait behind "SIGTERM ends a replica whatever the database does" (issue 16):
/// work that honours cancellation is waited for; work stuck in a call that ignores it (as
/// PostgresNIO's queries on a silent connection do) is abandoned after the grace, also when
/// the waiting task is itself cancelled. No database: the stuck call is a continuation the test
/// resumes at the end.
@Suite struct AbandonableTaskTests {
    /// A call that ignores cancellation: returns only once `release()` is called.
    final class StuckCall: Sendable {
        private let state = Mutex<(released: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

        func wait() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    guard !state.released else { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }

        func release() {
            let waiter = state.withLock { state in
                state.released = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    final class Flag: Sendable {
        private let value = Atomic(false)
        func set() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }

    @Test func workThatHonoursCancellationIsWaitedForAndEnds() async {
        let work = AbandonableTask {
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(!work.isEnded)
        #expect(await work.cancel(waitingAtMost: .seconds(30)), "work that stops when cancelled was abandoned")
        #expect(work.isEnded)
    }

    @Test func workStuckInACallThatIgnoresCancellationIsAbandonedAfterTheGrace() async {
        let call = StuckCall()
        let work = AbandonableTask { await call.wait() }
        #expect(await work.cancel(waitingAtMost: .milliseconds(200)) == false, "a stuck call was reported as ended")
        #expect(!work.isEnded)
        // Abandoned, not lost: it ends by itself when the call returns.
        call.release()
        await work.wait()
        #expect(work.isEnded)
    }

    /// A shutdown cancels the task that stops the work: the grace must still be given (a timer,
    /// not `Task.sleep`, which a cancelled task skips), or a healthy shutdown would abandon work
    /// that was about to end.
    @Test func aCancelledCallerStillGivesTheGrace() async {
        let call = StuckCall()
        let cancelled = Flag()
        let work = AbandonableTask {
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            cancelled.set()
            await call.wait()
        }
        let stopper = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await work.cancel(waitingAtMost: .seconds(60))
        }
        // The work ends a moment after its cancellation, well inside the grace; a wait cut short
        // by the caller's cancellation would have returned before.
        while !cancelled.isSet { try? await Task.sleep(for: .milliseconds(10)) }
        call.release()
        #expect(await stopper.value, "the grace was cut short by the caller's cancellation")
    }

    @Test func waitingEndsWhenTheWaiterIsCancelled() async {
        let call = StuckCall()
        let work = AbandonableTask { await call.wait() }
        let waiter = Task { await work.wait() }
        waiter.cancel()
        await waiter.value
        #expect(!work.isEnded)
        call.release()
        await work.wait()
        #expect(work.isEnded)
    }
}
