// swift-tools-version:6.2

// Loom's libFuzzer targets, a package of their own so that the main package's build and tests
// never see -sanitize=fuzzer. Build and run them with Fuzz/run.sh (docs/FUZZING.md).
//
// Each target is one file that exports LLVMFuzzerTestOneInput and has no main: libFuzzer's
// runtime, linked by `--sanitize fuzzer`, provides it.

import PackageDescription

let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
    ("FuzzManifest", [.product(name: "LoomCore", package: "Loom")]),
    ("FuzzVersionRange", [.product(name: "LoomCore", package: "Loom")]),
    ("FuzzBundle", [.product(name: "LoomBundle", package: "Loom"), .product(name: "LoomCore", package: "Loom")]),
    ("FuzzBundleSigned", [.product(name: "LoomBundle", package: "Loom"), .product(name: "LoomCore", package: "Loom"),
                          .product(name: "Crypto", package: "swift-crypto")]),
    ("FuzzStateCodec", [.product(name: "LoomRuntime", package: "Loom"), .product(name: "LuaKit", package: "Loom")]),
    ("FuzzEval", [.product(name: "LuaKit", package: "Loom")]),
]

let package = Package(
    name: "LoomFuzz",
    products: fuzzTargets.map { .executable(name: $0.name, targets: [$0.name]) },
    dependencies: [
        // The main package, named so that the folder it is cloned into does not matter.
        .package(name: "Loom", path: ".."),
        // The main package's own, for SHA-256 in bundle-signed.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: fuzzTargets.map { t in
        .executableTarget(
            name: t.name,
            dependencies: t.dependencies,
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    }
)
