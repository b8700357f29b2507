import GRDB
import Synchronization

/// Group commit: memories staged one at a time, stored together in one transaction.
///
/// A memory gets its id when it is staged, so `remember` can return it before the commit. The ids
/// of a group are consecutive from one past the largest id in the table, read when the group opens
/// (under the writer's lock, so no commit of this store runs in between). Rows that this store adds
/// itself (``remember(batch:)``, `share`, consolidation's summaries, import) commit the group first,
/// so they never take a staged id. Another process writing memories into the same file while a
/// group is open could take one: the commit then finds a larger id in the table and fails as
/// ``MemoryCommitError/Kind/idsTaken`` rather than store a memory under an id someone else holds.
extension SQLiteMemoryStore {
    public func stage(_ memory: Memory) throws -> Int64 {
        try memory.validate()
        if let id = staged.withLock({ $0.add(memory) }) { return id }
        return try writer.writeWithoutTransaction { db in
            let largest = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(id) FROM memory")) ?? 0
            return staged.withLock { s in
                s.open(firstID: largest + 1)
                return s.add(memory)!
            }
        }
    }

    public func commitStaged() throws(MemoryCommitError) {
        // A failure is recorded (with what earlier implicit commits lost) and reported below.
        try? writeStaged()
        if let lost = staged.withLock({ s in
            defer { s.lost = nil }
            return s.lost
        }) {
            throw lost
        }
    }

    /// Commits the staged memories now, in one transaction. On failure they are recorded as lost
    /// (for the next ``commitStaged()``) and the error is thrown to the caller as well.
    func writeStaged() throws {
        guard !staged.withLock(\.isEmpty) else { return }
        var batch: [Memory] = []
        do {
            // Taken under the writer's lock, before the transaction begins: a transaction that
            // cannot even begin (the file locked) loses the group too, and says so.
            try writer.writeWithoutTransaction { db in
                batch = staged.withLock { $0.take() }
                guard let first = batch.first?.id else { return }
                try db.inTransaction(.immediate) {
                    if let largest = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(id) FROM memory")), largest >= first {
                        throw MemoryCommitError(.idsTaken, lost: batch.count, agents: [],
                                                reason: "another writer of the database stored memory \(largest); staged ids start at \(first)")
                    }
                    _ = try MemoryIndex.insert(db, batch, keepIDs: true)
                    return .commit
                }
            }
        } catch let error as MemoryCommitError {
            staged.withLock { $0.recordLoss(batch, error.kind, error.reason) }
            throw error
        } catch {
            staged.withLock { $0.recordLoss(batch, .database, "\(error)") }
            throw error
        }
    }

    /// Commits the staged memories first when `agent` has one among them (read-your-writes).
    func writeStaged(ifAny agent: String) throws {
        if staged.withLock({ $0.agents.contains(agent) }) { try writeStaged() }
    }

    /// How many memories are staged now (for tests).
    package var stagedCount: Int { staged.withLock { $0.memories.count } }
}
