internal import CLoomBench
import Foundation
import LoomCore
import Glibc
import LoomRuntime
import LuaKit

/// `loom bench runtime`: messages per second against a raw-C baseline, the cost of idle agents and
/// of activation, the ask round trip, and many nodes in one process.
public struct RuntimeBenchmark: Sendable {
    public struct Results: Sendable {
        public var agents: Int
        public var messages: Int
        /// Agent to agent: a sender agent's `send`s, copied, queued and delivered.
        public var loomMessagesPerSecond: Double
        /// Host to agent: `Node`'s own sends from Swift.
        public var hostMessagesPerSecond: Double
        public var cMessagesPerSecond: Double
        /// C again, each message a copy of one table made as `send` copies: the floor isolation sets.
        public var cCopyingMessagesPerSecond: Double
        /// Loom against C copying: what the runtime costs beyond the copy.
        public var ratioToCopying: Double { loomMessagesPerSecond > 0 ? cCopyingMessagesPerSecond / loomMessagesPerSecond : 0 }
        public var ratio: Double { loomMessagesPerSecond > 0 ? cMessagesPerSecond / loomMessagesPerSecond : 0 }
        public var idleAgents: Int
        public var bytesPerIdleAgent: Double
        public var microsecondsPerActivation: Double
        /// Host to agent, the mean of `asks` asks made one after another.
        public var hostAskMicroseconds: Double
        public var hostAskP50Microseconds: Double
        public var hostAskP99Microseconds: Double
        /// Host to agent from a task on the node's queue (``Node/taskExecutor``): no thread hop.
        public var hostAskOnNodeP50Microseconds: Double
        public var hostAskOnNodeP99Microseconds: Double
        /// Host to agent with ``Node/ask(many:timeout:)`` in batches of 100: the time per ask.
        public var hostAskBatchedMicroseconds: Double
        /// C: a request to another thread and its reply back (two wake-ups), the floor of a hop.
        public var cThreadRoundTripP50Microseconds: Double
        public var cThreadRoundTripP99Microseconds: Double
        /// Agent to agent inside one node: the mean (the pinger's whole loop over `asks`), and p50
        /// and p99 of a second loop timing each ask with `now()`.
        public var agentAskMicroseconds: Double
        public var agentAskP50Microseconds: Double
        public var agentAskP99Microseconds: Double
        /// Two nodes in one process, each running the agent-to-agent workload at once (see
        /// ``ParallelNodesBenchmark``): messages per second of both together.
        public var twoNodesMessagesPerSecond: Double
        /// Two nodes' messages per second over one node's (the goal: 1.7 or more on two cores).
        public var twoNodesRatio: Double { loomMessagesPerSecond > 0 ? twoNodesMessagesPerSecond / loomMessagesPerSecond : 0 }
        public var nodes: Int
        public var agentsPerNode: Int
        public var manyNodesSeconds: Double
        public var peakRSSBytes: Int
    }

    public var agents = 1000
    public var messages = 1_000_000
    public var idleAgents = 100_000
    public var nodes = 100
    public var agentsPerNode = 1000
    public var asks = 10_000

    public init() {}

    static let worker = """
        function on_message(m)
          state.count = (state.count or 0) + 1
          state.sum = (state.sum or 0) + m.a + m.b + m.c
        end
        function on_task(t) return t end
        """

    /// Sends one copy of the same message to each of the first n workers, checking each send.
    static let sender = """
        local names
        function on_message(n)
          if not names or #names ~= n then
            names = {}
            for i = 1, n do names[i] = "worker:" .. (i - 1) end
          end
          local m = {a = 1, b = 2, c = 3}
          for i = 1, n do
            local ok, err = send(names[i], m)
            if not ok then error(err) end
          end
        end
        """

    /// Asks the worker n times. Given `{n = n}` instead, times each ask with `now()` and returns
    /// the p50 and p99 in seconds (`now()` is a float of seconds since 1970: steps of about 0.24 µs).
    static let pinger = """
        function on_task(t)
          local timed = type(t) == "table"
          local n = timed and t.n or t
          local times = {}
          for i = 1, n do
            local start = timed and now()
            local r, err = ask("worker", i)
            if r ~= i then error("bad reply: " .. tostring(err)) end
            if timed then times[i] = now() - start end
          end
          if not timed then return n end
          table.sort(times)
          return {p50 = times[n // 2 + 1], p99 = times[math.min(n, n * 99 // 100 + 1)]}
        end
        """

    /// Writes a node folder with the given agent kinds under a temporary directory.
    static func makeNode(_ root: String, _ name: String, agents: [String: String]) throws -> String {
        let dir = Paths.join(root, name)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "name = \"\(name)\"\n".write(toFile: dir + "/node.toml", atomically: true, encoding: .utf8)
        for (agent, lua) in agents {
            let a = dir + "/agents/" + agent
            try FileManager.default.createDirectory(atPath: a, withIntermediateDirectories: true)
            try "name = \"\(agent)\"\n".write(toFile: a + "/agent.toml", atomically: true, encoding: .utf8)
            try lua.write(toFile: a + "/agent.lua", atomically: true, encoding: .utf8)
        }
        return dir
    }

    static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }


    /// The benchmark nodes' options: generous limits, no idle retirement or flush during a run.
    static var options: NodeOptions {
        var options = NodeOptions()
        options.limits = LuaLimits(timeout: .seconds(120), memory: 4 << 30)
        options.idleTime = .seconds(3600)
        options.flushInterval = .seconds(3600)
        options.mailboxCapacity = 4096
        return options
    }

    /// The p50 and p99 of durations, in microseconds (the same ranks as the pinger's and the Erlang
    /// peer's: the element at n/2 and at n×99/100 of the sorted list).
    static func percentiles(_ durations: [Duration]) -> (p50: Double, p99: Double) {
        let sorted = durations.sorted()
        guard !sorted.isEmpty else { return (0, 0) }
        return (sorted[sorted.count / 2].inSeconds * 1e6, sorted[min(sorted.count - 1, sorted.count * 99 / 100)].inSeconds * 1e6)
    }

    public func run(progress: (String) -> Void = { _ in }) async throws -> Results {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let options = Self.options
        let directory = NodeDirectory()
        let clock = ContinuousClock()

        // 1. Messages: agents x (messages / agents), against C resuming the same handlers.
        progress("messages: \(messages) to \(agents) agents")
        let dir = try Self.makeNode(root, "bench", agents: ["worker": Self.worker, "pinger": Self.pinger, "sender": Self.sender])
        let node = try Node(directory: dir, options: options, store: MemoryNodeStore(), directory: directory)
        let (loomSeconds, hostSeconds, cSeconds, cCopyingSeconds) = try await node.benchmarkMessages(agents: agents, messages: messages)

        // 2. Ask round trips.
        progress("ask round trips")
        await node.start()
        _ = try await node.ask("worker", 0)
        var hostAsks: [Duration] = []
        hostAsks.reserveCapacity(asks)
        let hostAsk = try await clock.measure {
            for i in 0..<asks {
                let start = clock.now
                _ = try await node.ask("worker", .integer(Int64(i)))
                hostAsks.append(clock.now - start)
            }
        }
        let agentAsk = try await clock.measure {
            _ = try await node.ask("pinger", .integer(Int64(asks)), timeout: .seconds(120))
        }
        let timed = try await node.ask("pinger", ["n": .integer(Int64(asks))], timeout: .seconds(120))
        guard case .table(let t) = timed, let agentP50 = t["p50"].number, let agentP99 = t["p99"].number else {
            throw BenchmarkError("the pinger's timed asks returned \(timed), not {p50, p99}")
        }
        // The same asks from a task on the node's own queue (Node.taskExecutor): no thread hop.
        let affine = try await withTaskExecutorPreference(node.taskExecutor) {
            var times: [Duration] = []
            times.reserveCapacity(asks)
            for i in 0..<asks {
                let start = clock.now
                _ = try await node.ask("worker", .integer(Int64(i)))
                times.append(clock.now - start)
            }
            return times
        }
        // And in batches of 100 (Node.ask(many:)): one hop each way for the lot.
        let batch = 100
        let batched = try await clock.measure {
            for round in 0..<max(1, asks / batch) {
                let results = await node.ask(many: (0..<batch).map { ("worker", .integer(Int64(round * batch + $0))) })
                for case .failure(let e) in results { throw e }
            }
        }
        await node.shutdown()
        let hostPercentiles = Self.percentiles(hostAsks)
        let affinePercentiles = Self.percentiles(affine)
        // The floor of a hop there and back: C handing a request to another thread and back.
        var trips = [Int64](repeating: 0, count: asks)
        let started = trips.withUnsafeMutableBufferPointer { loom_bench_thread_round_trips($0.baseAddress, Int32($0.count)) }
        guard started == 0 else { throw BenchmarkError("the C round-trip baseline could not start its thread") }
        let cRoundTrips = Self.percentiles(trips.map { Duration.nanoseconds($0) })

        // 2b. Two nodes at once, each with the whole message workload.
        progress("two nodes at once: \(messages) messages to \(agents) agents each")
        var pair = ParallelNodesBenchmark()
        pair.agents = agents
        pair.messages = messages
        let twoNodes = try await pair.run(progress: progress)

        // 3. Idle agents and activation.
        progress("\(idleAgents) idle agents")
        let idleDir = try Self.makeNode(root, "idle", agents: ["worker": Self.worker])
        let idleNode = try Node(directory: idleDir, options: options, store: MemoryNodeStore(), directory: directory)
        let (activation, bytes) = try await idleNode.benchmarkActivation(count: idleAgents)
        await idleNode.shutdown()

        // 4. Many nodes in one process.
        progress("\(nodes) nodes x \(agentsPerNode) agents")
        var many: [Node] = []
        let manyTime = try await clock.measure {
            for i in 0..<nodes {
                let d = try Self.makeNode(root, "node\(i)", agents: ["worker": Self.worker])
                let n = try Node(directory: d, options: options, store: MemoryNodeStore(), directory: directory)
                _ = try await n.benchmarkActivation(count: agentsPerNode)
                many.append(n)
            }
        }
        let rss = Self.peakRSS()
        for n in many { await n.shutdown() }

        return Results(agents: agents, messages: messages,
                       loomMessagesPerSecond: Double(messages) / loomSeconds, hostMessagesPerSecond: Double(messages) / hostSeconds,
                       cMessagesPerSecond: Double(messages) / cSeconds, cCopyingMessagesPerSecond: Double(messages) / cCopyingSeconds,
                       idleAgents: idleAgents, bytesPerIdleAgent: bytes, microsecondsPerActivation: activation * 1e6,
                       hostAskMicroseconds: hostAsk.inSeconds * 1e6 / Double(asks),
                       hostAskP50Microseconds: hostPercentiles.p50, hostAskP99Microseconds: hostPercentiles.p99,
                       hostAskOnNodeP50Microseconds: affinePercentiles.p50, hostAskOnNodeP99Microseconds: affinePercentiles.p99,
                       hostAskBatchedMicroseconds: batched.inSeconds * 1e6 / Double(max(1, asks / batch) * batch),
                       cThreadRoundTripP50Microseconds: cRoundTrips.p50, cThreadRoundTripP99Microseconds: cRoundTrips.p99,
                       agentAskMicroseconds: agentAsk.inSeconds * 1e6 / Double(asks),
                       agentAskP50Microseconds: agentP50 * 1e6, agentAskP99Microseconds: agentP99 * 1e6,
                       twoNodesMessagesPerSecond: twoNodes,
                       nodes: nodes, agentsPerNode: agentsPerNode, manyNodesSeconds: manyTime.inSeconds, peakRSSBytes: rss)
    }
}

extension Node {
    /// Agent to agent: a sender agent sends `{a, b, c}` to each of `agents` workers, `messages /
    /// agents` times (one host message starts each round), and the scheduler's own loop runs until
    /// every message is handled; then C resumes the same handlers the same number of times, with a
    /// new table each time and with a copy of one table each time. All three, in turn, `repeats`
    /// times: the best of each counts (the machine's noise hits single runs of any). Then host to
    /// agent once: the same number of sends from Swift. Returns the four durations in seconds.
    func benchmarkMessages(agents count: Int, messages: Int, repeats: Int = 3) throws -> (agent: Double, host: Double, c: Double, cCopying: Double) {
        let clock = ContinuousClock()
        let names = Self.workerNames(count)
        let host = Address(node: name, agent: "$host")
        let rounds = max(1, messages / count)
        func round() { senderRound(agents: count) }
        round()   // activates the sender and every worker
        let ordered = try engine.lua.ref(.table(LuaTable()))
        for (i, n) in names.enumerated() {
            guard let h = engine.agents[n]?.onMessage else { throw BenchmarkError("agent \(n) is not active") }
            try ordered.set(Int64(i + 1), h)
        }
        var agentBest = Duration.seconds(1_000_000), cBest = Duration.seconds(1_000_000), copyingBest = Duration.seconds(1_000_000)
        for _ in 0..<repeats {
            let before = try counts(names)
            let agentTime = clock.measure { for _ in 0..<rounds { round() } }
            try expectCounts(names, before.map { $0 + Int64(rounds) })
            agentBest = min(agentBest, agentTime)
            for copying in [false, true] {
                var failures = 0
                let before = try counts(names)
                let c = try clock.measure {
                    failures = try engine.lua.benchmarkResumeBaseline(handlers: ordered, agents: count, messages: rounds * count, copying: copying)
                }
                if failures != 0 { throw BenchmarkError("the C baseline failed \(failures) resumes") }
                try expectCounts(names, before.map { $0 + Int64(rounds) })
                if copying { copyingBest = min(copyingBest, c) } else { cBest = min(cBest, c) }
            }
        }

        let payload: LuaValue = ["a": 1, "b": 2, "c": 3]
        let before = try counts(names)
        let hostTime = clock.measure {
            for _ in 0..<rounds {
                for n in names { _ = engine.enqueue(Envelope(from: host, to: Address(node: name, agent: n), kind: .send, payload: payload)) }
                while engine.hasWork { engine.step(budget: .max) }
            }
        }
        try expectCounts(names, before.map { $0 + Int64(rounds) })
        return (agentBest.inSeconds, hostTime.inSeconds, cBest.inSeconds,
                copyingBest.inSeconds)
    }

    /// One round of agent-to-agent messages: one host message asks the sender agent to send to each
    /// of the first `count` workers, and the scheduler's own loop runs until every message is handled.
    func senderRound(agents count: Int) {
        let host = Address(node: name, agent: "$host")
        _ = engine.enqueue(Envelope(from: host, to: Address(node: name, agent: "sender"), kind: .send, payload: .integer(Int64(count))))
        while engine.hasWork { engine.step(budget: .max) }
    }

    static func workerNames(_ count: Int) -> [String] { (0..<count).map { "worker:\($0)" } }

    /// Each worker's count of handled messages.
    func counts(_ names: [String]) throws -> [Int64] {
        try names.map { n in
            guard let env = engine.agents[n]?.env, case .integer(let c) = try env.get("state").table?["count"] ?? .nil else {
                throw BenchmarkError("worker \(n) has no count")
            }
            return c
        }
    }

    /// Every worker handled exactly the expected number of messages: none lost, none twice.
    func expectCounts(_ names: [String], _ expected: [Int64]) throws {
        let got = try counts(names)
        for (i, n) in names.enumerated() where got[i] != expected[i] {
            throw BenchmarkError("worker \(n) handled \(got[i]) messages, not \(expected[i])")
        }
    }

    /// Activates `count` instances; returns seconds per activation and VM bytes per idle agent.
    func benchmarkActivation(count: Int) throws -> (Double, Double) {
        engine.lua.collectGarbage()
        let before = engine.lua.memoryUsed
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for i in 0..<count { try engine.activateForBenchmark("worker:\(i)") }
        }
        engine.lua.collectGarbage()
        let bytes = Double(engine.lua.memoryUsed - before) / Double(count)
        return (elapsed.inSeconds / Double(count), bytes)
    }
}
