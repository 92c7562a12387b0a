import Foundation

/// Reads a data directory's SQLite files the way an operator would, with Debian's `sqlite3`
/// command-line tool (CI installs it), read-only and from outside the process that wrote them.
enum SQLiteCommandLine {
    /// The output of `query` on `database`, as sqlite3 prints it (`|` between columns, a row a line).
    static func output(_ database: URL, _ query: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", "-readonly", database.path, query]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch {
            throw ServerProcess.Failure("sqlite3 cannot be run (install Debian's sqlite3): \(error)")
        }
        // Read the pipes before waiting: a large answer would otherwise fill its pipe and stall sqlite3.
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ServerProcess.Failure("sqlite3 failed (\(process.terminationStatus)): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The rows of `query` on `database`, one string each.
    static func rows(_ database: URL, _ query: String) throws -> [String] {
        try output(database, query).split(separator: "\n").map(String.init)
    }
}
