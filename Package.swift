// swift-tools-version:6.2
import PackageDescription

/// OrderHub: one host executable, capability plugins as shared libraries, one C ABI between them.
/// Module boundaries (who may import whom) are written down in docs/architecture.md.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "OrderHub",
    // Linux (ELF, dlopen) is the supported platform; the macOS floor only lets the manifest resolve there.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "orderhub", targets: ["OrderHubCLI"]),
        // Capability plugins: each is a .so the host opens with dlopen, never links.
        .library(name: "StateBusSQLite", type: .dynamic, targets: ["StateBusSQLite"]),
        .library(name: "StateBusPostgres", type: .dynamic, targets: ["StateBusPostgres"]),
        .library(name: "RulesBasic", type: .dynamic, targets: ["RulesBasic"]),
        .library(name: "RulesEngine", type: .dynamic, targets: ["RulesEngine"]),
        .library(name: "PredictorLogistic", type: .dynamic, targets: ["PredictorLogistic"]),
        .library(name: "PredictorTrees", type: .dynamic, targets: ["PredictorTrees"]),
        .library(name: "HelloSwiftPlugin", type: .dynamic, targets: ["HelloSwiftPlugin"]),
        .library(name: "HelloConnector", type: .dynamic, targets: ["HelloConnector"]),
        .library(name: "HTTPConnector", type: .dynamic, targets: ["HTTPConnector"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Already in the graph through Hummingbird; named because HubHTTP/HubDevTools import them.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // MARK: PluginAPI: the C ABI and the Swift kit on top of it.
        .target(name: "CHubABI", path: "PluginAPI/CHubABI", exclude: ["abi-1.0.layout", "abi-1.1.layout", "abi-1.2.layout", "abi-1.3.layout", "abi-1.4.layout", "abi-releases.txt"]),
        .target(name: "HubJSON", path: "PluginAPI/JSON", swiftSettings: swiftSettings),
        .target(
            name: "HubPluginKit", dependencies: ["CHubABI", "HubJSON"], path: "PluginAPI/Swift",
            swiftSettings: swiftSettings),
        // LightGBM/XGBoost scoring and TreeSHAP in pure Swift: linked into predictor plugins and
        // the CLI (`orderhub bench-model`), like HubJSON.
        .target(name: "HubModelRuntime", dependencies: ["HubJSON"], path: "PluginAPI/ModelRuntime", swiftSettings: swiftSettings),
        // The rule language (JSON Logic + order operators, decision tables, promotions, velocity),
        // compiled to closures: linked into rules plugins and the CLI (`orderhub rules ...`).
        .target(name: "HubRules", dependencies: ["HubJSON", "Yams"], path: "PluginAPI/Rules", swiftSettings: swiftSettings),

        // MARK: Plugins (Swift) and adapters (C). Loaded only through dlopen.
        .systemLibrary(name: "CSQLite", path: "Plugins/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // The stored record format and CloudEvents rendering both buses share (linked into each .so).
        .target(name: "BusRecords", dependencies: ["HubPluginKit", "HubJSON"], path: "Plugins/BusRecords", swiftSettings: swiftSettings),
        .target(
            name: "StateBusSQLite", dependencies: ["HubPluginKit", "CSQLite", "BusRecords"], path: "Plugins/StateBusSQLite",
            swiftSettings: swiftSettings),
        .systemLibrary(name: "CLibPQ", path: "Plugins/CLibPQ", providers: [.apt(["libpq-dev"])]),
        .target(
            name: "StateBusPostgres", dependencies: ["HubPluginKit", "CLibPQ", "BusRecords"], path: "Plugins/StateBusPostgres",
            swiftSettings: swiftSettings),
        .target(
            name: "RulesBasic", dependencies: ["HubPluginKit"], path: "Plugins/RulesBasic",
            swiftSettings: swiftSettings),
        .target(
            name: "RulesEngine", dependencies: ["CHubABI", "HubPluginKit", "HubRules"], path: "Plugins/RulesEngine",
            swiftSettings: swiftSettings),
        .target(
            name: "PredictorLogistic", dependencies: ["HubPluginKit"], path: "Plugins/PredictorLogistic",
            swiftSettings: swiftSettings),
        .target(
            name: "PredictorTrees", dependencies: ["HubPluginKit", "HubModelRuntime"], path: "Plugins/PredictorTrees",
            swiftSettings: swiftSettings),
        .target(
            name: "HelloSwiftPlugin", dependencies: ["HubPluginKit"], path: "Plugins/HelloSwift",
            swiftSettings: swiftSettings),
        .target(
            name: "HelloConnector", dependencies: ["HubPluginKit"], path: "Plugins/HelloConnector",
            swiftSettings: swiftSettings),
        .target(
            name: "HTTPConnector", dependencies: ["CHubABI"], path: "adapters/http_connector",
            exclude: ["README.md", "tests"],
            cSettings: [.unsafeFlags(["-fvisibility=hidden", "-Wall", "-Wextra", "-Werror"])],
            linkerSettings: [.linkedLibrary("curl")]),

        // MARK: Host
        .target(
            name: "HubLoader", dependencies: ["CHubABI", "HubJSON", .product(name: "Logging", package: "swift-log")],
            path: "Host/Loader", swiftSettings: swiftSettings),
        .target(
            name: "HubCore",
            dependencies: ["HubLoader", "HubJSON", "Yams", .product(name: "Logging", package: "swift-log")],
            path: "Host/Core", swiftSettings: swiftSettings),
        .target(
            name: "HubHTTP",
            dependencies: [
                "HubCore", "HubJSON", "HubLoader", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Host/HTTP", resources: [.copy("openapi.yaml")], swiftSettings: swiftSettings),
        .target(
            name: "HubDevTools",
            dependencies: [
                "HubJSON", "HubLoader", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/DevTools", swiftSettings: swiftSettings),
        .executableTarget(
            name: "OrderHubCLI",
            dependencies: [
                "HubCore", "HubHTTP", "HubDevTools", "HubLoader", "HubModelRuntime", "HubRules",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                "HubJSON",
            ],
            path: "Host/CLI", swiftSettings: swiftSettings),

        // MARK: Tests
        .testTarget(
            name: "HubCoreTests", dependencies: ["HubCore", "HubJSON", "HubLoader"], path: "Tests/HubCoreTests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ModelRuntimeTests", dependencies: ["HubModelRuntime"], path: "Tests/ModelRuntimeTests",
            exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RulesTests", dependencies: ["HubRules", "HubJSON"], path: "Tests/RulesTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "HubCore", "HubHTTP", "HubDevTools", "HubLoader", "HubJSON",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Tests/IntegrationTests", swiftSettings: swiftSettings),
    ]
)
