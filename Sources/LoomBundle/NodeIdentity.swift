public import Crypto
public import Foundation
import Glibc
import LoomCore

/// A node's Ed25519 key pair, kept in `NODE/.loom/identity/`: `node.key` (the private key, mode
/// 0600, in a folder of mode 0700) and `node.pub`. Bundles are installed only under
/// `.loom/bundles/`, `.loom/ancestors/` and `.loom/installed/`, so nothing a bundle carries can
/// land beside the key. Retired keys (after a rotation) move to `identity/retired/`.
public struct NodeIdentity: Sendable {
    public let node: String
    public let publicKey: PublicKey
    private let privateKeyBytes: Data

    public static func folder(of node: String) -> String { Paths.join(node, ".loom/identity") }
    static func keyPath(_ node: String) -> String { Paths.join(folder(of: node), "node.key") }
    static func publicPath(_ node: String) -> String { Paths.join(folder(of: node), "node.pub") }

    /// Creates the node's key pair; refuses to replace one (use rotate).
    @discardableResult
    public static func create(node: String) throws(BundleError) -> NodeIdentity {
        guard FileManager.default.fileExists(atPath: Paths.join(node, "node.toml")) else {
            throw BundleError(.io, "\(node) is not a node (it has no node.toml)")
        }
        guard !FileManager.default.fileExists(atPath: keyPath(node)) else {
            throw BundleError(.key, "\(keyPath(node)) exists already; `loom keys rotate` replaces a key")
        }
        let key = Curve25519.Signing.PrivateKey()
        try write(key, node: node)
        return try load(node: node)
    }

    private static func write(_ key: Curve25519.Signing.PrivateKey, node: String) throws(BundleError) {
        let dir = folder(of: node)
        try Folders.make(dir)
        _ = chmod(dir, 0o700)
        let tmp = keyPath(node) + ".tmp"
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BundleError(.io, "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        let text = Array("ed25519-private:\(key.rawRepresentation.base64EncodedString())\n".utf8)
        let written = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == text.count, rename(tmp, keyPath(node)) == 0 else {
            throw BundleError(.io, "cannot write \(keyPath(node))")
        }
        let pub = (try? PublicKey(raw: key.publicKey.rawRepresentation))!.text + "\n"
        do { try pub.write(toFile: publicPath(node), atomically: true, encoding: .utf8) } catch {
            throw BundleError(.io, "cannot write \(publicPath(node)): \(FileErrors.describe(error))")
        }
    }

    /// Loads the node's key pair.
    public static func load(node: String) throws(BundleError) -> NodeIdentity {
        let path = keyPath(node)
        guard let kind = FileKind.at(path) else {
            throw BundleError(.key, errno == ENOENT ? "\(path) is missing; run `loom keys init \(node)` first"
                              : "\(path) cannot be read: \(FileErrors.describe(errno))")
        }
        guard kind == .file else { throw BundleError(.key, "\(path) is \(kind.words), not a key file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BundleError(.key, "\(path) cannot be read (permission denied?)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw BundleError(.key, "\(path) is not valid UTF-8, so not a key file (ed25519-private:BASE64)")
        }
        let body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard body.hasPrefix("ed25519-private:"), let raw = Data(base64Encoded: String(body.dropFirst(16))),
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw BundleError(.key, "\(path) does not hold an Ed25519 private key")
        }
        if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw BundleError(.key, "\(path) is readable by others (mode \(String(mode & 0o777, radix: 8))); chmod 600 it")
        }
        let name = (try? NodeManifest.load(directory: node))?.name ?? Paths.name(node)
        return NodeIdentity(node: name, publicKey: try PublicKey(raw: key.publicKey.rawRepresentation), privateKey: key)
    }

    private init(node: String, publicKey: PublicKey, privateKey: Curve25519.Signing.PrivateKey) {
        self.node = node
        self.publicKey = publicKey
        self.privateKeyBytes = privateKey.rawRepresentation
    }

    /// The private key, for signing many things (frames) without decoding it each time.
    public func signingKey() throws(BundleError) -> Curve25519.Signing.PrivateKey {
        do { return try Curve25519.Signing.PrivateKey(rawRepresentation: privateKeyBytes) }
        catch { throw BundleError(.key, "the node's private key is not a valid Ed25519 key: \(error)") }
    }

    public func sign(_ data: Data) throws(BundleError) -> Data {
        do { return try Curve25519.Signing.PrivateKey(rawRepresentation: privateKeyBytes).signature(for: data) }
        catch { throw BundleError(.signature, "signing failed: \(error)") }
    }

    /// Replaces the node's key with a new one and returns the rotation statement, signed by both.
    /// The old key moves to `identity/retired/`; the statement is kept in `identity/statements/`.
    public static func rotate(node: String, time: Date = Date()) throws(BundleError) -> KeyStatement {
        let old = try load(node: node)
        let new = Curve25519.Signing.PrivateKey()
        var statement = KeyStatement(kind: .rotation, node: old.node, key: old.publicKey,
                                     newKey: try PublicKey(raw: new.publicKey.rawRepresentation), time: time)
        statement.signature = try old.sign(statement.body)
        do { statement.newSignature = try new.signature(for: statement.body) } catch { throw BundleError(.signature, "\(error)") }
        let retired = Paths.join(folder(of: node), "retired")
        try? FileManager.default.createDirectory(atPath: retired, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let kept = Paths.join(retired, old.publicKey.fingerprint.replacingOccurrences(of: ":", with: "") + ".key")
        guard rename(keyPath(node), kept) == 0 else { throw BundleError(.io, "cannot retire \(keyPath(node))") }
        try write(new, node: node)
        try statement.save(in: node)
        return statement
    }

    /// Revokes the node's key: a statement signed by the key itself, kept in
    /// `identity/statements/`; the key moves to `identity/revoked/` and signs nothing more.
    public static func revoke(node: String, time: Date = Date()) throws(BundleError) -> KeyStatement {
        let id = try load(node: node)
        var statement = KeyStatement(kind: .revocation, node: id.node, key: id.publicKey, newKey: nil, time: time)
        statement.signature = try id.sign(statement.body)
        try statement.save(in: node)
        let revoked = Paths.join(folder(of: node), "revoked")
        try? FileManager.default.createDirectory(atPath: revoked, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let kept = Paths.join(revoked, id.publicKey.fingerprint.replacingOccurrences(of: ":", with: "") + ".key")
        guard rename(keyPath(node), kept) == 0 else { throw BundleError(.io, "cannot move \(keyPath(node)) aside") }
        unlink(publicPath(node))
        return statement
    }

    /// The statements (rotations, revocations) this node has made, oldest first.
    public static func statements(node: String) -> [KeyStatement] {
        let dir = Paths.join(folder(of: node), "statements")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        return names.compactMap { try? KeyStatement(text: String(contentsOfFile: Paths.join(dir, $0), encoding: .utf8)) }
    }
}
