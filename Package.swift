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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .target(name: "FHIRModel", swiftSettings: strictSettings),
        .target(name: "FHIRFormats", dependencies: ["FHIRModel", "CLibXML2"], swiftSettings: strictSettings),
        .target(name: "FHIRPath", dependencies: ["FHIRModel"], swiftSettings: strictSettings),
        .target(name: "FHIRValidation", dependencies: ["FHIRModel", "FHIRFormats", "FHIRPath"], swiftSettings: strictSettings),
        .target(
            name: "ErxProfiles",
            dependencies: ["FHIRValidation"],
            path: "profiles",
            exclude: ["README.md"],
            resources: [.copy("core"), .copy("definitions"), .copy("workflow-versions.json")],
            swiftSettings: strictSettings
        ),
        .target(name: "R4MetadataGenerator", swiftSettings: strictSettings),
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
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
        .testTarget(name: "ErxCLITests", dependencies: ["erx"], swiftSettings: strictSettings),
    ]
)
