@testable import LoomRuntime
import LuaKit
import Testing

@Suite("Ask deadlines")
struct AskDeadlinesTests {
    let t0 = ContinuousClock.now

    @Test("answered asks are trimmed from the front; what is due comes out, answered or not")
    func lanes() {
        var d = AskDeadlines()
        for id in 1...100 as ClosedRange<UInt64> { d.add(id, timeout: .seconds(5), now: t0 + .milliseconds(Int64(id))) }
        #expect(d.count == 100)
        #expect(d.next == t0 + .seconds(5) + .milliseconds(1))
        var waiting = Set<UInt64>(51...100)
        d.trim { waiting.contains($0) }
        #expect(d.count == 50)
        #expect(d.next == t0 + .seconds(5) + .milliseconds(51))
        // One answered out of order stays until what is before it goes.
        waiting.remove(60)
        d.trim { waiting.contains($0) }
        #expect(d.count == 50)
        let due = d.popDue(t0 + .seconds(5) + .milliseconds(60))
        #expect(due == Array(51...60))
        #expect(d.count == 40)
    }

    @Test("each timeout has a lane; a fifth timeout, or a deadline out of order, goes to the heap")
    func manyTimeouts() {
        var d = AskDeadlines()
        for (i, seconds) in [30, 5, 1, 10, 2, 7].enumerated() {
            d.add(UInt64(i + 1), timeout: .seconds(seconds), now: t0)
        }
        // Out of order within a lane: the clock went back (it never does, but nothing is lost).
        d.add(7, timeout: .seconds(5), now: t0 - .seconds(1))
        #expect(d.count == 7)
        #expect(d.next == t0 + .seconds(1))
        #expect(d.popDue(t0 + .seconds(4)).sorted() == [3, 5, 7])
        #expect(d.popDue(t0 + .seconds(60)).sorted() == [1, 2, 4, 6])
        #expect(d.count == 0 && d.next == nil)
    }

    @Test("a node answering asks in turn holds a handful of deadlines, not one per ask")
    func boundedInANode() async throws {
        let f = try single([
            "pinger": "function on_task(n) for i = 1, n do assert(ask('worker', i) == i) end return n end",
            "worker": "function on_task(t) return t end",
        ])
        let node = try await start(f)
        #expect(try await node.ask("pinger", 5000, timeout: .seconds(120)) == 5000)
        #expect(await node.askDeadlineCount() <= 2)
        await node.shutdown()
    }
}

extension Node {
    func askDeadlineCount() -> Int { engine.askDeadlines.count }
}
