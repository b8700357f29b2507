import Foundation
@testable import LoomRuntime
import LuaKit
import Synchronization
import Testing

/// The host's way into a node: asks and sends one at a time and in batches, turns that run when
/// work arrives, the timer that wakes sleepers, and deliveries posted between nodes.
@Suite("Host path")
struct HostPathTests {
    static let echo = "function on_task(t) return t end function on_message(m) state.seen = (state.seen or 0) + 1 end"

    @Test("ask(many:) answers every ask in its position; one failing fails only itself")
    func askMany() async throws {
        let f = try single([
            "echo": Self.echo,
            "slow": "function on_task(t) sleep(5) return t end",
            "broken": "function on_task(t) error('no good') end",
        ])
        let node = try await start(f)
        var asks: [(agent: String, task: LuaValue)] = (0..<50).map { ("echo", .integer(Int64($0))) }
        asks.insert(("nobody", 1), at: 10)
        asks.insert(("broken", 2), at: 20)
        asks.insert(("slow", 3), at: 30)
        let clock = ContinuousClock()
        let began = clock.now
        let results = await node.ask(many: asks, timeout: .milliseconds(300))
        #expect(clock.now - began < .seconds(4), "the slow one timed out instead of holding the rest")
        #expect(results.count == 53)
        var echoed: [Int64] = []
        for (i, r) in results.enumerated() {
            switch (i, r) {
            case (10, .failure(let e)): #expect(e.kind == .noAgent)
            case (20, .failure(let e)): #expect(e.message.contains("no good"))
            case (30, .failure(let e)): #expect(e.kind == .timeout)
            case (10, _), (20, _), (30, _): Issue.record("position \(i) should have failed: \(r)")
            case (_, .success(let v)): echoed.append(v.integer ?? -1)
            case (_, .failure(let e)): Issue.record("echo at \(i) failed: \(e)")
            }
        }
        #expect(echoed == (0..<50).map { Int64($0) })
        #expect(await node.ask(many: []).isEmpty)
        await node.shutdown()
        let late = await node.ask(many: [("echo", 1)])
        guard case .failure(let e) = late.first else { Issue.record("an ask after shutdown succeeded"); return }
        #expect(e.kind == .shuttingDown)
    }

    @Test("asks from the host wait in a node that has not started, and are answered when it starts")
    func askBeforeStart() async throws {
        let f = try single(["echo": Self.echo])
        let node = try Node(directory: f.path("n"), directory: NodeDirectory())
        let pending = Task { await node.ask(many: [("echo", 1), ("echo", 2)]) }
        try await Task.sleep(for: .milliseconds(50))
        await node.start()
        let results = await pending.value
        #expect(results.map { try? $0.get().integer } == [1, 2])
        await node.shutdown()
    }

    @Test("send(many:) delivers in order and names each message it refused by position")
    func sendMany() async throws {
        let f = try single([
            "log": "function on_message(m) state.order = state.order or {} table.insert(state.order, m) end function on_task() return state.order end",
        ])
        let node = try await start(f)
        var messages: [(agent: String, message: LuaValue)] = (1...100).map { ("log", .integer(Int64($0))) }
        messages.insert(("ghost", 0), at: 5)
        let refused = try await node.send(many: messages)
        #expect(refused.map(\.index) == [5])
        #expect(refused.first?.error.kind == .noAgent)
        let order = try await node.ask("log", "order")
        #expect(order.table?.array.compactMap(\.integer) == (1...100).map { Int64($0) })
        await node.shutdown()
    }

    @Test("a sleeping handler is woken by the node's timer, with nothing else arriving")
    func timerWakesSleepers() async throws {
        let f = try single([
            "napper": "function on_message() sleep(0.05) state.woke = true end function on_task() return state.woke or false end",
        ])
        let node = try await start(f)
        try await node.send("napper", 1)
        let clock = ContinuousClock()
        let limit = clock.now + .seconds(10)
        while clock.now < limit, try await node.ask("napper", 0) != .boolean(true) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await node.ask("napper", 0) == .boolean(true))
        await node.shutdown()
    }

    @Test("code on the node's task executor asks it, and other nodes, and gets every reply")
    func onTheNodesQueue() async throws {
        let f = try NodeFixture(nodes: [
            "a": (parents: [], agents: ["echo": (uses: [], lua: Self.echo)], skills: [:]),
            "b": (parents: [], agents: ["echo": (uses: [], lua: Self.echo)], skills: [:]),
        ])
        let directory = NodeDirectory()
        let a = try await start(f, "a", directory: directory)
        let b = try await start(f, "b", directory: directory)
        let answers = try await withTaskExecutorPreference(a.taskExecutor) {
            var answers: [Int64] = []
            for i in 0..<200 {
                let here = try await a.ask("echo", .integer(Int64(i)))
                let there = try await a.ask("b/echo", .integer(Int64(i)))
                let direct = try await b.ask("echo", .integer(Int64(i)))
                answers.append((here.integer ?? -1) + (there.integer ?? -1) + (direct.integer ?? -1))
            }
            // A batch that goes to another node as well: its replies come back through the post.
            let mixed = await a.ask(many: [("nobody", 1), ("echo", 2), ("b/echo", 3), ("b/nobody", 4)])
            #expect(mixed.map { try? $0.get() } == [nil, 2, 3, nil])
            if case .failure(let e) = mixed[3] { #expect(e.kind == .noAgent) }
            return answers
        }
        #expect(answers == (0..<200).map { Int64(3 * $0) })
        await a.shutdown()
        await b.shutdown()
    }

    @Test("messages between two nodes arrive once each, in the order they were sent")
    func betweenNodesInOrder() async throws {
        let f = try NodeFixture(nodes: [
            "a": (parents: [], agents: ["sender": (uses: [], lua: """
                function on_message(n)
                  for i = 1, n do local ok, err = send("b/log", i) if not ok then error(err) end end
                end
                function on_task(n)
                  local got = {}
                  for i = 1, n do got[i] = ask("b/echo", i) end
                  return got
                end
                """)], skills: [:]),
            "b": (parents: [], agents: [
                "log": (uses: [], lua: "function on_message(m) state.order = state.order or {} table.insert(state.order, m) end function on_task() return state.order end"),
                "echo": (uses: [], lua: Self.echo),
            ], skills: [:]),
        ])
        let directory = NodeDirectory()
        let a = try await start(f, "a", directory: directory)
        let b = try await start(f, "b", directory: directory)
        try await a.send("sender", 1000)   // within the mailbox capacity (1,024)
        let got = try await a.ask("sender", 300, timeout: .seconds(60))
        let answered = got.table?.array.compactMap(\.integer) == (1...300).map { Int64($0) }
        #expect(answered, "asks across nodes: \(got.table?.array.count ?? 0) answers of 300, or out of order")
        let clock = ContinuousClock()
        let limit = clock.now + .seconds(20)
        var order: [Int64] = []
        while clock.now < limit {
            order = try await b.ask("log", "order").table?.array.compactMap(\.integer) ?? []
            if order.count >= 1000 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let inOrder = order == (1...1000).map { Int64($0) }
        #expect(inOrder, "\(order.count) of 1,000 arrived; first out of place at \(String(describing: order.indices.first { order[$0] != Int64($0 + 1) }))")
        await a.shutdown()
        await b.shutdown()
    }
}

@Suite("Addresses")
struct AddressTests {
    @Test("agent, node/agent, and what is neither")
    func parse() {
        #expect(Address("greeter", localNode: "n") == Address(node: "n", agent: "greeter"))
        #expect(Address("other/greeter", localNode: "n") == Address(node: "other", agent: "greeter"))
        #expect(Address("worker:7", localNode: "n") == Address(node: "n", agent: "worker:7"))
        for bad in ["", "/", "/a", "a/", "a/b/c", "a//b"] {
            #expect(Address(bad, localNode: "n") == nil, "'\(bad)'")
        }
    }
}
