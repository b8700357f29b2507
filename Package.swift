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
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
