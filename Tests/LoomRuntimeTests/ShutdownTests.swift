import Foundation
@testable import LoomRuntime
import LuaKit
import Testing

/// A graceful shutdown delivers what the node accepted before it saves state.
@Suite("Graceful shutdown")
struct ShutdownTests {
    static let counter = """
        function on_message(m)
          state.n = (state.n or 0) + 1
          state.sum = (state.sum or 0) + m
        end
        function on_task() return {n = state.n or 0, sum = state.sum or 0} end
        """

    /// The agents' replies from a new node of the same folder (and database): what was saved.
    static func saved(_ f: NodeFixture, _ agents: String...) async throws -> [LuaValue] {
        let node = try await start(f)
        var replies: [LuaValue] = []
        do {
            for a in agents { replies.append(try await node.ask(a, .nil)) }
        } catch {
            await node.shutdown()
            throw error
        }
        await node.shutdown()
        return replies
    }

    @Test("messages queued on both paths when shutdown begins are delivered and their state saved")
    func queuedMessagesDelivered() async throws {
        let f = try single([
            "counter": Self.counter,
            "other": Self.counter,
            // Sends n messages to `other` through the mail when it runs.
            "sender": "function on_message(n) for i = 1, n do assert(send('other', i)) end end",
        ])
        var options = NodeOptions()
        options.flushInterval = .seconds(60)
        // Never started: everything below waits in mailboxes until shutdown.
        let node = try Node(directory: f.path("n"), options: options, directory: NodeDirectory())
        try await node.sendAll((1...200).map { ("counter", .integer(Int64($0))) } + [("sender", 300)])
        await node.shutdown()
        let saved = try await Self.saved(f, "counter", "other")
        let expected: [LuaValue] = [["n": 200, "sum": 20_100], ["n": 300, "sum": 45_150]]
        #expect(saved == expected)
    }

    @Test("a handler part-way through a sleep finishes before state is saved")
    func sleepingHandlerFinishes() async throws {
        let f = try single([
            "napper": """
                function on_message(m)
                  state.started = true
                  sleep(0.2)
                  state.done = m
                end
                function on_task() return {started = state.started or false, done = state.done or false} end
                """,
        ])
        let node = try await start(f)
        try await node.send("napper", "woke")
        // Let the handler start and yield in its sleep.
        try await Task.sleep(for: .milliseconds(50))
        await node.shutdown()
        #expect(try await Self.saved(f, "napper") == [["started": true, "done": "woke"]])
    }

    @Test("the grace period bounds the wait; what finished is saved, new sends are refused")
    func graceBoundsTheWait() async throws {
        let f = try single([
            "slow": """
                function on_message(m)
                  state.n = (state.n or 0) + 1
                  sleep(30)
                end
                function on_task() return state.n or 0 end
                """,
        ])
        var options = NodeOptions()
        options.shutdownGrace = .milliseconds(300)
        let logs = CapturedLogs()
        let node = try Node(directory: f.path("n"), options: options, directory: NodeDirectory(), logger: logs.logger)
        await node.start()
        try await node.sendAll([("slow", 1), ("slow", 2)])
        try await Task.sleep(for: .milliseconds(50))
        let clock = ContinuousClock()
        let took = await clock.measure { await node.shutdown() }
        #expect(took < .seconds(10))   // far below the handler's 30 s sleep, however loaded the machine
        #expect(logs.contains("shutdown: 2 message(s) or handler(s) still unfinished"))
        #expect(logs.contains("'slow' (active): 1 queued, a handler part-way"))
        // The first message's handler ran up to its sleep (its state change is saved); the second
        // never started.
        #expect(try await Self.saved(f, "slow") == [1])
        await #expect(throws: ReplyError.self) { try await node.send("slow", 3) }
    }

    @Test("messages to a node that has shut down: an ask fails, a send is reported")
    func nodeGone() async throws {
        let f = try NodeFixture(nodes: [
            "left": (parents: [], agents: ["caller": (uses: [], lua: """
                function on_task()
                  assert(send("right/echo", {x = 1}))
                  local r, err = ask("right/echo", {x = 2})
                  return err
                end
                """)], skills: [:]),
            "right": (parents: [], agents: ["echo": (uses: [], lua: "function on_task(t) return t end")], skills: [:]),
        ])
        let directory = NodeDirectory()
        let logs = CapturedLogs()
        let left = try Node(directory: f.path("left"), directory: directory, logger: logs.logger)
        await left.start()
        let right = try await start(f, "right", directory: directory)
        await right.shutdown()
        #expect(try await left.ask("caller", .nil) == "no node 'right' in this process")
        await left.shutdown()
        #expect(logs.contains("1 message(s) to node 'right' dropped: no such node in this process"))
    }
}
