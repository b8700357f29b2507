import ArgumentParser
import Dispatch
import Foundation
import LoomCore
import LoomHubClient
import LoomRuntime
import LoomWire
import LuaKit

/// `loom run NODE`: starts a node.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start a node: deliver one task and print the reply, stream tasks from standard input, or serve until SIGINT or SIGTERM.",
        discussion: """
            With --serve, the node also watches its node.toml, skills and agents, and reloads them \
            while it runs (see docs/DESIGN.md, Hot reload). With --task, the node starts, the task (a string) goes to --to as an ask, the reply is \
            printed (strings as they are, other values as Lua literals), and the node shuts down \
            cleanly. With --stdin, every line of standard input is a task for --to (a string, as \
            --task takes it); each reply is printed as soon as it arrives as one JSON line, \
            {"line": N, "reply": TEXT} or {"line": N, "error": MESSAGE, "kind": KIND}, with up to \
            --in-flight tasks waiting at once; at the end of the input the node answers what is \
            left and shuts down (exit status 1 if any task failed). With --serve, the node runs until SIGINT or SIGTERM, then shuts down the same \
            way. Shutting down refuses new work, delivers the messages already accepted and lets \
            handlers part-way through a sleep or an ask finish, for up to --grace seconds, then \
            saves every agent's state (what is left unfinished is counted in a warning). SIGINT or \
            SIGTERM during --task abandons the task and shuts down the same way (exit status 130); \
            a second one during a shutdown ends the grace at once, a third exits without saving.
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

    @Flag(help: "Read tasks for --to from standard input, one a line; print each reply as a JSON line as it arrives.")
    var stdin = false

    @Option(help: "With --stdin, how many tasks may wait for their replies at once.")
    var inFlight = 64

    @Option(help: "On shutdown, how long to finish the work already accepted before saving state, in seconds.")
    var grace: Double = 5

    @Flag(help: "Fail, naming each difference, when the node's loom.lock is missing or differs from what resolution gives now.")
    var locked = false

    @Option(help: "Connect to this hub (http://HOST:PORT) so nodes in other processes reach this one (default: node.toml's hub).")
    var hub: String?

    @Option(name: .customLong("fs-root"), help: "Grant a folder to fs.read@1 as NAME=PATH (repeatable; adds to node.toml's [fs.roots]).")
    var fsRoots: [String] = []

    func validate() throws {
        if task != nil && to == nil { throw ValidationError("--task needs --to AGENT") }
        if stdin && to == nil { throw ValidationError("--stdin needs --to AGENT") }
        if stdin && (task != nil || serve) { throw ValidationError("--stdin cannot be combined with --task or --serve") }
        if task == nil && !serve && !stdin { throw ValidationError("give --task TEXT --to AGENT, --stdin --to AGENT, or --serve") }
        guard (1...100_000).contains(inFlight) else { throw ValidationError("--in-flight must be between 1 and 100000") }
        for r in fsRoots where !r.contains("=") || r.hasPrefix("=") || r.hasSuffix("=") {
            throw ValidationError("--fs-root '\(r)' must be NAME=PATH, as in --fs-root docs=./docs")
        }
        try Seconds.check(timeout, flag: "--timeout", in: 0...Seconds.max)
        guard grace.isFinite, grace >= 0, grace <= 3600 else { throw ValidationError("--grace must be between 0 and 3600 seconds") }
    }

    func run() async throws {
        var options = NodeOptions()
        options.shutdownGrace = Seconds.duration(grace)
        options.locked = locked
        for r in fsRoots {
            let (name, path) = (String(r.prefix { $0 != "=" }), String(r.drop { $0 != "=" }.dropFirst()))
            options.fileRoots[name] = path
        }
        let n = try openNode(node, options: options)
        // From the start SIGINT and SIGTERM are caught: the first one (during the task, or while
        // serving) stops the node gracefully; one during the shutdown ends its grace at once (state
        // is still saved); one more exits at once (state changed since the last flush is lost).
        let signals = SignalWatcher()
        await n.start()
        // Nodes in other processes, through the hub: from --hub, else node.toml's `hub`.
        var link: (HubLink, Task<Void, Never>)?
        if let url = try hub.map(HubURL.init) ?? (try? NodeManifest.load(directory: node))?.hub.map(HubURL.init) {
            let l = try HubLink(node: n, directory: node, hub: url)
            await n.route(remote: l)
            link = (l, Task { do { try await l.run() } catch { printError("error: the link to the hub at \(url) ended: \(error)") } })
            printError("node '\(n.name)' links to the hub at \(url)")
        }
        var failed = false
        var interrupted: String?
        if let task, let to {
            // The reply or a signal, whichever comes first.
            let outcome: TaskOutcome = await withCheckedContinuation { c in
                let first = FirstOf(c)
                let timeout = Seconds.duration(timeout)
                Task {
                    do { first.take(.reply(try await n.ask(to, .string(LuaString(task)), timeout: timeout))) } catch {
                        first.take(.failed(error))
                    }
                }
                // A signal after the reply waits for the next handler.
                signals.onSignal { name in if !first.take(.signal(name)) { signals.putBack(name) } }
            }
            switch outcome {
            case .reply(let reply): print(reply.string ?? reply.debugDescription)
            case .failed(let error):
                printError("error: \(error)")
                failed = true
            case .signal(let name):
                interrupted = name
                printError("\(name): the task is abandoned; shutting down node '\(n.name)' (finishing accepted work for up to \(grace) s; again to stop now)")
            }
        }
        if stdin, let to {
            // Every reply, or a signal, whichever comes first.
            let stream = TaskStream(node: n, agent: to, timeout: Seconds.duration(timeout), inFlight: inFlight)
            let outcome: StreamOutcome = await withCheckedContinuation { c in
                let first = FirstOf(c)
                let reading = Task { first.take(.done(failed: await stream.run())) }
                signals.onSignal { name in
                    if first.take(.signal(name)) { reading.cancel() } else { signals.putBack(name) }
                }
            }
            switch outcome {
            case .done(let count): failed = count > 0
            case .signal(let name):
                interrupted = name
                printError("\(name): the tasks not yet answered are abandoned; shutting down node '\(n.name)' (finishing accepted work for up to \(grace) s; again to stop now)")
            }
        }
        if serve && interrupted == nil {
            do { try await n.watch() } catch { printError("warning: hot reload is off: \(error)") }
            printError("node '\(n.name)' serving, reloading changed agents and skills; SIGINT or SIGTERM stops it")
            let signal = await signals.next()
            printError("\(signal): shutting down node '\(n.name)' (finishing accepted work for up to \(grace) s; again to stop now)")
        }
        let hurried = OnceFlag()
        signals.onSignal { name in
            if hurried.set() {
                printError("\(name): ending the grace period, saving state")
                Task { await n.hurry() }
            } else {
                printError("\(name) again: exiting without saving")
                Glibc.exit(130)
            }
        }
        await n.shutdown()
        if let (l, task) = link {
            l.stop()
            await task.value
        }
        signals.cancel()
        if interrupted != nil { throw ExitCode(130) }
        if failed { throw ExitCode(1) }
    }

    enum StreamOutcome: Sendable {
        case done(failed: Int)
        case signal(String)
    }

    enum TaskOutcome: Sendable {
        case reply(LuaValue)
        case failed(any Error)
        case signal(String)
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
