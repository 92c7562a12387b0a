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
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // OTLP/HTTP only: the trait leaves gRPC (and its packages) out.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Domain types shared by every module. Foundation only, no I/O.
        .target(name: "ResearchCore", swiftSettings: strictSwift6),
        // Retries with backoff and jitter, timeouts, circuit breaker. Foundation only for now.
        .target(name: "Resilience", swiftSettings: strictSwift6),
        // The one little-endian binary reader/writer (bounds-checked) and checksum (XXH64) of the
        // index snapshot and the task event payloads. No Foundation.
        .target(name: "BinaryCoding", swiftSettings: strictSwift6),
        // Debian's OpenBLAS (libopenblas-dev): CBLAS matrix products for the local embedding models.
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        // Sentence-transformers models run inside ares (`--embedder local`): safetensors weights,
        // BERT's WordPiece tokenizer, the BERT encoder on OpenBLAS, pooling. Its own target so that
        // only what embeds with a local model links OpenBLAS (not Knowledge's other users, the fuzzers).
        // Optimized in debug builds too: unoptimized, its SIMD arithmetic (softmax, GELU) runs about
        // 50 times slower, and the tests run the real model.
        // The 8-bit matrix product of the local models' int8 option (AVX-512 VNNI, chosen at run
        // time, or a portable loop). Optimized in debug builds too, for the same reason as LocalModels.
        .target(name: "CLocalModelKernels", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        // `ares models fetch` (HubModelFetcher) downloads over AsyncHTTPClient and checks SHA-256 with Crypto.
        .target(name: "LocalModels", dependencies: ["Knowledge", "BinaryCoding", "COpenBLAS", "CLocalModelKernels",
                                                    .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                    .product(name: "NIOCore", package: "swift-nio"),
                                                    .product(name: "NIOHTTP1", package: "swift-nio"),
                                                    .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: strictSwift6 + [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // Poppler's GLib interface (Debian: libpoppler-glib-dev), through which Knowledge reads PDFs.
        .systemLibrary(name: "CPoppler", pkgConfig: "poppler-glib", providers: [.apt(["libpoppler-glib-dev"])]),
        // Loaders, chunking, analyzer, BM25, HNSW, embedders, hybrid search, document store.
        .target(
            name: "Knowledge",
            dependencies: [
                "ResearchCore", "Resilience", "BinaryCoding", "CPoppler",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),  // a private CA and client certificate for model endpoints
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
        // Shared state of several replicas on one PostgreSQL (issue 16): connection settings, versioned
        // migrations under an advisory lock, the event store (same hash chains as SQLite).
        .target(
            name: "PostgresStorage",
            dependencies: [
                "Storage", "Security", "Knowledge", "TaskService",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        // Research agents: built-in (offline, deterministic) implementations of the ports in ResearchCore.
        .target(name: "Agents", dependencies: ["ResearchCore", "Knowledge", "Resilience"], swiftSettings: strictSwift6),
        // Durable research tasks: the workflow's steps recorded in the event store, resume.
        .target(
            name: "TaskService",
            dependencies: ["ResearchCore", "Storage", "BinaryCoding", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift6),
        // Principals, API keys (hashed at rest, constant-time comparison), roles and permissions.
        .target(
            name: "Security",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift6
        ),
        // The audit trail: security events (authentication failures, denials, key changes, admin
        // actions, configuration at start) in their own hash-chained event store file.
        .target(
            name: "Audit",
            dependencies: [
                "Storage", "Security",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        // ares as an OAuth2 resource server: OIDC discovery, the issuer's JWKS (cached, refetched
        // on an unknown kid at a bounded rate), bearer token verification and the principal it names.
        .target(
            name: "Identity",
            dependencies: [
                "Security",
                // RSA (PKCS#1 v1.5 and PSS) verification; P-256 and Ed25519 are in Crypto itself.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift6
        ),
        // The HTTP server: JSON-RPC 2.0 (A2A 1.0), MCP, SSE, health, metrics, access control.
        .target(
            name: "Server",
            dependencies: [
                "ResearchCore", "Knowledge", "Storage", "TaskService", "Security", "Resilience", "BinaryCoding", "Audit", "Identity",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),  // TLS and mutual TLS of `ares serve` (Sources/Server/TLS)
                .product(name: "NIOTLS", package: "swift-nio"),  // the handshake-completed event
            ],
            swiftSettings: strictSwift6
        ),
        // `ares validate`: the validation plan (load, stress, soak, chaos phases), an open-loop load
        // generator (constant arrival rate, HDR histograms, no coordinated omission), the security
        // and conformance probes, the five gates and the Go/No-Go package. It talks to ares only
        // over HTTP, so it validates any deployment.
        .target(
            name: "Validation",
            dependencies: [
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift6
        ),
        // The one composition of the engine: AresConfiguration (flags, environment, file,
        // defaults; validated once) and what assembles the modules from it, for `ares` and `ares-bench`.
        .target(
            name: "AresComposition",
            dependencies: [
                "Knowledge", "ResearchCore", "Agents", "Storage", "TaskService", "Security", "Server", "Audit", "Identity", "LocalModels",
                "PostgresStorage",  // `ares serve --database`: the shared event store, keys and work queue
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // Continuous backup shipping (Backup/): a Service, and SHA-256 over each segment.
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift6
        ),
        // The command line.
        .executableTarget(
            name: "ares",
            dependencies: [
                "AresComposition", "Knowledge", "ResearchCore", "Agents", "Storage", "TaskService", "Security", "Server", "Audit", "Validation", "PostgresStorage",
                "LocalModels",  // `ares models fetch|list`
                "Resilience",  // ChildProcessExit: waiting for pg_ctl (ManagedPostgres)
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `ares validate --manage --database`: the failover phase reads the work queue's leases.
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strictSwift6,
            plugins: ["BuildInfoPlugin"]
        ),
        // `ares version --json`: the commit and the resolved dependency versions, generated into
        // the ares executable at build time from .git and Package.resolved (no extra build step).
        .executableTarget(name: "BuildInfoGenerator", path: "Plugins/BuildInfoGenerator", swiftSettings: strictSwift6),
        .plugin(name: "BuildInfoPlugin", capability: .buildTool(), dependencies: ["BuildInfoGenerator"]),
        // Benchmarks: commands that print numbers (see BENCHMARKS.md). Not part of the product.
        .executableTarget(
            name: "ares-bench",
            dependencies: [
                "AresComposition", "Knowledge", "Storage", "Agents", "TaskService", "ResearchCore", "Identity", "Security", "PostgresStorage", "LocalModels",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(name: "LocalModelsTests", dependencies: ["LocalModels", "Knowledge", "CLocalModelKernels"], exclude: ["Fixtures"], swiftSettings: strictSwift6),
        .testTarget(name: "KnowledgeTests", dependencies: ["Knowledge", "ResearchCore", "Resilience", "BinaryCoding", "AresTestSupport"], exclude: ["Fixtures"], swiftSettings: strictSwift6),
        .testTarget(name: "BinaryCodingTests", dependencies: ["BinaryCoding"], swiftSettings: strictSwift6),
        .testTarget(name: "ResilienceTests", dependencies: ["Resilience"], swiftSettings: strictSwift6),
        .testTarget(name: "TaskServiceTests", dependencies: ["TaskService", "Storage", "ResearchCore", "Agents", "AresTestSupport"], swiftSettings: strictSwift6),
        .testTarget(name: "StorageTests", dependencies: ["Storage"], swiftSettings: strictSwift6),
        .testTarget(name: "PostgresStorageTests", dependencies: ["PostgresStorage", "Storage", "Knowledge", "ResearchCore", "AresTestSupport",
                                                                 "TaskService", "Agents",
                                                                 .product(name: "PostgresNIO", package: "postgres-nio"),
                                                                 .product(name: "Logging", package: "swift-log")],
                    swiftSettings: strictSwift6),
        .testTarget(name: "AgentsTests", dependencies: ["Agents", "Knowledge", "ResearchCore", "Resilience"], exclude: ["Fixtures"], swiftSettings: strictSwift6),
        .testTarget(name: "ResearchCoreTests", dependencies: ["ResearchCore"], swiftSettings: strictSwift6),
        .target(name: "AresTestSupport", dependencies: ["ResearchCore", "Resilience"], path: "Tests/AresTestSupport", swiftSettings: strictSwift6),
        .testTarget(name: "AresCompositionTests", dependencies: ["AresComposition", "Storage"], swiftSettings: strictSwift6),
        .testTarget(name: "AresCLITests", dependencies: ["ares", "AresTestSupport", "Knowledge", "Storage",
                                                         // a loopback stand-in for the Hugging Face hub (ModelsCommandTests)
                                                         .product(name: "NIOCore", package: "swift-nio"),
                                                         .product(name: "NIOHTTP1", package: "swift-nio"),
                                                         .product(name: "NIOPosix", package: "swift-nio"),
                                                         .product(name: "Crypto", package: "swift-crypto")],
                    swiftSettings: strictSwift6),
        .testTarget(name: "SecurityTests", dependencies: ["Security"], swiftSettings: strictSwift6),
        .testTarget(name: "ValidationTests", dependencies: ["Validation", "AresTestSupport",
                                                            .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                            .product(name: "NIOCore", package: "swift-nio"),
                                                            .product(name: "NIOPosix", package: "swift-nio"),
                                                            .product(name: "NIOHTTP1", package: "swift-nio")],
                    swiftSettings: strictSwift6),
        .testTarget(name: "IdentityTests", dependencies: ["Identity", "Security", "AresTestSupport",
                                                          .product(name: "Crypto", package: "swift-crypto"),
                                                          .product(name: "_CryptoExtras", package: "swift-crypto"),
                                                          .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                          .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                          .product(name: "Logging", package: "swift-log")],
                    swiftSettings: strictSwift6),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "Storage", "Security", .product(name: "GRDB", package: "GRDB.swift"),
                                                       .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                       .product(name: "Logging", package: "swift-log")], swiftSettings: strictSwift6),
        .testTarget(
            name: "ServerTests",
            dependencies: ["ares", "AresTestSupport", "Agents", "Knowledge", "ResearchCore", "Security", "Server", "Storage", "TaskService", "Audit",
                           .product(name: "Crypto", package: "swift-crypto"), .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "OTel", package: "swift-otel"), .product(name: "Tracing", package: "swift-distributed-tracing")],
            exclude: ["Interop", "Fixtures", "Console/Browser"], swiftSettings: strictSwift6),
    ]
)

// MARK: - Fuzzing (libFuzzer)
// The fuzz targets exist only when ARES_FUZZ=1 is set, so `swift build` and `swift test` never
// compile or link them. scripts/fuzz.sh sets it and builds them into .build-fuzz
// (Fuzz/README.md: inputs, seeds, dictionaries, crashes).
if Context.environment["ARES_FUZZ"] == "1" {
    let serverFixtures: [Target.Dependency] = ["FuzzSupport", "FuzzServerSupport", "Server", "Security", "TaskService"]
    package.targets += [
        .target(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "Fuzz/Support", swiftSettings: strictSwift6),
        .target(
            name: "FuzzServerSupport",
            dependencies: [
                "FuzzSupport", "AresComposition", "Knowledge", "ResearchCore", "Security", "Server", "Storage", "TaskService",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/ServerSupport", swiftSettings: strictSwift6),
        .target(name: "FuzzDocumentSupport", dependencies: ["FuzzSupport", "Knowledge"], path: "Fuzz/DocumentSupport", swiftSettings: strictSwift6),
        .executableTarget(name: "fuzz-jsonrpc", dependencies: serverFixtures, path: "Fuzz/JSONRPC", swiftSettings: strictSwift6),
        .executableTarget(name: "fuzz-mcp", dependencies: serverFixtures, path: "Fuzz/MCP", swiftSettings: strictSwift6),
        .executableTarget(
            name: "fuzz-rest",
            dependencies: serverFixtures + [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),  // a channel for the request context
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/REST", swiftSettings: strictSwift6),
        .executableTarget(name: "fuzz-html", dependencies: ["FuzzSupport", "FuzzDocumentSupport", "Knowledge"], path: "Fuzz/HTML", swiftSettings: strictSwift6),
        .executableTarget(name: "fuzz-markdown", dependencies: ["FuzzSupport", "FuzzDocumentSupport", "Knowledge"], path: "Fuzz/Markdown", swiftSettings: strictSwift6),
        .executableTarget(name: "fuzz-event-codec", dependencies: ["FuzzSupport", "ResearchCore", "TaskService"], path: "Fuzz/EventCodec", swiftSettings: strictSwift6),
        .executableTarget(name: "fuzz-index-snapshot", dependencies: ["FuzzSupport", "Knowledge", "BinaryCoding"], path: "Fuzz/IndexSnapshot", swiftSettings: strictSwift6),
    ]
    // Coverage instrumentation (-sanitize=fuzzer; with FUZZ_ASAN also AddressSanitizer) in ares's
    // own Swift code only, which is what the fuzzers explore: the packages it depends on compile
    // exactly as for `swift build`, so a fuzz build in the tests' build folder (CI) recompiles
    // only ares's modules, not the ten minutes of dependencies.
    // ARES_FUZZ_SANITIZERS= (empty) builds the targets plain: they then replay the inputs they are given.
    let sanitizers = Context.environment["ARES_FUZZ_SANITIZERS"] ?? "fuzzer"
    let cTargets: Set<String> = ["COpenBLAS", "CLocalModelKernels", "CPoppler", "CLibFuzzer"]
    let fuzzers = { (target: Target) in target.type == .executable && target.name.hasPrefix("fuzz-") }
    for target in package.targets where !sanitizers.isEmpty && ((target.type == .regular && !cTargets.contains(target.name)) || fuzzers(target)) {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-sanitize=\(sanitizers)"]), .define("ARES_FUZZING")]
        if fuzzers(target) { target.linkerSettings = (target.linkerSettings ?? []) + [.unsafeFlags(["-sanitize=\(sanitizers)"])] }
    }
}
