public import GRDB

/// The memory tables, added to the node's database by its migrator.
///
/// `memory` holds every memory. `memory_fts` is a contentless FTS5 index whose tokens are scoped to
/// their agent (see ``MemoryIndex``): a recall for one agent asks for that agent's tokens only, so
/// FTS5 reads postings of that agent's memories and nothing else, however many agents share the
/// store. `SQLiteMemoryStore` keeps the index in step with `memory` in the same transactions.
public enum MemorySchema: Sendable {
    public static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2: memory") { db in
            try db.execute(sql: """
                CREATE TABLE memory (
                    id INTEGER PRIMARY KEY,
                    agent TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    text TEXT NOT NULL,
                    tags TEXT NOT NULL DEFAULT '',
                    importance REAL NOT NULL DEFAULT 0.5,
                    outcome TEXT,
                    task TEXT,
                    source_agent TEXT NOT NULL,
                    source_node TEXT NOT NULL,
                    derived_from INTEGER,
                    created REAL NOT NULL,
                    last_used REAL,
                    use_count INTEGER NOT NULL DEFAULT 0,
                    expires REAL
                );
                CREATE INDEX memory_agent_created ON memory(agent, created);
                CREATE INDEX memory_agent_task ON memory(agent, task, created);
                CREATE VIRTUAL TABLE memory_fts USING fts5(words, tagwords, tokenize = "unicode61 tokenchars '_'");
                """)
        }
        // Agent numbers for short token keys (the name in hex made every token 20 bytes longer),
        // and a contentless index (the copy of every scoped text was half the file). Existing
        // memories are indexed again.
        migrator.registerMigration("v3: contentless memory index") { db in
            try db.execute(sql: """
                CREATE TABLE memory_agent (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
                DROP TABLE memory_fts;
                CREATE VIRTUAL TABLE memory_fts USING fts5(words, tagwords, content = '', tokenize = "unicode61 tokenchars '_'");
                """)
            try indexAgain(db)
        }
        // Words by SQLite's own tokenizer instead of a byte-wise split that kept Unicode punctuation
        // inside words (“deploy” was not found by deploy): every memory's tokens are written again.
        migrator.registerMigration("v4: words by the index's tokenizer") { db in
            try db.execute(sql: "INSERT INTO memory_fts (memory_fts) VALUES ('delete-all')")
            try indexAgain(db)
        }
    }

    /// Writes the tokens of every memory into an empty index; the rows stay as they are.
    private static func indexAgain(_ db: Database) throws {
        let words = try MemoryWords(db)
        let rows = try Row.fetchCursor(db, sql: "SELECT id, agent, text, tags FROM memory ORDER BY id")
        while let row = try rows.next() {
            try MemoryIndex.index(db, words, id: row[0], agent: row[1], text: row[2], tagText: row[3])
        }
    }
}
