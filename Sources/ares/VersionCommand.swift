import ArgumentParser
import Foundation

/// `ares version`: what this binary is and what it was built from: the version, the commit, the
/// build configuration and the resolved version of every Swift package it contains. The commit
/// and dependency versions are generated into the binary at build time (`BuildInfo`, from
/// .git and Package.resolved by Plugins/BuildInfoPlugin); nothing is read from the machine it runs on
/// except whether the Swift runtime was linked statically. Operators and SBOM checks compare
/// this with `scripts/sbom.py`'s output.
struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the version, commit, build flags and dependency versions (--json for a machine-readable form).")

    @Flag(help: "Print JSON: {version, commit, build: {configuration, assertions, architecture, os, swiftRuntime}, dependencies: [{name, version, revision}]}.")
    var json = false

    struct Report: Codable, Equatable {
        struct Build: Codable, Equatable {
            var configuration: String
            var assertions: Bool
            var architecture: String
            var os: String
            /// "static" when built with --static-swift-stdlib (the container image), else "shared".
            var swiftRuntime: String
        }
        struct Dependency: Codable, Equatable {
            var name: String
            var version: String
            var revision: String
        }
        var version: String
        var commit: String?
        var build: Build
        var dependencies: [Dependency]
    }

    static func report() -> Report {
        Report(version: AresVersion.current, commit: BuildInfo.commit,
               build: .init(configuration: configurationName, assertions: assertionsEnabled, architecture: architecture,
                            os: operatingSystem, swiftRuntime: swiftRuntimeLinkage()),
               dependencies: BuildInfo.dependencies.map { Report.Dependency(name: $0.name, version: $0.version, revision: $0.revision) })
    }

    func run() async throws {
        let report = Self.report()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("ares \(report.version) (\(report.commit.map { String($0.prefix(12)) } ?? "commit unknown"), \(report.build.configuration), \(report.build.os)/\(report.build.architecture))")
            for dependency in report.dependencies { print("  \(dependency.name) \(dependency.version)") }
        }
    }

    private static var configurationName: String {
        #if DEBUG
        "debug"
        #else
        "release"
        #endif
    }

    private static var assertionsEnabled: Bool {
        var enabled = false
        assert({ enabled = true; return true }())
        return enabled
    }

    private static var architecture: String {
        #if arch(x86_64)
        "x86_64"
        #elseif arch(arm64)
        "arm64"
        #else
        "other"
        #endif
    }

    private static var operatingSystem: String {
        #if os(Linux)
        "linux"
        #elseif os(macOS)
        "macos"
        #else
        "other"
        #endif
    }

    /// Whether libswiftCore is a shared library mapped into this process (read from
    /// /proc/self/maps; on a system without it, "unknown").
    private static func swiftRuntimeLinkage() -> String {
        // Read through a file handle: /proc files report a size of 0, which whole-file reads may trust.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/maps"),
              let data = try? handle.readToEnd() else { return "unknown" }
        try? handle.close()
        return String(decoding: data, as: UTF8.self).contains("libswiftCore.so") ? "shared" : "static"
    }
}
