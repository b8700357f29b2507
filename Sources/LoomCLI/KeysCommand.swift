import ArgumentParser
import Foundation
import LoomCore
import LoomBundle

/// `loom keys`: a node's Ed25519 identity.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, show, rotate and revoke a node's signing key.",
        subcommands: [Init.self, Show.self, Rotate.self, Revoke.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the node's key pair (.loom/identity/node.key, mode 0600).")
        @Argument(help: "The node's folder.") var node: String
        func run() throws {
            let id = try bundleStep { try NodeIdentity.create(node: node) }
            print("created the key of node '\(id.node)': \(id.publicKey.text)")
            print("fingerprint \(id.publicKey.fingerprint)")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the node's public key and its fingerprint.")
        @Argument(help: "The node's folder.") var node: String
        func run() throws {
            let id = try bundleStep { try NodeIdentity.load(node: node) }
            print(id.publicKey.text)
            print("fingerprint \(id.publicKey.fingerprint)")
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the node's key; the rotation statement is signed by the old key and the new one.",
            discussion: "Peers that trust the old key accept the new one through the statement, which the node's bundles carry; `loom trust import` takes it by hand."
        )
        @Argument(help: "The node's folder.") var node: String
        func run() throws {
            let s = try bundleStep { try NodeIdentity.rotate(node: node) }
            print("rotated node '\(s.node)': \(s.key.fingerprint) -> \(s.newKey!.fingerprint)")
            print("statement: \(Paths.join(NodeIdentity.folder(of: node), "statements/" + s.fileName))")
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke the node's key: a statement signed by the key; nodes that learn of it refuse the key.",
            discussion: "Give peers the statement (`loom trust import`); the node's later bundles carry it too. Run `loom keys init` for a new key."
        )
        @Argument(help: "The node's folder.") var node: String
        func run() throws {
            let s = try bundleStep { try NodeIdentity.revoke(node: node) }
            print("revoked the key \(s.key.fingerprint) of node '\(s.node)'")
            print("statement: \(Paths.join(NodeIdentity.folder(of: node), "statements/" + s.fileName))")
        }
    }
}

/// Runs a LoomBundle step; a refusal prints `error: ...` and exits 1.
func bundleStep<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as BundleError {
        printError("error: \(error.message)")
        throw ExitCode(1)
    }
}
