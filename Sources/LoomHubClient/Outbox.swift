import Foundation
import GRDB
import LoomWire

/// A node's side of the hub in an SQLite database of its own (`.loom/hub-link.sqlite`, next to
/// `node.sqlite`, WAL):
/// the frames it has sent and the hub has not yet acknowledged, the sequence numbers it has
/// reserved, the last sequence it delivered from each sender, and the keys it has pinned.
///
/// Sequence numbers are reserved in blocks and the reservation is stored before any of them is
/// used, so a node that crashes never signs the same number twice.
final class Outbox: Sendable {
    struct Frame: Sendable {
        var sequence: UInt64
        var target: String
        /// The encoded envelopes (``Frames/body(_:)``).
        var body: Data
    }

    private let db: DatabaseQueue
    static let block: UInt64 = 10_000

    init(path: String) throws(HubError) {
        do {
            var config = Configuration()
            config.busyMode = .timeout(10)
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL") }
            db = try DatabaseQueue(path: path, configuration: config)
            try db.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS hub_outbox(seq INTEGER PRIMARY KEY, target TEXT NOT NULL, body BLOB NOT NULL);
                    CREATE TABLE IF NOT EXISTS hub_reserved(id INTEGER PRIMARY KEY CHECK (id = 1), through INTEGER NOT NULL);
                    CREATE TABLE IF NOT EXISTS hub_seen(sender TEXT PRIMARY KEY, seq INTEGER NOT NULL);
                    CREATE TABLE IF NOT EXISTS hub_keys(name TEXT PRIMARY KEY, key BLOB NOT NULL);
                    """)
            }
        } catch {
            throw HubError(.storage, "cannot open the hub outbox in \(path): \(error)")
        }
    }

    /// A fresh block of sequence numbers: the first one to use and the last reserved.
    func reserve() throws -> (next: UInt64, through: UInt64) {
        try db.write { db in
            let last = UInt64(try Int64.fetchOne(db, sql: "SELECT through FROM hub_reserved WHERE id = 1") ?? 0)
            let used = UInt64(try Int64.fetchOne(db, sql: "SELECT max(seq) FROM hub_outbox") ?? 0)
            let start = max(last, used) + 1, through = start + Self.block - 1
            try db.execute(sql: "INSERT INTO hub_reserved(id, through) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET through = excluded.through",
                           arguments: [Int64(through)])
            return (start, through)
        }
    }

    /// One transaction: new frames in, acknowledged frames out, senders' marks up.
    func commit(frames: [Frame], ackedThrough: UInt64?, seen: [String: UInt64]) throws {
        guard !frames.isEmpty || ackedThrough != nil || !seen.isEmpty else { return }
        try db.write { db in
            for f in frames {
                try db.execute(sql: "INSERT INTO hub_outbox(seq, target, body) VALUES (?, ?, ?)",
                               arguments: [Int64(f.sequence), f.target, f.body])
            }
            if let ackedThrough {
                try db.execute(sql: "DELETE FROM hub_outbox WHERE seq <= ?", arguments: [Int64(clamping: ackedThrough)])
            }
            for (sender, seq) in seen {
                try db.execute(sql: "INSERT INTO hub_seen(sender, seq) VALUES (?, ?) ON CONFLICT(sender) DO UPDATE SET seq = max(seq, excluded.seq)",
                               arguments: [sender, Int64(clamping: seq)])
            }
        }
    }

    /// Removes one frame (the hub refused it) and returns it.
    func remove(_ sequence: UInt64) throws -> Frame? {
        try db.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM hub_outbox WHERE seq = ?", arguments: [Int64(clamping: sequence)]) else { return nil }
            try db.execute(sql: "DELETE FROM hub_outbox WHERE seq = ?", arguments: [Int64(clamping: sequence)])
            return Frame(sequence: UInt64(row["seq"] as Int64), target: row["target"], body: row["body"])
        }
    }

    /// Up to `limit` unacknowledged frames after `sequence`, in order.
    func frames(after sequence: UInt64, limit: Int) throws -> [Frame] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM hub_outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                             arguments: [Int64(clamping: sequence), limit]).map {
                Frame(sequence: UInt64($0["seq"] as Int64), target: $0["target"], body: $0["body"])
            }
        }
    }

    func count() throws -> Int {
        try db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM hub_outbox") ?? 0 }
    }

    func seen() throws -> [String: UInt64] {
        try db.read { db in
            var out: [String: UInt64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT sender, seq FROM hub_seen") { out[row["sender"]] = UInt64(row["seq"] as Int64) }
            return out
        }
    }

    func keys() throws -> [String: Data] {
        try db.read { db in
            var out: [String: Data] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, key FROM hub_keys") { out[row["name"]] = row["key"] }
            return out
        }
    }

    func pin(_ name: String, key: Data) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO hub_keys(name, key) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET key = excluded.key",
                           arguments: [name, key])
        }
    }
}
