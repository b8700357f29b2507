public import GRDB

/// The memory tables, added to the node's database by its migrator.
///
/// `memory` holds every memory; `memory_fts` is an FTS5 index over its text and tags, kept in step by
/// triggers. Each row also indexes a one-token key of its agent (`akey`), and every recall matches
/// `akey:<agent> AND (query)`: FTS5 intersects the agent's postings with the query's, so one agent's
/// recall reads its own memories, however many other agents share the store.
public enum MemorySchema: Sendable {
    public static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2: memory") { db in
            try db.execute(sql: """
                CREATE TABLE memory (
                    id INTEGER PRIMARY KEY,
                    agent TEXT NOT NULL,
                    akey TEXT NOT NULL,
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
                CREATE VIRTUAL TABLE memory_fts USING fts5(text, tags, akey, content='memory', content_rowid='id');
                CREATE TRIGGER memory_ai AFTER INSERT ON memory BEGIN
                    INSERT INTO memory_fts(rowid, text, tags, akey) VALUES (new.id, new.text, new.tags, new.akey);
                END;
                CREATE TRIGGER memory_ad AFTER DELETE ON memory BEGIN
                    INSERT INTO memory_fts(memory_fts, rowid, text, tags, akey) VALUES ('delete', old.id, old.text, old.tags, old.akey);
                END;
                CREATE TRIGGER memory_au AFTER UPDATE OF text, tags, akey ON memory BEGIN
                    INSERT INTO memory_fts(memory_fts, rowid, text, tags, akey) VALUES ('delete', old.id, old.text, old.tags, old.akey);
                    INSERT INTO memory_fts(rowid, text, tags, akey) VALUES (new.id, new.text, new.tags, new.akey);
                END;
                """)
        }
    }

    /// The agent's single FTS token: `a` and its name's UTF-8 bytes in hex.
    static func key(_ agent: String) -> String {
        "a" + agent.utf8.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
