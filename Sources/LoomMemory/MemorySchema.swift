public import GRDB

/// The memory tables, added to the node's database by its migrator.
///
/// `memory` holds every memory. `memory_fts` is an FTS5 index whose tokens are scoped to their agent:
/// each word of a memory's text and tags is indexed as `<agent key>_<word>`. A recall for one agent
/// asks for that agent's tokens only, so FTS5 reads postings of that agent's memories and nothing
/// else, however many agents share the store (with one shared vocabulary, a common word's postings
/// would span every agent). The index holds its own copy of the tokens; `SQLiteMemoryStore` keeps it
/// in step with `memory` in the same transactions.
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
    }

    /// The agent's token prefix: `a` and its name's UTF-8 bytes in hex.
    static func key(_ agent: String) -> String {
        "a" + agent.utf8.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// The words of `text`, lower-cased, as the agent's tokens.
    static func scoped(_ text: String, agent key: String) -> String {
        words(text).map { key + "_" + $0 }.joined(separator: " ")
    }

    /// Letters and digits runs, lower-cased: what the index and the queries see.
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }
}
