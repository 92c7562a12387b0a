import Logging

extension Console {
    /// The database's warnings (retries while it is unreachable) on standard error; standard
    /// output stays the command's result.
    static var databaseLogger: Logger {
        var logger = Logger(label: "ares.database", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        return logger
    }
}
