public import GRDB

/// The settings of a node's database, shared by the node store and the memory benchmark so the
/// benchmark measures what a node runs.
///
/// - WAL with `synchronous = NORMAL`: a committed transaction survives a crash of the process; a
///   power cut can lose the last transactions committed since the WAL was last synced, never the
///   database's integrity.
/// - Reads through a memory map of up to `mmapBytes` (pages come straight from the OS page cache,
///   not copied into SQLite's own cache first) and a page cache of `cacheKiB` for the rest.
public enum DatabaseSettings: Sendable {
    public static let mmapBytes = 1 << 30
    public static let cacheKiB = 16 * 1024

    public static func configuration() -> Configuration {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA mmap_size = \(mmapBytes)")
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)")
        }
        return config
    }

    /// Opens (or creates) a database queue at `path` in WAL mode with these settings.
    public static func open(_ path: String) throws -> DatabaseQueue {
        let queue = try DatabaseQueue(path: path, configuration: configuration())
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        return queue
    }
}
