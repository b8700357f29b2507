import Foundation
import LoomCore
import Glibc

/// Verifies bundles against a node's trust store and installs them.
///
/// A bundle from a node of the installing node's lineage lands as that ancestor,
/// `.loom/ancestors/PUBLISHER` (with a `node.toml` naming it), where lineage resolution finds it;
/// one from any other node is foreign and lands in `.loom/installed/PUBLISHER--NAME/skills/`.
/// Either is a symbolic link to `.loom/bundles/ID/`: the bundle is extracted into a fresh
/// `.loom/bundles/ID.partial-PID`, synced, renamed into place, and the link is switched with one
/// `rename`, so a crash at any point leaves exactly the old or the new installation. One install
/// at a time per node (as `loom install` runs).
public struct BundleInstaller: Sendable {
    public enum Relation: String, Sendable { case lineage, foreign }

    public struct Verified: Sendable {
        public var contents: BundleReader.Contents
        public var relation: Relation
        /// Rotations through which a trusted key vouched for the signer.
        public var rotations: [KeyStatement]
    }

    public struct Result: Sendable {
        public var index: BundleIndex
        public var id: String
        public var relation: Relation
        /// The link the node loads from.
        public var location: String
        /// The version this replaced, if any.
        public var replaced: String?
    }

    public var node: String
    public var allowDowngrade = false
    public var reader = BundleReader()

    public init(node: String) { self.node = node }

    /// Every check: the bundle itself, a trusted and unrevoked signer, and the node's constitution
    /// for the permissions its skills ask. Trust is checked before the skills' manifests (the
    /// publisher's content) are parsed. Nothing is recorded.
    public func verify(file: String) throws(BundleError) -> Verified {
        let record: NodeRecord
        do { record = try NodeLoader().load(directory: node) } catch { throw BundleError(.manifest, "\(error)") }
        var contents = try reader.readSigned(file: file)
        let index = contents.index
        guard index.publisher != record.name else {
            throw BundleError(.manifest, "\(file) was published by '\(index.publisher)' itself; a node does not install its own bundle")
        }
        let store = try TrustStore(node: node)
        let rotations: [KeyStatement]
        do throws(BundleError) {
            rotations = try store.check(publisher: index.publisher, key: index.publisherKey, statements: contents.statements)
        } catch {
            throw BundleError(error.kind, "\(file): \(error.message)")
        }
        try reader.parseManifests(&contents, file: file)
        let relation: Relation = Self.lineageNames(of: record).contains(index.publisher) ? .lineage : .foreign
        let allowed = record.manifest.constitution.allowed(for: relation == .lineage ? .lineage : .foreign)
        for m in contents.manifests {
            let refused = m.permissions.filter { !allowed.contains($0) }
            guard refused.isEmpty else {
                throw BundleError(.permission, "\(file): skill '\(m.name)' asks for \(refused.map(\.rawValue).sorted().joined(separator: ", ")), which node '\(record.name)' allows no \(relation.rawValue) skill ([constitution] \(relation.rawValue) in node.toml)")
            }
        }
        return Verified(contents: contents, relation: relation, rotations: rotations)
    }

    /// The names in a node's lineage as far as it can be found, and the parents it names.
    static func lineageNames(of root: NodeRecord) -> Set<String> {
        var names: Set<String> = []
        var queue = [root]
        while let node = queue.popLast() {
            for p in node.manifest.parents where !names.contains(p) {
                names.insert(p)
                if let dir = NodeLoader().findAncestor(p, of: node, root: root).0, let r = try? NodeLoader().load(directory: dir) { queue.append(r) }
            }
        }
        return names
    }

    /// Installs all or nothing: the files are staged in `.loom/bundles/ID.partial-PID` (the same
    /// file system), renamed into place, and the link is switched inside the trust store
    /// transaction that records the version seen and the bundle's key statements; on any failure
    /// nothing of this install is left behind.
    public func install(file: String) throws(BundleError) -> Result {
        let verified = try verify(file: file)
        let c = verified.contents
        let index = c.index
        let store = try TrustStore(node: node)
        let highest = try store.highestVersion(name: index.name, publisher: index.publisher)
        if let (seen, seenID) = highest, let version = SemanticVersion(seen) {
            if index.version < version && !allowDowngrade {
                throw BundleError(.rollback, "\(file) is \(index.name) \(index.version), older than \(version), already seen from '\(index.publisher)'; pass --allow-downgrade to install it anyway")
            }
            if index.version == version && seenID != c.id && !allowDowngrade {
                throw BundleError(.rollback, "\(file) is \(index.name) \(index.version) with different content than the \(index.version) already seen from '\(index.publisher)'; a new release needs a new version")
            }
        }
        let recordVersion = index.version >= (highest.flatMap { SemanticVersion($0.0) } ?? index.version)

        let loom = Paths.join(node, ".loom")
        let bundles = Paths.join(loom, "bundles")
        let linkFolder = Paths.join(loom, verified.relation == .lineage ? "ancestors" : "installed")
        let linkName = verified.relation == .lineage ? index.publisher : "\(index.publisher)--\(index.name)"
        let link = Paths.join(linkFolder, linkName)
        let target = Paths.join(bundles, c.id)
        let partial = target + ".partial-\(getpid())"
        let newLink = link + ".new-\(getpid())"
        var createdFolders: [String] = []
        var createdTarget = false
        func fail(_ e: BundleError) -> BundleError {
            unlink(newLink)
            try? FileManager.default.removeItem(atPath: partial)
            if createdTarget { Self.discard(target) }
            Folders.removeIfEmpty(createdFolders)
            return BundleError(e.kind, e.message.hasPrefix(file) ? e.message : "cannot install \(file) (\(index.name) \(index.version) from '\(index.publisher)'): \(e.message)")
        }
        do throws(BundleError) {
            createdFolders += try Folders.make(bundles)
            createdFolders += try Folders.make(linkFolder)
            if let kind = FileKind.at(link), kind != .link {
                throw BundleError(.io, "\(link) is \(kind == .folder ? "a real folder" : kind == .file ? "a real file" : kind.words), not an installed bundle; move it away to install \(index.name)")
            }
            Self.removeLeftovers(bundles, links: linkFolder)
            // A folder for this bundle may be there already (installed before, or left by a crash);
            // it is used only if every file is intact, else it goes.
            if let kind = FileKind.at(target), kind != .folder || (try? InstalledBundles.checkFiles(folder: target)) == nil {
                Self.discard(target)
                if FileKind.at(target) != nil { throw BundleError(.io, "\(target) is damaged and cannot be moved away") }
            }
            if FileKind.at(target) == nil {
                try? FileManager.default.removeItem(atPath: partial)
                var files = c.files
                files["bundle.toml"] = c.indexBytes
                files["bundle.sig"] = Data((c.signature.base64EncodedString() + "\n").utf8)
                if verified.relation == .lineage { files["node.toml"] = Data(Self.ancestorManifest(index).utf8) }
                for (path, data) in files.sorted(by: { $0.key < $1.key }) {
                    try Self.write(data, to: Paths.join(partial, path))
                }
                Self.syncTree(partial)
                guard rename(partial, target) == 0 else {
                    throw BundleError(.io, "cannot move \(partial) into place: \(FileErrors.describe(errno))")
                }
                createdTarget = true
                Self.sync(bundles)
            }
            unlink(newLink)
            guard symlink("../bundles/\(c.id)", newLink) == 0 else {
                throw BundleError(.io, "cannot create the link \(newLink): \(FileErrors.describe(errno))")
            }
        } catch {
            throw fail(error)
        }
        let old = (try? FileManager.default.destinationOfSymbolicLink(atPath: link))
        // The records and the switch: the link is renamed into place last inside the transaction,
        // so either both happen or neither.
        var switched = false
        do throws(BundleError) {
            try store.recordInstall(
                revocations: c.statements.filter { $0.kind == .revocation }, rotations: verified.rotations,
                version: recordVersion ? (index.name, index.publisher, index.version.description, c.id) : nil
            ) { () throws(BundleError) in
                guard rename(newLink, link) == 0 else {
                    throw BundleError(.io, "cannot switch \(link) to the new bundle: \(FileErrors.describe(errno))")
                }
                switched = true
            }
        } catch {
            if switched {
                // The transaction failed after the switch: put the old link back.
                if let old {
                    let back = link + ".old-\(getpid())"
                    unlink(back)
                    if symlink(old, back) == 0 { rename(back, link) }
                } else {
                    unlink(link)
                }
                createdTarget = createdTarget && old.map({ Paths.name($0) }) != c.id
            }
            throw fail(error)
        }
        Self.sync(linkFolder)
        let replaced = old.map { Paths.name($0) }.flatMap { id -> String? in
            guard id != c.id else { return nil }
            let data = FileManager.default.contents(atPath: Paths.join(bundles, id + "/bundle.toml"))
            return data.flatMap { try? BundleIndex(bytes: $0) }?.version.description ?? "an earlier bundle"
        }
        Self.removeUnused(bundles, loom: loom)
        return Result(index: index, id: c.id, relation: verified.relation, location: link, replaced: replaced)
    }

    /// The node.toml of an installed ancestor: its name and its skills; its own ancestors come
    /// only from bundles of theirs.
    static func ancestorManifest(_ index: BundleIndex) -> String {
        "# Installed from bundle \(index.name) \(index.version); do not edit (loom install replaces it).\nname = \"\(index.publisher)\"\nskills = [\"skills\"]\n"
    }

    static func write(_ data: Data, to path: String) throws(BundleError) {
        try Folders.make(Paths.parent(path))
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw BundleError(.io, "cannot create \(path): \(FileErrors.describe(errno))") }
        defer { close(fd) }
        let ok = data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
        guard ok, fsync(fd) == 0 else { throw BundleError(.io, "cannot write \(path): \(FileErrors.describe(errno))") }
    }

    static func sync(_ folder: String) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    static func syncTree(_ folder: String) {
        let walker = FileManager.default.enumerator(atPath: folder)
        var dirs = [folder]
        while let p = walker?.nextObject() as? String {
            let full = Paths.join(folder, p)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), isDir.boolValue { dirs.append(full) }
        }
        for d in dirs.reversed() { sync(d) }
    }

    /// Removes a bundle folder: first renamed out of the way (atomic), then deleted, so a crash
    /// never leaves a half-deleted folder under a bundle's name.
    static func discard(_ folder: String) {
        let trash = folder + ".trash-\(getpid())"
        guard rename(folder, trash) == 0 else { return }
        try? FileManager.default.removeItem(atPath: trash)
    }

    /// Extractions, deletions and link switches a crash interrupted.
    static func removeLeftovers(_ bundles: String, links: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: bundles)) ?? [] where name.contains(".partial-") || name.contains(".trash-") {
            try? FileManager.default.removeItem(atPath: Paths.join(bundles, name))
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: links)) ?? [] where name.contains(".new-") {
            unlink(Paths.join(links, name))
        }
    }

    /// Bundles no link points to any more.
    static func removeUnused(_ bundles: String, loom: String) {
        var used: Set<String> = []
        for folder in ["ancestors", "installed"] {
            let dir = Paths.join(loom, folder)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                if let dest = try? FileManager.default.destinationOfSymbolicLink(atPath: Paths.join(dir, name)) {
                    used.insert(Paths.name(dest))
                }
            }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: bundles)) ?? []
        where !used.contains(name) && !name.contains(".partial-") && !name.contains(".trash-") {
            discard(Paths.join(bundles, name))
        }
    }
}
