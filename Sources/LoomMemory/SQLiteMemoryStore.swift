import Foundation
public import GRDB
import Synchronization

/// Memories in SQLite (GRDB), with FTS5 ranking. Shares the node's database writer.
public final class SQLiteMemoryStore: MemoryStore, Sendable {
    let writer: any DatabaseWriter
    /// Recall marks memories used without a write of its own: the marks wait here (id -> last use,
    /// uses) and reach the table with the next write, or ``flushUsage()``. Reads add them in.
    private let pendingUsage = Mutex<[Int64: (last: Double, count: Int)]>([:])
    /// Memories staged for the next group commit (see `SQLiteMemoryStore+GroupCommit.swift`).
    let staged = Mutex(StagedMemories())
    public let ranking: Ranking
    /// Candidates read from the index before the final scoring.
    let candidates = 64

    /// `writer` must have been migrated with ``MemorySchema``.
    public init(writer: any DatabaseWriter, ranking: Ranking = Ranking()) {
        self.writer = writer
        self.ranking = ranking
    }

    public func remember(_ memory: Memory) throws -> Int64 {
        try remember(batch: [memory])[0]
    }

    public func remember(batch: [Memory]) throws -> [Int64] {
        for m in batch { try m.validate() }
        try writeStaged()
        return try writer.write { db in
            try writeUsage(db)
            var ids: [Int64] = []
            ids.reserveCapacity(batch.count)
            ids += try MemoryIndex.insert(db, batch, keepIDs: false)
            return ids
        }
    }

    /// Inserts a memory and its index entry; returns its id.
    static func insert(_ db: Database, _ m: Memory, id: Int64?) throws -> Int64 {
        var m = m
        m.id = id ?? 0
        return try MemoryIndex.insert(db, [m], keepIDs: id != nil)[0]
    }

    /// Deletes memories (and their index entries) matching `condition`; returns how many.
    static func delete(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> Int {
        let rows = try Row.fetchAll(db, sql: "SELECT id, agent, text, tags FROM memory WHERE \(condition)", arguments: arguments)
        let words = rows.isEmpty ? nil : try MemoryWords(db)
        for row in rows {
            try MemoryIndex.unindex(db, words!, id: row[0], agent: row[1], text: row[2], tagText: row[3])
        }
        try db.execute(sql: "DELETE FROM memory WHERE \(condition)", arguments: arguments)
        return db.changesCount
    }

    /// Tags are stored space-separated with a space at each end, so `LIKE '% tag %'` finds one.
    static func tagText(_ tags: [String]) -> String { tags.isEmpty ? "" : " " + tags.joined(separator: " ") + " " }

    /// The query's words as an FTS5 expression over the agents' tokens: each quoted, any may match.
    /// Agents that never remembered anything have no key and no tokens.
    static func ftsQuery(_ db: Database, _ query: String, agents: [String]) throws -> String? {
        let keys = try agents.compactMap { try MemoryIndex.key(db, agent: $0, create: false) }
        let words = keys.isEmpty ? [] : try MemoryWords(db).words(query)
        let terms = keys.flatMap { key in words.map { key + "_" + $0 } }
        guard !terms.isEmpty else { return nil }
        return terms.map { "\"" + $0 + "\"" }.joined(separator: " OR ")
    }

    public func recall(agent: String, query: String, options: RecallOptions) throws -> [RecalledMemory] {
        guard (1...100).contains(options.k) else { throw MemoryError("k must be between 1 and 100 (got \(options.k))") }
        // The agent's own staged memories are committed first (read-your-writes); with the commons,
        // authors' track records read other agents' memories too.
        if options.commons { try writeStaged() } else { try writeStaged(ifAny: agent) }
        var filters = ["(m.expires IS NULL OR m.expires > ?)"]
        var arguments: [any DatabaseValueConvertible] = [options.now]
        if !options.kinds.isEmpty {
            filters.append("m.kind IN (" + options.kinds.map { _ in "?" }.joined(separator: ", ") + ")")
            arguments += options.kinds.map(\.rawValue)
        }
        for tag in options.tags {
            filters.append("m.tags LIKE ?")
            arguments.append("% \(tag) %")
        }
        if let since = options.since {
            filters.append("m.created >= ?")
            arguments.append(since)
        }
        // Two steps: the candidates with just what scoring needs (no text, no tags), then the
        // whole rows of the best k. Decoding every candidate's full row cost more than the query.
        let light = "m.id, m.agent, m.importance, m.outcome, m.source_agent, m.created"
        // No read transaction: GRDB's `read` compiles `PRAGMA query_only`, `BEGIN` and `COMMIT`
        // around every call (a third of recall's time). The node's store is a DatabaseQueue, one
        // connection whose every use is serialized, so nothing of this process writes between the
        // statements below; a row that another process deletes meanwhile is simply not returned.
        let found: [RecalledMemory] = try writer.unsafeRead { db in
            let sql: String
            var all: [any DatabaseValueConvertible]
            if let fts = try Self.ftsQuery(db, query, agents: options.commons ? [agent, Commons.agent] : [agent]) {
                // The tokens already belong to the agent (and the commons); the agent filter is a
                // second guard, should the index ever hold a stale row id.
                filters.append("m.agent IN (?, ?)")
                arguments += [agent, options.commons ? Commons.agent : agent]
                if filters.count == 2 {
                    // Only the expiry and agent filters: the index picks the best candidates first, and only
                    // those rows are read from the memory table.
                    sql = """
                        SELECT \(light), f.score AS rank
                        FROM (SELECT rowid, bm25(memory_fts, 1.0, 0.5) AS score FROM memory_fts
                              WHERE memory_fts MATCH ? ORDER BY score LIMIT \(candidates)) f
                        JOIN memory m ON m.id = f.rowid
                        WHERE \(filters.joined(separator: " AND "))
                        """
                } else {
                    sql = """
                        SELECT \(light), bm25(memory_fts, 1.0, 0.5) AS rank
                        FROM memory_fts JOIN memory m ON m.id = memory_fts.rowid
                        WHERE memory_fts MATCH ? AND \(filters.joined(separator: " AND "))
                        ORDER BY rank LIMIT \(candidates)
                        """
                }
                all = [fts] + arguments
            } else {
                sql = """
                    SELECT \(light), 0.0 AS rank FROM memory m
                    WHERE m.agent IN (?, ?) AND \(filters.joined(separator: " AND "))
                    ORDER BY m.created DESC LIMIT \(candidates)
                    """
                all = [agent, options.commons ? Commons.agent : agent] + arguments
            }
            struct Candidate { var id: Int64; var score: Double; var relevance: Double; var recency: Double }
            var trust: [String: Double] = [:]
            var scored: [Candidate] = []
            scored.reserveCapacity(candidates)
            let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: StatementArguments(all))
            while let row = try rows.next() {
                let id: Int64 = row[0], created: Double = row[5], importance: Double = row[2]
                let outcome = (row[3] as String?).flatMap(Memory.Outcome.init(rawValue:))
                let b = -(row[6] as Double? ?? 0)
                let relevance = b > 0 ? b / (1 + b) : 0
                var (score, recency) = ranking.score(relevance: relevance, age: options.now - created,
                                                     importance: importance, outcome: outcome)
                if (row[1] as String) == Commons.agent {
                    let author: String = row[4]
                    if trust[author] == nil { trust[author] = try Self.trackRecord(db, author) }
                    score *= trust[author]!
                }
                scored.append(Candidate(id: id, score: score, relevance: relevance, recency: recency))
            }
            scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.id > $1.id }
            let byID = try db.cachedStatement(sql: "SELECT \(Self.columns) FROM memory WHERE id = ?")
            return try scored.prefix(options.k).compactMap { c in
                guard let row = try Row.fetchOne(byID, arguments: [c.id]) else { return nil }
                return RecalledMemory(memory: Self.memory(row), score: c.score, relevance: c.relevance, recency: c.recency)
            }
        }
        return pendingUsage.withLock { pendingUsage in
            found.map { r in
                var r = r
                let pending = pendingUsage[r.memory.id]
                r.memory.useCount += (pending?.count ?? 0) + 1
                r.memory.lastUsed = options.now
                pendingUsage[r.memory.id] = (options.now, (pending?.count ?? 0) + 1)
                return r
            }
        }
    }

    public func flush() throws {
        try writeStaged()
        try flushUsage()
    }

    /// Writes the pending recall marks now.
    public func flushUsage() throws {
        try writer.write { db in try writeUsage(db) }
    }

    /// Inside a write transaction: applies and clears the pending recall marks.
    func writeUsage(_ db: Database) throws {
        let marks = pendingUsage.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
        guard !marks.isEmpty else { return }
        let update = try db.cachedStatement(sql: "UPDATE memory SET last_used = MAX(COALESCE(last_used, 0), ?), use_count = use_count + ? WHERE id = ?")
        for (id, mark) in marks { try update.execute(arguments: [mark.last, mark.count, id]) }
    }

    /// `(worked + 1) / (worked + failed + 2)` over the author's memories with an outcome.
    static func trackRecord(_ db: Database, _ author: String) throws -> Double {
        let row = try Row.fetchOne(db, sql: """
            SELECT SUM(outcome = 'worked') AS w, SUM(outcome = 'failed') AS f FROM memory WHERE agent = ? AND outcome IS NOT NULL
            """, arguments: [author])
        let worked = Double(row?["w"] as Int? ?? 0), failed = Double(row?["f"] as Int? ?? 0)
        return (worked + 1) / (worked + failed + 2)
    }

    public func share(agent: String, id: Int64) throws -> Int64 {
        guard agent != Commons.agent else { throw MemoryError("the commons cannot share") }
        try writeStaged()
        let original = try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM memory WHERE id = ? AND agent = ?", arguments: [id, agent]).map { Self.memory($0) }
        }
        guard let original else { throw MemoryError("agent '\(agent)' has no memory \(id)") }
        var entry = original
        entry.agent = Commons.agent
        entry.sourceAgent = agent
        entry.derivedFrom = id
        entry.useCount = 0
        entry.lastUsed = nil
        return try remember(entry)
    }

    public func consolidate(agent: String?, now: Double) throws -> ConsolidationReport {
        try writeStaged()
        return try writer.write { db in
            try writeUsage(db)
            var report = ConsolidationReport()
            let scope = agent == nil ? "" : " AND agent = ?"
            let args: [any DatabaseValueConvertible] = agent.map { [$0] } ?? []
            // 1. Expired memories go.
            report.expired = try Self.delete(db, where: "expires IS NOT NULL AND expires <= ?" + scope,
                                             StatementArguments([now] + args))
            // 2. Near-duplicates of one agent (same task, same words, case, diacritics and punctuation
            //    aside, as the index folds them) merge into the newest: use counts add up, the newest
            //    outcome stays, importance is the highest.
            let words = try MemoryWords(db)
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM memory WHERE agent != ?" + scope + " ORDER BY agent, created DESC, id DESC",
                                        arguments: StatementArguments([Commons.agent] + args))
            var keep: [String: Memory] = [:]
            for m in rows.map({ Self.memory($0) }) {
                // The task key is part of what makes two memories the same lesson: equal notes
                // about different tasks stay apart.
                let key = m.agent + "\u{0}" + m.kind.rawValue + "\u{0}" + (m.task ?? "") + "\u{0}" + (try Self.normalized(words, m.text))
                guard var newest = keep[key] else {
                    keep[key] = m
                    continue
                }
                newest.useCount += m.useCount
                newest.importance = max(newest.importance, m.importance)
                if newest.outcome == nil { newest.outcome = m.outcome }
                newest.tags = Array(Set(newest.tags + m.tags)).sorted()
                keep[key] = newest
                _ = try Self.delete(db, where: "id = ?", [m.id])
                // The index loses the newest's tokens as they are stored now, then gets them with the merged tags.
                let stored = try String.fetchOne(db, sql: "SELECT tags FROM memory WHERE id = ?", arguments: [newest.id]) ?? ""
                try MemoryIndex.unindex(db, words, id: newest.id, agent: newest.agent, text: newest.text, tagText: stored)
                try db.execute(sql: "DELETE FROM memory WHERE id = ?", arguments: [newest.id])
                _ = try MemoryIndex.insert(db, [newest], keepIDs: true)
                report.merged += 1
            }
            // 3. Five or more episodes with outcomes for one task fold into one semantic summary.
            let groups = try Row.fetchAll(db, sql: """
                SELECT agent, task, SUM(outcome = 'worked') AS w, SUM(outcome = 'failed') AS f, COUNT(*) AS n, MAX(created) AS last
                FROM memory WHERE kind = 'episodic' AND task IS NOT NULL AND outcome IS NOT NULL AND agent != ?\(scope)
                GROUP BY agent, task HAVING COUNT(*) >= 5 ORDER BY agent, task
                """, arguments: StatementArguments([Commons.agent] + args))
            for g in groups {
                let a: String = g["agent"], task: String = g["task"]
                let worked: Int = g["w"], failed: Int = g["f"]
                let newest = try Row.fetchOne(db, sql: """
                    SELECT outcome FROM memory WHERE agent = ? AND task = ? AND kind = 'episodic' AND outcome IS NOT NULL
                    ORDER BY created DESC, id DESC LIMIT 1
                    """, arguments: [a, task])?["outcome"] as String?
                report.folded += try Self.delete(db, where: "agent = ? AND task = ? AND kind = 'episodic' AND outcome IS NOT NULL",
                                                 [a, task])
                let text = "\(task): worked \(worked) times, failed \(failed) times; most recently it \(newest ?? "?")"
                _ = try Self.insert(db, Memory(agent: a, kind: .semantic, text: text, tags: ["summary"], importance: 0.7,
                                               outcome: newest.flatMap(Memory.Outcome.init(rawValue:)), task: task,
                                               sourceAgent: a, sourceNode: "", created: (g["last"] as Double?) ?? now), id: nil)
                report.summaries += 1
            }
            return report
        }
    }

    /// Every memory (of every agent and the commons), by id: for export.
    public func all() throws -> [Memory] {
        try flush()
        return try writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM memory ORDER BY id").map { Self.memory($0) } }
    }

    /// Inserts memories exactly as given, ids included (for import); an id already present is an error.
    public func importAll(_ memories: [Memory]) throws {
        for m in memories { try m.validate() }
        try writeStaged()
        try writer.write { db in
            for m in memories {
                if try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM memory WHERE id = ?)", arguments: [m.id]) == true {
                    throw MemoryError("memory \(m.id) already exists; import into an empty store")
                }
                _ = try Self.insert(db, m, id: m.id)
            }
        }
    }

    /// Counts by kind, by agent (the commons included) and in total.
    public func stats() throws -> (total: Int, byKind: [String: Int], byAgent: [String: Int]) {
        try writeStaged()
        return try writer.read { db in
            var kinds: [String: Int] = [:], agents: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, COUNT(*) AS n FROM memory GROUP BY kind") { kinds[row["kind"]] = row["n"] }
            for row in try Row.fetchAll(db, sql: "SELECT agent, COUNT(*) AS n FROM memory GROUP BY agent") { agents[row["agent"]] = row["n"] }
            return (agents.values.reduce(0, +), kinds, agents)
        }
    }

    /// The words as the index sees them, single spaces: what "near-duplicate" compares.
    static func normalized(_ words: MemoryWords, _ text: String) throws -> String {
        try words.words(text).joined(separator: " ")
    }

    public func forget(agent: String, id: Int64) throws -> Bool {
        try writeStaged(ifAny: agent)
        return try writer.write { db in
            try writeUsage(db)
            return try Self.delete(db, where: "id = ? AND agent = ?", [id, agent]) > 0
        }
    }

    public func lessons(agent: String, task: String) throws -> [Memory] {
        try writeStaged(ifAny: agent)
        return try writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.columns) FROM memory m WHERE agent = ? AND task = ? AND outcome IS NOT NULL
                ORDER BY created DESC, id DESC
                """, arguments: [agent, task]).map { Self.memory($0) }
        }
    }

    /// The table's columns in order: what ``memory(_:)`` reads.
    static let columns = "id, agent, kind, text, tags, importance, outcome, task, source_agent, source_node, derived_from, created, last_used, use_count, expires"

    /// A memory from a row whose first columns are the table's, in its order (`SELECT *` or the
    /// same list). By index: GRDB looks names up case-insensitively, which cost a fifth of recall.
    static func memory(_ row: Row) -> Memory {
        let tags = (row[4] as String? ?? "").split(separator: " ").map(String.init)
        return Memory(id: row[0], agent: row[1], kind: Memory.Kind(rawValue: row[2]) ?? .episodic,
                      text: row[3], tags: tags, importance: row[5],
                      outcome: (row[6] as String?).flatMap(Memory.Outcome.init(rawValue:)), task: row[7],
                      sourceAgent: row[8], sourceNode: row[9], derivedFrom: row[10],
                      created: row[11], lastUsed: row[12], useCount: row[13], expires: row[14])
    }
}
