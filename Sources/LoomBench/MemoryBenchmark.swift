import Foundation
import LoomCore
import GRDB
import LoomMemory

/// `loom bench memory`: remember throughput, recall latency in a crowded store, bytes on disk.
public struct MemoryBenchmark: Sendable {
    public struct Results: Sendable {
        public var batchedPerSecond: Double
        /// The same rows inserted by C (prepared statements bound directly), in the same run.
        public var cBatchedPerSecond: Double
        public var ratio: Double { batchedPerSecond > 0 ? cBatchedPerSecond / batchedPerSecond : 0 }
        /// C with rows and index on two threads in two files (``MemoryIndex/splitBaseline``): rows
        /// committed, and rows indexed as well, per second.
        public var cSplitCommittedPerSecond: Double
        public var cSplitIndexedPerSecond: Double
        public var singlePerSecond: Double
        public var agents: Int
        public var perAgent: Int
        public var recallP50Microseconds: Double
        public var recallP99Microseconds: Double
        public var bytesPerMemory: Double
    }

    public var agents = 1000
    public var perAgent = 1000
    public var singles = 2000
    public var recalls = 2000

    public init() {}

    /// A deterministic sentence of 8 to 12 words from a fixed vocabulary.
    static func sentence(_ seed: inout UInt64) -> String {
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 33
        }
        let words = 8 + Int(next() % 5)
        return (0..<words).map { _ in vocabulary[Int(next() % UInt64(vocabulary.count))] }.joined(separator: " ")
    }

    static let vocabulary: [String] = {
        let stems = ["parse", "build", "deploy", "test", "cache", "index", "query", "agent", "skill", "node", "memory",
                     "lineage", "bundle", "hub", "message", "flow", "vote", "budget", "sandbox", "script", "table",
                     "string", "pattern", "error", "retry", "timeout", "schedule", "persist", "recall", "share"]
        let suffixes = ["", "s", "ed", "ing", "er", "ion", "able", "ful", "ly", "ness"]
        var out: [String] = []
        for (i, s) in stems.enumerated() { for (j, x) in suffixes.enumerated() { out.append(s + x + (i * j % 7 == 0 ? "" : String(i * 10 + j))) } }
        return out
    }()

    /// Opens a memory store on a new file with the node database's settings (WAL, synchronous NORMAL).
    static func open(_ path: String) throws -> (DatabaseQueue, SQLiteMemoryStore) {
        let queue = try DatabaseSettings.open(path)
        var migrator = DatabaseMigrator()
        MemorySchema.register(in: &migrator)
        try migrator.migrate(queue)
        return (queue, SQLiteMemoryStore(writer: queue))
    }

    public func run(progress: (String) -> Void = { _ in }) throws -> Results {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-membench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (queue, store) = try Self.open(dir + "/memory.sqlite")
        let clock = ContinuousClock()
        var seed: UInt64 = 42
        let now = Date().timeIntervalSince1970

        // Batched: the whole crowd, 1,000 memories a transaction.
        progress("remember \(agents * perAgent) memories in batches of \(perAgent)")
        var batches: [[Memory]] = []
        for a in 0..<agents {
            var batch: [Memory] = []
            batch.reserveCapacity(perAgent)
            for i in 0..<perAgent {
                let outcome: Memory.Outcome? = i % 7 == 0 ? .worked : (i % 11 == 0 ? .failed : nil)
                let created = now - Double(i) * 60
                batch.append(Memory(agent: "agent:\(a)", text: Self.sentence(&seed), tags: ["t\(i % 10)"],
                                    importance: Double(i % 10) / 10, outcome: outcome, task: "task\(i % 20)", created: created))
            }
            batches.append(batch)
        }
        // The raw-C baseline writes the same rows into a database of its own, batch for batch in
        // turn with Loom's, so both see the same machine state (page cache, writeback).
        let cQueue = try DatabaseSettings.open(dir + "/baseline.sqlite")
        var migrator = DatabaseMigrator()
        MemorySchema.register(in: &migrator)
        try migrator.migrate(cQueue)
        let keys = try cQueue.write { db in
            try Dictionary(uniqueKeysWithValues: batches.map { b in (b[0].agent, try MemoryIndex.key(db, agent: b[0].agent, create: true)!) })
        }
        var batched = Duration.zero, cBatched = Duration.zero
        for b in batches {
            try MemoryIndex.withRows(b, keys: keys, keepIDs: false) { rows in
                try cQueue.writeWithoutTransaction { db in
                    cBatched += try clock.measure { try MemoryIndex.baselineInsert(db, rows) }
                }
            }
            batched += try clock.measure { _ = try store.remember(batch: b) }
        }
        Self.remove(dir + "/baseline.sqlite")

        // The same rows once more, by C on both cores: rows in one file, their index in another.
        progress("the same rows by C on two threads (rows and index in two files)")
        let split = try Self.splitBaseline(dir: dir, batches: batches)

        // One by one: a transaction each.
        progress("remember \(singles) memories one by one")
        let singleMemories = (0..<singles).map { _ in Memory(agent: "single", text: Self.sentence(&seed), created: now) }
        let single = try clock.measure { for m in singleMemories { _ = try store.remember(m) } }

        // Recall latency for one agent at a time, in the crowded store.
        progress("\(recalls) recalls")
        var latencies: [Double] = []
        var options = RecallOptions()
        options.k = 5
        for r in 0..<recalls {
            let agent = "agent:\(r * 7919 % agents)"
            let query = Self.sentence(&seed).split(separator: " ").prefix(3).joined(separator: " ")
            let t = try clock.measure { _ = try store.recall(agent: agent, query: query, options: options) }
            latencies.append(t.inSeconds * 1e6)
        }
        latencies.sort()

        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("memory.sqlite") }
        let bytes = files.reduce(0) { sum, f in
            sum + ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + f)[.size] as? Int) ?? 0)
        }
        let total = agents * perAgent + singles
        return Results(batchedPerSecond: Double(agents * perAgent) / batched.inSeconds,
                       cBatchedPerSecond: Double(agents * perAgent) / cBatched.inSeconds,
                       cSplitCommittedPerSecond: Double(agents * perAgent) / split.committed,
                       cSplitIndexedPerSecond: Double(agents * perAgent) / split.indexed,
                       singlePerSecond: Double(singles) / single.inSeconds, agents: agents, perAgent: perAgent,
                       recallP50Microseconds: latencies[latencies.count / 2],
                       recallP99Microseconds: latencies[min(latencies.count - 1, latencies.count * 99 / 100)],
                       bytesPerMemory: Double(bytes) / Double(total))
    }

    /// Runs ``MemoryIndex/splitBaseline`` on two new databases; returns its two durations in seconds.
    static func splitBaseline(dir: String, batches: [[Memory]]) throws -> (committed: Double, indexed: Double) {
        let (rowsPath, indexPath) = (dir + "/split-rows.sqlite", dir + "/split-index.sqlite")
        defer { remove(rowsPath); remove(indexPath) }
        var keys: [String: String] = [:]
        for path in [rowsPath, indexPath] {
            let queue = try DatabaseSettings.open(path)
            var migrator = DatabaseMigrator()
            MemorySchema.register(in: &migrator)
            try migrator.migrate(queue)
            if path == rowsPath {
                try queue.write { db in
                    for b in batches { for m in b where keys[m.agent] == nil { keys[m.agent] = try MemoryIndex.key(db, agent: m.agent, create: true)! } }
                }
            }
            try queue.close()
        }
        let times = try MemoryIndex.splitBaseline(rowsPath: rowsPath, indexPath: indexPath, batches, keys: keys)
        // Every row is in the first file and indexed in the second.
        let expected = batches.reduce(0) { $0 + $1.count }
        let rows = try DatabaseQueue(path: rowsPath).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM memory") }
        let indexed = try DatabaseQueue(path: indexPath).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM memory_fts_docsize") }
        guard rows == expected, indexed == expected else {
            throw MemoryError("split baseline: \(rows ?? 0) rows and \(indexed ?? 0) indexed, expected \(expected)")
        }
        return times
    }

    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

}
