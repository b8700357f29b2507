import Foundation
import LoomCore
import LoomMemory
import LoomRuntime
import LuaKit

/// `loom bench memory`, the row "remember inside handlers (group commit)": a real node on a SQLite
/// file (the default store, as `loom run` opens it), whose workers each remember `perMessage`
/// memories per message. A driver agent sends the messages round robin; then the host asks every
/// worker once, behind its messages, and the clock stops at the last reply: a reply leaves only
/// after its step's commit, so every memory is in the file by then (the count is checked).
public struct GroupCommitBenchmark: Sendable {
    public struct Results: Sendable {
        public var agents: Int
        public var messages: Int
        public var perMessage: Int
        public var remembers: Int
        public var seconds: Double
        public var perSecond: Double { seconds > 0 ? Double(remembers) / seconds : 0 }
    }

    public var agents = 100
    public var messages = 20_000
    public var perMessage = 5

    public init() {}

    static let driver = """
        function on_task(spec)
          local names = {}
          for i = 1, spec.agents do names[i] = "worker:" .. (i - 1) end
          local sentences = spec.sentences
          for n = 1, spec.messages do
            local ok, err = send(names[(n - 1) % #names + 1], {text = sentences[(n - 1) % #sentences + 1], n = n})
            if not ok then error(err) end
          end
          return spec.messages
        end
        """

    static func worker(perMessage: Int) -> String {
        """
        local memory = use("memory@1")
        function on_message(m)
          for i = 1, \(perMessage) do
            memory.remember(m.text, {tags = {"bench", "n" .. (m.n % 10)}, importance = i / 10})
          end
        end
        function on_task() return true end
        """
    }

    public func run() async throws -> Results {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-gcbench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = Paths.join(root, "gc")
        for (agent, lua, uses) in [("driver", Self.driver, ""), ("worker", Self.worker(perMessage: perMessage), "uses = [\"memory@1\"]\n")] {
            let a = dir + "/agents/" + agent
            try FileManager.default.createDirectory(atPath: a, withIntermediateDirectories: true)
            try "name = \"\(agent)\"\n\(uses)".write(toFile: a + "/agent.toml", atomically: true, encoding: .utf8)
            try lua.write(toFile: a + "/agent.lua", atomically: true, encoding: .utf8)
        }
        try "name = \"gc\"\n".write(toFile: dir + "/node.toml", atomically: true, encoding: .utf8)
        var options = NodeOptions()
        options.limits = LuaLimits(timeout: .seconds(120), memory: 4 << 30)
        options.mailboxCapacity = max(1024, messages / agents + 16)
        options.idleTime = .seconds(3600)
        options.askTimeout = .seconds(600)
        let node = try Node(directory: dir, options: options, directory: NodeDirectory())
        await node.start()
        var seed: UInt64 = 7
        let sentences = LuaValue.table(LuaTable(array: (0..<64).map { _ in .string(LuaString(MemoryBenchmark.sentence(&seed))) }))
        let spec: LuaValue = ["agents": .integer(Int64(agents)), "messages": .integer(Int64(messages)), "sentences": sentences]
        // Every worker active before the clock starts.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<agents { group.addTask { _ = try await node.ask("worker:\(i)", .nil) } }
            try await group.waitForAll()
        }
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await node.ask("driver", spec)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<agents { group.addTask { _ = try await node.ask("worker:\(i)", .nil) } }
            try await group.waitForAll()
        }
        let elapsed = (clock.now - start).inSeconds
        await node.shutdown()
        let stored = try SQLiteNodeStore(path: dir + "/.loom/node.sqlite").memory.stats().total
        guard stored == messages * perMessage else {
            throw MemoryError("group commit benchmark: \(stored) memories stored, expected \(messages * perMessage)")
        }
        return Results(agents: agents, messages: messages, perMessage: perMessage, remembers: stored, seconds: elapsed)
    }
}
