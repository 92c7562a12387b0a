import Foundation
import LocalModels

/// Progress of `ares models fetch` on standard error: on a terminal one line redrawn at most
/// ten times a second; otherwise (logs, pipes, tests) a line per quarter of each file, so that
/// a long download still shows it is moving without flooding a log.
final class FetchProgressDisplay: @unchecked Sendable {
    private let terminal: Bool
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var lastQuarter: [String: Int64] = [:]
    private var drawn = false

    init(terminal: Bool = Console.standardErrorIsTerminal) {
        self.terminal = terminal
    }

    func update(_ progress: HubModelFetcher.Progress) {
        lock.lock()
        defer { lock.unlock() }
        let done = progress.total.map { progress.received >= $0 } ?? false
        if terminal {
            let now = Date()
            guard now.timeIntervalSince(lastDraw) >= 0.1 || done else { return }
            lastDraw = now
            Console.writeStandardError("\r\u{1B}[2K\(Self.line(progress))")
            drawn = true
            return
        }
        guard let total = progress.total, total > 0 else { return }
        let quarter = min(4, progress.received * 4 / total)
        guard quarter > lastQuarter[progress.file, default: -1] else { return }
        lastQuarter[progress.file] = quarter
        Console.writeStandardError(Self.line(progress) + "\n")
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { Console.writeStandardError("\r\u{1B}[2K") }
        drawn = false
    }

    static func line(_ progress: HubModelFetcher.Progress) -> String {
        guard let total = progress.total, total > 0 else { return "fetch \(progress.file): \(size(progress.received))" }
        return "fetch \(progress.file): \(size(progress.received)) of \(size(total)) (\(min(100, progress.received * 100 / total)) %)"
    }

    static func size(_ bytes: Int64) -> String {
        bytes < 10_000 ? "\(bytes) B" : bytes < 10_000_000 ? String(format: "%.1f kB", Double(bytes) / 1e3) : String(format: "%.1f MB", Double(bytes) / 1e6)
    }
}
