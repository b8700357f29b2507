import Foundation
import GRDB
@testable import LoomRuntime
import LuaKit
import Synchronization
import Testing

/// The memory rows after each transaction committed on a connection.
final class MemoryRowsAfterCommits: TransactionObserver, Sendable {
    private let rows = Mutex<[Int]>([])
    var commits: [Int] { rows.withLock { $0 } }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: Database) {
        let n = (try? Int.fetchOne(db, sql: "SELECT count(*) FROM memory")) ?? -1
        rows.withLock { $0.append(n) }
    }
    func databaseDidRollback(_ db: Database) {}
}

@Suite("Group commit")
struct GroupCommitTests {
    static func node(_ agents: [String: String]) throws -> NodeFixture {
        try NodeFixture(nodes: ["n": (parents: [], agents: agents.mapValues { (uses: ["memory@1"], lua: $0) }, skills: [:])])
    }

    static func database(_ f: NodeFixture, _ node: String = "n") -> String { f.path(node) + "/.loom/node.sqlite" }

    /// The memories' texts by id, read through a connection of the test's own.
    static func texts(_ f: NodeFixture, _ node: String = "n") throws -> [Int64: String] {
        let other = try DatabaseQueue(path: database(f, node))
        return try other.read { db in
            var out: [Int64: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, text FROM memory") { out[row[0]] = row[1] }
            return out
        }
    }

    /// A connection that can hold the database's write lock, as another writer would.
    static func locker(_ f: NodeFixture) throws -> DatabaseQueue {
        var config = Configuration()
        config.allowsUnsafeTransactions = true
        return try DatabaseQueue(path: database(f), configuration: config)
    }

    @Test("the remembers of one scheduler step reach the database in one transaction, at the step's end")
    func oneTransactionPerStep() async throws {
        let f = try Self.node(["worker": """
            local memory = use("memory@1")
            function on_message(m)
              -- Other agents' staged memories are not this agent's: its recall commits nothing.
              memory.recall("note")
              for i = 1, 3 do memory.remember(m .. " note " .. i) end
            end
            """])
        let store = try SQLiteNodeStore(path: Self.database(f))
        let counter = MemoryRowsAfterCommits()
        store.queue.add(transactionObserver: counter, extent: .databaseLifetime)
        let node = try Node(directory: f.path("n"), store: store, directory: NodeDirectory())
        // Ten agents, a message each, one step: thirty memories, one transaction that adds them.
        try await node.sendAndStep((0..<10).map { ("worker:\($0)", .string(LuaString("message \($0)"))) })
        #expect(counter.commits.filter { $0 != 0 } == [30], "\(counter.commits)")
        // Another step, on the batched path this time (the agents are active): one more.
        try await node.sendAndStep((0..<10).map { ("worker:\($0)", .string(LuaString("again \($0)"))) })
        #expect(counter.commits.filter { $0 != 0 } == [30, 60], "\(counter.commits)")
        #expect(await node.batched() >= 10)
        await node.shutdown()
        #expect(try Self.texts(f).count == 60)
    }

    @Test("inside one handler, recall, forget, lessons and share see what was just remembered")
    func readYourWrites() async throws {
        let f = try Self.node(["scholar": """
            local memory = use("memory@1")
            function on_task()
              local id = memory.remember("the parser fails on nested tables")
              local found = memory.recall("parser")
              local forgot = memory.forget(memory.remember("forget me"))
              memory.learn("deploy", "worked", "deploy with tests")
              local lessons = memory.lessons("deploy")
              local shared = memory.share(memory.remember("share me"))
              return {found = found[1] ~= nil and found[1].id == id, forgot = forgot, lessons = #lessons.worked,
                      shared = shared > id}
            end
            """])
        let node = try await start(f)
        let r = try await node.ask("scholar", .nil).table
        #expect(r?["found"] == true)
        #expect(r?["forgot"] == true)
        #expect(r?["lessons"] == 1)
        #expect(r?["shared"] == true)
        await node.shutdown()
    }

    @Test("a host ask's reply is resumed only once its handler's memory is committed")
    func replyAfterCommit() async throws {
        let f = try Self.node([
            "scribe": "local memory = use('memory@1') function on_task(t) return memory.remember(t) end",
            "slow": "function on_message(s) local t = os.clock() while os.clock() - t < s do end end",
        ])
        let node = try Node(directory: f.path("n"), directory: NodeDirectory())
        // The engine's reply resumes this task directly, off the node's executor. (`Node.ask` would
        // hop back onto the node's actor before returning, which is busy until the step is over:
        // that alone would hide a reply resumed too early.)
        let ask = Task {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<LuaValue, any Error>) in
                Task { await node.askEngine("scribe", "a note to keep", c) }
            }
        }
        // Queued before the node starts: the ask first, then the slow agent's message, so one step
        // runs both and the step (and its commit) ends 300 ms after the scribe's handler returned.
        while await node.agents().first(where: { $0.name == "scribe" })?.mailbox != 1 { try await Task.sleep(for: .milliseconds(1)) }
        try await node.send("slow", .number(0.3))
        await node.start()
        let id = try #require(try await ask.value.integer)
        // At the moment the reply arrived, the memory is in the file.
        #expect(try Self.texts(f)[id] == "a note to keep")
        await node.shutdown()
    }

    @Test("a group commit that fails: the step's reply fails with notDurable, its message to another node is dropped, the next step commits")
    func failedCommit() async throws {
        let f = try NodeFixture(nodes: [
            "n": (parents: [], agents: ["scribe": (uses: ["memory@1"], lua: """
                local memory = use("memory@1")
                function on_task(t)
                  local id = memory.remember(t)
                  send("m/listener", t)
                  return id
                end
                """)], skills: [:]),
            "m": (parents: [], agents: ["listener": (uses: [], lua: """
                function on_message(m) state.last = m end
                function on_task() return state.last end
                """)], skills: [:]),
        ])
        let directory = NodeDirectory()
        let logs = CapturedLogs()
        let node = try Node(directory: f.path("n"), directory: directory, logger: logs.logger)
        let other = try Node(directory: f.path("m"), directory: directory)
        await node.start()
        await other.start()
        let first = try await node.ask("scribe", "first")
        let locker = try Self.locker(f)
        try await locker.writeWithoutTransaction { try $0.execute(sql: "BEGIN IMMEDIATE") }
        do {
            let reply = try await node.ask("scribe", "lost")
            Issue.record("expected notDurable, got \(reply)")
        } catch let error as ReplyError {
            #expect(error.kind == .notDurable)
        }
        try await locker.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
        #expect(logs.contains("group commit failed"))
        // The message the failed step sent never left; the first one did.
        #expect(try await other.ask("listener", .nil) == "first")
        let kept = try await node.ask("scribe", "kept")
        await node.shutdown()
        await other.shutdown()
        let texts = try Self.texts(f)
        #expect(Set(texts.values) == ["first", "kept"])
        let firstID = try #require(first.integer), keptID = try #require(kept.integer)
        #expect(texts[firstID] == "first")
        #expect(texts[keptID] == "kept")
    }

    @Test("what a shutdown's drain runs is committed before the node closes")
    func shutdownCommits() async throws {
        let f = try Self.node(["worker": "local memory = use('memory@1') function on_message(m) memory.remember(m) end"])
        let node = try Node(directory: f.path("n"), directory: NodeDirectory())
        try await node.sendAll((0..<5).map { ("worker", .string(LuaString("message \($0)"))) })
        await node.shutdown()
        #expect(try Set(Self.texts(f).values) == Set((0..<5).map { "message \($0)" }))
    }
}

extension Node {
    /// Queues the host's sends and runs one scheduler step.
    func sendAndStep(_ messages: [(String, LuaValue)]) throws {
        try sendAll(messages)
        engine.step(budget: .max)
    }

    func batched() -> Int { engine.batchedMessages }

    /// The engine's host ask, with the caller's own continuation.
    func askEngine(_ agent: String, _ task: LuaValue, _ c: CheckedContinuation<LuaValue, any Error>) {
        engine.askFromHost(Address(node: name, agent: agent), task, timeout: .seconds(5), waiter: .external(c))
    }
}
