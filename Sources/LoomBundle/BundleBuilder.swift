import Crypto
public import Foundation
public import LoomCore
import ZIPFoundation

/// Builds a signed bundle of a node's skills: `bundle.toml` (the index), `bundle.sig` (Ed25519
/// over the index's bytes), every file of each skill under `skills/NAME/`, and the publisher's key
/// statements under `keys/`. The same input gives the same bytes: entries sorted, stored without
/// compression, mode 0644, and every timestamp set to 1980-01-01 00:00.
public struct BundleBuilder: Sendable {
    public var node: String
    /// Skill names to include; nil for every skill of the node's own.
    public var skills: [String]?
    /// A folder of skill folders to bundle instead of the node's own (a package's `Skills/`); the
    /// node only signs and publishes.
    public var skillsFolder: String?
    /// The bundle's name; default `<node>-skills`.
    public var name: String?
    public var version = SemanticVersion(1, 0, 0)
    /// The creation time written in the index; default `SOURCE_DATE_EPOCH`, else the newest
    /// modification time among the bundled files, so that rebuilding unchanged input gives the
    /// same bytes.
    public var created: Date?

    public init(node: String) { self.node = node }

    public struct Result: Sendable {
        public var index: BundleIndex
        /// The bundle id: the SHA-256 of the index, in hex.
        public var id: String
        public var bytes: Data
    }

    public func build() throws(BundleError) -> Result {
        let record: NodeRecord
        do { record = try NodeLoader().load(directory: node) } catch { throw BundleError(.manifest, "\(error)") }
        if let problem = BundleLayout.problem(bundleName: name ?? "\(record.name)-skills") { throw BundleError(.manifest, problem) }
        let identity = try NodeIdentity.load(node: node)
        var available = record.skills
        if let skillsFolder {
            available = []
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: skillsFolder)) ?? []).sorted() where !name.hasPrefix(".") {
                let dir = Paths.join(skillsFolder, name)
                guard FileManager.default.fileExists(atPath: Paths.join(dir, "skill.toml")) else { continue }
                do { available.append(try SkillManifest.load(directory: dir)) } catch { throw BundleError(.manifest, "\(error)") }
            }
        }
        var chosen = available
        if let skills {
            for s in skills where !available.contains(where: { $0.name == s }) {
                let known = available.map(\.name).sorted().joined(separator: ", ")
                throw BundleError(.manifest, "node '\(record.name)' has no skill '\(s)' (it has: \(known.isEmpty ? "none" : known))")
            }
            chosen = available.filter { skills.contains($0.name) }
        }
        guard !chosen.isEmpty else { throw BundleError(.manifest, "node '\(record.name)' has no skills to bundle") }
        let ancestors = (try? NodeLoader().lineage(of: node))?.order.dropFirst().map { $0 } ?? record.manifest.parents
        var contents: [String: Data] = [:]
        var newest = Date(timeIntervalSince1970: 0)
        var entries: [BundleIndex.Skill] = []
        for skill in chosen.sorted(by: { $0.name < $1.name }) {
            let base = "skills/\(skill.name)"
            for (relative, url) in Self.files(in: skill.directory) {
                guard let data = FileManager.default.contents(atPath: url.path) else {
                    throw BundleError(.io, "cannot read \(url.path)")
                }
                contents[base + "/" + relative] = data
                if let m = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date, m > newest { newest = m }
            }
            entries.append(BundleIndex.Skill(name: skill.name, version: skill.version.description, path: base,
                                             provides: skill.provides.map(\.description),
                                             lineage: [record.name] + (skill.extends == nil ? [] : ancestors)))
        }
        for statement in NodeIdentity.statements(node: node) { contents["keys/" + statement.fileName] = Data(statement.text.utf8) }
        let files = contents.keys.sorted().map { path in
            BundleIndex.File(path: path, size: contents[path]!.count, sha256: Self.hex(SHA256.hash(data: contents[path]!)))
        }
        let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap(Double.init).map(Date.init(timeIntervalSince1970:))
        let index = BundleIndex(name: name ?? "\(record.name)-skills", version: version, created: created ?? epoch ?? newest,
                                publisher: record.name, publisherKey: identity.publicKey, publisherParents: ancestors,
                                skills: entries, files: files)
        let indexBytes = index.bytes
        let signature = try identity.sign(indexBytes)
        var all: [(String, Data)] = [("bundle.toml", indexBytes), ("bundle.sig", Data((signature.base64EncodedString() + "\n").utf8))]
        for f in files { all.append((f.path, contents[f.path]!)) }
        let bytes = try Self.zip(all)
        return Result(index: index, id: Self.hex(SHA256.hash(data: indexBytes)), bytes: bytes)
    }

    /// Every regular file under `folder`, relative path -> URL, sorted; hidden files and folders
    /// (`.loom`, `.git`, editor files) are left out.
    static func files(in folder: String) -> [(String, URL)] {
        var out: [(String, URL)] = []
        let base = URL(fileURLWithPath: folder)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey],
                                                         options: [.skipsHiddenFiles]) else { return [] }
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(base.standardizedFileURL.path.count + 1))
            out.append((relative, url))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A ZIP of the given entries, in order, stored, mode 0644, with fixed DOS timestamps.
    static func zip(_ entries: [(String, Data)]) throws(BundleError) -> Data {
        do {
            let archive = try Archive(data: Data(), accessMode: .create)
            for (path, data) in entries {
                try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), modificationDate: Date(timeIntervalSince1970: 315_532_800),
                                     permissions: 0o644, compressionMethod: .none) { position, size in
                    data.subdata(in: Int(position)..<Int(position) + size)
                }
            }
            guard var bytes = archive.data else { throw BundleError(.io, "the archive could not be written") }
            fixTimestamps(&bytes)
            return bytes
        } catch let e as BundleError {
            throw e
        } catch {
            throw BundleError(.io, "cannot write the archive: \(error)")
        }
    }

    /// Sets every local and central header's DOS time and date to 1980-01-01 00:00, whatever the
    /// time zone the archive was written in.
    static func fixTimestamps(_ bytes: inout Data) {
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        func set(_ o: Int, _ time: UInt16, _ date: UInt16) {
            bytes[o] = UInt8(time & 0xff); bytes[o + 1] = UInt8(time >> 8)
            bytes[o + 2] = UInt8(date & 0xff); bytes[o + 3] = UInt8(date >> 8)
        }
        guard bytes.count >= 22 else { return }
        var eocd = bytes.count - 22
        while eocd > 0 && u32(eocd) != 0x0605_4b50 { eocd -= 1 }
        var p = u32(eocd + 16)
        for _ in 0..<u16(eocd + 10) {
            guard p + 46 <= bytes.count, u32(p) == 0x0201_4b50 else { return }
            set(p + 12, 0, 0x21)
            let local = u32(p + 42)
            if local + 30 <= bytes.count, u32(local) == 0x0403_4b50 { set(local + 10, 0, 0x21) }
            p += 46 + u16(p + 28) + u16(p + 30) + u16(p + 32)
        }
    }
}
