import ArgumentParser
import Dispatch
import Foundation
import LoomRuntime
import LuaKit

/// `loom run NODE`: starts a node.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start a node: deliver one task and print the reply, or serve until SIGINT or SIGTERM.",
        discussion: """
            With --serve, the node also watches its node.toml, skills and agents, and reloads them \
            while it runs (see docs/DESIGN.md, Hot reload). With --task, the node starts, the task (a string) goes to --to as an ask, the reply is \
            printed (strings as they are, other values as Lua literals), and the node shuts down \
            cleanly. With --serve, the node runs until SIGINT or SIGTERM, then shuts down the same \
            way. Shutting down refuses new work, delivers the messages already accepted and lets \
            handlers part-way through a sleep or an ask finish, for up to --grace seconds, then \
            saves every agent's state (what is left unfinished is counted in a warning).
            """
    )

    @Argument(help: "The node's folder.")
    var node: String

    @Option(help: "A task to deliver (a string).")
    var task: String?

    @Option(help: "The agent that gets the task (agent or node/agent).")
    var to: String?

    @Option(help: "How long to wait for the reply, in seconds.")
    var timeout: Double = 30

    @Flag(help: "Run until SIGINT or SIGTERM.")
    var serve = false

    @Option(help: "On shutdown, how long to finish the work already accepted before saving state, in seconds.")
    var grace: Double = 5

    @Option(name: .customLong("fs-root"), help: "Grant a folder to fs.read@1 as NAME=PATH (repeatable; adds to node.toml's [fs.roots]).")
    var fsRoots: [String] = []

    func validate() throws {
        if task != nil && to == nil { throw ValidationError("--task needs --to AGENT") }
        if task == nil && !serve { throw ValidationError("give --task TEXT --to AGENT, or --serve") }
        for r in fsRoots where !r.contains("=") || r.hasPrefix("=") || r.hasSuffix("=") {
            throw ValidationError("--fs-root '\(r)' must be NAME=PATH, as in --fs-root docs=./docs")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard grace >= 0, grace <= 3600 else { throw ValidationError("--grace must be between 0 and 3600 seconds") }
    }

    func run() async throws {
        var options = NodeOptions()
        options.shutdownGrace = .milliseconds(Int64(grace * 1000))
        for r in fsRoots {
            let (name, path) = (String(r.prefix { $0 != "=" }), String(r.drop { $0 != "=" }.dropFirst()))
            options.fileRoots[name] = path
        }
        let n = try openNode(node, options: options)
        await n.start()
        var failed = false
        if let task, let to {
            do {
                let reply = try await n.ask(to, .string(LuaString(task)), timeout: .milliseconds(Int64(timeout * 1000)))
                print(reply.string ?? reply.debugDescription)
            } catch {
                printError("error: \(error)")
                failed = true
            }
        }
        if serve {
            do { try await n.watch() } catch { printError("warning: hot reload is off: \(error)") }
            printError("node '\(n.name)' serving, reloading changed agents and skills; SIGINT or SIGTERM stops it")
            let signal = await Self.waitForTermination()
            printError("\(signal): shutting down node '\(n.name)'")
        }
        await n.shutdown()
        if failed { throw ExitCode(1) }
    }

    /// Waits for SIGINT or SIGTERM; returns its name.
    static func waitForTermination() async -> String {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(name) }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        for await name in stream { return name }
        return "end"
    }
}

/// `loom agents NODE`: the agents and their state.
struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "List a node's agents with their state: dormant, active or failed."
    )

    @Argument(help: "The node's folder.")
    var node: String

    func run() async throws {
        let n = try openNode(node)
        let statuses = await n.agents()
        await n.shutdown()
        if statuses.isEmpty { print("node '\(n.name)' has no agents") }
        for s in statuses {
            print("\(s.name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(s.state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) restarts \(s.restarts)")
        }
    }
}
