import Foundation
import LoomBench
import Testing

/// `loom bench runtime`'s Loom figures on a tiny workload: two nodes at once, and the percentiles
/// of the ask round trips.
@Suite("the runtime benchmark")
struct RuntimeBenchmarkTests {
    @Test("two nodes at once each run the whole message workload")
    func twoNodes() async throws {
        var bench = ParallelNodesBenchmark()
        bench.agents = 10
        bench.messages = 1000
        bench.repeats = 2
        #expect(try await bench.run() > 0)
    }

    @Test("a tiny run gives every figure, the asks' p50 and p99 and the two-node row included")
    func tinyRun() async throws {
        var bench = RuntimeBenchmark()
        bench.agents = 10
        bench.messages = 1000
        bench.idleAgents = 10
        bench.nodes = 2
        bench.agentsPerNode = 10
        bench.asks = 100
        let r = try await bench.run()
        #expect(r.loomMessagesPerSecond > 0 && r.twoNodesMessagesPerSecond > 0 && r.twoNodesRatio > 0)
        #expect(r.hostAskP50Microseconds > 0 && r.hostAskP99Microseconds >= r.hostAskP50Microseconds)
        #expect(r.agentAskP50Microseconds > 0 && r.agentAskP99Microseconds >= r.agentAskP50Microseconds)
        #expect(r.hostAskMicroseconds > 0 && r.agentAskMicroseconds > 0)
    }
}
