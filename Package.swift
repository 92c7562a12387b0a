// swift-tools-version: 6.1
// ares — an agentic research engine. Module layout and dependency direction: ../shared/DESIGN.md
// (mirrored in docs/architecture.md). Only packages from DEPENDENCIES.md are used.
import PackageDescription

let strictSwift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "ares",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ares", targets: ["ares"]),
        .library(name: "Knowledge", targets: ["Knowledge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // Domain types shared by every module. Foundation only, no I/O.
        .target(name: "ResearchCore", swiftSettings: strictSwift6),
        // Retries with backoff and jitter, timeouts, circuit breaker. Foundation only for now.
        .target(name: "Resilience", swiftSettings: strictSwift6),
        // Loaders, chunking, analyzer, BM25, HNSW, embedders, hybrid search, document store.
        .target(
            name: "Knowledge",
            dependencies: [
                "ResearchCore", "Resilience",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSwift6
        ),
        // The event store of research tasks: SQLite (GRDB, WAL, group commit), hash-chained streams.
        .target(
            name: "Storage",
            dependencies: [
                "ResearchCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift6
        ),
        // Research agents: built-in (offline, deterministic) implementations of the ports in ResearchCore.
        .target(name: "Agents", dependencies: ["ResearchCore", "Knowledge", "Resilience"], swiftSettings: strictSwift6),
        // Durable research tasks: the workflow's steps recorded in the event store, resume.
        .target(name: "TaskService", dependencies: ["ResearchCore", "Storage"], swiftSettings: strictSwift6),
        // The composition root: the `ares` command line.
        .executableTarget(
            name: "ares",
            dependencies: [
                "Knowledge", "ResearchCore", "Agents", "Storage", "TaskService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift6
        ),
        // Benchmarks: commands that print numbers (see BENCHMARKS.md). Not part of the product.
        .executableTarget(
            name: "ares-bench",
            dependencies: [
                "Knowledge", "Storage", "Agents", "TaskService", "ResearchCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(name: "KnowledgeTests", dependencies: ["Knowledge", "ResearchCore", "Resilience"], exclude: ["Fixtures"], swiftSettings: strictSwift6),
        .testTarget(name: "ResilienceTests", dependencies: ["Resilience"], swiftSettings: strictSwift6),
        .testTarget(name: "TaskServiceTests", dependencies: ["TaskService", "Storage", "ResearchCore"], swiftSettings: strictSwift6),
        .testTarget(name: "StorageTests", dependencies: ["Storage"], swiftSettings: strictSwift6),
        .testTarget(name: "AgentsTests", dependencies: ["Agents", "ResearchCore", "Resilience"], exclude: ["Fixtures"], swiftSettings: strictSwift6),
        .testTarget(name: "ResearchCoreTests", dependencies: ["ResearchCore"], swiftSettings: strictSwift6),
        .testTarget(name: "AresCLITests", dependencies: ["ares", "Knowledge", "Storage"], swiftSettings: strictSwift6),
    ]
)
