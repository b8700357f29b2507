import Foundation
@testable import LoomRuntime
import LuaKit
import Testing

/// Messages between a node's agents travel in the VM (`LuaMail`): copied by `send`, queued in
/// order, delivered from C. These tests hold that path to the runtime's promises, and check that
/// the messages did take it.
@Suite("Node mail")
struct MailTests {
    /// A receiver that records what it gets, in order, and yields (sleeps) on message 150.
    static let recorder = """
        function on_message(msg, from)
          state.seen = state.seen or {}
          state.seen[#state.seen + 1] = msg.n
          state.from = from
          if msg.n == 150 then sleep(0) end
        end
        function on_task() return {seen = state.seen, from = state.from} end
        """

    @Test("a sender's sends and then its ask arrive in order, whichever path each takes")
    func order() async throws {
        let f = try single([
            "rec": Self.recorder,
            "sender": """
                function on_task(n)
                  for i = 1, n do
                    local ok, err = send("rec", {n = i})
                    if not ok then return err end
                  end
                  -- An ask after the sends is handled after them: same pair, same order.
                  local seen = ask("rec", "count")
                  return #seen.seen
                end
                """,
        ])
        let node = try await start(f)
        #expect(try await node.ask("sender", 300) == 300)
        let got = try await node.ask("rec", .nil)
        #expect(got.table?["seen"].table?.array == (1...300).map { LuaValue.integer(Int64($0)) })
        #expect(got.table?["from"] == "sender")
        await node.shutdown()
    }

    @Test("messages to a ready agent run from the mail; after a yield the rest wait on the host's path, in order")
    func mailPath() async throws {
        let f = try single([
            "rec": Self.recorder,
            "sender": "function on_message(n) for i = 1, n do assert(send('rec', {n = i})) end end",
        ])
        let node = try Node(directory: f.path("n"), options: NodeOptions(), directory: NodeDirectory())
        // Not started: the test drives the scheduler itself.
        let delivered = try await node.drive(activating: "rec", thenSend: 300, to: "sender")
        // 1...150 ran from the mail; 150 yielded, so 151...300 waited behind it on the host's path.
        #expect(delivered == 150)
        await node.start()
        let got = try await node.ask("rec", .nil)
        #expect(got.table?["seen"].table?.array == (1...300).map { LuaValue.integer(Int64($0)) })
        await node.shutdown()
    }

    @Test("a message is a copy: later changes on either side are not seen by the other")
    func copies() async throws {
        let f = try single([
            "keeper": """
                function on_message(msg)
                  state.got = msg
                  msg.inner.x = "changed by keeper"
                end
                function on_task() return state.got end
                """,
            "sender": """
                local shared = {inner = {x = 1}, list = {1, 2, 3}, [10] = true}
                function on_task()
                  assert(send("keeper", shared))
                  shared.inner.x = 2
                  shared.list[4] = 4
                  sleep(0)
                  return shared.inner.x
                end
                """,
        ])
        let node = try await start(f)
        #expect(try await node.ask("sender", .nil) == 2)
        let got = try await node.ask("keeper", .nil)
        #expect(got.table?["list"].table?.array == [1, 2, 3])
        #expect(got.table?[10] == true)
        #expect(got.table?["inner"].table?["x"] == "changed by keeper")
        await node.shutdown()
    }

    @Test("what cannot be copied is an error for the sender, naming what was wrong")
    func badMessages() async throws {
        let f = try single([
            "sink": "function on_message() end",
            "sender": """
                function on_task(kind)
                  local msg
                  if kind == "function" then msg = {f = print}
                  elseif kind == "cycle" then msg = {}; msg.self = msg
                  else msg = {co = coroutine.create(function() end)} end
                  local ok, err = pcall(send, "sink", msg)
                  return {ok = ok, err = tostring(err)}
                end
                """,
        ])
        let node = try await start(f)
        let fn = try await node.ask("sender", "function")
        #expect(fn.table?["ok"] == false)
        #expect(fn.table?["err"].string?.contains("cannot hold a function") == true)
        let cycle = try await node.ask("sender", "cycle")
        #expect(cycle.table?["err"].string?.contains("nests more than 100 tables deep") == true)
        let thread = try await node.ask("sender", "thread")
        #expect(thread.table?["err"].string?.contains("cannot hold a thread") == true)
        await node.shutdown()
    }

    @Test("a message as deep as the host accepts reaches a dormant agent; one level deeper is refused")
    func depthLimit() async throws {
        let f = try single([
            "deep": """
                function on_message(msg)
                  local depth = 0
                  while type(msg) == "table" do depth = depth + 1; msg = msg.next end
                  state.depth = depth
                end
                function on_task() return state.depth end
                """,
            "sender": """
                function on_task(levels)
                  local msg = {}
                  for _ = 2, levels do msg = {next = msg} end
                  local ok, err = pcall(send, "deep", msg)
                  return ok and "sent" or tostring(err)
                end
                """,
        ])
        let node = try await start(f)
        // "deep" is dormant: its message goes to its host mailbox, converted on the way.
        #expect(try await node.ask("sender", 100) == "sent")
        #expect(try await waitFor(node, "deep", equals: 100))
        let refused = try await node.ask("sender", 101)
        #expect(refused.string?.contains("nests more than 100 tables deep") == true)
        await node.shutdown()
    }

    @Test("a full mailbox, counting what waits on both paths, answers nil and a clear error")
    func fullMailbox() async throws {
        var options = NodeOptions()
        options.mailboxCapacity = 4
        let f = try single([
            "sink": "function on_message() state.n = (state.n or 0) + 1 end function on_task() return state.n end",
            "sender": """
                function on_task()
                  local results = {}
                  for i = 1, 6 do
                    local ok, err = send("sink", {i = i})
                    results[i] = ok and "ok" or err
                  end
                  return results
                end
                """,
        ])
        let node = try await start(f, options: options)
        _ = try await node.ask("sink", .nil)   // active and idle
        let results = try await node.ask("sender", .nil)
        #expect(results.table?.array == ["ok", "ok", "ok", "ok", "mailbox of 'n/sink' is full (4 messages)",
                                         "mailbox of 'n/sink' is full (4 messages)"])
        // An ask from the host may overtake the sender's messages (another pair); wait for them.
        #expect(try await waitFor(node, "sink", equals: 4))
        await node.shutdown()
    }

    @Test("a crash in a handler run from the mail is supervised; the messages after it are handled")
    func crashAndRunaway() async throws {
        var options = NodeOptions()
        options.limits = LuaLimits(timeout: .milliseconds(200), memory: 64 << 20)
        options.restartBackoff = .milliseconds(1)
        let f = try single([
            "worker": """
                function on_message(msg)
                  if msg.kind == "crash" then error("boom") end
                  if msg.kind == "spin" then while true do end end
                  state.ok = (state.ok or 0) + 1
                end
                function on_task() return state.ok end
                """,
            "sender": """
                function on_task()
                  for i = 1, 5 do assert(send("worker", {kind = "fine"})) end
                  assert(send("worker", {kind = "spin"}))
                  for i = 1, 5 do assert(send("worker", {kind = "fine"})) end
                  return true
                end
                """,
        ])
        let node = try await start(f, options: options)
        _ = try await node.ask("worker", .nil)
        #expect(try await node.ask("sender", .nil) == true)
        // The runaway fails only its own message: ten handled, and the worker still answers.
        #expect(try await waitFor(node, "worker", equals: 10))
        await node.shutdown()
    }

    @Test("a send to a stopped agent fails at once instead of queueing")
    func stoppedAgent() async throws {
        var options = NodeOptions()
        options.maxRestarts = 0
        let f = try single([
            "fragile": "function on_message() error('no') end function on_task() return 1 end",
            "sender": """
                function on_task()
                  local first = send("fragile", {})
                  sleep(0.05)
                  local ok, err = send("fragile", {})
                  return {first = first, ok = ok or false, err = err}
                end
                """,
        ])
        let node = try await start(f, options: options)
        _ = try await node.ask("fragile", .nil)
        let r = try await node.ask("sender", .nil)
        #expect(r.table?["first"] == true)
        #expect(r.table?["ok"] == false)
        #expect(r.table?["err"] == "agent 'fragile' has failed and is stopped")
        await node.shutdown()
    }

    func waitFor(_ node: Node, _ agent: String, equals value: LuaValue) async throws -> Bool {
        for _ in 0..<200 {
            // A full mailbox refuses the ask too: that is an answer to wait through.
            if let got = try? await node.ask(agent, .nil), got == value { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

extension Node {
    /// Activates `agent`, sends `count` to `sender` from the host, and runs the scheduler (timers
    /// included) until nothing is left; returns how many handlers ran from the mail.
    func drive(activating agent: String, thenSend count: Int, to sender: String) throws -> Int {
        try engine.activateForBenchmark(agent)
        let before = engine.mail.delivered
        _ = engine.enqueue(Envelope(from: Address(node: name, agent: "$host"), to: Address(node: name, agent: sender),
                                    kind: .send, payload: .integer(Int64(count))))
        let clock = ContinuousClock()
        let limit = clock.now + .seconds(10)
        while (engine.hasWork || engine.nextDeadline != nil) && clock.now < limit {
            engine.step(budget: .max)
            if !engine.hasWork { usleep(200) }
        }
        return engine.mail.delivered - before
    }
}
