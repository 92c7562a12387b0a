import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Output for people: results on standard output, messages and progress on standard error
/// (so `ares search --format json | jq` stays clean).
enum Console {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("ares: error: \(message)\n".utf8))
    }

    static func warning(_ message: String) {
        FileHandle.standardError.write(Data("ares: warning: \(message)\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
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
        } catch {
            Console.error("\(error)")
            throw ExitCode.failure
        }
    }
}
