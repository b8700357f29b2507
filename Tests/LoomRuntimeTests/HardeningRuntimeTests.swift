import Foundation
@testable import LoomRuntime
import LuaKit
import Testing

/// Faults in long or hostile handlers: state saved while a handler waits, and a state that cannot
/// be copied out of Lua does not stall the node.
@Suite("Runtime hardening")
struct HardeningRuntimeTests {
    @Test("state changed by a handler that then waits (sleep) is saved while it waits")
    func stateSavedWhileWaiting() async throws {
        var options = NodeOptions()
        options.flushInterval = .milliseconds(20)
        let f = try single([
            "worker": """
                function on_message(task)
                  state.progress = task
                  sleep(30)
                end
                """,
            "echo": "function on_task(t) return t end",
        ])
        let node = try await start(f, options: options)
        try await node.send("worker", "half way")
        // The handler is asleep for 30 s; its state must reach the database within a few flushes.
        let store = try SQLiteNodeStore.forNode(f.path("n"))
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        var saved: LuaValue = .nil
        while clock.now < deadline {
            if let bytes = try store.loadState(agent: "worker") {
                saved = try StateCodec.decode(bytes)
                if saved.table?["progress"] == "half way" { break }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(saved.table?["progress"] == "half way", "saved: \(saved)")
        #expect(try await node.ask("echo", "still answering") == "still answering")
        await node.hurry()
        await node.shutdown()
    }

    @Test("a state that is a DAG of shared tables is refused quickly; the node goes on")
    func dagState() async throws {
        var options = NodeOptions()
        options.flushInterval = .milliseconds(10)
        let f = try single([
            "dag": "function on_task() local t = {} for i = 1, 60 do t = {t, t} end state.t = t return 'ok' end",
            "echo": "function on_task(t) return t end",
        ])
        let node = try await start(f, options: options)
        #expect(try await node.ask("dag", .nil) == "ok")
        let clock = ContinuousClock()
        let start = clock.now
        for i in 0..<20 {
            #expect(try await node.ask("echo", .integer(Int64(i))) == .integer(Int64(i)))
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(clock.now - start < .seconds(10))
        await node.shutdown()
    }

    @Test("a handler's coroutine that a script kept cannot be resumed or closed while it runs another agent's handler")
    func pooledCoroutineEscape() async throws {
        let f = try single([
            "thief": """
                function on_task(t)
                  if t == "grab" then saved = coroutine.running() return "grabbed" end
                  if t == "resume" then return select(2, pcall(coroutine.resume, saved, "forged")) end
                  if t == "close" then return select(2, pcall(coroutine.close, saved)) end
                end
                """,
            "victim": """
                function on_task(t)
                  local woke = sleep(3)
                  return "slept " .. tostring(woke)
                end
                """,
        ])
        let node = try await start(f)
        #expect(try await node.ask("thief", "grab") == "grabbed")
        async let victim: LuaValue = node.ask("victim", "x")
        // The victim sleeps (3 s, long enough on a loaded machine), on a pooled coroutine.
        let clock = ContinuousClock()
        let limit = clock.now + .seconds(10)
        while !(await node.hasCallInFlight("victim")), clock.now < limit { try await Task.sleep(for: .milliseconds(5)) }
        for op in ["resume", "close"] {
            let answer = try await node.ask("thief", .string(LuaString(op)))
            #expect(answer.string?.contains("belongs to the node") == true, "\(op): \(answer)")
        }
        #expect(try await victim == "slept nil")
        await node.shutdown()
    }
}
