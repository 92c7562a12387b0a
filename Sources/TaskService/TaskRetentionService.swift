import Foundation
import Logging
import ServiceLifecycle

/// The server's retention setting at work: every `interval`, removes the tasks that ended more
/// than `retention` ago (see `TaskRetention`). A pass that fails (the disk is full, say) is
/// logged and tried again at the next interval; the server keeps serving either way.
public struct TaskRetentionService: Service {
    public let retention: TaskRetention
    /// How long ended tasks are kept.
    public let keep: Duration
    public let interval: Duration
    private let logger: Logger

    public init(retention: TaskRetention, keep: Duration, interval: Duration? = nil, logger: Logger) {
        self.retention = retention
        self.keep = keep
        // Often enough that a task outlives its retention by at most a tenth of it, rarely
        // enough that a pass (a read of the stream heads) costs nothing noticeable.
        self.interval = interval ?? min(.seconds(3600), max(.seconds(1), keep / 10))
        self.logger = logger
    }

    /// The task-end cutoff of a pass run at `now`.
    public func cutoff(now: Date = Date()) -> Date {
        let components = keep.components
        return now.addingTimeInterval(-(Double(components.seconds) + Double(components.attoseconds) / 1e18))
    }

    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await pass()
            // Ends early (without error) at graceful shutdown.
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    func pass() async {
        do {
            let report = try await retention.prune(endedBefore: cutoff())
            guard report.prunedTasks > 0 || report.keptTasks > 0 else { return }
            logger.info("retention pruned ended tasks", metadata: [
                "pruned": .stringConvertible(report.prunedTasks), "kept": .stringConvertible(report.keptTasks),
                "bytesBefore": .stringConvertible(report.bytesBefore), "bytesAfter": .stringConvertible(report.bytesAfter),
            ])
        } catch {
            logger.warning("retention pass failed; it is tried again at the next interval", metadata: ["error": .string(String(describing: error))])
        }
    }
}
