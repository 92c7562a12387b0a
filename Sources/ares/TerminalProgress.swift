import Foundation
import Knowledge

/// A one-line progress display on standard error, redrawn at most ten times a second, and
/// silent when standard error is not a terminal (logs and pipes stay clean).
final class TerminalProgress: @unchecked Sendable {
    private let enabled: Bool
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(enabled: Bool = Console.standardErrorIsTerminal) {
        self.enabled = enabled
    }

    func update(_ progress: IngestProgress) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 || progress.filesDone == progress.filesTotal else { return }
        lastDraw = now
        var line = "ingest \(progress.filesDone)/\(progress.filesTotal) files · \(progress.chunksAdded) chunks · "
        line += String(format: "%.0f files/s", progress.rate)
        if let left = progress.estimatedSecondsLeft { line += String(format: " · ETA %.0fs", left) }
        Console.writeStandardError("\r\u{1B}[2K\(line)")
        drawn = true
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { Console.writeStandardError("\r\u{1B}[2K") }
        drawn = false
    }
}
