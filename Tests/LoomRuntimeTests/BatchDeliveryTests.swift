import Foundation
@testable import LoomRuntime
import LuaKit
import Synchronization
import Testing

/// Batched delivery must behave exactly like one message at a time: each handler acts as its own
/// agent, order per agent holds, and a handler that waits or fails in the middle of a batch takes
/// the usual path without disturbing the others.
@Suite struct BatchDeliveryTests {
    static let worker = """
        function on_message(m)
          if m.op == "fail" then error("planned failure") end
          if m.op == "wait" then sleep(0.05) end
          state.seen = state.seen or {}
          state.seen[#state.seen + 1] = m.n
          send("$host", {who = self.name, n = m.n})
        end
        function on_task(t)
          if t == "seen" then return state.seen or {} end
          return t
        end
        """

    func run(batch: Bool) async throws -> (heard: [String: [Int64]], seen: [String: [Int64]], batched: Int) {
        let fixture = try single(["w": Self.worker])
        let heard = Mutex<[String: [Int64]]>([:])
        var options = NodeOptions()
        options.batchDelivery = batch
        options.hostInbox = { _, message in
            guard let who = message.table?["who"].string, let n = message.table?["n"].integer else { return }
            heard.withLock { $0[who, default: []].append(n) }
        }
        let node = try await start(fixture, options: options)
        let names = (0..<6).map { "w:\($0)" }
        for name in names { _ = try await node.ask(name, "warm") }   // all active: batches form
        // Queued from the node's own executor in one go, so the scheduler sees them together.
        try await node.sendAll((0..<5).flatMap { round in
            names.enumerated().map { i, name -> (String, LuaValue) in
                var op = "add"
                if i == 2 && round == 1 { op = "fail" }
                if i == 4 && round == 2 { op = "wait" }
                return (name, ["op": .string(LuaString(op)), "n": .integer(Int64(round))])
            }
        })
        try await Task.sleep(for: .milliseconds(300))
        var seen: [String: [Int64]] = [:]
        for name in names {
            let list = try await node.ask(name, "seen").table?.array.compactMap(\.integer) ?? []
            seen[name] = list
        }
        let batched = await node.batchedMessageCount()
        await node.shutdown()
        return (heard.withLock { $0 }, seen, batched)
    }

    @Test func batchedAndSingleDeliveryAgree() async throws {
        let batched = try await run(batch: true)
        let single = try await run(batch: false)
        #expect(batched.heard == single.heard)
        // Every agent heard from itself, in order; the failing message left no trace, and the
        // agent restarted from its last saved state.
        for i in [0, 1, 3, 4, 5] { #expect(batched.heard["w:\(i)"] == [0, 1, 2, 3, 4], "w:\(i)") }
        #expect(batched.heard["w:2"] == [0, 2, 3, 4])
        #expect(batched.seen["w:4"] == [0, 1, 2, 3, 4])
        #expect(batched.seen == single.seen)
        #expect(batched.batched >= 20, "the batch path delivered \(batched.batched) messages")
        #expect(single.batched == 0)
    }
}
