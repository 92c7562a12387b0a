import Foundation
import Server
import Testing

/// Bounded RPO's decision (`BackupShippingStatus.acknowledgementDecision`, which
/// `BackupAcknowledgementGate` asks before every task-store append): admit while the backup
/// misses no commit older than the limit, wait while it does, refuse once shipping is not ready.
/// Driven with explicit times, so that no clock or scheduling decides the outcome.
@Suite struct BackupAcknowledgementDecisionTests {
    private let start = Date(timeIntervalSince1970: 1_800_000_000)

    private func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    private func status(failureLimit: Duration = .seconds(10)) -> BackupShippingStatus {
        BackupShippingStatus(failureLimit: failureLimit, registry: ServerMetrics().registry, now: start)
    }

    @Test func aWriteWaitsOnlyWhileAnOlderCommitIsUnshippedForLongerThanTheLimit() {
        let shipping = status()
        // Nothing committed: nothing to lose, whatever the time since the last round.
        #expect(shipping.acknowledgementDecision(maximumLag: .seconds(1), now: at(5)) == .admit)
        shipping.recordCommit(now: at(5))
        #expect(shipping.acknowledgementDecision(maximumLag: .seconds(1), now: at(5.9)) == .admit)
        #expect(shipping.acknowledgementDecision(maximumLag: .seconds(1), now: at(6.1)) == .wait)
        #expect(shipping.unshippedAgeSeconds(now: at(6.5)) == 1.5)

        // A round that began after the commit and caught up ships it; a commit recorded while the
        // round ran may have been read too late, so it stays the oldest unshipped one.
        shipping.roundStarting(now: at(6.5))
        shipping.recordCommit(now: at(6.6))
        shipping.recordCommit(now: at(6.7))
        shipping.recordSuccess(startedAt: at(6.5), caughtUp: true, segments: 1, events: 3, newGeneration: nil, now: at(6.8))
        #expect(shipping.unshippedAgeSeconds(now: at(7)) == at(7).timeIntervalSince(at(6.6)))
        #expect(shipping.acknowledgementDecision(maximumLag: .seconds(1), now: at(7.5)) == .admit)
        #expect(shipping.acknowledgementDecision(maximumLag: .seconds(1), now: at(7.7)) == .wait)

        // The next caught-up round that began after it empties the backlog.
        shipping.roundStarting(now: at(7.8))
        shipping.recordSuccess(startedAt: at(7.8), caughtUp: true, segments: 1, events: 1, newGeneration: nil, now: at(7.9))
        #expect(shipping.unshippedAgeSeconds(now: at(9)) == 0)
        #expect(shipping.acknowledgementDecision(maximumLag: .seconds(1), now: at(9)) == .admit)
    }

    @Test func aRoundThatLeftABurstOrFailedShipsNothingForCertain() {
        let shipping = status()
        shipping.recordCommit(now: at(1))
        shipping.roundStarting(now: at(1.5))
        shipping.recordSuccess(startedAt: at(1.5), caughtUp: false, segments: 64, events: 320_000, newGeneration: nil, now: at(2))
        #expect(shipping.unshippedAgeSeconds(now: at(3)) == 2)
        shipping.roundStarting(now: at(3))
        shipping.recordFailure("No space left on device", now: at(3.2))
        #expect(shipping.unshippedAgeSeconds(now: at(4)) == 3)
        #expect(shipping.acknowledgementDecision(maximumLag: .seconds(2), now: at(4)) == .wait)
    }

    @Test func writesAreRefusedOnceShippingHasFailedForLongerThanTheFailureLimit() {
        let shipping = status(failureLimit: .seconds(5))
        shipping.roundStarting(now: at(0))
        shipping.recordSuccess(startedAt: at(0), segments: 0, events: 0, newGeneration: 1, now: at(0.1))
        shipping.recordCommit(now: at(1))
        shipping.roundStarting(now: at(1.2))
        shipping.recordFailure("the backup directory was replaced by a file", now: at(1.3))
        // Failing, but within the limit: the write waits for shipping to work again.
        #expect(shipping.acknowledgementDecision(maximumLag: .seconds(1), now: at(4)) == .wait)
        guard case let .refuse(reason) = shipping.acknowledgementDecision(maximumLag: .seconds(1), now: at(7)) else {
            Issue.record("a write was not refused after shipping failed for longer than the failure limit")
            return
        }
        #expect(reason.contains("failing for") && reason.contains("replaced by a file"), "\(reason)")
        // Readiness says the same.
        #expect(shipping.readiness(now: at(7)).ready == false)
        // With nothing unshipped there is nothing to lose: the first write after a quiet spell passes.
        let quiet = status(failureLimit: .seconds(5))
        quiet.roundStarting(now: at(0))
        quiet.recordFailure("stuck", now: at(0.1))
        #expect(quiet.acknowledgementDecision(maximumLag: .seconds(1), now: at(60)) == .admit)
    }
}
