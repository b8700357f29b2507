import Crypto
import Foundation
import LoomBundle
import LoomCore

/// `loom bench bundle`: verify-and-install of a 64 KiB bundle, and verification throughput
/// against raw swift-crypto (the same SHA-256s and the Ed25519 check on bytes already in memory).
public struct BundleBenchmark: Sendable {
    public struct Results: Sendable {
        public var bundleBytes: Int
        public var installMilliseconds: Double
        public var verifyPerSecond: Double
        public var rawPerSecond: Double
        /// Loom's verification time over raw swift-crypto's.
        public var ratio: Double { verifyPerSecond > 0 ? rawPerSecond / verifyPerSecond : 0 }
    }

    public var payload = 64 * 1024
    public var installs = 20
    public var verifications = 2000
    public init() {}

    public func run(progress: (String) -> Void = { _ in }) throws -> Results {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bench-bundle-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        func write(_ path: String, _ text: String) throws {
            let full = root + "/" + path
            try fm.createDirectory(atPath: Paths.parent(full), withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        try write("parent/node.toml", "name = \"parent\"\n")
        try write("parent/skills/big/skill.toml", "name = \"big\"\nversion = \"1.0.0\"\nprovides = [\"big@1\"]\npermissions = []\n")
        try write("parent/skills/big/init.lua", "return {}\n")
        // Eight files of Lua-like text, deterministic.
        var seed: UInt64 = 42
        for f in 0..<8 {
            var text = ""
            while text.utf8.count < payload / 8 {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                text += "local v\(seed >> 40) = \"\(String(seed, radix: 36))\" -- \(f)\n"
            }
            try write("parent/skills/big/data/part\(f).lua", text)
        }
        try write("far/child/node.toml", "name = \"child\"\nparents = [\"parent\"]\n")
        try NodeIdentity.create(node: root + "/parent")
        let key = try NodeIdentity.load(node: root + "/parent").publicKey
        try TrustStore(node: root + "/far/child").add(publisher: "parent", key: key)
        var builder = BundleBuilder(node: root + "/parent")
        builder.created = Date(timeIntervalSince1970: 1_700_000_000)
        let bundle = try builder.build()
        builder.version = SemanticVersion(1, 0, 1)
        let second = try builder.build()
        let files = [root + "/b1.loombundle", root + "/b2.loombundle"]
        try bundle.bytes.write(to: URL(fileURLWithPath: files[0]))
        try second.bytes.write(to: URL(fileURLWithPath: files[1]))

        progress("\(installs) verify-and-installs of a \(bundle.bytes.count)-byte bundle")
        var installer = BundleInstaller(node: root + "/far/child")
        installer.allowDowngrade = true
        let clock = ContinuousClock()
        var times: [Double] = []
        for i in 0..<installs {
            let start = clock.now
            _ = try installer.install(file: files[i % 2])
            let (s, a) = (clock.now - start).components
            times.append((Double(s) + Double(a) / 1e18) * 1000)
        }
        times.sort()

        progress("\(verifications) verifications, Loom and raw")
        let reader = BundleReader()
        let contents = try reader.read(data: bundle.bytes, file: "bench")
        // The raw baseline compares digests as bytes, as a hand-written verifier would.
        let rawFiles = contents.index.files.map { f in
            (contents.files[f.path]!, Array(SHA256.hash(data: contents.files[f.path]!)))
        }
        let indexBytes = contents.indexBytes, signature = contents.signature
        let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: key.raw)
        var loomBest = Double.infinity, rawBest = Double.infinity
        for _ in 0..<5 {
            let loom = try clock.measure {
                for _ in 0..<verifications { _ = try reader.read(data: bundle.bytes, file: "bench") }
            }
            var ok = true
            let raw = clock.measure {
                for _ in 0..<verifications {
                    ok = ok && publicKey.isValidSignature(signature, for: indexBytes)
                    for (data, digest) in rawFiles { ok = ok && SHA256.hash(data: data).elementsEqual(digest) }
                }
            }
            guard ok else { throw BundleError(.signature, "the raw baseline failed to verify") }
            loomBest = min(loomBest, loom.inSeconds)
            rawBest = min(rawBest, raw.inSeconds)
        }
        return Results(bundleBytes: bundle.bytes.count, installMilliseconds: times[times.count / 2],
                       verifyPerSecond: Double(verifications) / loomBest, rawPerSecond: Double(verifications) / rawBest)
    }
}
