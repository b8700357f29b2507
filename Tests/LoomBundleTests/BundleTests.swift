import Crypto
import Foundation
@testable import LoomBundle
import LoomCore
import Testing
import ZIPFoundation

@Suite struct BundleTests {
    func refusal(_ body: () throws -> Void) -> BundleError? {
        do { try body() } catch let e as BundleError { return e } catch { Issue.record("unexpected \(error)") }
        return nil
    }

    /// Where an entry's bytes are in a ZIP made by BundleBuilder (entries are stored as they are).
    func dataRange(_ zip: Data, _ name: String) throws -> Range<Int> {
        let archive = try Archive(data: zip, accessMode: .read)
        let entry = try #require(archive[name])
        var content = Data()
        _ = try archive.extract(entry) { content.append($0) }
        return try #require(zip.range(of: content))
    }

    @Test func aBundleRoundTripsAndIsDeterministic() throws {
        let w = Workspace()
        let parent = try w.publisher()
        let a = try w.bundle(parent)
        let b = try w.bundle(parent)
        #expect(a == b)
        let c = try BundleReader().read(data: a, file: "a.loombundle")
        #expect(c.index.publisher == "parent")
        #expect(c.index.skills.map(\.name) == ["greet"])
        #expect(c.files.keys.sorted() == ["skills/greet/init.lua", "skills/greet/skill.toml"])
        #expect(c.id == BundleBuilder.hex(SHA256.hash(data: c.indexBytes)))
        // Another build with a different time is different bytes, and the same id only for the same index.
        let later = try w.bundle(parent, created: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(later != a)
    }

    @Test func oneFlippedBitAnywhereIsRefused() throws {
        let w = Workspace()
        let good = try w.bundle(try w.publisher())
        for (name, kind) in [("skills/greet/init.lua", BundleError.Kind.integrity), ("bundle.toml", .signature), ("bundle.sig", .signature)] {
            var bad = good
            let range = try dataRange(good, name)
            bad[range.lowerBound + range.count / 2] ^= 0x04
            let e = refusal { _ = try BundleReader().read(data: bad, file: "bad") }
            #expect(e?.kind == kind, "\(name): \(String(describing: e))")
        }
    }

    @Test func missingAndExtraFilesAreRefused() throws {
        let w = Workspace()
        let good = try BundleReader().read(data: try w.bundle(try w.publisher()), file: "good")
        let sig = Data((good.signature.base64EncodedString() + "\n").utf8)
        let base: [RawZip.Entry] = [.init(name: "bundle.toml", data: good.indexBytes), .init(name: "bundle.sig", data: sig)]
        let missing = RawZip.make(base + [.init(name: "skills/greet/skill.toml", data: good.files["skills/greet/skill.toml"]!)])
        #expect(refusal { _ = try BundleReader().read(data: missing, file: "m") }?.message.contains("skills/greet/init.lua is listed in bundle.toml but missing") == true)
        let extra = RawZip.make(base + good.files.sorted { $0.key < $1.key }.map { .init(name: $0.key, data: $0.value) }
                                + [.init(name: "skills/greet/evil.lua", data: Data("x".utf8))])
        #expect(refusal { _ = try BundleReader().read(data: extra, file: "e") }?.message.contains("skills/greet/evil.lua is in the archive but not listed") == true)
        // The honest raw archive passes, so the refusals above are about the files.
        let honest = RawZip.make(base + good.files.sorted { $0.key < $1.key }.map { .init(name: $0.key, data: $0.value) })
        #expect(try BundleReader().read(data: honest, file: "h").id == good.id)
    }

    @Test func aNewIndexWithOldFilesIsRefused() throws {
        let w = Workspace()
        let parent = try w.publisher()
        let v1 = try BundleReader().read(data: try w.bundle(parent), file: "v1")
        try w.publisher(version: "2.0.0", body: "greetings")
        let v2 = try BundleReader().read(data: try w.bundle(parent, version: "2.0.0"), file: "v2")
        let mixed = RawZip.make([.init(name: "bundle.toml", data: v2.indexBytes),
                                 .init(name: "bundle.sig", data: Data(v2.signature.base64EncodedString().utf8))]
                                + v1.files.sorted { $0.key < $1.key }.map { .init(name: $0.key, data: $0.value) })
        #expect(refusal { _ = try BundleReader().read(data: mixed, file: "mixed") }?.kind == .integrity)
    }

    @Test func unsafeNamesAreRefused() {
        let cases = ["../x": "'..'", "/etc/x": "absolute path", "a/../../x": "'..'", "C:\\x": "backslash", "C:/x": "drive letter",
                     "a\\b": "backslash", "a//b": "empty", "./a": "'.'"]
        for (name, words) in cases {
            let zip = RawZip.make([.init(name: name, data: Data("x".utf8))])
            let e = refusal { _ = try BundleReader().read(data: zip, file: "names") }
            #expect(e?.kind == .unsafeArchive && e?.message.contains(words) == true, "\(name): \(String(describing: e))")
        }
        let deep = RawZip.make([.init(name: Array(repeating: "d", count: 20).joined(separator: "/"), data: Data())])
        #expect(refusal { _ = try BundleReader().read(data: deep, file: "deep") }?.message.contains("nested deeper") == true)
        let long = RawZip.make([.init(name: String(repeating: "n", count: 300), data: Data())])
        #expect(refusal { _ = try BundleReader().read(data: long, file: "long") }?.message.contains("longer than 255") == true)
    }

    @Test func linksAndSpecialFilesAreRefused() {
        // A symbolic link, and the types ZIP can carry besides files and folders. (ZIP has no
        // hard-link entries: Info-ZIP stores a hard link as a second regular file; tar-style
        // link types arrive as these mode bits and are refused the same way.)
        for (mode, words) in [(UInt32(0o120777), "symbolic link"), (0o010644, "not a regular file"), (0o020644, "not a regular file"),
                              (0o060644, "not a regular file"), (0o140644, "not a regular file")] {
            let zip = RawZip.make([.init(name: "skills/x", data: Data("/etc/passwd".utf8), mode: mode)])
            let e = refusal { _ = try BundleReader().read(data: zip, file: "links") }
            #expect(e?.kind == .unsafeArchive && e?.message.contains(words) == true, "\(String(mode, radix: 8)): \(String(describing: e))")
        }
    }

    @Test func duplicateAndCaseCollidingNamesAreRefused() {
        let dup = RawZip.make([.init(name: "a.lua", data: Data("1".utf8)), .init(name: "a.lua", data: Data("2".utf8))])
        #expect(refusal { _ = try BundleReader().read(data: dup, file: "dup") }?.message.contains("appears twice") == true)
        let caseDup = RawZip.make([.init(name: "Init.lua", data: Data()), .init(name: "init.lua", data: Data())])
        #expect(refusal { _ = try BundleReader().read(data: caseDup, file: "case") }?.message.contains("differ only in case") == true)
    }

    @Test func aZipBombAndHugeEntryCountsAreRefusedWhileReading() throws {
        // 40 MB of zeros deflate to about 40 KB.
        let bombURL = FileManager.default.temporaryDirectory.appendingPathComponent("bomb-\(UUID().uuidString).zip")
        defer { try? FileManager.default.removeItem(at: bombURL) }
        let archive = try Archive(url: bombURL, accessMode: .create)
        let zeros = Data(count: 1 << 20)
        try archive.addEntry(with: "bundle.toml", type: .file, uncompressedSize: Int64(40 << 20), compressionMethod: .deflate) { _, size in
            zeros.prefix(size)
        }
        let bomb = try Data(contentsOf: bombURL)
        #expect(bomb.count < 1 << 20)
        let e = refusal { _ = try BundleReader().read(data: bomb, file: "bomb") }
        #expect(e?.kind == .unsafeArchive && e?.message.contains("inflates") == true, "\(String(describing: e))")

        let many = RawZip.make((0..<10_001).map { .init(name: "f\($0)", data: Data()) })
        #expect(refusal { _ = try BundleReader().read(data: many, file: "many") }?.message.contains("10001 entries; the limit is 10000") == true)
        let clock = ContinuousClock()
        let start = clock.now
        let huge = RawZip.make((0..<100_000).map { .init(name: "f\($0)", data: Data()) })
        #expect(refusal { _ = try BundleReader().read(data: huge, file: "huge") }?.kind == .unsafeArchive)
        #expect(clock.now - start < .seconds(30))
    }

    @Test func trustRevocationAndRotation() throws {
        let w = Workspace()
        let parent = try w.publisher()
        let child = try w.child()
        let file = try w.save(try w.bundle(parent), "p.loombundle")
        let installer = BundleInstaller(node: child)
        // Untrusted.
        #expect(refusal { _ = try installer.verify(file: file) }?.kind == .untrusted)
        let store = try TrustStore(node: child)
        let key = try NodeIdentity.load(node: parent).publicKey
        try store.add(publisher: "parent", key: key)
        #expect(try installer.verify(file: file).relation == .lineage)
        // Rotation: the new key's bundle carries the statement signed by both; accepted through the old key.
        let rotation = try NodeIdentity.rotate(node: parent)
        let rotated = try w.save(try w.bundle(parent, version: "1.1.0"), "rotated.loombundle")
        let verified = try installer.verify(file: rotated)
        #expect(verified.rotations.count == 1)
        _ = try installer.install(file: rotated)
        #expect(try store.keys(of: "parent").contains(rotation.newKey!))
        // A rotation with only one of the two signatures is refused.
        var halfSigned = rotation
        halfSigned.newSignature = Data(repeating: 0, count: 64)
        #expect(refusal { try halfSigned.verify() }?.kind == .signature)
        var oldOnly = rotation
        oldOnly.signature = Data(repeating: 1, count: 64)
        #expect(refusal { try oldOnly.verify() }?.kind == .signature)
        let other = Workspace()
        let otherChild = try other.child()
        try TrustStore(node: otherChild).add(publisher: "parent", key: key)
        let forged = try KeyStatement(text: halfSigned.text)
        #expect(refusal { _ = try TrustStore(node: otherChild).check(publisher: "parent", key: rotation.newKey!, statements: [forged]) }?.kind == .signature)
        #expect(refusal { _ = try TrustStore(node: otherChild).check(publisher: "parent", key: rotation.newKey!, statements: []) }?.kind == .untrusted)
        // Revocation: refused afterwards, even though the key was trusted.
        let revocation = try NodeIdentity.revoke(node: parent)
        try store.apply(revocation)
        #expect(refusal { _ = try installer.verify(file: rotated) }?.kind == .revoked)
        #expect(refusal { try store.add(publisher: "parent", key: revocation.key) }?.kind == .revoked)
    }

    @Test func rollbackIsRefusedUnlessAllowed() throws {
        let w = Workspace()
        let parent = try w.publisher(version: "2.0.0")
        let child = try w.child()
        try TrustStore(node: child).add(publisher: "parent", key: try NodeIdentity.load(node: parent).publicKey)
        let v2 = try w.save(try w.bundle(parent, version: "2.0.0"), "v2.loombundle")
        try w.publisher(version: "1.0.0", body: "old")
        let v1 = try w.save(try w.bundle(parent, version: "1.0.0"), "v1.loombundle")
        var installer = BundleInstaller(node: child)
        _ = try installer.install(file: v2)
        #expect(refusal { _ = try installer.install(file: v1) }?.kind == .rollback)
        installer.allowDowngrade = true
        #expect(try installer.install(file: v1).replaced == "2.0.0")
    }

    @Test func installedFilesAreCheckedAtLoad() throws {
        let w = Workspace()
        let parent = try w.publisher()
        let child = try w.child()
        try TrustStore(node: child).add(publisher: "parent", key: try NodeIdentity.load(node: parent).publicKey)
        let r = try BundleInstaller(node: child).install(file: try w.save(try w.bundle(parent), "p.loombundle"))
        try InstalledBundles.check(node: child)
        #expect(try NodeLoader().lineage(of: child).order == ["child", "parent"])
        try "return { hello = function() return 'pwned' end }".write(toFile: r.location + "/skills/greet/init.lua", atomically: false, encoding: .utf8)
        let e = refusal { try InstalledBundles.check(node: child) }
        #expect(e?.message.contains("skills/greet/init.lua") == true && e?.message.contains("install the bundle again") == true)
    }

    @Test func foreignSkillsFollowTheConstitution() throws {
        let w = Workspace()
        let stranger = try w.publisher("stranger", permissions: "[\"net\"]")
        let child = try w.child()
        try TrustStore(node: child).add(publisher: "stranger", key: try NodeIdentity.load(node: stranger).publicKey)
        let file = try w.save(try w.bundle(stranger), "s.loombundle")
        let e = refusal { _ = try BundleInstaller(node: child).install(file: file) }
        #expect(e?.kind == .permission && e?.message.contains("asks for net") == true, "\(String(describing: e))")
        try w.publisher("stranger", permissions: "[\"log\"]")
        let ok = try w.save(try w.bundle(stranger, version: "1.0.1"), "ok.loombundle")
        let r = try BundleInstaller(node: child).install(file: ok)
        #expect(r.relation == .foreign)
        #expect(try NodeLoader().load(directory: child).foreignSkills.map(\.name) == ["greet"])
    }

    @Test func keysAreStoredPrivately() throws {
        let w = Workspace()
        let parent = try w.publisher()
        let mode = try FileManager.default.attributesOfItem(atPath: parent + "/.loom/identity/node.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(refusal { try NodeIdentity.create(node: parent) }?.message.contains("exists already") == true)
        _ = chmod(parent + "/.loom/identity/node.key", 0o644)
        #expect(refusal { _ = try NodeIdentity.load(node: parent) }?.message.contains("chmod 600") == true)
    }
}
