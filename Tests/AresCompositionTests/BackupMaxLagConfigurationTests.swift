import AresComposition
import Foundation
import Testing

/// `--backup-max-lag` (bounded RPO for `--backup-to`): its default, its sources, and the
/// values it refuses with an error that names the setting and what it accepts.
@Suite struct BackupMaxLagConfigurationTests {
    private func load(_ flags: ConfigurationFlags = ConfigurationFlags(), environment: [String: String]) throws -> AresConfiguration {
        try AresConfiguration.load(flags: flags, environment: environment, workingDirectory: URL(fileURLWithPath: "/srv/work"))
    }

    private func message(_ flags: ConfigurationFlags = ConfigurationFlags(), environment: [String: String]) -> String? {
        do {
            _ = try load(flags, environment: environment)
            return nil
        } catch let error as ConfigurationError {
            return error.message
        } catch {
            return "not a ConfigurationError: \(error)"
        }
    }

    @Test func itIsOneSecondUnlessSetAndAFlagWinsOverTheEnvironment() throws {
        let shipping = ["ARES_BACKUP_TO": "/srv/backup"]
        #expect(try load(environment: shipping).continuousBackup?.maximumLag == .seconds(1))
        #expect(try load(environment: shipping.merging(["ARES_BACKUP_MAX_LAG": "5"]) { $1 }).continuousBackup?.maximumLag == .seconds(5))
        var flags = ConfigurationFlags()
        flags.set(.backupMaxLag, 3)
        #expect(try load(flags, environment: shipping.merging(["ARES_BACKUP_MAX_LAG": "5"]) { $1 }).continuousBackup?.maximumLag == .seconds(3))
    }

    @Test func aLagBeyondTheFailureLimitOrOutOfRangeIsRefusedByName() {
        let tooLong = message(environment: ["ARES_BACKUP_TO": "/srv/backup", "ARES_BACKUP_MAX_LAG": "30", "ARES_BACKUP_FAILURE_LIMIT": "10"])
        #expect(tooLong?.contains("backupMaxLag") == true && tooLong?.contains("failure limit") == true, "\(tooLong ?? "accepted")")
        for bad in ["0", "-1", "0.5", "3601", "soon"] {
            let refused = message(environment: ["ARES_BACKUP_TO": "/srv/backup", "ARES_BACKUP_MAX_LAG": bad])
            #expect(refused?.contains("ARES_BACKUP_MAX_LAG") == true || refused?.contains("backupMaxLag") == true, "\(bad): \(refused ?? "accepted")")
        }
    }
}
