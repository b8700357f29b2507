import Foundation
import LoomCore
import GRDB
public import LoomMemory

/// What a node persists about its agents. The embedded default is ``SQLiteNodeStore``.
public protocol NodeStore: Sendable {
    /// The stored state of an agent, or nil when it has none yet.
    func loadState(agent: String) throws -> [UInt8]?
    /// Saves states in one transaction.
    func saveStates(_ states: [String: [UInt8]]) throws
    /// Records an agent's status (dormant, active, failed) and restart count.
    func setStatus(agent: String, status: String, restarts: Int) throws
    /// Every agent the store knows, with its status.
    func statuses() throws -> [String: String]
    /// The agents' memory store in the same database, if this store has one.
    func memoryStore() -> (any MemoryStore)?
}

/// The node's database: one SQLite file under the node's `.loom/` folder, in WAL mode, with
/// versioned migrations. Agent memory (``MemorySchema``'s tables) lives in it too, and so do the
/// trust store's `trust_*` tables (LoomBundle's `TrustStore` opens the same file).
///
/// Durability: `synchronous = NORMAL` in WAL mode. A committed transaction survives a crash of the
/// process; a power cut can lose the last transactions committed before the WAL was synced (never a
/// corrupt database). Agent state is flushed every ``NodeOptions/flushInterval`` (200 ms by
/// default) and on shutdown.
public final class SQLiteNodeStore: NodeStore {
    let queue: DatabaseQueue

    public init(path: String, ranking: Ranking = Ranking()) throws {
        try FileManager.default.createDirectory(atPath: Paths.parent(path), withIntermediateDirectories: true)
        queue = try DatabaseSettings.open(path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: agents") { db in
            try db.execute(sql: """
                CREATE TABLE agent (
                    name TEXT PRIMARY KEY NOT NULL,
                    state BLOB,
                    status TEXT NOT NULL DEFAULT 'dormant',
                    restarts INTEGER NOT NULL DEFAULT 0,
                    updated_at REAL NOT NULL DEFAULT 0
                )
                """)
        }
        MemorySchema.register(in: &migrator)
        try migrator.migrate(queue)
        memory = SQLiteMemoryStore(writer: queue, ranking: ranking)
    }

    public func memoryStore() -> (any MemoryStore)? { memory }

    /// The agents' memory in this database.
    public let memory: SQLiteMemoryStore

    /// Copies the whole database to `path` with SQLite's online backup API.
    public func backup(to path: String) throws {
        let target = try DatabaseQueue(path: path)
        try queue.backup(to: target)
    }

    /// The node database of the node in `directory`.
    public static func forNode(_ directory: String) throws -> SQLiteNodeStore {
        try SQLiteNodeStore(path: Paths.join(directory, ".loom/node.sqlite"))
    }

    public func loadState(agent: String) throws -> [UInt8]? {
        try queue.read { db in
            try Data.fetchOne(db, sql: "SELECT state FROM agent WHERE name = ?", arguments: [agent]).map { Array($0) }
        }
    }

    public func saveStates(_ states: [String: [UInt8]]) throws {
        guard !states.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        try queue.write { db in
            for (name, bytes) in states {
                try db.execute(sql: """
                    INSERT INTO agent (name, state, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                    """, arguments: [name, Data(bytes), now])
            }
        }
    }

    public func setStatus(agent: String, status: String, restarts: Int) throws {
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO agent (name, status, restarts) VALUES (?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET status = excluded.status, restarts = excluded.restarts
                """, arguments: [agent, status, restarts])
        }
    }

    public func statuses() throws -> [String: String] {
        try queue.read { db in
            var out: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, status FROM agent") { out[row["name"]] = row["status"] }
            return out
        }
    }
}
