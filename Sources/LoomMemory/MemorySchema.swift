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

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// The agent's token prefix: `a` and its name's UTF-8 bytes in hex.
    static func key(_ agent: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "a")]
        out.reserveCapacity(1 + agent.utf8.count * 2)
        for b in agent.utf8 {
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The words of `text` as the agent's tokens, `<key>_<word>` separated by spaces.
    static func scoped(_ text: String, agent key: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3)
        forEachWord(text) { word in
            if !out.isEmpty { out.append(UInt8(ascii: " ")) }
            out.append(contentsOf: key.utf8)
            out.append(UInt8(ascii: "_"))
            out.append(contentsOf: word)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Letters-and-digits runs of `text`, lower-cased: what the index and the queries see.
    static func words(_ text: String) -> [String] {
        var out: [String] = []
        forEachWord(text) { out.append(String(decoding: $0, as: UTF8.self)) }
        return out
    }

    /// Splits on ASCII bytes that are not letters or digits, lower-casing ASCII letters; bytes of
    /// other scripts stay inside words (FTS5's unicode61 folds their case itself, the same way for
    /// the index and the queries). Byte-wise: Unicode property lookups per character made
    /// remembering four times slower.
    static func forEachWord(_ text: String, _ body: (ArraySlice<UInt8>) -> Void) {
        var word: [UInt8] = []
        word.reserveCapacity(32)
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): word.append(b | 0x20)
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), 0x80...: word.append(b)
            default:
                if !word.isEmpty { body(word[...]); word.removeAll(keepingCapacity: true) }
            }
        }
        if !word.isEmpty { body(word[...]) }
    }
}
