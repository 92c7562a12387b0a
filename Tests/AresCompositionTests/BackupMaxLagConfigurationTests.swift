import AresComposition
import Foundation
import Testing

/// `--backup-max-lag` (bounded RPO for `--backup-to`): its default, its sources, and the
/// values it refuses with an error that names the setting and what it accepts.
@Suite struct BackupMaxLagConfigurationTests {
    @Test func itIsOneSecondUnlessSetAndAFlagWinsOverTheEnvironment() throws {
        let shipping = ["ARES_BACKUP_TO": "/srv/backup"]
        #expect(try ConfigurationLoading.load(environment: shipping).continuousBackup?.maximumLag == .seconds(1))
        #expect(try ConfigurationLoading.load(environment: shipping.merging(["ARES_BACKUP_MAX_LAG": "5"]) { $1 }).continuousBackup?.maximumLag == .seconds(5))
        var flags = ConfigurationFlags()
        flags.set(.backupMaxLag, 3)
        #expect(try ConfigurationLoading.load(flags, environment: shipping.merging(["ARES_BACKUP_MAX_LAG": "5"]) { $1 }).continuousBackup?.maximumLag == .seconds(3))
    }

    @Test func aLagBeyondTheFailureLimitOrOutOfRangeIsRefusedByName() {
        let tooLong = ConfigurationLoading.message(environment: ["ARES_BACKUP_TO": "/srv/backup", "ARES_BACKUP_MAX_LAG": "30", "ARES_BACKUP_FAILURE_LIMIT": "10"])
        #expect(tooLong?.contains("backupMaxLag") == true && tooLong?.contains("failure limit") == true, "\(tooLong ?? "accepted")")
        for bad in ["0", "-1", "0.5", "3601", "soon"] {
            let refused = ConfigurationLoading.message(environment: ["ARES_BACKUP_TO": "/srv/backup", "ARES_BACKUP_MAX_LAG": bad])
            #expect(refused?.contains("ARES_BACKUP_MAX_LAG") == true || refused?.contains("backupMaxLag") == true, "\(bad): \(refused ?? "accepted")")
        }
    }
}
