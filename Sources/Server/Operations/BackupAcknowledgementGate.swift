import Foundation
import Storage

/// Bounded RPO for continuous backup (`ares serve --backup-to DIR --backup-max-lag S`): an
/// append to the task store waits while the oldest committed write the backup does not hold
/// yet is older than `maximumLag`, so that no acknowledgement is given while the backup is
/// further behind than that. Losing the machine then loses at most the writes of the last
/// `maximumLag` seconds before the last acknowledgement (plus that append's own commit,
/// milliseconds).
///
/// While shipping keeps up, appends pass at once (one lock, no wait). When it falls behind,
/// they wait, which slows writers down (back-pressure) until it has caught up. When shipping
/// has been behind or failing for longer than `--backup-failure-limit` (readiness says "not
/// ready" then), waiting would have no end in sight: appends are refused at once with a
/// retryable `StorageUnavailableError` (JSON-RPC -32050, HTTP 503 with Retry-After), nothing
/// written; running tasks pause at their last recorded step and continue once shipping works
/// again. No append waits longer than the failure limit.
public struct BackupAcknowledgementGate: AppendAdmission {
    /// How often a waiting append looks again. Polling, not a notification: waits only happen
    /// while shipping is behind, a round takes far longer than this, and a poll cannot miss a
    /// wake-up or leak a continuation when the waiting task is canceled.
    static let pollInterval: Duration = .milliseconds(10)

    public let maximumLag: Duration
    let status: BackupShippingStatus

    public init(maximumLag: Duration, status: BackupShippingStatus) {
        self.maximumLag = maximumLag
        self.status = status
    }

    public func admit() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        var waited = false
        while true {
            switch status.acknowledgementDecision(maximumLag: maximumLag) {
            case .admit:
                status.recordAcknowledgementWait(waited ? clock.now - start : .zero)
                return
            case let .refuse(reason):
                status.recordAcknowledgementRefused()
                throw StorageUnavailableError(reason: .backupBehind, detail: reason)
            case .wait:
                // The readiness limit ends a wait by itself (the decision turns to refuse); this
                // bound only guards against a clock that jumped.
                if clock.now - start > status.failureLimit {
                    status.recordAcknowledgementRefused()
                    throw StorageUnavailableError(reason: .backupBehind, detail: "the backup stayed behind for the whole failure limit")
                }
                waited = true
                try await Task.sleep(for: Self.pollInterval)
            }
        }
    }

    public func committed() {
        status.recordCommit()
    }
}
