import ArgumentParser
import Foundation
import LoomBundle

/// `loom trust`: the keys a node accepts bundles from.
struct TrustCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "The publishers and keys a node trusts, kept in its database.",
        subcommands: [Add.self, List.self, Remove.self, Import.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Trust PUBKEY (ed25519:...) to sign for publisher NAME.")
        @Argument(help: "The node's folder.") var node: String
        @Argument(help: "The publishing node's name.") var name: String
        @Argument(help: "Its public key, as `loom keys show` prints it.") var pubkey: String
        func run() throws {
            let key = try bundleStep { try PublicKey(text: pubkey) }
            try bundleStep { try TrustStore(node: node).add(publisher: name, key: key) }
            print("node trusts '\(name)' with key \(key.fingerprint)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The trusted publishers and keys.")
        @Argument(help: "The node's folder.") var node: String
        func run() throws {
            let entries = try bundleStep { try TrustStore(node: node).entries() }
            if entries.isEmpty { print("no trusted publishers") }
            for e in entries {
                print("\(e.publisher.padding(toLength: 20, withPad: " ", startingAt: 0)) \(e.key.fingerprint)  \(e.key.text)"
                      + (e.via == "added" ? "" : "  (rotated from \(e.via))"))
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop trusting a publisher, or one of its keys.")
        @Argument(help: "The node's folder.") var node: String
        @Argument(help: "The publisher's name.") var name: String
        @Argument(help: "One key to remove; all of the publisher's keys without it.") var pubkey: String?
        func run() throws {
            let key = try pubkey.map { text in try bundleStep { try PublicKey(text: text) } }
            let n = try bundleStep { try TrustStore(node: node).remove(publisher: name, key: key) }
            guard n > 0 else {
                printError("error: node does not trust '\(name)'\(key.map { " with key \($0.fingerprint)" } ?? "")")
                throw ExitCode(1)
            }
            print("removed \(n) key\(n == 1 ? "" : "s") of '\(name)'")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a key statement (a rotation or a revocation) after checking its signatures.")
        @Argument(help: "The node's folder.") var node: String
        @Argument(help: "The statement file.") var file: String
        func run() throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                printError("error: cannot read \(file)")
                throw ExitCode(1)
            }
            let statement = try bundleStep { try KeyStatement(text: text, file: file) }
            print(try bundleStep { try TrustStore(node: node).apply(statement) })
        }
    }
}
