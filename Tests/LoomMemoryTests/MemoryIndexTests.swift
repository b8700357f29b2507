import Foundation
import GRDB
import LoomMemory
import Testing

/// The contentless index keeps no text of its own: removing a memory's tokens means handing FTS5
/// the same tokens again. These tests compare the index, token by token, with what the memory table
/// says it should hold, after every kind of change.
@Suite("Memory index")
struct MemoryIndexTests {
    static func open() throws -> (DatabaseQueue, SQLiteMemoryStore) {
        let queue = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        MemorySchema.register(in: &migrator)
        try migrator.migrate(queue)
        return (queue, SQLiteMemoryStore(writer: queue))
    }

    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// For every agent and every word the memory table holds (texts and tags), the index's rows for
    /// that agent's token are exactly the memories with that word; words that only deleted
    /// memories had find nothing. Then FTS5's own integrity check.
    static func expectIndexMatchesTable(_ queue: DatabaseQueue, gone: [String] = [],
                                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        try queue.read { db in
            var keys: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, name FROM memory_agent") {
                keys[row["name"]] = "a" + String(row["id"] as Int64, radix: 36)
            }
            var expected: [String: Set<Int64>] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, agent, text, tags FROM memory") {
                let key = try #require(keys[row["agent"] as String], sourceLocation: sourceLocation)
                for w in Self.words(row["text"]) + Self.words(row["tags"]) { expected[key + "_" + w, default: []].insert(row["id"]) }
            }
            for (token, ids) in expected {
                let found = try Int64.fetchAll(db, sql: "SELECT rowid FROM memory_fts WHERE memory_fts MATCH ?", arguments: ["\"\(token)\""])
                #expect(Set(found) == ids, "token \(token)", sourceLocation: sourceLocation)
            }
            for word in gone {
                for key in keys.values {
                    let found = try Int64.fetchAll(db, sql: "SELECT rowid FROM memory_fts WHERE memory_fts MATCH ?",
                                                   arguments: ["\"\(key)_\(word)\""])
                    #expect(found.isEmpty, "token \(key)_\(word) still indexed", sourceLocation: sourceLocation)
                }
            }
            let documents = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM memory_fts_docsize")
            #expect(documents == (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM memory")), sourceLocation: sourceLocation)
        }
        try queue.write { db in try db.execute(sql: "INSERT INTO memory_fts(memory_fts) VALUES('integrity-check')") }
    }

    @Test("forget, expiry, merging and folding keep the index exactly in step with the table")
    func indexInStep() throws {
        let (queue, store) = try Self.open()
        let now = 1_800_000_000.0
        let a = try store.remember(Memory(agent: "a", text: "Alpha bravo, CHARLIE!", tags: ["x", "y"], created: now))
        _ = try store.remember(Memory(agent: "b", text: "alpha delta", tags: ["x"], created: now))
        _ = try store.remember(Memory(agent: "a", text: "echo foxtrot", created: now - 5, expires: now - 1))
        // Near-duplicates with different tags: the merged memory's index entry gets the union.
        _ = try store.remember(Memory(agent: "a", text: "golf hotel", tags: ["old"], created: now - 20))
        _ = try store.remember(Memory(agent: "a", text: "Golf, hotel.", tags: ["new"], created: now - 10))
        // Five episodes of one task fold into a summary.
        for i in 0..<5 {
            _ = try store.remember(Memory(agent: "b", text: "india juliett \(i)", outcome: i == 4 ? .failed : .worked,
                                          task: "kilo", created: now - Double(10 - i)))
        }
        // Empty tags, non-ASCII words and a tag with the separator inside text.
        _ = try store.remember(Memory(agent: "c", text: "naïve café — über", created: now))
        try Self.expectIndexMatchesTable(queue)

        #expect(try store.forget(agent: "a", id: a))
        let report = try store.consolidate(agent: nil, now: now)
        #expect(report.expired == 1 && report.merged == 1 && report.folded == 5 && report.summaries == 1)
        try Self.expectIndexMatchesTable(queue, gone: ["bravo", "charlie", "echo", "foxtrot", "india", "juliett"])
        // The merged memory is found by either tag.
        var o = RecallOptions()
        o.now = now
        o.tags = ["old", "new"]
        #expect(try store.recall(agent: "a", query: "golf", options: o).count == 1)
    }

    @Test("a store from before the contentless index is migrated, and its memories are found")
    func migratesOldIndex() throws {
        let queue = try DatabaseQueue()
        // The schema and content as version 2 left them: an index with content, keys in hex.
        var old = DatabaseMigrator()
        old.registerMigration("v2: memory") { db in
            try db.execute(sql: """
                CREATE TABLE memory (id INTEGER PRIMARY KEY, agent TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL,
                    tags TEXT NOT NULL DEFAULT '', importance REAL NOT NULL DEFAULT 0.5, outcome TEXT, task TEXT,
                    source_agent TEXT NOT NULL, source_node TEXT NOT NULL, derived_from INTEGER, created REAL NOT NULL,
                    last_used REAL, use_count INTEGER NOT NULL DEFAULT 0, expires REAL);
                CREATE INDEX memory_agent_created ON memory(agent, created);
                CREATE INDEX memory_agent_task ON memory(agent, task, created);
                CREATE VIRTUAL TABLE memory_fts USING fts5(words, tagwords, tokenize = "unicode61 tokenchars '_'");
                INSERT INTO memory (id, agent, kind, text, tags, source_agent, source_node, created)
                    VALUES (7, 'a', 'semantic', 'the parser handles tables', ' lua ', 'a', 'n', 1);
                INSERT INTO memory_fts (rowid, words, tagwords) VALUES (7, 'a61_the a61_parser a61_handles a61_tables', 'a61_lua');
                """)
        }
        try old.migrate(queue)
        var migrator = DatabaseMigrator()
        MemorySchema.register(in: &migrator)
        try migrator.migrate(queue)
        let store = SQLiteMemoryStore(writer: queue)
        var o = RecallOptions()
        o.tags = ["lua"]
        let found = try store.recall(agent: "a", query: "parser", options: o)
        #expect(found.map(\.memory.id) == [7])
        #expect(found.first?.memory.kind == .semantic)
        try Self.expectIndexMatchesTable(queue)
    }

    @Test("a store indexed with the byte-wise words is indexed again: words next to Unicode punctuation are found")
    func migratesByteWiseWords() throws {
        let queue = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        MemorySchema.register(in: &migrator)
        try migrator.migrate(queue, upTo: "v3: contentless memory index")
        // What version 3 wrote for this text: the quotes and the dash stayed inside the words.
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO memory_agent (id, name) VALUES (1, 'a');
                INSERT INTO memory (id, agent, kind, text, tags, source_agent, source_node, created)
                    VALUES (3, 'a', 'episodic', 'the “deploy” step—then', ' ops ', 'a', 'n', 1);
                INSERT INTO memory_fts (rowid, words, tagwords) VALUES (3, 'a1_the a1_“deploy” a1_step—then', 'a1_ops');
                """)
        }
        try migrator.migrate(queue)
        let store = SQLiteMemoryStore(writer: queue)
        for query in ["deploy", "step", "then"] {
            #expect(try store.recall(agent: "a", query: query, options: RecallOptions()).map(\.memory.id) == [3], "recall '\(query)'")
        }
        try Self.expectIndexMatchesTable(queue)
        // The old tokens are gone: forgetting the memory leaves an empty, consistent index.
        #expect(try store.forget(agent: "a", id: 3))
        try Self.expectIndexMatchesTable(queue, gone: ["deploy", "step", "then"])
    }
}

@Suite("Memory words")
struct MemoryWordTests {
    @Test("words next to Unicode punctuation, in other scripts and cases are found, for their agent only")
    func unicodeWords() throws {
        let (_, store) = try MemoryIndexTests.open()
        let texts = [
            "the “deploy” step—then rollback…",
            "«Grüße» aus Köln; ÉCLAIR recipe",
            "日本語のテキスト、検索。",
            "emoji🚀launch and a\u{00A0}nbsp",
        ]
        var ids: [Int64] = []
        for t in texts { ids.append(try store.remember(Memory(agent: "a", text: t))) }
        _ = try store.remember(Memory(agent: "b", text: "deploy rollback grüße éclair launch nbsp"))
        let cases: [(String, Int64)] = [
            ("deploy", ids[0]), ("rollback", ids[0]), ("step", ids[0]), ("then", ids[0]),
            ("grüße", ids[1]), ("grusse", ids[1]) /* ß is not folded to ss: no match */, ("köln", ids[1]), ("KOLN", ids[1]),
            ("eclair", ids[1]), ("Éclair", ids[1]), ("検索", ids[2]),
            ("launch", ids[3]), ("emoji", ids[3]), ("nbsp", ids[3]),
        ]
        for (query, id) in cases {
            let found = try store.recall(agent: "a", query: query, options: RecallOptions()).map(\.memory.id)
            #expect(found == (query == "grusse" ? [] : [id]), "recall '\(query)'")
        }
    }

    @Test("a query's words are alternatives, even when one ends in a character that joins the next space")
    func queryWordsSplitByBytes() throws {
        let (_, store) = try MemoryIndexTests.open()
        // U+0D4E (Malayalam dot reph) is a letter to unicode61 and a prepended mark to Swift, which
        // makes it one grapheme with the space after it.
        let first = try store.remember(Memory(agent: "a", text: "x\u{0D4E} alpha"))
        let second = try store.remember(Memory(agent: "a", text: "deploy beta"))
        let found = try store.recall(agent: "a", query: "x\u{0D4E} deploy", options: RecallOptions()).map(\.memory.id)
        #expect(Set(found) == [first, second])
    }
}
