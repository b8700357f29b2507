import ArgumentParser
import Foundation
import LoomBundle
import LoomCore

/// `loom bundle NODE`: build and sign a bundle of the node's skills.
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Build and sign a bundle of a node's skills (a ZIP with a signed index).",
        discussion: "The same skills give byte-identical bundles; the creation time is SOURCE_DATE_EPOCH or the newest file's."
    )
    @Argument(help: "The node's folder.") var node: String
    @Option(parsing: .upToNextOption, help: "The skills to include (default: all of the node's own).") var skills: [String] = []
    @Option(name: [.customShort("o"), .long], help: "The bundle file (default: NAME-VERSION.loombundle).") var output: String?
    @Option(help: "The bundle's version; installs refuse an older one.") var version = "1.0.0"
    @Option(help: "The bundle's name (default: NODE-skills).") var name: String?
    @Option(help: "Bundle the skills in this folder (a package's Skills/) instead of the node's own; the node signs.") var from: String?

    func run() throws {
        guard let v = SemanticVersion(version) else { throw ValidationError("--version '\(version)' is not a semantic version (1.2.3)") }
        var builder = BundleBuilder(node: node)
        builder.skills = skills.isEmpty ? nil : skills
        builder.version = v
        builder.name = name
        builder.skillsFolder = from
        let r = try bundleStep { try builder.build() }
        let file = output ?? "\(r.index.name)-\(r.index.version).loombundle"
        do { try r.bytes.write(to: URL(fileURLWithPath: file), options: .atomic) } catch {
            printError("error: cannot write \(file): \(error)")
            throw ExitCode(1)
        }
        print("bundled \(r.index.skills.map { "\($0.name) \($0.version)" }.joined(separator: ", ")) from '\(r.index.publisher)'")
        print("\(file): \(r.bytes.count) bytes, \(r.index.files.count) files, signed by \(r.index.publisherKey.fingerprint)")
        print("bundle id sha256:\(r.id)")
    }
}

/// `loom verify FILE [--node NODE]`.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a bundle: archive safety, signature, every file, manifests, and with --node the node's trust."
    )
    @Argument(help: "The bundle file.") var file: String
    @Option(help: "A node whose trust store and constitution must accept the bundle.") var node: String?

    func run() throws {
        if let node {
            let v = try bundleStep { try BundleInstaller(node: node).verify(file: file) }
            print("ok: \(v.contents.index.name) \(v.contents.index.version) from '\(v.contents.index.publisher)' (\(v.relation.rawValue)), "
                  + "signed by a trusted key \(v.contents.index.publisherKey.fingerprint)")
            print("bundle id sha256:\(v.contents.id)")
        } else {
            let c = try bundleStep { try BundleReader().read(file: file) }
            print("ok: \(c.index.name) \(c.index.version) from '\(c.index.publisher)', \(c.files.count) files intact, "
                  + "signed by \(c.index.publisherKey.fingerprint) (trust not checked: pass --node)")
            print("bundle id sha256:\(c.id)")
        }
    }
}

/// `loom install FILE --node NODE`.
struct InstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Verify a bundle and install it into a node, atomically.",
        discussion: "A bundle from an ancestor lands in .loom/ancestors/NAME, others in .loom/installed/. An older version than one seen is refused."
    )
    @Argument(help: "The bundle file.") var file: String
    @Option(help: "The node to install into.") var node: String
    @Flag(help: "Install even an older version than one already seen.") var allowDowngrade = false

    func run() throws {
        var installer = BundleInstaller(node: node)
        installer.allowDowngrade = allowDowngrade
        let r = try bundleStep { try installer.install(file: file) }
        print("installed \(r.index.name) \(r.index.version) from '\(r.index.publisher)' (\(r.relation.rawValue)) at \(r.location)"
              + (r.replaced.map { ", replacing \($0)" } ?? ""))
    }
}
