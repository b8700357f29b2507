package import CMemoryIndex
package import GRDB

/// The full-text index of memories: agent keys, the words, and the batch insert (in C).
///
/// Each agent has a number in `memory_agent`; its key is `a` and that number in base 36. Every word
/// of a memory is indexed as `<key>_<word>`, so a recall for one agent reads that agent's postings
/// only. The words are what SQLite's `unicode61` tokenizer makes of the text (`words.c`), for
/// inserts, queries and deletions alike. `memory_fts` is contentless (it keeps no copy of the
/// text): removing a memory's tokens means handing FTS5 the same tokens again, which
/// ``unindex(_:_:id:agent:text:tagText:)`` rebuilds from the row with the same tokenizer.
package enum MemoryIndex {
    /// The agent's key, or nil when the agent has never remembered anything (and `create` is false).
    package static func key(_ db: Database, agent: String, create: Bool) throws -> String? {
        if let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM memory_agent WHERE name = ?"), arguments: [agent]) {
            return "a" + String(id, radix: 36)
        }
        guard create else { return nil }
        try db.cachedStatement(sql: "INSERT INTO memory_agent (name) VALUES (?)").execute(arguments: [agent])
        return "a" + String(db.lastInsertedRowID, radix: 36)
    }

    /// Inserts memories and their tokens; returns their ids. With `keepIDs`, each memory's own id is
    /// used (import); otherwise the database assigns them.
    static func insert(_ db: Database, _ batch: [Memory], keepIDs: Bool) throws -> [Int64] {
        guard !batch.isEmpty else { return [] }
        var keys: [String: String] = [:]
        for m in batch where keys[m.agent] == nil { keys[m.agent] = try key(db, agent: m.agent, create: true)! }
        var ids = [Int64](repeating: 0, count: batch.count)
        let connection = db.sqliteConnection
        let rc = withRows(batch, keys: keys, keepIDs: keepIDs) { rows in
            ids.withUnsafeMutableBufferPointer { out in
                loom_memory_insert(connection, rows.baseAddress, Int32(rows.count), out.baseAddress)
            }
        }
        try check(rc, db)
        return ids
    }

    /// Calls `body` with the batch as C rows; `keys` holds every agent's key. The rows point into
    /// one arena of every string of the batch and are valid only inside `body`.
    package static func withRows<R>(_ batch: [Memory], keys: [String: String], keepIDs: Bool,
                            _ body: (UnsafeBufferPointer<LoomMemoryRow>) throws -> R) rethrows -> R {
        // Spans are (offset, length), offset -1 for NULL.
        var arena: [UInt8] = [0]
        arena.reserveCapacity(batch.count * 256)
        var spans: [Int] = []
        spans.reserveCapacity(batch.count * fields * 2)
        func add(_ s: String?) {
            guard let s else {
                spans.append(-1)
                spans.append(0)
                return
            }
            spans.append(arena.count)
            arena.append(contentsOf: s.utf8)
            spans.append(arena.count - spans[spans.count - 1])
        }
        for m in batch {
            add(m.agent)
            add(m.kind.rawValue)
            add(m.text)
            add(SQLiteMemoryStore.tagText(m.tags))
            add(m.tags.joined(separator: " "))
            add(m.outcome?.rawValue)
            add(m.task)
            add(m.sourceAgent)
            add(m.sourceNode)
            add(keys[m.agent] ?? "")
        }
        return try arena.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var rows: [LoomMemoryRow] = []
            rows.reserveCapacity(batch.count)
            for (i, m) in batch.enumerated() {
                func text(_ f: Int) -> LoomText {
                    let at = (i * fields + f) * 2
                    return spans[at] < 0 ? LoomText(p: nil, n: 0) : LoomText(p: base + spans[at], n: Int32(spans[at + 1]))
                }
                rows.append(LoomMemoryRow(
                    id: keepIDs ? m.id : 0, agent: text(0), kind: text(1), text: text(2), tags: text(3), tagwords: text(4),
                    outcome: text(5), task: text(6), source_agent: text(7), source_node: text(8), key: text(9),
                    importance: m.importance, created: m.created, last_used: m.lastUsed ?? 0, expires: m.expires ?? 0,
                    derived_from: m.derivedFrom ?? 0, use_count: Int64(m.useCount),
                    has_derived_from: m.derivedFrom == nil ? 0 : 1, has_last_used: m.lastUsed == nil ? 0 : 1,
                    has_expires: m.expires == nil ? 0 : 1))
            }
            return try rows.withUnsafeBufferPointer(body)
        }
    }

    private static let fields = 10

    /// Writes the tokens of an existing memory row (the migrations that rebuild the index).
    static func index(_ db: Database, _ words: MemoryWords, id: Int64, agent: String, text: String, tagText: String) throws {
        let key = try Self.key(db, agent: agent, create: true)!
        let tagwords = tagText.split(separator: " ").joined(separator: " ")
        try db.cachedStatement(sql: "INSERT INTO memory_fts (rowid, words, tagwords) VALUES (?, ?, ?)")
            .execute(arguments: [id, try words.scoped(text, key: key), try words.scoped(tagwords, key: key)])
    }

    /// Removes the tokens of memory `id`, given the values it was indexed with.
    static func unindex(_ db: Database, _ words: MemoryWords, id: Int64, agent: String, text: String, tagText: String) throws {
        guard let key = try Self.key(db, agent: agent, create: false) else { return }
        let tagwords = tagText.split(separator: " ").joined(separator: " ")
        var key8 = key, text8 = text, tags8 = tagwords
        let rc = key8.withUTF8 { k in
            text8.withUTF8 { t in
                tags8.withUTF8 { g in
                    loom_memory_unindex(db.sqliteConnection, words.pointer, id, span(k), span(t), span(g))
                }
            }
        }
        try check(rc, db)
    }

    private static func span(_ b: UnsafeBufferPointer<UInt8>) -> LoomText {
        // The tokenizer reads a NULL span as empty text.
        LoomText(p: MemoryWords.chars(b.baseAddress), n: Int32(b.count))
    }

    package static func check(_ rc: Int32, _ db: Database) throws {
        guard rc != 0 else { return }
        throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: db.lastErrorMessage)
    }
}
