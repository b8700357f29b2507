import ArgumentParser
import Foundation
import LoomCore
import LoomMemory
import LoomBench
import LoomBundle
import LoomRuntime
import LuaKit

/// `loom bench`: the benchmarks. Run them in release: `swift run -c release loom bench lua`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run Loom's benchmarks (build with -c release).",
        subcommands: [BenchLuaCommand.self, BenchResolveCommand.self, BenchRuntimeCommand.self, BenchMemoryCommand.self,
                      BenchReloadCommand.self, BenchAuditCommand.self, BenchBundleCommand.self, BenchHubCommand.self]
    )
}

struct BenchLuaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lua",
        abstract: "The Lua bridge against the raw C API: calls both ways, budget overhead, state cost.",
        discussion: "Prints a table, then one JSON line with every figure."
    )

    @Option(help: "Calls per round.")
    var iterations: Int = 1_000_000

    @Option(help: "Rounds per figure; the best round counts.")
    var rounds: Int = 7

    func validate() throws {
        guard iterations > 0, rounds > 0 else { throw ValidationError("--iterations and --rounds must be positive") }
    }

    func run() throws {
        warnIfDebug("lua")
        let r = try LuaBenchmark(iterations: iterations, rounds: rounds).run()
        func row(_ name: String, _ c: LuaBenchmark.Comparison, unit: String = "ns") -> String {
            name.padding(toLength: 34, withPad: " ", startingAt: 0)
                + String(format: "%10.1f %@ %10.1f %@ %8.2fx", c.loom, unit, c.c, unit, c.ratio)
        }
        print("figure".padding(toLength: 34, withPad: " ", startingAt: 0) + "      loom          raw C     ratio")
        print(row("Swift -> Lua call (typed)", r.swiftToLua))
        print(row("Swift -> Lua call (LuaValue)", r.swiftToLuaUntyped))
        print(row("Lua -> Swift function call", r.luaToSwift))
        print(row("tight loop, deadline armed", r.budget) + String(format: "   overhead %+.1f%%", r.budgetOverheadPercent))
        print(row("tight loop, instruction budget", r.instructionBudget)
            + String(format: "   overhead %+.1f%%", r.instructionBudgetOverheadPercent))
        print(String(format: "new sandboxed state: %.1f µs, %d bytes; one more environment: %d bytes",
                     r.stateCreateMicroseconds, r.stateBytes, r.environmentBytes))
        let json: [String: Any] = [
            "swift_to_lua_ns": r.swiftToLua.loom, "swift_to_lua_c_ns": r.swiftToLua.c, "swift_to_lua_ratio": r.swiftToLua.ratio,
            "swift_to_lua_untyped_ns": r.swiftToLuaUntyped.loom, "swift_to_lua_untyped_ratio": r.swiftToLuaUntyped.ratio,
            "lua_to_swift_ns": r.luaToSwift.loom, "lua_to_c_ns": r.luaToSwift.c, "lua_to_swift_ratio": r.luaToSwift.ratio,
            "budget_overhead_percent": r.budgetOverheadPercent,
            "instruction_budget_overhead_percent": r.instructionBudgetOverheadPercent,
            "state_create_us": r.stateCreateMicroseconds, "state_bytes": r.stateBytes,
            "environment_bytes": r.environmentBytes, "iterations": r.iterations,
        ]
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

struct BenchResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Resolve a synthetic lineage: 1,000 nodes, 100 deep, 10,000 skills (target: 20 ms or less).",
        discussion: "Times C3 ordering plus resolution in memory (no file system), best of the rounds. Prints a line and one JSON line."
    )

    @Option(help: "Layers of the synthetic lineage.")
    var layers: Int = 100

    @Option(help: "Nodes per layer.")
    var width: Int = 10

    @Option(help: "Skills per node.")
    var skills: Int = 10

    @Option(help: "Rounds; the best counts.")
    var rounds: Int = 20

    func validate() throws {
        guard layers > 0, width > 0, skills > 0, rounds > 0 else { throw ValidationError("every option must be positive") }
    }

    func run() throws {
        warnIfDebug("resolve")
        let records = SyntheticLineage.make(layers: layers, width: width, skillsPerNode: skills)
        let clock = ContinuousClock()
        var best = Duration.seconds(1000)
        var bestOrder = Duration.seconds(1000)
        var bindings = 0
        var order = 0
        for _ in 0..<rounds {
            var lineage: Lineage?
            let ordering = try clock.measure { lineage = try Lineage(root: records["root"]!, known: records) }
            let resolving = try clock.measure {
                let resolution = try Resolver().resolve(lineage!)
                bindings = resolution.bindings.count
                order = lineage!.nodes.count
            }
            best = min(best, ordering + resolving)
            bestOrder = min(bestOrder, ordering)
        }
        let ms = best.inSeconds * 1000
        let orderMS = bestOrder.inSeconds * 1000
        let skillCount = records.values.reduce(0) { $0 + $1.skills.count }
        print(String(format: "resolve: %d nodes in C3 order, %d skills, %d capabilities resolved in %.2f ms (C3 order %.2f ms; best of %d); target 20 ms",
                     order, skillCount, bindings, ms, orderMS, rounds))
        try printJSON(["nodes": order, "skills": skillCount, "capabilities": bindings, "resolve_ms": ms, "c3_ms": orderMS, "target_ms": 20])
    }
}

struct BenchRuntimeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime",
        abstract: "The node runtime: messages per second against C, two nodes at once, idle agents, activation, asks, many nodes.",
        discussion: """
            Prints a table, then one JSON line with every figure. With --peer erlang, also compiles and runs \
            the same workload in Erlang (erl and erlc on the PATH; Debian: apt-get install erlang-base), with \
            one scheduler and with two, and prints Loom and Erlang side by side.
            """
    )

    /// A runtime to run the same workload in, beside Loom's.
    enum Peer: String, ExpressibleByArgument, CaseIterable {
        case erlang
    }

    @Option(help: "Agents receiving messages.")
    var agents = 1000

    @Option(help: "Messages in the throughput run.")
    var messages = 1_000_000

    @Option(help: "Agents activated in one node for the idle-cost figures.")
    var idle = 100_000

    @Option(help: "Nodes in one process for the last figure.")
    var nodes = 100

    @Option(help: "Agents activated per node in the last figure.")
    var perNode = 1000

    @Option(help: "Run the same workload in another runtime too (erlang: needs erl and erlc on the PATH).")
    var peer: Peer?

    func validate() throws {
        guard agents > 0, messages >= agents, idle > 0, nodes > 0, perNode > 0 else {
            throw ValidationError("every option must be positive, and --messages at least --agents")
        }
    }

    func run() async throws {
        warnIfDebug("runtime")
        var erlang: ErlangPeer?
        if peer == .erlang {
            var p = ErlangPeer()
            p.processes = agents
            p.messages = messages
            p.asks = RuntimeBenchmark().asks
            erlang = p
            do { _ = try p.tools() } catch let error as PeerError {   // before minutes of Loom's figures
                printError("error: \(error)")
                throw ExitCode(1)
            }
        }
        var bench = RuntimeBenchmark()
        bench.agents = agents
        bench.messages = messages
        bench.idleAgents = idle
        bench.nodes = nodes
        bench.agentsPerNode = perNode
        let r = try await bench.run { printError("  running: \($0)") }
        var e: ErlangPeer.Results?
        if let erlang {
            do { e = try await erlang.run { printError("  running: \($0)") } } catch let error as PeerError {
                printError("error: the Erlang peer: \(error)")
                throw ExitCode(1)
            }
        }
        print(String(format: "messages (%d agents, %d messages): agent to agent %.0f/s, C resuming the same handlers %.0f/s, ratio %.2f",
                     r.agents, r.messages, r.loomMessagesPerSecond, r.cMessagesPerSecond, r.ratio))
        print(String(format: "C resuming them with a copy of one table each time, as send copies: %.0f/s; ratio to it %.2f",
                     r.cCopyingMessagesPerSecond, r.ratioToCopying))
        print(String(format: "messages from the host (Swift) to agents: %.0f/s", r.hostMessagesPerSecond))
        print(String(format: "idle agents (%d in one node): %.0f bytes each; activation %.1f µs each",
                     r.idleAgents, r.bytesPerIdleAgent, r.microsecondsPerActivation))
        print(String(format: "two nodes at once, each %d messages to %d agents: %.0f/s together, %.2fx one node",
                     r.messages, r.agents, r.twoNodesMessagesPerSecond, r.twoNodesRatio))
        print(String(format: "ask round trip: host -> agent %.1f µs; agent -> agent %.1f µs", r.hostAskMicroseconds, r.agentAskMicroseconds))
        print(String(format: "ask round trip p50 / p99: host -> agent %.1f / %.1f µs; agent -> agent %.1f / %.1f µs",
                     r.hostAskP50Microseconds, r.hostAskP99Microseconds, r.agentAskP50Microseconds, r.agentAskP99Microseconds))
        print(String(format: "host -> agent from a task on the node's queue (Node.taskExecutor), p50 / p99: %.1f / %.1f µs; "
                     + "in batches of 100 (ask(many:)): %.2f µs an ask", r.hostAskOnNodeP50Microseconds,
                     r.hostAskOnNodeP99Microseconds, r.hostAskBatchedMicroseconds))
        print(String(format: "C, a request to another thread and back (two wake-ups, the floor of a hop), p50 / p99: %.1f / %.1f µs",
                     r.cThreadRoundTripP50Microseconds, r.cThreadRoundTripP99Microseconds))
        print(String(format: "%d nodes x %d agents: activated in %.2f s; peak RSS %.0f MiB",
                     r.nodes, r.agentsPerNode, r.manyNodesSeconds, Double(r.peakRSSBytes) / 1048576))
        if let e { printComparison(r, e) }
        var json: [String: Any] = [
            "agents": r.agents, "messages": r.messages, "loom_messages_per_s": r.loomMessagesPerSecond,
            "host_messages_per_s": r.hostMessagesPerSecond,
            "c_messages_per_s": r.cMessagesPerSecond, "ratio": r.ratio, "idle_agents": r.idleAgents,
            "c_copying_messages_per_s": r.cCopyingMessagesPerSecond, "ratio_to_copying": r.ratioToCopying,
            "bytes_per_idle_agent": r.bytesPerIdleAgent, "activation_us": r.microsecondsPerActivation,
            "host_ask_us": r.hostAskMicroseconds, "agent_ask_us": r.agentAskMicroseconds, "nodes": r.nodes,
            "agents_per_node": r.agentsPerNode, "many_nodes_s": r.manyNodesSeconds, "peak_rss_bytes": r.peakRSSBytes,
            "host_ask_p50_us": r.hostAskP50Microseconds, "host_ask_p99_us": r.hostAskP99Microseconds,
            "agent_ask_p50_us": r.agentAskP50Microseconds, "agent_ask_p99_us": r.agentAskP99Microseconds,
            "two_nodes_messages_per_s": r.twoNodesMessagesPerSecond, "two_nodes_ratio": r.twoNodesRatio,
            "host_ask_on_node_p50_us": r.hostAskOnNodeP50Microseconds, "host_ask_on_node_p99_us": r.hostAskOnNodeP99Microseconds,
            "host_ask_batched_us": r.hostAskBatchedMicroseconds,
            "c_thread_round_trip_p50_us": r.cThreadRoundTripP50Microseconds,
            "c_thread_round_trip_p99_us": r.cThreadRoundTripP99Microseconds,
        ]
        if let e {
            let one = e.oneScheduler, two = e.twoSchedulers
            json.merge([
                "erlang_otp": one.otpRelease, "erlang_processes": one.processes, "erlang_messages": one.messages,
                "erlang_messages_per_s": one.messagesPerSecond,
                "erlang_two_schedulers_messages_per_s": two.messagesPerSecond, "erlang_two_schedulers_ratio": e.twoSchedulerRatio,
                "erlang_two_schedulers_groups": two.groups, "erlang_two_schedulers_messages_per_group": two.messages,
                "erlang_ask_us": one.askMeanMicroseconds ?? 0, "erlang_ask_p50_us": one.askP50Microseconds ?? 0,
                "erlang_ask_p99_us": one.askP99Microseconds ?? 0,
                "loom_erlang_messages_ratio": Self.ratio(r.loomMessagesPerSecond, one.messagesPerSecond),
                "loom_erlang_two_ratio": Self.ratio(r.twoNodesMessagesPerSecond, two.messagesPerSecond),
                "loom_erlang_ask_ratio": Self.ratio(r.agentAskMicroseconds, one.askMeanMicroseconds ?? 0),
                "loom_erlang_ask_p50_ratio": Self.ratio(r.agentAskP50Microseconds, one.askP50Microseconds ?? 0),
            ]) { _, new in new }
        }
        try printJSON(json)
    }

    static func ratio(_ loom: Double, _ erlang: Double) -> Double { erlang > 0 ? loom / erlang : 0 }

    /// Loom and Erlang side by side; the last column is Loom over Erlang (for rates above 1 is
    /// Loom faster, for times above 1 is Loom slower).
    func printComparison(_ r: RuntimeBenchmark.Results, _ e: ErlangPeer.Results) {
        let one = e.oneScheduler, two = e.twoSchedulers
        func cell(_ value: Double?, _ format: String) -> String {
            (value.map { String(format: format, $0) } ?? "-").rightAligned(14)
        }
        func row(_ name: String, _ loom: Double?, _ erlang: Double?, _ format: String) {
            let ratio = loom.flatMap { l in erlang.map { Self.ratio(l, $0) } }
            print(name.padding(toLength: 46, withPad: " ", startingAt: 0) + cell(loom, format) + cell(erlang, format)
                  + cell(ratio, "%.2f"))
        }
        print("")
        print("Loom and Erlang/OTP \(one.otpRelease): \(r.agents) agents or processes, \(r.messages) messages of {a, b, c}")
        print("figure".padding(toLength: 46, withPad: " ", startingAt: 0) + "loom".rightAligned(14) + "erlang".rightAligned(14)
              + "loom/erlang".rightAligned(14))
        row("messages/s, one node | one scheduler", r.loomMessagesPerSecond, one.messagesPerSecond, "%.0f")
        row("messages/s, two nodes | two schedulers", r.twoNodesMessagesPerSecond, two.messagesPerSecond, "%.0f")
        row("  two over one", r.twoNodesRatio, e.twoSchedulerRatio, "%.2fx")
        row("ask round trip, agent -> agent, mean (µs)", r.agentAskMicroseconds, one.askMeanMicroseconds, "%.2f")
        row("ask round trip, agent -> agent, p50 (µs)", r.agentAskP50Microseconds, one.askP50Microseconds, "%.2f")
        row("ask round trip, host -> agent, p50 (µs)", r.hostAskP50Microseconds, nil, "%.1f")
        row("  from the node's queue, p50 (µs)", r.hostAskOnNodeP50Microseconds, nil, "%.1f")
        row("  in batches of 100, per ask (µs)", r.hostAskBatchedMicroseconds, nil, "%.2f")
        row("  C: to another thread and back, p50 (µs)", r.cThreadRoundTripP50Microseconds, nil, "%.1f")
        print("(two nodes: each node runs the whole workload; two schedulers: two groups, each of "
              + "\(two.processes) processes and \(two.messages) messages)")
    }
}

extension String {
    /// The string right-aligned in `width` columns.
    func rightAligned(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

struct BenchMemoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Agent memory: remember throughput (batched, one by one, inside handlers with group commit), recall latency in a crowded store, bytes on disk.",
        discussion: "Prints a table, then one JSON line with every figure."
    )

    @Option(help: "Agents in the store.")
    var agents = 1000

    @Option(help: "Memories per agent.")
    var perAgent = 1000

    @Option(help: "Messages to the node's workers in the group commit row (100 workers, 5 remembers a message).")
    var handlerMessages = 20_000

    func validate() throws {
        guard agents > 0, perAgent > 0 else { throw ValidationError("--agents and --per-agent must be positive") }
        guard handlerMessages > 0 else { throw ValidationError("--handler-messages must be positive") }
    }

    func run() async throws {
        warnIfDebug("memory")
        var bench = MemoryBenchmark()
        bench.agents = agents
        bench.perAgent = perAgent
        let r = try bench.run { printError("  running: \($0)") }
        print(String(format: "remember: %.0f/s batched (%d per transaction), %.0f/s one by one", r.batchedPerSecond, r.perAgent, r.singlePerSecond))
        print(String(format: "remember, the same rows inserted by C: %.0f/s batched; ratio (C / Loom) %.2f", r.cBatchedPerSecond, r.ratio))
        print(String(format: "remember, C on two threads (rows and index in two files): %.0f/s committed, %.0f/s indexed",
                     r.cSplitCommittedPerSecond, r.cSplitIndexedPerSecond))
        print(String(format: "recall, one agent among %d x %d memories: p50 %.0f µs, p99 %.0f µs", r.agents, r.perAgent,
                     r.recallP50Microseconds, r.recallP99Microseconds))
        print(String(format: "on disk: %.0f bytes per memory", r.bytesPerMemory))
        var group = GroupCommitBenchmark()
        group.messages = handlerMessages
        printError("  running: remember inside handlers: \(group.messages) messages to \(group.agents) agents, \(group.perMessage) remembers each")
        let g = try await group.run()
        print(String(format: "remember inside handlers (group commit): %.0f/s (%d agents, %d messages, %d remembers each, a real node on a file)",
                     g.perSecond, g.agents, g.messages, g.perMessage))
        try printJSON(["remember_batched_per_s": r.batchedPerSecond, "c_remember_batched_per_s": r.cBatchedPerSecond,
                       "remember_ratio": r.ratio, "remember_single_per_s": r.singlePerSecond,
                       "c_split_committed_per_s": r.cSplitCommittedPerSecond, "c_split_indexed_per_s": r.cSplitIndexedPerSecond,
                       "agents": r.agents, "per_agent": r.perAgent, "recall_p50_us": r.recallP50Microseconds,
                       "recall_p99_us": r.recallP99Microseconds, "bytes_per_memory": r.bytesPerMemory,
                       "remember_in_handlers_per_s": g.perSecond, "remember_in_handlers_agents": g.agents,
                       "remember_in_handlers_messages": g.messages, "remember_in_handlers_per_message": g.perMessage])
    }
}

struct BenchReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Hot reload: from writing a behaviour to the new code serving, under a load of asks and sends.",
        discussion: "Prints a table, then one JSON line with every figure."
    )

    @Option(help: "Reloads to time.")
    var reloads = 20

    func validate() throws {
        guard reloads > 0 else { throw ValidationError("--reloads must be positive") }
    }

    func run() async throws {
        var bench = ReloadBenchmark()
        bench.reloads = reloads
        let r = try await bench.run { printError("  \($0)") }
        print(String(format: "write to new code serving (%d reloads, 40 ms quiet window): p50 %.1f ms, max %.1f ms", r.reloads,
                     r.p50Milliseconds, r.maxMilliseconds))
        print("under load: \(r.asksSent) asks, \(r.asksFailed) failed; \(r.sendsSent) sends, \(r.sendsCounted) handled"
              + (r.asksFailed == 0 && r.sendsSent == r.sendsCounted ? " (no message dropped)" : " (MESSAGES LOST)"))
        try printJSON(["reloads": r.reloads, "p50_ms": r.p50Milliseconds, "max_ms": r.maxMilliseconds, "asks": r.asksSent,
                       "asks_failed": r.asksFailed, "sends": r.sendsSent, "sends_handled": r.sendsCounted])
        if r.asksFailed != 0 || r.sendsSent != r.sendsCounted { throw ExitCode(1) }
    }
}

struct BenchAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The Everything Audit twice on one tree: the second run reuses what the auditors remembered.",
        discussion: "Prints both times and the saving, then one JSON line."
    )

    @Argument(help: "The tree to audit.")
    var path = "."

    @Option(help: "The audit node (default: Examples/weaver).")
    var node: String?

    func run() async throws {
        warnIfDebug("audit")
        guard let nodeDirectory = node ?? AuditCommand.defaultNode() else {
            printError("error: no audit node found; pass --node DIR")
            throw ExitCode(1)
        }
        let r = try await AuditBenchmark(node: nodeDirectory, tree: path).run { printError("  running: \($0)") }
        print(String(format: "audit of %d files: first run %.2f s, second run %.2f s (%.0f%% of the first; %d results reused, %d analysed again)",
                     r.files, r.firstSeconds, r.secondSeconds, r.ratio * 100, r.reusedOnSecond, r.analysedOnSecond))
        try printJSON(["files": r.files, "first_s": r.firstSeconds, "second_s": r.secondSeconds, "ratio": r.ratio,
                       "reused": r.reusedOnSecond, "analysed_again": r.analysedOnSecond])
    }
}

struct BenchBundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Bundles: verify-and-install of a 64 KiB bundle, and verification against raw swift-crypto.",
        discussion: "Prints a table, then one JSON line with every figure."
    )

    @Option(help: "Verifications per round (best of 5 rounds).")
    var verifications = 2000

    func run() throws {
        warnIfDebug("bundle")
        var bench = BundleBenchmark()
        bench.verifications = verifications
        let r = try bundleStep { try bench.run { printError("  running: \($0)") } }
        print(String(format: "verify and install, %d-byte bundle: %.2f ms (median of %d)", r.bundleBytes, r.installMilliseconds, bench.installs))
        print(String(format: "verify: loom %.0f bundles/s (%.1f MB/s), raw swift-crypto %.0f/s, ratio %.2f", r.verifyPerSecond,
                     r.verifyPerSecond * Double(r.bundleBytes) / 1e6, r.rawPerSecond, r.ratio))
        try printJSON(["bundle_bytes": r.bundleBytes, "install_ms": r.installMilliseconds, "verify_per_s": r.verifyPerSecond,
                       "raw_verify_per_s": r.rawPerSecond, "ratio": r.ratio])
    }
}

/// Benchmarks mean something only in release; a debug build says so on standard error.
func warnIfDebug(_ bench: String) {
    #if DEBUG
    printError("warning: this is a debug build; run `swift run -c release loom bench \(bench)` for real figures")
    #endif
}

struct BenchHubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "Nodes in separate processes through a hub: ask round trip, signed messages per second, the hub's memory with many nodes.",
        discussion: "Starts `loom hub serve` and `loom run far --serve --hub` as child processes. Prints a table, then one JSON line."
    )

    @Option(help: "Asks timed, each way.")
    var asks = 2000

    @Option(help: "One-way messages sent.")
    var messages = 200_000

    @Option(help: "Simulated nodes connected to the hub while its memory is read.")
    var nodes = 1000

    @Flag(help: "Skip the Erlang distribution baseline.")
    var noErlang = false

    func run() async throws {
        warnIfDebug("hub")
        var bench = HubBenchmark()
        bench.asks = asks
        bench.messages = messages
        bench.simulated = nodes
        bench.erlang = !noErlang
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let r = try await bench.run(loom: exe) { printError("  \($0)") }
        print("figure".padding(toLength: 44, withPad: " ", startingAt: 0) + "      value    beside")
        print(String(format: "%-44@ %8.1f µs  one process: %.1f µs (%.1fx)", "ask round trip p50 (agent -> agent, hub)" as NSString,
                     r.askP50, r.localAskP50, r.askP50 / r.localAskP50))
        print(String(format: "%-44@ %8.1f µs  one process: %.1f µs", "ask round trip p99" as NSString, r.askP99, r.localAskP99))
        if let e50 = r.erlangAskP50, let e99 = r.erlangAskP99 {
            print(String(format: "%-44@ %8.1f µs  p99 %.1f µs; Loom through the hub: %.1fx", "Erlang distribution ask, two nodes, loopback" as NSString,
                         e50, e99, r.askP50 / e50))
        } else if let why = r.erlangMissing {
            print("Erlang distribution ask: not run (\(why))")
        }
        print(String(format: "%-44@ %8.1f µs  sign %.1f µs + 2 x verify %.1f µs, each way", "floor set by Ed25519 alone, per round trip" as NSString,
                     r.signatureFloorMicroseconds, r.signMicroseconds, r.verifyMicroseconds))
        print(String(format: "%-44@ %8.0f /s  delivered %d of %d (checked)", "signed one-way messages across processes" as NSString,
                     r.messagesPerSecond, r.delivered, r.sent))
        print(String(format: "%-44@ %8.1f MiB idle %.1f MiB, %d nodes connected", "hub RSS with simulated nodes" as NSString,
                     Double(r.hubRSSConnected) / 1_048_576, Double(r.hubRSSIdle) / 1_048_576, r.connected))
        let json: [String: Any] = [
            "ask_p50_us": r.askP50, "ask_p99_us": r.askP99, "local_ask_p50_us": r.localAskP50, "local_ask_p99_us": r.localAskP99,
            "sign_us": r.signMicroseconds, "verify_us": r.verifyMicroseconds, "signature_floor_us": r.signatureFloorMicroseconds,
            "messages_per_second": r.messagesPerSecond, "delivered": r.delivered, "sent": r.sent,
            "hub_rss_bytes": r.hubRSSConnected, "hub_rss_idle_bytes": r.hubRSSIdle, "simulated_nodes": r.connected,
            "erlang_ask_p50_us": r.erlangAskP50 ?? -1, "erlang_ask_p99_us": r.erlangAskP99 ?? -1,
        ]
        if let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) { print(String(decoding: data, as: UTF8.self)) }
        if r.delivered != r.sent { throw ExitCode(1) }
    }
}
