import Foundation
import LoomCore
import LoomRuntime

/// Several nodes in one process, each running the agent-to-agent message workload at the same time:
/// does the runtime scale across cores? Each `Node` runs on a serial queue of its own, so the nodes'
/// runs proceed on as many threads as there are nodes.
///
/// Every node gets its own sender and `agents` workers and sends the full `messages`, so `nodes`
/// nodes handle `nodes × messages` in all (Erlang's two-scheduler run mirrors this: two groups, each
/// with the full count). The time runs from the first node's start to the last node's end; every
/// worker's count is checked after each run, outside the time. The best of `repeats` runs counts.
///
/// ```swift
/// var bench = ParallelNodesBenchmark()
/// bench.agents = 10; bench.messages = 1000
/// let messagesPerSecond = try await bench.run()
/// ```
public struct ParallelNodesBenchmark: Sendable {
    public var nodes = 2
    public var agents = 1000
    public var messages = 1_000_000
    public var repeats = 3

    public init() {}

    /// Messages per second, all nodes together, in the best run.
    public func run(progress: (String) -> Void = { _ in }) async throws -> Double {
        guard nodes > 0, agents > 0, messages >= agents, repeats > 0 else {
            throw BenchmarkError("parallel nodes: nodes, agents and repeats must be positive, and messages at least agents")
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bench-nodes-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = NodeDirectory()
        var all: [Node] = []
        for i in 0..<nodes {
            let dir = try RuntimeBenchmark.makeNode(root, "parallel\(i)", agents: ["worker": RuntimeBenchmark.worker,
                                                                                 "sender": RuntimeBenchmark.sender])
            all.append(try Node(directory: dir, options: RuntimeBenchmark.options, store: MemoryNodeStore(), directory: directory))
        }
        let rounds = max(1, messages / agents)
        var best = Duration.seconds(1_000_000)
        do {
            for node in all { await node.senderRound(agents: agents) }   // activates every sender and worker
            for r in 0..<repeats {
                progress("\(nodes) nodes at once, run \(r + 1) of \(repeats)")
                let spans = try await withThrowingTaskGroup(of: (ContinuousClock.Instant, ContinuousClock.Instant).self) { group in
                    for node in all {
                        group.addTask { try await node.timedSenderRounds(agents: agents, rounds: rounds) }
                    }
                    var spans: [(ContinuousClock.Instant, ContinuousClock.Instant)] = []
                    for try await span in group { spans.append(span) }
                    return spans
                }
                guard let start = spans.map(\.0).min(), let end = spans.map(\.1).max() else { continue }
                best = min(best, end - start)
            }
        } catch {
            for node in all { await node.shutdown() }
            throw error
        }
        for node in all { await node.shutdown() }
        return Double(nodes * rounds * agents) / best.inSeconds
    }
}

extension Node {
    /// `rounds` rounds of the sender's sends to `count` workers; returns when they started and ended,
    /// then checks that every worker handled each of its messages once.
    func timedSenderRounds(agents count: Int, rounds: Int) throws -> (ContinuousClock.Instant, ContinuousClock.Instant) {
        let names = Self.workerNames(count)
        let before = try counts(names)
        let start = ContinuousClock.now
        for _ in 0..<rounds { senderRound(agents: count) }
        let end = ContinuousClock.now
        try expectCounts(names, before.map { $0 + Int64(rounds) })
        return (start, end)
    }
}
