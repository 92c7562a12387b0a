import ArgumentParser

/// `--database URL`: keep the state replicas share (tasks, keys, the work queue) in PostgreSQL
/// instead of the data directory. The password never goes on the command line.
public struct DatabaseConnectionOptions: ParsableArguments, ConfigurationOptionGroup {
    @Option(name: .customLong("database"), help: ArgumentHelp(
        "Shared state in PostgreSQL: postgres://USER@HOST:PORT/DATABASE?sslmode=disable|require|verify-full ($ARES_DATABASE_URL). No password in it: it is read from the file named by $ARES_DATABASE_PASSWORD_FILE, else $ARES_DATABASE_PASSWORD.",
        valueName: "url"))
    public var database: String?

    @Option(help: ArgumentHelp("The PEM CA certificates trusted for the database's certificate (sslmode=verify-full; $ARES_DATABASE_CA_FILE).", valueName: "file"))
    public var databaseCaFile: String?

    public init() {}

    public func apply(to flags: inout ConfigurationFlags) {
        flags.set(.database, database)
        flags.set(.databaseCAFile, databaseCaFile)
    }
}

/// How one of several replicas on a shared database takes part (`ares serve --database`).
public struct ReplicaOptions: ParsableArguments, ConfigurationOptionGroup {
    @Option(help: ArgumentHelp("How replicas learn of each other's steps: listen (LISTEN/NOTIFY, the default) or poll (for poolers in transaction mode; $ARES_DATABASE_NOTIFY).",
                               valueName: "mode"))
    public var databaseNotify: String?

    @Option(help: ArgumentHelp("This replica's name in work-queue leases and logs (default: host name, process id and a random suffix; $ARES_REPLICA_ID).",
                               valueName: "id"))
    public var replicaId: String?

    public init() {}

    public func apply(to flags: inout ConfigurationFlags) {
        flags.set(.databaseNotify, databaseNotify)
        flags.set(.replicaID, replicaId)
    }
}
