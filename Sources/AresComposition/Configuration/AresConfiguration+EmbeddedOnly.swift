extension AresConfiguration {
    /// Refuses, in one line, settings that work only on the embedded store when a shared
    /// database is configured: they would be accepted and then do nothing a user could see.
    /// `ares serve` and `ares mcp` check this before opening anything.
    public func refuseEmbeddedOnlySettingsWithDatabase() throws {
        guard database != nil else { return }
        if continuousBackup != nil {
            // It would ship the data directory's SQLite files, none of which holds the tasks,
            // keys or documents of a server on PostgreSQL: a backup that restores nothing.
            throw ConfigurationError(setting: ConfigurationSetting.backupTo.name, """
                --backup-to ships the data directory, but with --database the tasks, keys and knowledge base live in \
                PostgreSQL: back them up with WAL archiving or `ares backup DEST --database URL` (docs/operations.md), \
                and drop --backup-to (or ARES_BACKUP_TO)
                """)
        }
    }
}
