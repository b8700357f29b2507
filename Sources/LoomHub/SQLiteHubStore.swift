import Foundation
import GRDB

/// The hub's store in one SQLite file (GRDB, WAL): the directory, each sender's high-water mark,
/// and the frames waiting for their targets.
public final class SQLiteHubStore: HubStore {
    private let db: DatabasePool

    /// Opens (or creates) the store at `path`.
    public init(path: String) throws(HubStoreError) {
        do {
            var config = Configuration()
            config.busyMode = .timeout(10)
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            db = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(db)
        } catch {
            throw HubStoreError("cannot open the hub's store \(path): \(error)")
        }
    }

    /// Every change to the schema, in order; a store opened by an older hub is brought forward.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE nodes(name TEXT PRIMARY KEY, key BLOB NOT NULL, lineage TEXT NOT NULL,
                                   provides TEXT NOT NULL, rotation TEXT NOT NULL DEFAULT '');
                CREATE TABLE senders(sender TEXT PRIMARY KEY, stored_through INTEGER NOT NULL);
                CREATE TABLE frames(id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, sender TEXT NOT NULL,
                                    seq INTEGER NOT NULL, content BLOB NOT NULL, signature BLOB NOT NULL);
                CREATE INDEX frames_by_target ON frames(target, id);
                CREATE INDEX frames_by_sender ON frames(target, sender, seq);
                """)
        }
        return m
    }

    private static func lines(_ list: [String]) -> String { list.joined(separator: "\n") }
    private static func list(_ text: String) -> [String] { text.isEmpty ? [] : text.split(separator: "\n").map(String.init) }

    private static func entry(_ row: Row) -> DirectoryEntry {
        DirectoryEntry(name: row["name"], key: row["key"], lineage: list(row["lineage"]), provides: list(row["provides"]),
                       rotation: row["rotation"])
    }

    public func entry(_ name: String) async throws -> DirectoryEntry? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE name = ?", arguments: [name]).map(Self.entry)
        }
    }

    public func save(_ entry: DirectoryEntry) async throws {
        try await db.write { db in
            try db.execute(sql: """
                INSERT INTO nodes(name, key, lineage, provides, rotation) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET key = excluded.key, lineage = excluded.lineage,
                    provides = excluded.provides, rotation = excluded.rotation
                """, arguments: [entry.name, entry.key, Self.lines(entry.lineage), Self.lines(entry.provides), entry.rotation])
        }
    }

    public func entries() async throws -> [DirectoryEntry] {
        try await db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM nodes ORDER BY name").map(Self.entry) }
    }

    public func storedThrough(_ sender: String) async throws -> UInt64 {
        try await db.read { db in
            UInt64(try Int64.fetchOne(db, sql: "SELECT stored_through FROM senders WHERE sender = ?", arguments: [sender]) ?? 0)
        }
    }

    @discardableResult
    public func store(_ frames: [StoredFrame]) async throws -> Int {
        guard !frames.isEmpty else { return 0 }
        return try await db.write { db in
            var marks: [String: Int64] = [:]
            var added = 0
            for f in frames {
                let seq = Int64(f.sequence)
                let mark: Int64
                if let m = marks[f.sender] { mark = m } else {
                    mark = try Int64.fetchOne(db, sql: "SELECT stored_through FROM senders WHERE sender = ?", arguments: [f.sender]) ?? 0
                }
                guard seq > mark else { marks[f.sender] = mark; continue }
                try db.execute(sql: "INSERT INTO frames(target, sender, seq, content, signature) VALUES (?, ?, ?, ?, ?)",
                               arguments: [f.target, f.sender, seq, f.content, f.signature])
                marks[f.sender] = seq
                added += 1
            }
            for (sender, mark) in marks {
                try db.execute(sql: """
                    INSERT INTO senders(sender, stored_through) VALUES (?, ?)
                    ON CONFLICT(sender) DO UPDATE SET stored_through = max(stored_through, excluded.stored_through)
                    """, arguments: [sender, mark])
            }
            return added
        }
    }

    public func frames(for target: String, after id: Int64, limit: Int) async throws -> [StoredFrame] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM frames WHERE target = ? AND id > ? ORDER BY id LIMIT ?",
                             arguments: [target, id, limit]).map { row in
                StoredFrame(id: row["id"], sender: row["sender"], sequence: UInt64(row["seq"] as Int64), target: row["target"],
                            content: row["content"], signature: row["signature"])
            }
        }
    }

    public func delivered(target: String, sender: String, through: UInt64) async throws {
        try await db.write { db in
            try db.execute(sql: "DELETE FROM frames WHERE target = ? AND sender = ? AND seq <= ?",
                           arguments: [target, sender, Int64(clamping: through)])
        }
    }

    public func discard(target: String) async throws {
        try await db.write { db in try db.execute(sql: "DELETE FROM frames WHERE target = ?", arguments: [target]) }
    }

    public func waiting() async throws -> [String: Int] {
        try await db.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT target, count(*) AS n FROM frames GROUP BY target") {
                out[row["target"]] = row["n"]
            }
            return out
        }
    }
}

/// The hub's store could not be opened or used.
public struct HubStoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
