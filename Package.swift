// swift-tools-version: 6.1
import PackageDescription

/// Every target opts into the same upcoming features, as Hummingbird does: explicit `any`,
/// imports that are internal unless a public API needs them, and member lookups that follow imports.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "erx",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "erx", targets: ["erx"]),
        .executable(name: "erx-codegen", targets: ["erx-codegen"]),
        .executable(name: "erx-bench", targets: ["CodecBenchmarks"]),
        .executable(name: "erx-validation-bench", targets: ["ValidationBenchmarks"]),
        .executable(name: "erx-ws-bench", targets: ["WebSocketBenchmarks"]),
        .executable(name: "erx-vau-bench", targets: ["VAUBenchmarks"]),
        .executable(name: "erx-fuzz", targets: ["erx-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        /// zlib, for the gzip of the eGK proof of presence (`pnw`, issue 24).
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        /// The VAU protocol of the E-Rezept (issue 25): the ECIES request body, `p`, the sealed answer
        /// and the inner HTTP messages; brainpool ECDH (`TICrypto`) behind the seam of `VAUKeys`.
        .target(
            name: "VAUProtocol",
            dependencies: [
                "TICrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "VAUProtocolTests", dependencies: ["VAUProtocol", "TICrypto", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strictSettings),
        /// OpenSSL 3 (libcrypto), for brainpoolP256r1: used by TICrypto only.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        /// The TI's elliptic-curve cryptography (brainpoolP256r1 keys, ECDH, ECDSA, certificates)
        /// over OpenSSL, with nothing of OpenSSL in its API. HKDF, AES-GCM and CMAC stay with swift-crypto.
        .target(name: "TICrypto", dependencies: ["COpenSSL"], swiftSettings: strictSettings),
        .target(name: "FHIRModel", swiftSettings: strictSettings),
        .target(name: "FHIRFormats", dependencies: ["FHIRModel", "CLibXML2"], swiftSettings: strictSettings),
        .target(name: "FHIRPath", dependencies: ["FHIRModel"], swiftSettings: strictSettings),
        .target(name: "FHIRValidation", dependencies: ["FHIRModel", "FHIRFormats", "FHIRPath"], swiftSettings: strictSettings),
        .target(
            name: "ErxProfiles",
            dependencies: ["FHIRValidation"],
            path: "profiles",
            exclude: ["README.md"],
            resources: [.copy("core"), .copy("definitions"), .copy("workflow-versions.json"), .copy("kbv-versions.json")],
            swiftSettings: strictSettings
        ),
        .target(name: "R4MetadataGenerator", swiftSettings: strictSettings),
        /// The dispensing domain: value types, the Task state machine and its rules, and the ports
        /// (store, clock, ids) the outer layers implement. No HTTP, no SQL.
        .target(
            name: "Dispensing",
            dependencies: ["FHIRModel"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SQLiteStore",
            dependencies: ["Dispensing", "FHIRModel", "FHIRFormats", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        /// The second implementation of the store port (issue 21): PostgreSQL through postgres-nio's
        /// pooled `PostgresClient`, for several instances sharing one database.
        .target(
            name: "PostgreSQLStore",
            dependencies: [
                "Dispensing", "FHIRModel", "FHIRFormats",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "FHIRServer",
            dependencies: [
                "VAUProtocol",
                "Dispensing", "FHIRModel", "FHIRFormats", "FHIRValidation", "ErxProfiles", "CZlib", "TICrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        /// The outbound side (ARCHITECTURE decision 6): the HTTP client of the national registry
        /// (consent decisions, the `*-erp` operations), the consent cache behind `ObjectionRegistry`,
        /// and the outbox relay that runs as a lifecycle service.
        .target(
            name: "RegistryClient",
            dependencies: [
                "Dispensing", "FHIRModel", "FHIRFormats",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                // HMAC-SHA256 signatures of webhook deliveries.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        /// `erx registry-sim`: a registry on loopback with injectable faults, for tests and demos.
        .target(
            name: "RegistrySimulator",
            dependencies: [
                "FHIRModel", "FHIRFormats", "FHIRValidation", "ErxProfiles",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                // Verifies webhook signatures at the receiving endpoint.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "erx-codegen",
            dependencies: [
                "R4MetadataGenerator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "erx",
            dependencies: [
                "FHIRModel", "FHIRFormats", "FHIRValidation", "ErxProfiles",
                "Dispensing", "SQLiteStore", "PostgreSQLStore", "FHIRServer", "RegistryClient", "RegistrySimulator", "TICrypto", "VAUProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: ["FHIRModel", "FHIRFormats", "CLibXML2"],
            path: "Benchmarks/CodecBenchmarks",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "ValidationBenchmarks",
            dependencies: ["FHIRModel", "FHIRFormats", "FHIRValidation", "ErxProfiles"],
            path: "Benchmarks/ValidationBenchmarks",
            swiftSettings: strictSettings
        ),
        /// Ping latency of the subscription websockets and DispReq posts/s (issue 23), against a
        /// websocket round trip and a probe in the same run.
        .executableTarget(
            name: "WebSocketBenchmarks",
            dependencies: [
                "Dispensing", "FHIRServer", "FHIRValidation", "ErxProfiles", "SQLiteStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/WebSocketBenchmarks",
            swiftSettings: strictSettings
        ),
        /// `$dispense` through the VAU against plain HTTP (issue 25), in the same run.
        .executableTarget(
            name: "VAUBenchmarks",
            dependencies: [
                "Dispensing", "FHIRServer", "FHIRValidation", "ErxProfiles", "SQLiteStore", "TICrypto", "VAUProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/VAUBenchmarks",
            swiftSettings: strictSettings
        ),
        /// Fuzz targets (issue 19): one entry function per target that traps on a violated property.
        /// Plain code: `swift test` replays the saved regressions through it without sanitizers.
        .target(
            name: "ErxFuzzing",
            dependencies: [
                "FHIRModel", "FHIRFormats", "FHIRPath", "FHIRValidation", "ErxProfiles",
                "Dispensing", "SQLiteStore", "FHIRServer", "VAUProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        /// `erx-fuzz`: libFuzzer's driver when built with `-sanitize=fuzzer -DFUZZING` (scripts/fuzz.sh),
        /// otherwise a replayer of input files through one target.
        .executableTarget(name: "erx-fuzz", dependencies: ["ErxFuzzing"], swiftSettings: strictSettings),
        .testTarget(name: "ErxFuzzingTests", dependencies: ["ErxFuzzing"], swiftSettings: strictSettings),
        .testTarget(name: "TICryptoTests", dependencies: ["TICrypto", "StoreTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "FHIRModelTests", dependencies: ["FHIRModel"], swiftSettings: strictSettings),
        .testTarget(
            name: "FHIRFormatsTests",
            dependencies: ["FHIRModel", "FHIRFormats", "CLibXML2"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "FHIRValidationTests", dependencies: ["FHIRValidation", "FHIRModel", "FHIRFormats", "ErxProfiles"], swiftSettings: strictSettings),
        .testTarget(name: "FHIRPathTests", dependencies: ["FHIRPath", "FHIRModel", "FHIRFormats"], swiftSettings: strictSettings),
        .testTarget(
            name: "R4MetadataGeneratorTests",
            dependencies: ["R4MetadataGenerator"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ErxCLITests",
            dependencies: [
                "erx", "SQLiteStore", "PostgreSQLStore", "StoreTestSupport", "Dispensing", "FHIRModel", "FHIRFormats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RegistrySimulatorTests",
            dependencies: [
                "RegistrySimulator", "FHIRModel", "FHIRFormats",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "DispensingTests", dependencies: ["Dispensing", "FHIRModel", "FHIRFormats"], swiftSettings: strictSettings),
        /// Shared by the store test targets: which stores a port-level test runs on, and a throwaway
        /// PostgreSQL database per test (from ERX_TEST_POSTGRES_URL or scripts/postgres-cluster.sh).
        .target(
            name: "StoreTestSupport",
            dependencies: [
                "Dispensing", "SQLiteStore", "PostgreSQLStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/StoreTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SQLiteStoreTests",
            dependencies: ["SQLiteStore", "PostgreSQLStore", "StoreTestSupport", "Dispensing", "FHIRModel", "FHIRFormats"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FHIRServerTests",
            dependencies: [
                "FHIRServer", "SQLiteStore", "PostgreSQLStore", "StoreTestSupport", "Dispensing", "FHIRModel", "FHIRFormats",
                "FHIRValidation", "ErxProfiles", "RegistryClient", "RegistrySimulator", "erx", "VAUProtocol",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
