internal import CMemoryIndex
import GRDB
import LoomMemory

/// The raw-C baselines of `loom bench memory` (CMemoryIndex's `loom_memory_insert_transaction` and
/// `split_baseline.c`), run on the same rows the store writes.
extension MemoryIndex {
    /// The raw-C baseline of `loom bench memory`: the same rows inserted by C in a transaction of
    /// its own (BEGIN, the inserts, COMMIT), with nothing of Swift or GRDB in between.
    static func baselineInsert(_ db: Database, _ rows: UnsafeBufferPointer<LoomMemoryRow>) throws {
        try check(loom_memory_insert_transaction(db.sqliteConnection, rows.baseAddress, Int32(rows.count)), db)
    }

    /// The second baseline: the batches' rows into the database at `rowsPath` on this thread and
    /// their tokens into the one at `indexPath` on a second one, each with a connection of its own
    /// (see `split_baseline.c`). Both databases are migrated and empty, and closed. Returns the
    /// seconds until the last row committed and until the last token was indexed.
    static func splitBaseline(rowsPath: String, indexPath: String, _ batches: [[Memory]], keys: [String: String]) throws -> (committed: Double, indexed: Double) {
        guard let size = batches.first?.count, size > 0, batches.allSatisfy({ $0.count == size }) else {
            throw DatabaseError(message: "split baseline: batches must be non-empty and of one size")
        }
        var committed = 0.0, indexed = 0.0
        var error = [CChar](repeating: 0, count: 512)
        let rc = withRows(batches.flatMap { $0 }, keys: keys, keepIDs: false) { rows in
            loom_memory_split_baseline(rowsPath, indexPath, Int32(DatabaseSettings.mmapBytes), Int32(DatabaseSettings.cacheKiB),
                                       rows.baseAddress, Int32(rows.count), Int32(size), &committed, &indexed, &error, error.count)
        }
        guard rc == 0 else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "split baseline: " + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return (committed, indexed)
    }
}
