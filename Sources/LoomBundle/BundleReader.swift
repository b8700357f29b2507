import Crypto
public import Foundation
public import LoomCore
import Glibc
import Synchronization

/// Reads a bundle and checks everything that does not depend on who trusts whom: the archive's
/// safety rules (``ArchiveLimits``), the publisher's signature over the index, the index's names
/// and layout (``BundleLayout``), every listed file present with its size and SHA-256, nothing
/// unlisted, the key statements' signatures, and every skill manifest valid and matching the index.
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
        var contents = try readSigned(file: file)
        try parseManifests(&contents, file: file)
        return contents
    }

    public func read(data: Data, file: String) throws(BundleError) -> Contents {
        var contents = try readSigned(data: data, file: file)
        try parseManifests(&contents, file: file)
        return contents
    }

    /// Everything but the skill manifests: the archive, the signature, the index, every file and
    /// the key statements. An installer checks trust on this, and parses the manifests (content
    /// from the publisher) only after (``parseManifests(_:file:)``).
    public func readSigned(file: String) throws(BundleError) -> Contents {
        try readSigned(data: try Self.load(file: file, limit: limits.maxArchiveBytes), file: file)
    }

    /// The bytes of a bundle file, with messages that say what is wrong with the path.
    static func load(file: String, limit: Int) throws(BundleError) -> Data {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isFolder) else { throw BundleError(.io, "\(file) does not exist") }
        guard !isFolder.boolValue else { throw BundleError(.io, "\(file) is a folder, not a bundle file") }
        let real = realpath(file, nil).map { p -> String in defer { free(p) }; return String(cString: p) } ?? file
        let resolved = FileKind.examine(real)
        guard resolved.kind == .file else {
            throw BundleError(.io, resolved.kind == nil ? "\(file) cannot be read: \(resolved.problem)" : "\(file) is not a regular file, not a bundle file")
        }
        guard resolved.size <= limit else { throw BundleError(.unsafeArchive, "\(file) is \(resolved.size) bytes; the limit is \(limit)") }
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BundleError(.io, "\(file) cannot be read: \(FileErrors.describe(errno))") }
        defer { close(fd) }
        // Read at most limit + 1 bytes, whatever the size said.
        var data = Data(count: min(resolved.size, limit) + 1)
        let got = data.withUnsafeMutableBytes { raw -> Int in
            var off = 0
            while off < raw.count {
                let n = Glibc.read(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return -1 }
                if n == 0 { break }
                off += n
            }
            return off
        }
        guard got >= 0 else { throw BundleError(.io, "\(file) cannot be read: \(FileErrors.describe(errno))") }
        guard got <= min(resolved.size, limit) else { throw BundleError(.io, "\(file) grew while it was read; it is refused") }
        data.count = got
        return data
    }

    public func readSigned(data: Data, file: String) throws(BundleError) -> Contents {
        let scanned = try ArchiveScanner.scan(data, file: file, limits: limits)
        let entries = try ArchiveScanner.extract(data, entries: scanned, file: file, limits: limits)
        guard let indexBytes = entries["bundle.toml"] else { throw BundleError(.integrity, "\(file): bundle.toml is missing") }
        guard let sigBytes = entries["bundle.sig"] else { throw BundleError(.integrity, "\(file): bundle.sig is missing") }
        guard let sigText = String(validating: sigBytes, as: UTF8.self) else {
            throw BundleError(.signature, "\(file): bundle.sig is not valid UTF-8; it holds a base64 signature")
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
        try BundleLayout.check(index, file: file, limits: limits)
        // Every listed file present, under exactly its listed name, and intact; nothing else.
        var files: [String: Data] = [:]
        var names: [String: String] = [:]
        for e in scanned { names[e.name] = e.name }
        for f in index.files {
            guard let content = entries[f.path], let actual = names[f.path] else {
                throw BundleError(.integrity, "\(file): \(f.path) is listed in bundle.toml but missing")
            }
            guard actual.utf8.elementsEqual(f.path.utf8) else {
                throw BundleError(.integrity, "\(file): \(f.path) is listed in bundle.toml, but the archive spells it \(actual.debugDescription) (another Unicode normalization)")
            }
            guard content.count == f.size, BundleBuilder.hex(SHA256.hash(data: content)) == f.sha256 else {
                throw BundleError(.integrity, "\(file): \(f.path) does not match its SHA-256 in bundle.toml; the bundle was altered")
            }
            files[f.path] = content
        }
        for name in entries.keys.sorted() where name != "bundle.toml" && name != "bundle.sig" && files[name] == nil {
            throw BundleError(.integrity, "\(file): \(name) is in the archive but not listed in bundle.toml")
        }
        // Folder entries only for folders of listed files.
        let folders = Set(index.files.flatMap { f in
            f.path.indices.filter { f.path[$0] == "/" }.map { String(f.path[...$0]) }
        })
        for e in scanned where e.isDirectory && !folders.contains(e.name) {
            throw BundleError(.integrity, "\(file): the folder \(e.name) is in the archive but holds no listed file")
        }
        // Key statements: every file under keys/ is one, signed as it says.
        var statements: [KeyStatement] = []
        for path in files.keys.sorted() where path.hasPrefix("keys/") {
            statements.append(try Self.statement(files[path]!, path: path, file: file))
        }
        return Contents(index: index, indexBytes: indexBytes, signature: signature, id: BundleBuilder.hex(SHA256.hash(data: indexBytes)),
                        files: files, statements: statements, manifests: [])
    }

    static func statement(_ data: Data, path: String, file: String) throws(BundleError) -> KeyStatement {
        let what = "\(file): \(path)"
        guard let text = String(validating: data, as: UTF8.self) else {
            throw BundleError(.key, "\(what) is not valid UTF-8, so not a key statement")
        }
        let s: KeyStatement
        do throws(BundleError) { s = try KeyStatement(text: text, file: what) } catch {
            throw BundleError(.key, "\(what) is not a valid key statement: "
                              + (error.message.hasPrefix(what + ": ") ? String(error.message.dropFirst(what.count + 2)) : error.message))
        }
        do throws(BundleError) { try s.verify() } catch { throw BundleError(error.kind, "\(what): \(error.message)") }
        return s
    }

    /// Parses and checks each skill's manifest against the index. Manifests are the publisher's
    /// content: an installer calls this only once the publisher is trusted.
    public func parseManifests(_ contents: inout Contents, file: String) throws(BundleError) {
        let index = contents.index
        let files = contents.files
        var manifests: [SkillManifest] = []
        for skill in index.skills {
            let path = skill.path + "/skill.toml"
            guard let data = files[path] else { throw BundleError(.manifest, "\(file): skill '\(skill.name)' has no \(path)") }
            // Bytes that are not UTF-8 (or a NUL) are named with their line and column.
            let text: String
            do { text = try ManifestText.decode(data, file: "\(file): \(path)") } catch {
                throw BundleError(.manifest, "\(error)")
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
        contents.manifests = manifests
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
