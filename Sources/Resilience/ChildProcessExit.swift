import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended, read from the kernel rather than from `Foundation.Process`.
///
/// Why: on Linux, `Process` learns that its child ended when a socket it passed to the child
/// closes, and then reaps it. A child that closes its inherited descriptors itself (our scripts
/// that start PostgreSQL do, so the server they leave behind holds nothing of ours) closes that
/// socket long before it ends, and now and then Foundation never notices the end at all: the
/// child stays a zombie, `isRunning` stays true, and `waitUntilExit()` spins for ever (seen in
/// CI: a test spun 9 minutes on a `pg_ctl start` script that had exited in a second). Here the
/// kernel is asked directly with `waitid(WNOWAIT)`, which does not reap, so Foundation can
/// still reap the child when it does notice.
public struct ChildProcessExit: Sendable, Equatable, CustomStringConvertible {
    /// The exit status, or the signal's number when `signaled`.
    public var status: Int32
    public var signaled: Bool

    public init(status: Int32, signaled: Bool) {
        self.status = status
        self.signaled = signaled
    }

    public var succeeded: Bool { !signaled && status == 0 }
    public var description: String { signaled ? "signal \(status)" : "status \(status)" }

    /// Blocks until `process` (started) has ended, polling every `interval`. Call it from a
    /// thread that may block (not an async context); for a process Foundation did not start
    /// it, use the exit it returns, not `process.terminationStatus`, which traps while
    /// Foundation still believes the process runs.
    public static func wait(for process: Process, interval: Duration = .milliseconds(5)) -> ChildProcessExit {
        let pid = process.processIdentifier
        let pause = max(interval, .microseconds(100))
        while true {
            if let ended = peek(pid) { return ended }
            // Foundation reaped it first (the usual case): its own record is complete then.
            if !process.isRunning { return ChildProcessExit(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal) }
            let (seconds, attoseconds) = pause.components
            var request = timespec(tv_sec: Int(clamping: seconds), tv_nsec: Int(clamping: attoseconds / 1_000_000_000))
            _ = nanosleep(&request, nil)
        }
    }

    /// The child's end if it has ended and not been reaped yet; nil while it runs, or once it has
    /// been reaped (then `Process` knows).
    private static func peek(_ pid: pid_t) -> ChildProcessExit? {
        #if os(Linux)
        var info = siginfo_t()
        guard waitid(P_PID, id_t(bitPattern: pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return nil }
        // With WNOHANG and no ended child, waitid returns 0 and leaves si_pid 0.
        guard info._sifields._sigchld.si_pid == pid else { return nil }
        let code = info.si_code
        let status = info._sifields._sigchld.si_status
        return ChildProcessExit(status: status, signaled: code == Int32(CLD_KILLED) || code == Int32(CLD_DUMPED))
        #else
        return nil
        #endif
    }
}
