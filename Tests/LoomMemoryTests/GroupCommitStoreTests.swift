import Foundation
import GRDB
import LoomMemory
import Synchronization
import Testing

/// A folder of its own for one test, removed with the value.
final class ScratchFolder: Sendable {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-gc-\(UUID().uuidString)").path
    init() { try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: root) }
    func path(_ name: String) -> String { root + "/" + name }
}

/// Counts the transactions committed on a connection, and the memory rows after each.
final class CommitCounter: TransactionObserver, Sendable {
    private let rowsAfterCommits = Mutex<[Int]>([])
    var commits: [Int] { rowsAfterCommits.withLock { $0 } }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: Database) {
        let rows = (try? Int.fetchOne(db, sql: "SELECT count(*) FROM memory")) ?? -1
        rowsAfterCommits.withLock { $0.append(rows) }
    }
    func databaseDidRollback(_ db: Database) {}
}

@Suite("Memory store: group commit")
struct GroupCommitStoreTests {
    /// A store on a file (so that a second connection can look), and that second connection.
    static func open(_ folder: ScratchFolder) throws -> (SQLiteMemoryStore, DatabaseQueue, CommitCounter, DatabaseQueue) {
        let path = folder.path("memory.sqlite")
        let queue = try DatabaseSettings.open(path)
        var migrator = DatabaseMigrator()
        MemorySchema.register(in: &migrator)
        try migrator.migrate(queue)
        let counter = CommitCounter()
        queue.add(transactionObserver: counter, extent: .databaseLifetime)
        return (SQLiteMemoryStore(writer: queue), queue, counter, try DatabaseQueue(path: path))
    }

    static func rows(_ other: DatabaseQueue) throws -> [Int64] {
        try other.read { try Int64.fetchAll($0, sql: "SELECT id FROM memory ORDER BY id") }
    }

    @Test("staged memories get their ids at once and reach the database together, in one transaction")
    func oneTransaction() throws {
        let folder = ScratchFolder()
        let (store, _, counter, other) = try Self.open(folder)
        let first = try store.remember(Memory(agent: "a", text: "committed before the group"))
        var ids: [Int64] = []
        for i in 0..<20 { ids.append(try store.stage(Memory(agent: "agent\(i % 4)", text: "staged memory number \(i)"))) }
        #expect(ids == Array((first + 1)...(first + 20)))
        // Nothing of the group is in the file yet, and no transaction ran for it.
        #expect(try Self.rows(other) == [first])
        let before = counter.commits.count
        try store.commitStaged()
        #expect(counter.commits.count == before + 1)
        #expect(counter.commits.last == 21)
        #expect(try Self.rows(other) == [first] + ids)
        #expect(store.stagedCount == 0)
        // Nothing staged: no transaction at all.
        try store.commitStaged()
        #expect(counter.commits.count == before + 1)
        // The staged rows are indexed like any other.
        let found = try store.recall(agent: "agent3", query: "staged number 7", options: RecallOptions())
        #expect(found.first?.memory.id == ids[7])
    }

    @Test("an agent reads its own staged memories; another agent's read does not commit them")
    func readYourWrites() throws {
        let folder = ScratchFolder()
        let (store, _, _, other) = try Self.open(folder)
        let id = try store.stage(Memory(agent: "a", text: "the parser fails on nested tables"))
        // Another agent cannot see a's memories: its recall leaves the group open.
        _ = try store.recall(agent: "b", query: "parser", options: RecallOptions())
        #expect(store.stagedCount == 1)
        #expect(try Self.rows(other).isEmpty)
        // a's own recall commits first and finds it.
        #expect(try store.recall(agent: "a", query: "parser", options: RecallOptions()).map(\.memory.id) == [id])
        #expect(store.stagedCount == 0)
        #expect(try Self.rows(other) == [id])
        // forget, lessons and share see a staged memory too.
        let gone = try store.stage(Memory(agent: "a", text: "forget me"))
        #expect(try store.forget(agent: "a", id: gone))
        let lesson = try store.stage(Memory(agent: "a", text: "deploy with tests", outcome: .worked, task: "deploy"))
        #expect(try store.lessons(agent: "a", task: "deploy").map(\.id) == [lesson])
        let shared = try store.stage(Memory(agent: "a", text: "share me"))
        let entry = try store.share(agent: "a", id: shared)
        #expect(entry > shared)
        try store.commitStaged()
    }

    @Test("ids taken by another writer of the file: the group is lost, reported once, and the next group works")
    func idsTaken() throws {
        let folder = ScratchFolder()
        let (store, _, _, other) = try Self.open(folder)
        let a = try store.stage(Memory(agent: "a", text: "one"))
        _ = try store.stage(Memory(agent: "b", text: "two"))
        // Another process stores a memory meanwhile: it takes the first staged id.
        let theirs = try SQLiteMemoryStore(writer: other).remember(Memory(agent: "z", text: "from elsewhere"))
        #expect(theirs == a)
        #expect {
            try store.commitStaged()
        } throws: { error in
            guard let e = error as? MemoryCommitError else { return false }
            return e.kind == .idsTaken && e.lost == 2 && e.agents == ["a", "b"]
        }
        try store.commitStaged()   // reported once
        let next = try store.stage(Memory(agent: "a", text: "three"))
        #expect(next == theirs + 1)
        try store.commitStaged()
        #expect(try Self.rows(other) == [theirs, next])
    }

    @Test("a commit refused by the database (the file locked by another writer): the loss is reported, even when a read committed first")
    func refused() throws {
        let folder = ScratchFolder()
        let (store, _, _, _) = try Self.open(folder)
        var config = Configuration()
        config.allowsUnsafeTransactions = true
        let locker = try DatabaseQueue(path: folder.path("memory.sqlite"), configuration: config)
        _ = try store.stage(Memory(agent: "a", text: "lost while the file is locked"))
        try locker.writeWithoutTransaction { try $0.execute(sql: "BEGIN IMMEDIATE") }
        // The agent's recall commits first; that commit fails, and so does the recall.
        #expect(throws: DatabaseError.self) { try store.recall(agent: "a", query: "lost", options: RecallOptions()) }
        try locker.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
        #expect {
            try store.commitStaged()
        } throws: { error in
            (error as? MemoryCommitError)?.kind == .database && (error as? MemoryCommitError)?.lost == 1
        }
        #expect(try store.stats().total == 0)
    }
}
