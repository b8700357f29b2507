import Foundation
import LoomCore
import Logging
import LoomRuntime
import LuaKit
import Synchronization

/// `loom bench reload`: the time from writing a behaviour to the new code serving, through the
/// real inotify watcher, while a load of asks and sends runs; and whether any message was lost.
public struct ReloadBenchmark: Sendable {
    public struct Results: Sendable {
        public var reloads: Int
        public var p50Milliseconds: Double
        public var maxMilliseconds: Double
        public var asksSent: Int
        public var asksFailed: Int
        public var sendsSent: Int
        public var sendsCounted: Int
    }

    public var reloads = 20
    public init() {}

    static func behaviour(_ tag: String) -> String {
        """
        function on_message(m) state.count = (state.count or 0) + 1 end
        function on_task(t)
          if t == "count" then return state.count or 0 end
          return "\(tag)"
        end
        """
    }

    public func run(progress: (String) -> Void = { _ in }) async throws -> Results {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-reload-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = try RuntimeBenchmark.makeNode(root, "reload", agents: ["worker": Self.behaviour("v0")])
        let file = dir + "/agents/worker/agent.lua"
        var options = NodeOptions()
        options.askTimeout = .seconds(10)
        var logger = Logger(label: "loom.bench")
        logger.logLevel = .warning   // one info line per reload would drown the figures
        let node = try Node(directory: dir, options: options, store: MemoryNodeStore(), directory: NodeDirectory(), logger: logger)
        await node.start()
        try await node.watch(quiet: .milliseconds(40))
        _ = try await node.ask("worker", "warm")

        // The load: asks and sends, all the time, until the reloads are done.
        let done = Atomic<Bool>(false)
        let load = Task { () -> (Int, Int, Int) in
            var asks = 0, failed = 0, sends = 0
            while !done.load(ordering: .acquiring) {
                do { _ = try await node.ask("worker", "ping") } catch { failed += 1 }
                asks += 1
                do { try await node.send("worker", ["n": .integer(Int64(sends))]); sends += 1 } catch { failed += 1 }
            }
            return (asks, failed, sends)
        }
        var latencies: [Double] = []
        let clock = ContinuousClock()
        for i in 1...reloads {
            try await Task.sleep(for: .milliseconds(60))
            let tag = "v\(i)"
            let start = clock.now
            try Self.behaviour(tag).write(toFile: file, atomically: true, encoding: .utf8)
            while try await node.ask("worker", "ping").string != tag {
                if clock.now - start > .seconds(5) { throw BenchmarkError("reload \(i) did not go live within 5 s") }
                try await Task.sleep(for: .microseconds(200))
            }
            latencies.append((clock.now - start).inSeconds * 1000)
            progress("reload \(i): \(String(format: "%.1f", latencies.last!)) ms")
        }
        done.store(true, ordering: .releasing)
        let (asks, failed, sends) = await load.value
        // Every send has been handled once the count catches up (messages are handled in order).
        let counted = Int(try await node.ask("worker", "count").integer ?? -1)
        await node.shutdown()
        let sorted = latencies.sorted()
        return Results(reloads: reloads, p50Milliseconds: sorted[sorted.count / 2], maxMilliseconds: sorted.last ?? 0,
                       asksSent: asks, asksFailed: failed, sendsSent: sends, sendsCounted: counted)
    }
}
