import ArgumentParser
import AresComposition
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Output for people: results on standard output, messages and progress on standard error
/// (so `ares search --format json | jq` stays clean).
enum Console {
    static func error(_ message: String) {
        writeStandardError("ares: error: \(message)\n")
    }

    static func warning(_ message: String) {
        writeStandardError("ares: warning: \(message)\n")
    }

    static func note(_ message: String) {
        writeStandardError("\(message)\n")
    }

    /// Writes to standard error, ignoring failure: `FileHandle.write(_: Data)` traps when the
    /// descriptor is closed or its reader is gone, and a message is never worth the process.
    static func writeStandardError(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }

    static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Runs a command body, turning any failure into one clear line and exit status 1
    /// instead of a stack of Swift error descriptions.
    static func reportingErrors(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let exit as ExitCode {
            throw exit
        } catch let validation as ValidationError {
            error(validation.message)
            throw ExitCode(64)
        } catch let configuration as ConfigurationError {
            error(configuration.message)
            throw ExitCode(64)
        } catch let composition as CompositionError {
            error(composition.description)
            throw ExitCode(64)
        } catch {
            Console.error("\(error)")
            throw ExitCode.failure
        }
    }
}
