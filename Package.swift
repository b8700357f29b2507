// swift-tools-version:6.2

import PackageDescription

let package = Package(
    name: "Loom",
    products: [
        .executable(name: "loom", targets: ["loom"]),
        .library(name: "LuaKit", targets: ["LuaKit"]),
        .library(name: "LoomCore", targets: ["LoomCore"]),
        // For Fuzz/ (a package of its own): the bundle reader and the state codec.
        .library(name: "LoomBundle", targets: ["LoomBundle"]),
        .library(name: "LoomRuntime", targets: ["LoomRuntime"]),
        .plugin(name: "LoomCheckPlugin", targets: ["LoomCheckPlugin"]),
        .plugin(name: "LoomBundlePlugin", targets: ["LoomBundlePlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // The hub: gRPC over HTTP/2 (NIO), messages in protobuf, services and signals.
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // The system Lua 5.4 (Debian: liblua5.4-dev).
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        // C: macro wrappers, the closure trampoline, the capped allocator, budgets and the watchdog,
        // the sandbox library. The only code that raises Lua errors.
        .target(
            name: "CLuaShim",
            dependencies: ["CLua"]
        ),
        // C: the runtime's layer over the shim: the node's mail and batched delivery.
        .target(
            name: "CLoomMail",
            dependencies: ["CLuaShim", "CLua"]
        ),
        // C: the raw-C baselines the benchmarks compare against. Linked only into LoomBench.
        .target(
            name: "CLoomBench",
            dependencies: ["CLoomMail", "CLuaShim", "CLua"]
        ),
        // Swift bridge to one Lua state: values, references, calls, coroutines, budgets, the sandbox.
        // Release builds serialize its bodies for callers (cross-module optimization): the typed
        // calls and the value conversions are specialized in the runtime and in host programs.
        .target(
            name: "LuaKit",
            dependencies: ["CLuaShim", "CLua"],
            swiftSettings: [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]
        ),
        // Pure Swift domain: manifests, versions, lineage, the capability registry. No Lua.
        .target(
            name: "LoomCore",
            dependencies: [
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // C: the memory store's batch insert and the tokenizer its index, queries and deletions share.
        .target(
            name: "CMemoryIndex",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        // Agent memory: the MemoryStore protocol, SQLite (GRDB, FTS5) as the embedded default.
        .target(
            name: "LoomMemory",
            dependencies: ["CMemoryIndex", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Node identity, signed content-addressed skill bundles, the trust store, installation.
        .target(
            name: "LoomBundle",
            dependencies: [
                "LoomCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The node: one VM per node actor, agents as coroutines, messages, persistence.
        .target(
            name: "LoomRuntime",
            dependencies: [
                "CLoomMail",
                "LuaKit",
                "LoomCore",
                "LoomMemory",
                "LoomBundle",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The engine is a class that only its node's actor touches: in release, no dynamic
            // exclusivity check on each access to its fields (9% of an ask between agents). Debug
            // builds, where the tests run, keep the check.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // The hub protocol: the generated protobuf messages and gRPC stubs (Protos/; made by
        // scripts/generate-protos.sh and committed), signed frames and the hello, both ends share.
        .target(
            name: "LoomWire",
            dependencies: [
                "LoomBundle",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The hub server: directory, store-and-forward of signed frames, over a HubStore (SQLite).
        .target(
            name: "LoomHub",
            dependencies: [
                "LoomWire",
                "LoomBundle",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A node's link to its hub: the stream, the durable outbox, dedupe of what arrives.
        .target(
            name: "LoomHubClient",
            dependencies: [
                "LoomWire",
                "LoomBundle",
                "LoomCore",
                "LoomRuntime",
                "LuaKit",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Writing skills and agents: the scaffold, the test runner and its Lua framework, the stubs.
        .target(
            name: "LoomAuthoring",
            dependencies: ["LuaKit", "LoomCore", "LoomRuntime"]
        ),
        // The Everything Audit's host side: runs the audit node on a tree and writes the report.
        .target(
            name: "LoomAudit",
            dependencies: ["LuaKit", "LoomCore", "LoomRuntime", "LoomMemory"]
        ),
        // Every benchmark, the synthetic lineage and the raw-C baselines (`loom bench`). Reaches
        // internals of the libraries it measures through `package` access.
        .target(
            name: "LoomBench",
            dependencies: [
                "CLoomBench",
                "CMemoryIndex",
                "LuaKit",
                "LoomCore",
                "LoomMemory",
                "LoomBundle",
                "LoomRuntime",
                "LoomAudit",
                "LoomHub",
                "LoomHubClient",
                "LoomWire",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "LoomCLI",
            dependencies: [
                "LuaKit",
                "LoomCore",
                "LoomRuntime",
                "LoomMemory",
                "LoomBundle",
                "LoomAuthoring",
                "LoomAudit",
                "LoomBench",
                "LoomHub",
                "LoomHubClient",
                "LoomWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "loom",
            dependencies: [
                "LoomCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `swift package loom-check` and `swift package loom-bundle` for packages of skills.
        .plugin(
            name: "LoomCheckPlugin",
            capability: .command(intent: .custom(verb: "loom-check", description: "Run loom check and loom test over Skills/")),
            dependencies: ["loom"],
            path: "Plugins/LoomCheck"
        ),
        .plugin(
            name: "LoomBundlePlugin",
            capability: .command(
                intent: .custom(verb: "loom-bundle", description: "Build a signed bundle of Skills/ (--node NODE signs)"),
                permissions: [.writeToPackageDirectory(reason: "loom-bundle writes the bundle file")]
            ),
            dependencies: ["loom"],
            path: "Plugins/LoomBundle"
        ),
        // The fixtures every test target shares: temporary folders of nodes, skills and trees.
        .target(
            name: "LoomTesting",
            dependencies: [.product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(name: "LoomCoreTests", dependencies: ["LoomCore", "LoomBench", "LoomTesting"]),
        .testTarget(name: "LoomAuditTests", dependencies: ["LoomAudit", "LoomRuntime", "LoomTesting"]),
        .testTarget(name: "LoomMemoryTests", dependencies: ["LoomMemory", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "LoomRuntimeTests", dependencies: ["LoomRuntime", "LoomAuthoring", "LuaKit", "LoomCore", "LoomMemory", "LoomTesting",
                                                            .product(name: "Logging", package: "swift-log"),
                                                            .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "LoomHubTests", dependencies: ["LoomHub", "LoomHubClient", "LoomWire", "LoomRuntime", "LoomBundle", "LuaKit", "LoomTesting",
                                                        .product(name: "Crypto", package: "swift-crypto"),
                                                        .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                                                        .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "LoomBenchTests", dependencies: ["LoomBench", "LoomTesting"]),
        .testTarget(name: "LuaKitTests", dependencies: ["LuaKit", "LoomTesting"], exclude: ["Fixtures"]),
        .testTarget(
            name: "LoomBundleTests",
            dependencies: ["LoomBundle", "LoomCore", "LoomTesting", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        .testTarget(
            name: "LoomCLITests",
            dependencies: ["LoomCLI", "LuaKit", "LoomMemory", "LoomRuntime", "LoomBundle", "LoomCore", "LoomTesting",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ]
)

// The upcoming features apple/swift-log turns on, for every Swift target, in one loop.
for target in package.targets where [.executable, .test, .regular].contains(target.type) {
    guard !["CLuaShim", "CLoomMail", "CLoomBench", "CMemoryIndex"].contains(target.name) else { continue }
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    settings.append(.enableUpcomingFeature("NonisolatedNonsendingByDefault"))
    settings.append(.unsafeFlags(["-Xfrontend", "-require-explicit-sendable"]))
    target.swiftSettings = settings
}
