import AresComposition
import Foundation
import Testing

/// The abstention thresholds as settings (issue 17 §4): flags, environment and file, the
/// calibrated defaults, and errors that name the setting and what it accepts.
@Suite struct RelevanceConfigurationTests {
    @Test func theDefaultsAreTheCalibratedOnes() throws {
        let relevance = try ConfigurationLoading.load().relevance
        #expect(relevance.minimumWordShare == 0.25 && relevance.minimumCosine == 0.45)
        #expect(relevance.minimumShareOfBest == 0 && relevance.minimumScore == 0 && relevance.sourcesPerSection == 2)
    }

    @Test func flagsEnvironmentAndFileSetThem() throws {
        var flags = ConfigurationFlags()
        flags.set(.minimumWordShare, 0.4)
        flags.set(.sourcesPerSection, 0)
        let fromFlags = try ConfigurationLoading.load(flags, environment: ["ARES_MINIMUM_WORD_SHARE": "0.1", "ARES_MINIMUM_COSINE": "0.5"]).relevance
        #expect(fromFlags.minimumWordShare == 0.4, "a flag wins over the environment")
        #expect(fromFlags.minimumCosine == 0.5 && fromFlags.sourcesPerSection == 0)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ares-relevance-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"minimumShareOfBest": 0.7, "minimumScore": 0.2, "sourcesPerSection": 3}"#.utf8).write(to: folder)
        let fromFile = try ConfigurationLoading.load(ConfigurationFlags(configurationFile: folder.path)).relevance
        #expect(fromFile.minimumShareOfBest == 0.7 && fromFile.minimumScore == 0.2 && fromFile.sourcesPerSection == 3)
    }

    @Test func outOfRangeValuesAreRefusedWithTheSettingAndWhereTheValueCameFrom() {
        var flags = ConfigurationFlags()
        flags.set(.minimumCosine, 1.5)
        #expect(ConfigurationLoading.message(flags) == "minimumCosine must be between 0 and 1 (got 1.5 from --minimum-cosine)")
        #expect(ConfigurationLoading.message(environment: ["ARES_MINIMUM_WORD_SHARE": "a lot"]) == "minimumWordShare must be a number between 0 and 1 (got 'a lot' from ARES_MINIMUM_WORD_SHARE)")
        let count = ConfigurationLoading.message(environment: ["ARES_SOURCES_PER_SECTION": "-1"]) ?? ""
        #expect(count.hasPrefix("sourcesPerSection must be") && count.contains("between 0 and 100") && count.contains("ARES_SOURCES_PER_SECTION"), "\(count)")
    }
}
