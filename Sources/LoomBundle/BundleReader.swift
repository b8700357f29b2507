import Crypto
public import Foundation
public import LoomCore
import Synchronization
import ZIPFoundation

/// Reads a bundle and checks everything that does not depend on who trusts whom: the archive's
/// safety rules (``ArchiveLimits``), the publisher's signature over the index, every listed file
/// present with its size and SHA-256, nothing unlisted, the key statements' signatures, and every
/// skill manifest valid and matching the index.
public struct BundleReader: Sendable {
    public var limits = ArchiveLimits()
    public init() {}

    /// A bundle that passed every check but trust.
    public struct Contents: Sendable {
        public var index: BundleIndex
        public var indexBytes: Data
        public var signature: Data
        /// The bundle id: the SHA-256 of the index, in hex.
        public var id: String
        /// Listed files by path.
        public var files: [String: Data]
        public var statements: [KeyStatement]
        public var manifests: [SkillManifest]
    }

    public func read(file: String) throws(BundleError) -> Contents {
        let url = URL(fileURLWithPath: file)
        let size = ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? -1
        guard size >= 0 else { throw BundleError(.io, "\(file) does not exist or cannot be read") }
        guard size <= limits.maxArchiveBytes else {
            throw BundleError(.unsafeArchive, "\(file) is \(size) bytes; the limit is \(limits.maxArchiveBytes)")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw BundleError(.io, "cannot read \(file): \(error)") }
        return try read(data: data, file: file)
    }

    public func read(data: Data, file: String) throws(BundleError) -> Contents {
        let scanned = try ArchiveScanner.scan(data, file: file, limits: limits)
        let entries = try extract(data, file: file, scanned: scanned)
        guard let indexBytes = entries["bundle.toml"] else { throw BundleError(.integrity, "\(file): bundle.toml is missing") }
        guard let sigBytes = entries["bundle.sig"], let sigText = String(data: sigBytes, encoding: .utf8) else {
            throw BundleError(.integrity, "\(file): bundle.sig is missing")
        }
        let signature = try SignatureText.decode(sigText, what: "\(file): bundle.sig")
        // The signature is checked before anything in the index is believed.
        guard let key = BundleIndex.signingKey(in: indexBytes), key.isValidSignature(signature, for: indexBytes) else {
            throw BundleError(.signature, "\(file): the signature in bundle.sig does not match bundle.toml and its publisher_key; the bundle was altered")
        }
        let index = try BundleIndex(bytes: indexBytes, file: "\(file): bundle.toml")
        guard index.publisherKey == key else {
            throw BundleError(.signature, "\(file): bundle.toml names two publisher keys; the bundle is refused")
        }
        // Every listed file present and intact; nothing else.
        var files: [String: Data] = [:]
        for f in index.files {
            guard let content = entries[f.path] else { throw BundleError(.integrity, "\(file): \(f.path) is listed in bundle.toml but missing") }
            guard content.count == f.size, BundleBuilder.hex(SHA256.hash(data: content)) == f.sha256 else {
                throw BundleError(.integrity, "\(file): \(f.path) does not match its SHA-256 in bundle.toml; the bundle was altered")
            }
            files[f.path] = content
        }
        for name in entries.keys.sorted() where name != "bundle.toml" && name != "bundle.sig" && files[name] == nil {
            throw BundleError(.integrity, "\(file): \(name) is in the archive but not listed in bundle.toml")
        }
        // Key statements and skill manifests.
        var statements: [KeyStatement] = []
        for path in files.keys.sorted() where path.hasPrefix("keys/") {
            let s = try KeyStatement(text: String(decoding: files[path]!, as: UTF8.self), file: "\(file): \(path)")
            try s.verify()
            statements.append(s)
        }
        var manifests: [SkillManifest] = []
        for skill in index.skills {
            let path = skill.path + "/skill.toml"
            guard skill.path.hasPrefix("skills/"), let text = files[path].flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw BundleError(.manifest, "\(file): skill '\(skill.name)' has no \(path)")
            }
            let m: SkillManifest
            let folder = skill.path
            // A manifest is parsed once per content (its SHA-256 from the verified index) and
            // listing of the skill's files: bundles re-verified by a node or a hub cost no reparse.
            let sha = index.files.first { $0.path == path }?.sha256 ?? ""
            let listing = index.files.filter { $0.path.hasPrefix(folder + "/") }.map(\.path).joined(separator: "\n")
            let cacheKey = sha + "\n" + folder + "\n" + listing
            do {
                if let known = ManifestCache.shared.get(cacheKey) { m = known } else {
                    m = try SkillManifest.parse(text: text, file: "\(file): \(path)", directory: folder) { files[folder + "/" + $0] != nil }
                    ManifestCache.shared.put(cacheKey, m)
                }
            } catch {
                throw BundleError(.manifest, "\(error)")
            }
            guard m.name == skill.name, m.version.description == skill.version else {
                throw BundleError(.manifest, "\(file): \(path) says \(m.name) \(m.version), bundle.toml says \(skill.name) \(skill.version)")
            }
            manifests.append(m)
        }
        return Contents(index: index, indexBytes: indexBytes, signature: signature, id: BundleBuilder.hex(SHA256.hash(data: indexBytes)),
                        files: files, statements: statements, manifests: manifests)
    }

    /// Reads every file entry: stored ones straight from the archive, compressed ones through
    /// ZIPFoundation, counting the bytes really produced against the caps.
    private func extract(_ data: Data, file: String, scanned: [ArchiveScanner.Entry]) throws(BundleError) -> [String: Data] {
        var out: [String: Data] = [:]
        var total = 0
        let ratioCap = max(data.count, 1) * limits.maxRatio
        func count(_ name: String, _ size: Int, _ fileSize: Int) throws(BundleError) {
            total += size
            if fileSize > limits.maxFileBytes { throw BundleError(.unsafeArchive, "\(file): \(name) inflates past \(limits.maxFileBytes) bytes") }
            if total > limits.maxTotalBytes { throw BundleError(.unsafeArchive, "\(file): the archive inflates past \(limits.maxTotalBytes) bytes") }
            if total > ratioCap {
                throw BundleError(.unsafeArchive, "\(file): the archive inflates more than \(limits.maxRatio) times its size (a zip bomb?)")
            }
        }
        var compressed: Set<String> = []
        for e in scanned where !e.isDirectory {
            if e.stored {
                try count(e.name, e.size, e.size)
                out[e.name] = data[(data.startIndex + e.dataStart)..<(data.startIndex + e.dataStart + e.size)]
            } else {
                compressed.insert(e.name)
            }
        }
        guard !compressed.isEmpty else { return out }
        let archive: Archive
        do { archive = try Archive(data: data, accessMode: .read) } catch { throw BundleError(.unsafeArchive, "\(file): not a readable ZIP (\(error))") }
        for entry in archive where compressed.contains(entry.path) {
            guard entry.type == .file else { throw BundleError(.unsafeArchive, "\(file): entry \(entry.path) is not a regular file") }
            var content = Data()
            do {
                _ = try archive.extract(entry, skipCRC32: true) { chunk in
                    content.append(chunk)
                    try count(entry.path, chunk.count, content.count)
                }
            } catch let e as BundleError {
                throw e
            } catch {
                throw BundleError(.unsafeArchive, "\(file): \(entry.path) cannot be read (\(error))")
            }
            out[entry.path] = content
            compressed.remove(entry.path)
        }
        if let missing = compressed.sorted().first { throw BundleError(.unsafeArchive, "\(file): entry \(missing) cannot be found in the archive") }
        return out
    }
}

/// Parsed skill manifests by content (a bounded, process-wide cache).
final class ManifestCache: Sendable {
    static let shared = ManifestCache()
    private let entries = Mutex<[String: SkillManifest]>([:])

    func get(_ key: String) -> SkillManifest? { entries.withLock { $0[key] } }

    func put(_ key: String, _ m: SkillManifest) {
        entries.withLock { e in
            if e.count >= 1024 { e.removeAll() }
            e[key] = m
        }
    }
}
