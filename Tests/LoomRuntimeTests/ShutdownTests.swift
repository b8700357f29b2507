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
        // Never started: one step runs the sender, whose 300 sends wait in the mail (inside the VM);
        // the counter's 200 wait in its host mailbox.
        let node = try Node(directory: f.path("n"), options: options, directory: NodeDirectory())
        try await node.sendAll([("sender", 300)] + (1...200).map { ("counter", .integer(Int64($0))) })
        let queued = await node.stepOnce()
        #expect(queued.mail == 300 && queued.mailboxes == 200)
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
        #expect(try await node.shutdownWhilePartWay(after: [("napper", "woke")], ["napper"]))
        #expect(try await Self.saved(f, "napper") == [["started": true, "done": "woke"]])
    }

    @Test("the grace period bounds the wait; what finished is saved, new work is refused")
    func graceBoundsTheWait() async throws {
        // An agent that never runs out of work: each message naps briefly and sends the next.
        let f = try single([
            "chain": """
                function on_message(m)
                  state.n = m
                  sleep(0.02)
                  assert(send("chain", m + 1))
                end
                function on_task() return state.n or 0 end
                """,
        ])
        var options = NodeOptions()
        options.shutdownGrace = .milliseconds(300)
        let logs = CapturedLogs()
        let node = try Node(directory: f.path("n"), options: options, directory: NodeDirectory(), logger: logs.logger)
        await node.start()
        try await node.send("chain", 1)
        try await Self.until { await node.partWay("chain") }
        let clock = ContinuousClock()
        let began = clock.now
        let stopping = Task { await node.shutdown() }
        // While it drains, the host's new work is refused.
        try await Self.until { await node.isShuttingDown }
        let refused = await #expect(throws: ReplyError.self) { try await node.ask("chain", 3) }
        #expect(refused?.kind == .shuttingDown)
        await stopping.value
        let took = clock.now - began
        // The grace is waited for (up to a last nap that would end after it), and bounds the wait.
        #expect(took >= .milliseconds(250) && took < .seconds(10))
        #expect(logs.contains("still unfinished"), "\(logs.messages)")
        #expect(logs.contains("the grace period of 0.3 seconds ('chain' (active)"), "\(logs.messages)")
        // The chain went on during the grace, and where it got to is saved.
        let saved = try await Self.saved(f, "chain")
        #expect((saved.first?.integer ?? 0) >= 3)
        let refusedSend = await #expect(throws: ReplyError.self) { try await node.send("chain", 3) }
        #expect(refusedSend?.kind == .shuttingDown)
    }

    @Test("an ask from another node that the grace does not let finish is answered at once, not at its timeout")
    func unfinishedRemoteAskAnswered() async throws {
        let f = try NodeFixture(nodes: [
            "left": (parents: [], agents: ["caller": (uses: [], lua: """
                function on_task() local r, err = ask("right/slow", 1, {timeout = 60}) return err end
                """)], skills: [:]),
            "right": (parents: [], agents: ["slow": (uses: [], lua: "function on_task() sleep(60) return 'late' end")], skills: [:]),
        ])
        let directory = NodeDirectory()
        var options = NodeOptions()
        options.shutdownGrace = .milliseconds(200)
        let left = try await start(f, "left", directory: directory)
        let right = try await start(f, "right", options: options, directory: directory)
        let clock = ContinuousClock()
        let began = clock.now
        let answer = Task { try await left.ask("caller", .nil, timeout: .seconds(120)) }
        try await Self.until { await right.partWay("slow") }
        await right.shutdown()
        #expect(try await answer.value == "node 'right' shut down before answering")
        #expect(clock.now - began < .seconds(30))
        await left.shutdown()
        // A message that reaches the node after it has closed is reported, not run.
        let logs = CapturedLogs()
        let late = try Node(directory: f.path("right"), options: options, directory: NodeDirectory(), logger: logs.logger)
        await late.shutdown()
        await late.deliver([Envelope(from: Address(node: "left", agent: "caller"), to: Address(node: "right", agent: "slow"),
                                     kind: .send, payload: 1)])
        #expect(logs.contains("1 message(s) from other nodes arrived after shutdown and were dropped"))
    }

    @Test("a second shutdown waits for the first; hurry ends the grace at once")
    func secondShutdownWaits() async throws {
        let f = try single(["slow": "function on_message() state.n = 1 sleep(60) end function on_task() return state.n or 0 end"])
        var options = NodeOptions()
        options.shutdownGrace = .seconds(60)
        let node = try await start(f, options: options)
        try await node.send("slow", 1)
        try await Self.until { await node.partWay("slow") }
        let first = Task { await node.shutdown() }
        try await Self.until { await node.isShuttingDown }
        let clock = ContinuousClock()
        let began = clock.now
        let second = Task { await node.shutdown(); return clock.now }
        try await Task.sleep(for: .milliseconds(100))
        await node.hurry()
        let secondDone = await second.value
        await first.value
        // The second call returned only once the first had finished, after the hurry.
        #expect(secondDone - began >= .milliseconds(100))
        #expect(clock.now - began < .seconds(30))
        #expect(try await Self.saved(f, "slow") == [1])
        // A node that has shut down refuses to reload or watch, and holds no VM.
        #expect(await node.reload().error?.contains("is shutting down") == true)
        let refused = await #expect(throws: ReplyError.self) { try await node.watch() }
        #expect(refused?.kind == .shuttingDown)
        #expect(await node.memoryInUse() == 0)
        #expect(await node.agents().map(\.name) == ["slow"])
    }

    @Test("what cannot finish within the grace is not waited for; what can, is")
    func sleepersPastTheGrace() async throws {
        let f = try single([
            "poller": "function on_message() state.polls = (state.polls or 0) + 1 sleep(3600) end",
            "brief": "function on_message() sleep(0.3) state.done = true end function on_task() return state.done or false end",
            // Both ask the sleeping poller: one gives up within the grace, one would wait past it.
            "impatient": """
                function on_message() local r, err = ask("poller", 1, {timeout = 0.3}) state.gave_up = err end
                function on_task() return state.gave_up or false end
                """,
            "patient": "function on_message() state.asked = true local r = ask('poller', 1, {timeout = 600}) state.got = r end",
        ])
        var options = NodeOptions()
        options.shutdownGrace = .seconds(30)
        let logs = CapturedLogs()
        let node = try Node(directory: f.path("n"), options: options, directory: NodeDirectory(), logger: logs.logger)
        await node.start()
        // A hurry before any shutdown has no grace to end: it changes nothing.
        await node.hurry()
        let clock = ContinuousClock()
        let began = clock.now
        #expect(try await node.shutdownWhilePartWay(after: [("poller", 1), ("poller", 2), ("brief", 1), ("impatient", 1), ("patient", 1)],
                                                    ["poller", "brief", "impatient", "patient"]))
        // Far below the 30 s grace: the brief sleeper and the impatient asker were waited for, the
        // poller's hour and the patient asker's ten minutes were not.
        #expect(clock.now - began < .seconds(10))
        #expect(try await Self.saved(f, "brief", "impatient") == [true, "timeout"])
        #expect(logs.contains("that could not finish within the grace period"))
        // Behind the poller's nap: its second message and both asks (the impatient one timed out).
        #expect(logs.contains("'poller' (active): 3 queued, a handler part-way"), "\(logs.messages)")
    }

    struct ConditionTimedOut: Error, CustomStringConvertible {
        var description: String { "condition not met within 10 s" }
    }

    /// Waits (up to 10 s) until `condition` holds.
    static func until(_ condition: () async -> Bool) async throws {
        let clock = ContinuousClock()
        let limit = clock.now + .seconds(10)
        while !(await condition()) {
            guard clock.now < limit else { throw ConditionTimedOut() }
            try await Task.sleep(for: .milliseconds(5))
        }
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

extension Node {
    /// Runs one handler step; returns how many messages wait in the mail and in host mailboxes.
    func stepOnce() -> (mail: Int, mailboxes: Int) {
        engine.step(budget: 1)
        return (engine.mail.pending, engine.agents.values.reduce(0) { $0 + $1.mailbox.count })
    }

    /// Whether the agent's handler is part-way (in a sleep or an ask).
    func partWay(_ agent: String) -> Bool { engine.agents[agent]?.lifecycle.hasCallInFlight == true }

    /// Sends `messages`, steps the node until each of `agents` is part-way, and begins the shutdown
    /// in the same job, so that nothing of the node runs in between however long the test's own
    /// task waits for a thread on a loaded machine (a short sleep could end before a poll saw it).
    /// False when they never were all part-way at once.
    func shutdownWhilePartWay(after messages: [(String, LuaValue)], _ agents: [String]) async throws -> Bool {
        try sendAll(messages)
        for _ in 0..<100 where !agents.allSatisfy(partWay) { engine.step(budget: 64) }
        guard agents.allSatisfy(partWay) else { return false }
        await shutdown()
        return true
    }
}
