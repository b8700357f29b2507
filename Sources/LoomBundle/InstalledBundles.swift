import Crypto
import Foundation
import LoomCore

/// The check a node makes at load: every installed bundle (`.loom/ancestors/*` and
/// `.loom/installed/*` that hold a `bundle.toml`) still carries its publisher's signature, its
/// signer is still trusted and not revoked, and every file matches its SHA-256, with no file added.
public enum InstalledBundles: Sendable {
    public static func check(node: String) throws(BundleError) {
        let loom = Paths.join(node, ".loom")
        var folders: [String] = []
        for sub in ["ancestors", "installed"] {
            let dir = Paths.join(loom, sub)
            // `NAME.new-PID` is a link switch a crash interrupted; the next install removes it.
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() where !name.hasPrefix(".") && !name.contains(".new-") {
                let folder = Paths.join(dir, name)
                if FileManager.default.fileExists(atPath: Paths.join(folder, "bundle.toml")) { folders.append(folder) }
            }
        }
        guard !folders.isEmpty else { return }
        let store = try TrustStore(node: node)
        for folder in folders { try check(folder: folder, store: store) }
    }

    static func check(folder: String, store: TrustStore) throws(BundleError) {
        let index = try checkFiles(folder: folder)
        _ = try store.check(publisher: index.publisher, key: index.publisherKey, statements: [])
    }

    /// The signature and every file of an installed bundle folder (trust aside); returns its index.
    @discardableResult
    static func checkFiles(folder: String) throws(BundleError) -> BundleIndex {
        func reinstall(_ what: String) -> BundleError {
            BundleError(.integrity, "\(what) in \(folder), installed from a bundle, was changed after installation; install the bundle again (loom install)")
        }
        guard let indexBytes = FileManager.default.contents(atPath: Paths.join(folder, "bundle.toml")),
              let sig = FileManager.default.contents(atPath: Paths.join(folder, "bundle.sig")) else {
            throw reinstall("bundle.toml or bundle.sig")
        }
        let index = try BundleIndex(bytes: indexBytes, file: Paths.join(folder, "bundle.toml"))
        let signature = try SignatureText.decode(String(decoding: sig, as: UTF8.self), what: "bundle.sig in \(folder)")
        guard index.publisherKey.isValidSignature(signature, for: indexBytes) else { throw reinstall("bundle.toml") }
        var listed: Set<String> = ["bundle.toml", "bundle.sig"]
        for f in index.files {
            listed.insert(f.path)
            guard let data = FileManager.default.contents(atPath: Paths.join(folder, f.path)),
                  data.count == f.size, BundleBuilder.hex(SHA256.hash(data: data)) == f.sha256 else {
                throw reinstall(f.path)
            }
        }
        let manifest = Paths.join(folder, "node.toml")
        if FileManager.default.fileExists(atPath: manifest) {
            listed.insert("node.toml")
            guard FileManager.default.contents(atPath: manifest) == Data(BundleInstaller.ancestorManifest(index).utf8) else {
                throw reinstall("node.toml")
            }
        }
        let walker = FileManager.default.enumerator(atPath: folder)
        while let path = walker?.nextObject() as? String {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: Paths.join(folder, path), isDirectory: &isDir)
            if !isDir.boolValue && !listed.contains(path) { throw reinstall("the added file \(path)") }
        }
        return index
    }
}
