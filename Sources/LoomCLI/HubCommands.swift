import ArgumentParser
import Foundation
import Logging
import LoomBundle
import LoomCore
import LoomHub
import LoomHubClient
import LoomRuntime
import LoomWire
import LuaKit
import ServiceLifecycle
import UnixSignals

/// `loom hub`: run a hub, and ask one what it knows.
struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "Run a hub that connects nodes in other processes and on other machines, or ask one who is there.",
        subcommands: [HubServeCommand.self, HubNodesCommand.self, HubFindCommand.self]
    )
}

/// The hub's address from `--hub`, else node.toml's `hub` of `node`, else the default.
func hubURL(_ flag: String?, node: String? = nil) throws -> HubURL {
    if let flag { return try HubURL(flag) }
    if let node, let url = (try? NodeManifest.load(directory: node))?.hub { return try HubURL(url) }
    return HubURL(host: "127.0.0.1", port: HubURL.defaultPort)
}

struct HubServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a hub until SIGINT or SIGTERM.",
        discussion: """
            Nodes connect with `loom run NODE --serve --hub http://HOST:PORT` (or `hub = "http://..."` \
            in node.toml). The hub keeps its directory and the frames it has acknowledged but not yet \
            delivered in DIR/hub.sqlite, so a restart loses nothing it acknowledged. Port 0 picks a free \
            port; the first line on standard output is `hub listening on http://HOST:PORT`.
            """
    )

    @Option(help: "Where to listen, HOST:PORT.")
    var listen = "127.0.0.1:\(HubURL.defaultPort)"

    @Option(help: "The hub's folder (its store is DIR/hub.sqlite).")
    var data = ".loom-hub"

    func run() async throws {
        let address = try HubURL(listen)
        var logger = Logger(label: "loom.hub")
        logger.logLevel = .notice
        let server = try HubServer(listen: address, data: data, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let announce = Task {
            do {
                let bound = try await server.address()
                // Unbuffered: scripts and tests wait for this line.
                FileHandle.standardOutput.write(Data("hub listening on \(bound)\n".utf8))
            } catch { printError("error: \(error)") }
        }
        do { try await group.run() } catch {
            announce.cancel()
            throw ValidationError("the hub could not serve on \(address): \(error)")
        }
        printError("hub stopped")
    }
}

struct HubNodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes", abstract: "List the nodes in a hub's directory: key, lineage, what they provide, connected or not.")

    @Option(help: "The hub, http://HOST:PORT.")
    var hub: String?

    func run() async throws {
        let nodes = try await HubCall.nodes(hub: try hubURL(hub))
        if nodes.isEmpty { print("no nodes have connected to this hub") }
        for n in nodes {
            let key = (try? PublicKey(raw: n.publicKey))?.fingerprint ?? "?"
            print("\(n.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(n.connected ? "connected" : "away     ") key \(key)  waiting \(n.waiting)")
            print("    lineage: \(n.lineage.joined(separator: " -> "))")
            if !n.provides.isEmpty { print("    provides: \(n.provides.joined(separator: ", "))") }
        }
    }
}

struct HubFindCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find", abstract: "The nodes that provide a capability, nearest in the asker's lineage first.")

    @Argument(help: "A capability, name@MAJOR (or a name, for any major).")
    var capability: String

    @Option(help: "The hub, http://HOST:PORT.")
    var hub: String?

    @Option(name: .customLong("as"), help: "Order by this node's lineage (a node name).")
    var asker: String?

    func run() async throws {
        let nodes = try await HubCall.find(hub: try hubURL(hub), capability: capability, asker: asker ?? "")
        if nodes.isEmpty {
            print("no node at the hub provides \(capability)")
            throw ExitCode(1)
        }
        for n in nodes { print("\(n.name)\t\(n.connected ? "connected" : "away")\t\(n.provides.filter { $0.hasPrefix(capability.split(separator: "@").first.map(String.init) ?? capability) }.joined(separator: ","))") }
    }
}

/// What `loom ask` and `loom send` share: the target, the text, the hub and the signing node.
struct HubMessageOptions: ParsableArguments {
    @Argument(help: "NODE/AGENT")
    var target: String
    @Argument(help: "The text (a string).")
    var text: String
    @Option(help: "The hub, http://HOST:PORT (default: --as's node.toml hub, else http://127.0.0.1:7420).")
    var hub: String?
    @Option(name: .customLong("as"), help: "The node folder whose key signs.")
    var asker: String

    func validate() throws {
        guard Address(target, localNode: "")?.node.isEmpty == false else { throw ValidationError("'\(target)' is not NODE/AGENT") }
    }

    var address: Address { Address(target, localNode: "")! }

    /// Runs `body`; a failure is printed with its kind and exits with status 1.
    func reportingKinds(_ body: (HubURL) async throws -> Void) async throws {
        do { try await body(try hubURL(hub, node: asker)) } catch let e as ReplyError {
            printError("error: \(e.message) (\(e.kind.wireName))")
            throw ExitCode(1)
        } catch let e as HubError {
            printError("error: \(e.message) (\(e.kind.rawValue))")
            throw ExitCode(1)
        }
    }
}

/// `loom ask NODE/AGENT TEXT --as NODE [--hub URL]`.
struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Ask an agent of a running node through its hub and print the reply.",
        discussion: "The ask is signed with the key of the node folder given to --as (a session of it on the hub). Exit status 1 when the ask fails; the message says its kind (timeout, unreachable, refused, noNode, noAgent, ...).")

    @OptionGroup var message: HubMessageOptions
    @Option(help: "How long to wait for the reply, in seconds.")
    var timeout: Double = 30

    func validate() throws { try Seconds.check(timeout, flag: "--timeout", in: 0...Seconds.max) }

    func run() async throws {
        let to = message.address
        try await message.reportingKinds { hub in
            let reply = try await HubCall.ask(hub: hub, as: message.asker, node: to.node, agent: to.agent,
                                              task: .string(LuaString(message.text)), timeout: Seconds.duration(timeout))
            print(reply.string ?? reply.debugDescription)
        }
    }
}

/// `loom send NODE/AGENT TEXT --as NODE [--hub URL]`.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a message to an agent of a node through its hub; returns once the hub has stored it.",
        discussion: "The hub keeps the message until the node takes it, across restarts of either. Signed with the key of the node folder given to --as.")

    @OptionGroup var message: HubMessageOptions
    @Option(help: "How long to wait for the hub, in seconds.")
    var timeout: Double = 10

    func validate() throws { try Seconds.check(timeout, flag: "--timeout", in: 0...Seconds.max) }

    func run() async throws {
        let to = message.address
        try await message.reportingKinds { hub in
            try await HubCall.send(hub: hub, as: message.asker, node: to.node, agent: to.agent,
                                   message: .string(LuaString(message.text)), timeout: Seconds.duration(timeout))
            print("stored at the hub for \(to)")
        }
    }
}
