import Foundation
import Resilience
import Testing

/// `ChildProcessExit` reads a child's end from the kernel: exit statuses and signals, also for a
/// child that closed every descriptor it inherited (Foundation's exit signal among them), as the
/// scripts that start PostgreSQL do.
struct ChildProcessExitTests {
    static func bash(_ script: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        try process.run()
        return process
    }

    static let closeInherited = #"for fd in $(ls /proc/$$/fd); do case "$fd" in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac; done; "#

    @Test func anExitStatusIsRead() throws {
        #expect(ChildProcessExit.wait(for: try Self.bash("exit 0")) == ChildProcessExit(status: 0, signaled: false))
        let failed = ChildProcessExit.wait(for: try Self.bash("exit 3"))
        #expect(failed == ChildProcessExit(status: 3, signaled: false))
        #expect(!failed.succeeded)
    }

    @Test func aChildThatClosedItsInheritedDescriptorsIsSeenToEnd() throws {
        // It lives on a while after closing them, then ends: the end is what must be seen.
        let exit = ChildProcessExit.wait(for: try Self.bash(Self.closeInherited + "sleep 0.3; exit 7"))
        #expect(exit == ChildProcessExit(status: 7, signaled: false))
    }

    @Test func aSignalIsToldApartFromAStatus() throws {
        let exit = ChildProcessExit.wait(for: try Self.bash(Self.closeInherited + "kill -9 $$"))
        #expect(exit == ChildProcessExit(status: 9, signaled: true))
        #expect(exit.description == "signal 9")
    }
}
