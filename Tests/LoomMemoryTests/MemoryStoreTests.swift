import Foundation
import GRDB
import LoomMemory
import Testing

@Suite("Memory store")
struct MemoryStoreTests {
    static func store() throws -> SQLiteMemoryStore {
        let queue = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        MemorySchema.register(in: &migrator)
        try migrator.migrate(queue)
        return SQLiteMemoryStore(writer: queue)
    }

    static let now = 1_800_000_000.0
    static let day = 86_400.0

    @Test("ranking on a fixed corpus: relevance, then importance, recency and outcome")
    func ranking() throws {
        let s = try Self.store()
        let ids = try s.remember(batch: [
            Memory(agent: "a", text: "the parser fails on nested tables", importance: 0.5, created: Self.now - Self.day),
            Memory(agent: "a", text: "parser rewrite worked: nested tables parse now", importance: 0.9, outcome: .worked, created: Self.now - 2 * Self.day),
            Memory(agent: "a", text: "the scheduler is fair", importance: 0.5, created: Self.now),
            Memory(agent: "a", text: "parser idea that failed", importance: 0.2, outcome: .failed, created: Self.now - 30 * Self.day),
        ])
        var options = RecallOptions()
        options.now = Self.now
        options.k = 4
        let found = try s.recall(agent: "a", query: "parser nested tables", options: options)
        #expect(found.map(\.memory.id) == [ids[1], ids[0], ids[3], ])
        #expect(found[0].score > found[1].score)
        #expect(found.allSatisfy { $0.relevance > 0 })
        // An empty query orders by recency, importance and outcome alone.
        let recent = try s.recall(agent: "a", query: "", options: options)
        #expect(recent.first?.memory.id == ids[2] || recent.first?.memory.id == ids[1])
        #expect(recent.count == 4)
        // Recall marks what it returns as used: twice for one recalled both times, once for the other.
        #expect(recent.first { $0.memory.id == ids[1] }?.memory.useCount == 2)
        #expect(recent.first { $0.memory.id == ids[2] }?.memory.useCount == 1)
    }

    @Test("filters by kind, tags and time; expired memories are not recalled")
    func filters() throws {
        let s = try Self.store()
        _ = try s.remember(batch: [
            Memory(agent: "a", kind: .semantic, text: "loom uses lua", tags: ["lua", "design"], created: Self.now - 10),
            Memory(agent: "a", kind: .procedural, text: "to build loom run swift build", tags: ["build"], created: Self.now - 5),
            Memory(agent: "a", kind: .episodic, text: "loom crashed once", tags: ["lua"], created: Self.now - 1000),
            Memory(agent: "a", text: "loom secret that expired", created: Self.now - 100, expires: Self.now - 1),
        ])
        var o = RecallOptions()
        o.now = Self.now
        o.k = 10
        #expect(try s.recall(agent: "a", query: "loom", options: o).count == 3)
        o.kinds = [.semantic, .procedural]
        #expect(try s.recall(agent: "a", query: "loom", options: o).map(\.memory.kind).sorted { $0.rawValue < $1.rawValue } == [.procedural, .semantic])
        o.kinds = []
        o.tags = ["lua"]
        #expect(try s.recall(agent: "a", query: "loom", options: o).count == 2)
        o.tags = ["lua", "design"]
        #expect(try s.recall(agent: "a", query: "loom", options: o).map(\.memory.text) == ["loom uses lua"])
        o.tags = []
        o.since = Self.now - 50
        #expect(try s.recall(agent: "a", query: "loom", options: o).count == 2)
    }

    @Test("agents are isolated: recall, forget and lessons see only the agent's own memories")
    func isolation() throws {
        let s = try Self.store()
        let a = try s.remember(Memory(agent: "a", text: "a knows the launch code", task: "launch"))
        _ = try s.remember(Memory(agent: "a:1", text: "a:1 knows the launch code too", outcome: .worked, task: "launch"))
        _ = try s.remember(Memory(agent: "b", text: "b knows the launch code", outcome: .failed, task: "launch"))
        var o = RecallOptions()
        o.k = 10
        #expect(try s.recall(agent: "a", query: "launch code", options: o).map(\.memory.agent) == ["a"])
        #expect(try s.recall(agent: "a:1", query: "launch code", options: o).map(\.memory.agent) == ["a:1"])
        #expect(try s.forget(agent: "b", id: a) == false)
        #expect(try s.recall(agent: "a", query: "launch", options: o).count == 1)
        #expect(try s.forget(agent: "a", id: a) == true)
        #expect(try s.recall(agent: "a", query: "launch", options: o).isEmpty)
        #expect(try s.lessons(agent: "b", task: "launch").map(\.outcome) == [.failed])
    }

    @Test("lessons: what worked and what failed for a task, newest first")
    func lessons() throws {
        let s = try Self.store()
        _ = try s.remember(batch: [
            Memory(agent: "a", text: "tried A", outcome: .failed, task: "deploy", created: 1),
            Memory(agent: "a", text: "tried B", outcome: .worked, task: "deploy", created: 2),
            Memory(agent: "a", text: "note without outcome", task: "deploy", created: 3),
            Memory(agent: "a", text: "tried C", outcome: .worked, task: "deploy", created: 4),
        ])
        #expect(try s.lessons(agent: "a", task: "deploy").map(\.text) == ["tried C", "tried B", "tried A"])
    }

    @Test("bad input gets a clear error", arguments: [
        (Memory(agent: "a", text: "   "), "the text is empty"),
        (Memory(agent: "a", text: String(repeating: "x", count: Memory.maxTextBytes + 1)), "the text is 65537 bytes; the limit is 65536"),
        (Memory(agent: "a", text: "x", importance: 1.5), "importance must be between 0 and 1 (got 1.5)"),
        (Memory(agent: "a", text: "x", tags: ["two words"]), "tag \"two words\" must be 1 to 64 bytes without spaces"),
        (Memory(agent: "a", text: "x", tags: ["tab\tin"]), "tag \"tab\tin\" must be 1 to 64 bytes without spaces"),
        (Memory(agent: "a", text: "x", tags: ["café\u{3000}au-lait"]), "tag \"café\u{3000}au-lait\" must be 1 to 64 bytes without spaces"),
        (Memory(agent: "a", text: "keep\u{0}secret"), "the text contains a NUL byte; remove it"),
        (Memory(agent: "a", text: "x", tags: ["t\u{0}"]), "tags and the task key cannot contain NUL bytes"),
    ])
    func badInput(memory: Memory, message: String) throws {
        let s = try Self.store()
        #expect(throws: MemoryError(message)) { try s.remember(memory) }
        var o = RecallOptions()
        o.k = 0
        #expect(throws: MemoryError("k must be between 1 and 100 (got 0)")) { try s.recall(agent: "a", query: "x", options: o) }
    }

    @Test("query syntax cannot break out of the agent's index")
    func hostileQuery() throws {
        let s = try Self.store()
        _ = try s.remember(Memory(agent: "b", text: "b private"))
        _ = try s.remember(Memory(agent: "a", text: "a public"))
        var o = RecallOptions()
        o.k = 10
        for q in ["private OR akey:*", "\" OR 1", "NEAR(private b)", "b private) OR (private", "*"] {
            #expect(try s.recall(agent: "a", query: q, options: o).allSatisfy { $0.memory.agent == "a" })
        }
    }
}

@Suite("Memory commons and consolidation")
struct CommonsTests {
    @Test("share writes the commons with provenance; no agent can forget or re-share another's entry")
    func commonsGuards() throws {
        let s = try MemoryStoreTests.store()
        let mine = try s.remember(Memory(agent: "a", text: "the build needs liblua5.4-dev"))
        let shared = try s.share(agent: "a", id: mine)
        #expect(throws: MemoryError("agent 'b' has no memory \(mine)")) { try s.share(agent: "b", id: mine) }
        #expect(throws: MemoryError("agent 'b' has no memory \(shared)")) { try s.share(agent: "b", id: shared) }
        #expect(try s.forget(agent: "b", id: shared) == false)
        #expect(try s.forget(agent: "a", id: shared) == false)   // not even the author: the entry is the node's
        var o = RecallOptions()
        #expect(try s.recall(agent: "b", query: "build liblua", options: o).isEmpty)
        o.commons = true
        let found = try s.recall(agent: "b", query: "build liblua", options: o)
        #expect(found.count == 1)
        #expect(found[0].memory.agent == Commons.agent)
        #expect(found[0].memory.sourceAgent == "a")
        #expect(found[0].memory.derivedFrom == mine)
    }

    @Test("commons entries are weighted by their author's track record")
    func trackRecord() throws {
        let s = try MemoryStoreTests.store()
        let now = 1_800_000_000.0
        for i in 0..<4 { _ = try s.remember(Memory(agent: "good", text: "lesson \(i)", outcome: .worked, task: "t", created: now)) }
        for i in 0..<4 { _ = try s.remember(Memory(agent: "bad", text: "lesson \(i)", outcome: .failed, task: "t", created: now)) }
        let g = try s.remember(Memory(agent: "good", text: "restart the service to fix it", created: now))
        let b = try s.remember(Memory(agent: "bad", text: "restart the service to fix it", created: now))
        _ = try s.share(agent: "bad", id: b)
        _ = try s.share(agent: "good", id: g)
        var o = RecallOptions()
        o.commons = true
        o.now = now
        let found = try s.recall(agent: "c", query: "restart service", options: o)
        #expect(found.map(\.memory.sourceAgent) == ["good", "bad"])
        #expect(found[0].score > 2 * found[1].score)
    }

    @Test("consolidation: expiry, near-duplicates merged, episodes folded into a summary")
    func consolidation() throws {
        let s = try MemoryStoreTests.store()
        let now = 1_800_000_000.0
        _ = try s.remember(batch: [
            Memory(agent: "a", text: "gone", created: now - 10, expires: now - 1),
            Memory(agent: "a", text: "The parser is slow!", importance: 0.4, outcome: .failed, created: now - 30),
            Memory(agent: "a", text: "the parser is slow", importance: 0.8, created: now - 20),
            Memory(agent: "b", text: "the parser is slow", created: now - 20),
        ] + (0..<6).map { i in
            Memory(agent: "a", text: "deploy attempt \(i)", outcome: i < 4 ? .worked : .failed, task: "deploy", created: now - 100 + Double(i))
        })
        let report = try s.consolidate(agent: nil, now: now)
        #expect(report == { var r = ConsolidationReport(); r.expired = 1; r.merged = 1; r.folded = 6; r.summaries = 1; return r }())
        var o = RecallOptions()
        o.now = now
        o.k = 10
        let slow = try s.recall(agent: "a", query: "parser slow", options: o)
        #expect(slow.count == 1)
        #expect(slow[0].memory.importance == 0.8)
        #expect(slow[0].memory.outcome == .failed)
        #expect(try s.recall(agent: "b", query: "parser slow", options: o).count == 1)
        let summary = try s.recall(agent: "a", query: "deploy", options: o)
        #expect(summary.map(\.memory.text) == ["deploy: worked 4 times, failed 2 times; most recently it failed"])
        #expect(summary[0].memory.kind == .semantic)
        #expect(try s.consolidate(agent: nil, now: now) == ConsolidationReport())   // idempotent
    }
}
