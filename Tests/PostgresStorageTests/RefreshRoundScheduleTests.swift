import Foundation
import PostgresStorage
import Synchronization
import Testing

/// The schedule behind "a key is refused only after a fresh reload" (`PostgresAPIKeyRefresher`):
/// a caller is answered by a round that began after it asked, callers share rounds, and asking
/// cannot make rounds come more often than once per tick. No database: the rounds are counted.
@Suite struct RefreshRoundScheduleTests {
    /// Rounds begun, and whether each began after the caller asked.
    final class Rounds: Sendable {
        private let state = Mutex((begun: 0, asked: false, begunAfterAsking: 0))

        func begin() {
            state.withLock { state in
                state.begun += 1
                if state.asked { state.begunAfterAsking += 1 }
            }
        }

        func ask() { state.withLock { $0.asked = true } }
        /// Callers answered (`stoppingTheLoopAnswersEveryoneStillWaiting`).
        private let answeredCount = Mutex(0)
        func answer() { answeredCount.withLock { $0 += 1 } }
        var answered: Int { answeredCount.withLock { $0 } }
        var begun: Int { state.withLock { $0.begun } }
        var begunAfterAsking: Int { state.withLock { $0.begunAfterAsking } }
    }

    @Test func aCallerIsAnsweredByARoundThatBeganAfterItAsked() async throws {
        // Periodic rounds an hour apart: only asking can bring the second round.
        let schedule = RefreshRoundSchedule(interval: .seconds(3600), tick: .milliseconds(10))
        let rounds = Rounds()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await schedule.run { rounds.begin() } }
            try await Self.waitUntil { rounds.begun == 1 }
            rounds.ask()
            await schedule.awaitFreshRound()
            #expect(rounds.begunAfterAsking == 1, "answered by the round that began after the call, not the one before it")
            group.cancelAll()
        }
    }

    @Test func callersShareRoundsAndAskingCannotOutpaceTheTick() async throws {
        let tick = Duration.milliseconds(200)
        let schedule = RefreshRoundSchedule(interval: .seconds(3600), tick: tick)
        let rounds = Rounds()
        let clock = ContinuousClock()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await schedule.run { rounds.begin() } }
            try await Self.waitUntil { rounds.begun == 1 }
            let start = clock.now
            // 200 callers in a burst, as a flood of made-up keys would ask.
            await withTaskGroup(of: Void.self) { callers in
                for _ in 0..<200 { callers.addTask { await schedule.awaitFreshRound() } }
            }
            let elapsed = clock.now - start
            let extra = rounds.begun - 1
            // At most one round per tick (plus the one that may begin right away), whatever the load.
            let allowed = Int(elapsed / tick) + 1
            #expect(extra >= 1 && extra <= allowed, "\(extra) rounds for 200 callers in \(elapsed), at most \(allowed) allowed")
            group.cancelAll()
        }
    }

    @Test func withoutARunningLoopACallerIsAnsweredAtOnce() async {
        // Before start-up loaded the keys, or after shutdown: nobody would ever answer a waiter.
        let schedule = RefreshRoundSchedule(interval: .seconds(3600), tick: .seconds(3600))
        await schedule.awaitFreshRound()
    }

    @Test func stoppingTheLoopAnswersEveryoneStillWaiting() async throws {
        let schedule = RefreshRoundSchedule(interval: .seconds(3600), tick: .milliseconds(10))
        let rounds = Rounds()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The second round never ends by itself (a query that hangs), so only the stop answers.
            group.addTask {
                await schedule.run {
                    rounds.begin()
                    if rounds.begun > 1 { try? await Task.sleep(for: .seconds(3600)) }
                }
            }
            try await Self.waitUntil { rounds.begun == 1 }
            group.addTask {
                await withTaskGroup(of: Void.self) { callers in
                    for _ in 0..<3 { callers.addTask { await schedule.awaitFreshRound(); rounds.answer() } }
                }
            }
            try await Self.waitUntil { rounds.begun == 2 }
            #expect(rounds.answered == 0, "the round that would answer them has not ended")
            group.cancelAll()
            try await group.waitForAll()
        }
        #expect(rounds.answered == 3)
    }

    /// Polls with a generous deadline, never a fixed sleep: in the main run on two cores a test
    /// can wait minutes for a thread (157 s seen in CI with a build beside it).
    static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
